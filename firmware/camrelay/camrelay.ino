// camrelay firmware: streams an ESP32 camera to a camrelay gateway over
// WiFi (WebSocket) or a serial line, obeys the gateway's controls, and
// recovers from WiFi drops and brown-outs on its own.
//
// Settings: copy config.example.h to config.h and fill it in.
// Flashing, wiring, LED codes: ../README.md.
#include "config_load.h"

#include "app.h"

void setup() { app_setup(); }

void loop() { app_loop(); }
