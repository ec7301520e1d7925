// app: the firmware's main loop, shared by both links.
#pragma once

#include <stddef.h>
#include <stdint.h>

void app_setup();
void app_loop();

// app_link_up is called when a link to the gateway (re)connects: hello,
// then frames at the full rate until the gateway says otherwise.
void app_link_up();

// app_message handles one JSON text from the gateway; text[len] is 0.
void app_message(const char *text, size_t len);

// app_seed is a random seed for backoff jitter.
uint32_t app_seed();

// cr_log prints a line on Serial for the WebSocket link; with the UART
// link it prints nothing: that line carries packets only.
void cr_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
