/*
 * uart_writer: plays a camera on a UART line with the firmware's own
 * portable core, for the gateway's end-to-end test
 * (cmd/camrelay/firmware_test.go): it writes JSON messages and JPEG files
 * as camlink packets to a serial device or pty, and can then answer the
 * gateway's control commands with the firmware's parser and acks.
 *
 *   uart_writer (-o PATH | -f FD) [-b] [-j JSON]... [-i MS] [-a MS] [-n N] FILE...
 *
 *   -o PATH  where to write (and read): a serial device or a pty's slave
 *   -f FD    an inherited descriptor instead, e.g. a pty's master (opening
 *            /dev/fd/N of a pty master would open a new pty)
 *   -b       write ESP32 ROM boot text first, as after a reset
 *   -j JSON  a JSON message to send before the frames (repeatable)
 *   -i MS    pause between frames (default 0)
 *   -a MS    afterwards, answer control commands for up to MS ms
 *   -n N     ... and stop after N answers
 * Exit status 0 when everything was written (and answered).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../camrelay/src/core/camlink.h"
#include "../camrelay/src/core/control.h"
#include "../camrelay/src/core/messages.h"

static int fd = -1;
static uint32_t seq = 0;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void write_all(const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            perror("uart_writer: write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void send_packet(uint8_t type, const uint8_t *payload, size_t len) {
    /* Header, payload and CRC-32 as the firmware writes them (link_uart.cpp). */
    uint8_t head[CR_PKT_HEADER_LEN], tail[CR_PKT_TRAILER_LEN];
    cr_pkt_header(head, type, CR_PKT_FLAG_UPTIME, seq++, (uint32_t)len, now_us());
    cr_pkt_trailer(tail, cr_crc32(payload, len));
    write_all(head, sizeof head);
    write_all(payload, len);
    write_all(tail, sizeof tail);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* serve answers control commands with the firmware's parser and acks
 * until limit_ms passes or answers have been given. */
static int serve(long limit_ms, long answers) {
    static uint8_t buf[CR_PKT_DOWNLINK_MAX + CR_PKT_OVERHEAD];
    static char text[CR_PKT_DOWNLINK_MAX + 1];
    cr_reader rd;
    cr_reader_init(&rd, buf, sizeof buf, CR_PKT_DOWNLINK_MAX);
    cr_camera_limits lim = {15 /* UXGA */, (1u << CR_FRAMESIZE_COUNT) - 1, 1};
    uint64_t end = now_us() + (uint64_t)limit_ms * 1000u;
    long done = 0;
    while (now_us() < end && (answers <= 0 || done < answers)) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)((end - now_us()) / 1000) + 1;
        if (poll(&p, 1, left) <= 0) {
            continue;
        }
        uint8_t chunk[512];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) {
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            break;
        }
        for (size_t off = 0; off < (size_t)n;) {
            off += cr_reader_feed(&rd, chunk + off, (size_t)n - off);
            cr_packet pkt;
            while (cr_reader_next(&rd, 0, &pkt)) {
                if (pkt.type != CR_PKT_JSON) continue;
                memcpy(text, pkt.payload, pkt.len);
                text[pkt.len] = '\0';
                fprintf(stderr, "uart_writer: got %s\n", text);
                cr_message m;
                if (cr_parse_message(text, pkt.len, &lim, &m) != CR_MSG_CONTROL) continue;
                char out[CR_MAX_OUT];
                size_t len = m.error[0] ? cr_ack_error(out, sizeof out, m.id, m.error)
                                        : cr_ack_ok(out, sizeof out, m.id, &m.settings);
                send_packet(CR_PKT_JSON, (const uint8_t *)out, len);
                fprintf(stderr, "uart_writer: sent %s\n", out);
                done++;
            }
        }
    }
    return answers <= 0 || done >= answers ? 0 : 1;
}

static const char boot_text[] =
    "ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"
    "configsip: 0, SPIWP:0xee\r\nmode:DIO, clock div:1\r\nload:0x3fff0030,len:1344\r\nentry 0x400805f0\r\n";

int main(int argc, char **argv) {
    const char *path = NULL;
    int inherited = -1;
    const char *json[32];
    int njson = 0, boot = 0;
    long interval = 0, serve_ms = 0, answers = 0;
    int opt;
    while ((opt = getopt(argc, argv, "o:f:bj:i:a:n:")) != -1) {
        switch (opt) {
        case 'o': path = optarg; break;
        case 'f': inherited = atoi(optarg); break;
        case 'b': boot = 1; break;
        case 'j':
            if (njson < 32) json[njson++] = optarg;
            break;
        case 'i': interval = atol(optarg); break;
        case 'a': serve_ms = atol(optarg); break;
        case 'n': answers = atol(optarg); break;
        default:
            fprintf(stderr, "usage: uart_writer (-o PATH | -f FD) [-b] [-j JSON]... [-i MS] [-a MS] [-n N] FILE...\n");
            return 2;
        }
    }
    if (inherited >= 0) {
        fd = inherited;
    } else if (path != NULL) {
        fd = open(path, O_RDWR | O_NOCTTY);
        if (fd < 0) {
            perror(path);
            return 1;
        }
    } else {
        fprintf(stderr, "uart_writer: -o PATH or -f FD is required\n");
        return 2;
    }
    if (boot) {
        write_all((const uint8_t *)boot_text, sizeof boot_text - 1);
    }
    for (int i = 0; i < njson; i++) {
        send_packet(CR_PKT_JSON, (const uint8_t *)json[i], strlen(json[i]));
    }
    for (int i = optind; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t frame[4 << 20];
        size_t n = fread(frame, 1, sizeof frame, f);
        fclose(f);
        send_packet(CR_PKT_JPEG, frame, n);
        if (interval > 0 && i + 1 < argc) {
            sleep_ms(interval);
        }
    }
    int rc = serve_ms > 0 ? serve(serve_ms, answers) : 0;
    close(fd);
    return rc;
}
