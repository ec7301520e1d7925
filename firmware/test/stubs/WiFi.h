#pragma once
/* Stub of arduino-esp32 libraries/WiFi (WiFi.h, WiFiSTA.h, WiFiGeneric.h;
 * ../../../shared/FIRMWARE.md §5.3). */
#include <stdint.h>

#include "esp_arduino_version.h"

typedef enum {
    WL_NO_SHIELD = 255,
    WL_IDLE_STATUS = 0,
    WL_NO_SSID_AVAIL = 1,
    WL_SCAN_COMPLETED = 2,
    WL_CONNECTED = 3,
    WL_CONNECT_FAILED = 4,
    WL_CONNECTION_LOST = 5,
    WL_DISCONNECTED = 6
} wl_status_t;

typedef enum { WIFI_MODE_NULL = 0, WIFI_MODE_STA, WIFI_MODE_AP, WIFI_MODE_APSTA, WIFI_MODE_MAX } wifi_mode_t;
#define WIFI_OFF WIFI_MODE_NULL
#define WIFI_STA WIFI_MODE_STA
#define WIFI_AP WIFI_MODE_AP
#define WIFI_AP_STA WIFI_MODE_APSTA

class WiFiClass {
  public:
    bool mode(wifi_mode_t);
    wifi_mode_t getMode();
    wl_status_t begin(const char *ssid, const char *passphrase = NULL, int32_t channel = 0,
                      const uint8_t *bssid = NULL, bool connect = true);
    bool disconnect(bool wifioff = false, bool eraseap = false);
    bool reconnect();
    bool setAutoReconnect(bool autoReconnect);
    bool setSleep(bool enabled);
    bool setHostname(const char *hostname);
    bool isConnected();
    wl_status_t status();
    int8_t RSSI();
};
extern WiFiClass WiFi;
