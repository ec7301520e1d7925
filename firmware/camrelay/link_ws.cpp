// link_ws: see link_ws.h.
#include "link_ws.h"

#include <Arduino.h>
#include <WebSocketsClient.h>
#include <WiFi.h>

#include "app.h"
#include "settings.h"
#include "src/core/backoff.h"

static WebSocketsClient ws;
static cr_backoff ws_backoff;
static bool ws_connected = false;

static cr_backoff wifi_backoff;
static bool wifi_was_up = false;
static bool wifi_down = false;
static uint32_t wifi_down_since = 0;
static uint32_t wifi_next_try = 0;

void wifi_off() { WiFi.mode(WIFI_OFF); }

void wifi_start() {
    cr_backoff_init(&wifi_backoff, kWifiBackoffMinMs, kWifiBackoffMaxMs, app_seed());
    WiFi.setHostname(cfg::kHostname);
    WiFi.mode(WIFI_STA);
    WiFi.setAutoReconnect(true);
    WiFi.begin(cfg::kSsid, cfg::kPassword);
    // Modem sleep adds 40-70 ms of latency and drops packets with some
    // access points (../../../shared/FIRMWARE.md §5.3).
    WiFi.setSleep(false);
}

bool wifi_up() { return WiFi.status() == WL_CONNECTED; }

int wifi_rssi() { return WiFi.RSSI(); }

void wifi_tick(uint32_t now) {
    if (wifi_up()) {
        if (!wifi_was_up) {
            cr_log("wifi: joined %s, rssi %d dBm", cfg::kSsid, (int)WiFi.RSSI());
        }
        wifi_was_up = true;
        wifi_down = false;
        cr_backoff_reset(&wifi_backoff);
        return;
    }
    if (!wifi_down) {
        if (wifi_was_up) {
            cr_log("wifi: lost %s", cfg::kSsid);
        }
        wifi_was_up = false;
        wifi_down = true;
        wifi_down_since = now;
        wifi_next_try = now + cr_backoff_next(&wifi_backoff);
        return;
    }
    if ((int32_t)(now - wifi_next_try) >= 0) {
        // The core retries by itself too; beginning again also recovers a
        // station that gave up after the router rebooted.
        WiFi.disconnect();
        WiFi.begin(cfg::kSsid, cfg::kPassword);
        WiFi.setSleep(false);
        wifi_next_try = now + cr_backoff_next(&wifi_backoff);
    }
    if (now - wifi_down_since >= kWifiRestartMs) {
        cr_log("wifi: no network for %u s, restarting", (unsigned)(kWifiRestartMs / 1000));
        ESP.restart();
    }
}

static void on_event(WStype_t type, uint8_t *payload, size_t length) {
    switch (type) {
    case WStype_CONNECTED:
        ws_connected = true;
        cr_backoff_reset(&ws_backoff);
        ws.setReconnectInterval(kWsBackoffMinMs);
        cr_log("gateway: connected to %s:%u%s", cfg::kHost, (unsigned)cfg::kPort, cfg::kIngestPath);
        app_link_up();
        break;
    case WStype_DISCONNECTED: {
        // The library reports every failed attempt here, and retries after
        // the interval: growing it is the backoff (FIRMWARE.md §3.3).
        bool was = ws_connected;
        ws_connected = false;
        uint32_t wait = cr_backoff_next(&ws_backoff);
        ws.setReconnectInterval(wait);
        if (was || length > 0) {
            cr_log("gateway: disconnected (%.*s), retrying in %u ms", (int)length,
                   payload != nullptr ? (const char *)payload : "", (unsigned)wait);
        }
        break;
    }
    case WStype_TEXT:
        app_message((const char *)payload, length);
        break;
    default:
        break;
    }
}

void ws_start() {
    cr_backoff_init(&ws_backoff, kWsBackoffMinMs, kWsBackoffMaxMs, app_seed());
    // No subprotocol: the gateway needs none.
    ws.begin(cfg::kHost, cfg::kPort, cfg::kIngestPath, "");
    // The token (and no "Origin: file://", the library's default header).
    ws.setExtraHeaders(cfg::kAuthHeader);
    ws.setReconnectInterval(kWsBackoffMinMs);
    // A ping every 15 s; two missed pongs (3 s each) end a half-open link.
    ws.enableHeartbeat(15000, 3000, 2);
    ws.onEvent(on_event);
}

void ws_tick() {
    // While WiFi is down a connect attempt would block for 5 s in vain.
    if (wifi_up() || ws_connected) {
        ws.loop();
    }
}

bool ws_up() { return ws_connected && ws.isConnected(); }

bool ws_send_text(const char *text, size_t len) { return ws.sendTXT(text, len); }

// Frames of 1400 bytes and more go out straight from the frame buffer,
// without a copy (FIRMWARE.md §3.3).
bool ws_send_frame(const uint8_t *jpeg, size_t len) { return ws.sendBIN(jpeg, len); }
