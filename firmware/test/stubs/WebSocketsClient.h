#pragma once
/* Stub of Links2004/arduinoWebSockets src/WebSocketsClient.h, the non-SSL
 * public API on ESP32 (../../../shared/FIRMWARE.md §3.1), with every
 * overload, so that an ambiguous call fails here as it would on the board. */
#include <functional>
#include <stddef.h>
#include <stdint.h>

#include "Arduino.h"
#include "WebSockets.h"

class IPAddress;

class WebSocketsClient {
  public:
    typedef std::function<void(WStype_t type, uint8_t *payload, size_t length)> WebSocketClientEvent;

    WebSocketsClient(void);
    virtual ~WebSocketsClient(void);

    void begin(const char *host, uint16_t port, const char *url = "/", const char *protocol = "arduino");
    void begin(String host, uint16_t port, String url = "/", String protocol = "arduino");
    void begin(IPAddress host, uint16_t port, const char *url = "/", const char *protocol = "arduino");

    void loop(void);
    void onEvent(WebSocketClientEvent cbEvent);

    bool sendTXT(uint8_t *payload, size_t length = 0, bool headerToPayload = false);
    bool sendTXT(const uint8_t *payload, size_t length = 0);
    bool sendTXT(char *payload, size_t length = 0, bool headerToPayload = false);
    bool sendTXT(const char *payload, size_t length = 0);
    bool sendTXT(String &payload);
    bool sendTXT(char payload);

    bool sendBIN(uint8_t *payload, size_t length, bool headerToPayload = false);
    bool sendBIN(const uint8_t *payload, size_t length);

    bool sendPing(uint8_t *payload = NULL, size_t length = 0);
    bool sendPing(String &payload);

    void disconnect(void);
    void setAuthorization(const char *user, const char *password);
    void setAuthorization(const char *auth);
    void setExtraHeaders(const char *extraHeaders = NULL);
    void setReconnectInterval(unsigned long time);
    void enableHeartbeat(uint32_t pingInterval, uint32_t pongTimeout, uint8_t disconnectTimeoutCount);
    void disableHeartbeat();
    bool isConnected(void);
    String getUrl(void);
};
