// link_uart: framed packets on the serial line (docs/UART.md), both ways.
#pragma once

#include <stddef.h>
#include <stdint.h>

void uart_start();
// uart_tick reads the line and hands each JSON packet to app_message.
void uart_tick();
bool uart_send_text(const char *text, size_t len);
bool uart_send_frame(const uint8_t *jpeg, size_t len, uint64_t uptime_us);
