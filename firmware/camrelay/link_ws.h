// link_ws: WiFi and the WebSocket uplink (docs/PROTOCOL.md §1) through
// Links2004/arduinoWebSockets.
#pragma once

#include <stddef.h>
#include <stdint.h>

void wifi_start();
void wifi_off();
bool wifi_up();
// wifi_tick rejoins a lost network with backoff, and restarts the board
// after kWifiRestartMs without it.
void wifi_tick(uint32_t now_ms);
int wifi_rssi();

void ws_start();
void ws_tick();
bool ws_up();
bool ws_send_text(const char *text, size_t len);
bool ws_send_frame(const uint8_t *jpeg, size_t len);

// Reconnect backoff of the uplink (ms), and of the WiFi join.
constexpr uint32_t kWsBackoffMinMs = 500;
constexpr uint32_t kWsBackoffMaxMs = 30000;
constexpr uint32_t kWifiBackoffMinMs = 5000;
constexpr uint32_t kWifiBackoffMaxMs = 60000;
// A board that has not seen its network for this long restarts: a fresh
// start has cured WiFi stacks that never rejoined (arduino-esp32 #9958).
constexpr uint32_t kWifiRestartMs = 10u * 60u * 1000u;
