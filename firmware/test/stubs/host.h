#pragma once
/* host: what the smoke run sees and steers of the stubs' behaviour. */
#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "WebSockets.h"
#include "esp_camera.h"
#include "esp_system.h"

namespace host {
extern uint64_t now_us;                 // the fake clock; delay() advances it
extern bool psram;                      // psramFound()
extern esp_reset_reason_t reset;        // esp_reset_reason()
extern int wifi_status;                 // WiFi.status()
extern int restarts;                    // ESP.restart() calls (which return here)
extern uint64_t first_restart_us;
extern std::vector<std::string> logs;   // Serial lines while not a packet line

// Camera.
extern camera_config_t camera_config;   // the last esp_camera_init
extern int camera_inits, camera_deinits;
extern int camera_init_fail;            // how many inits fail next
extern int fb_gets, fb_returns, fb_outstanding;
extern int fb_fail_next;                // how many fb_get return NULL next
extern std::vector<uint8_t> jpeg;       // what each frame holds
extern sensor_t sensor;
extern std::vector<std::string> sensor_calls;  // "set_framesize 11", ...

// LEDC.
extern std::vector<std::string> ledc_calls;

// WebSocket.
extern std::string ws_host, ws_url, ws_protocol, ws_extra_headers;
extern uint16_t ws_port;
extern bool ws_accept;                  // the gateway accepts the uplink
extern bool ws_send_fails;              // sendBIN/sendTXT fail
extern std::vector<unsigned long> ws_intervals;  // setReconnectInterval calls
extern std::vector<std::string> ws_text_out;
extern std::vector<std::vector<uint8_t>> ws_bin_out;
extern std::vector<std::string> ws_text_in;     // delivered by the next loop()
extern bool ws_drop;                    // the next loop() loses the link
extern uint32_t ws_heartbeat[3];

// Serial (UART link).
extern unsigned long serial_baud;
extern size_t serial_rx_buffer, serial_tx_buffer;
extern bool serial_debug_output;
extern std::vector<uint8_t> serial_out;
extern std::vector<uint8_t> serial_in;
extern int log_level_none_set;          // esp_log_level_set("*", ESP_LOG_NONE)
}  // namespace host
