// link_uart: see link_uart.h.
#include "link_uart.h"

#include <Arduino.h>
#include <esp_timer.h>
#include <string.h>

#include "app.h"
#include "settings.h"
#include "src/core/camlink.h"

// UART0: on an ESP32-S3 whose USB port is the console ("USB CDC On Boot"),
// Serial is the USB port and UART0 is Serial0.
#if ARDUINO_USB_CDC_ON_BOOT
#define CR_UART Serial0
#else
#define CR_UART Serial
#endif

static uint8_t rx_buf[CR_PKT_DOWNLINK_MAX + CR_PKT_OVERHEAD];
static char rx_json[CR_PKT_DOWNLINK_MAX + 1];
static cr_reader rx;
static uint32_t tx_seq = 0;  // 0 after every boot: the gateway sees the reboot

void uart_start() {
    // Buffer sizes are set before begin(). The TX buffer holds headers and
    // messages; write() blocks while a frame drains, which is the pacing.
    CR_UART.setRxBufferSize(2 * (CR_PKT_DOWNLINK_MAX + CR_PKT_OVERHEAD));
#if ESP_ARDUINO_VERSION_MAJOR >= 3
    CR_UART.setTxBufferSize(4096);
#endif
    CR_UART.begin(cfg::kBaud);
    CR_UART.setDebugOutput(false);
    cr_reader_init(&rx, rx_buf, sizeof rx_buf, CR_PKT_DOWNLINK_MAX);
}

// send writes one packet contiguously: header, payload (a frame straight
// from its buffer), CRC-32. Only the loop task writes to the line.
static bool send(uint8_t type, const uint8_t *payload, size_t len, uint64_t uptime_us) {
    uint8_t head[CR_PKT_HEADER_LEN];
    uint8_t tail[CR_PKT_TRAILER_LEN];
    cr_pkt_header(head, type, CR_PKT_FLAG_UPTIME, tx_seq++, (uint32_t)len, uptime_us);
    cr_pkt_trailer(tail, cr_crc32(payload, len));
    size_t n = CR_UART.write(head, sizeof head);
    n += CR_UART.write(payload, len);
    n += CR_UART.write(tail, sizeof tail);
    return n == len + CR_PKT_OVERHEAD;
}

bool uart_send_text(const char *text, size_t len) {
    return send(CR_PKT_JSON, (const uint8_t *)text, len, (uint64_t)esp_timer_get_time());
}

bool uart_send_frame(const uint8_t *jpeg, size_t len, uint64_t uptime_us) {
    return send(CR_PKT_JPEG, jpeg, len, uptime_us);
}

void uart_tick() {
    uint8_t chunk[256];
    int avail;
    while ((avail = CR_UART.available()) > 0) {
        size_t got = CR_UART.read(chunk, (size_t)avail < sizeof chunk ? (size_t)avail : sizeof chunk);
        if (got == 0) {
            break;
        }
        for (size_t off = 0; off < got;) {
            off += cr_reader_feed(&rx, chunk + off, got - off);
            cr_packet p;
            while (cr_reader_next(&rx, 0, &p)) {
                // JSON only: the gateway sends no other type down.
                if (p.type == CR_PKT_JSON && p.len <= CR_PKT_DOWNLINK_MAX) {
                    memcpy(rx_json, p.payload, p.len);
                    rx_json[p.len] = '\0';
                    app_message(rx_json, p.len);
                }
            }
        }
    }
}
