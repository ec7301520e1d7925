/*
 * messages: the camera's JSON messages to the gateway (docs/PROTOCOL.md §1):
 * hello, status and the acks of control commands. Written by hand into a
 * caller's buffer, without printf or allocation, so the bytes are the same
 * on the board and on the host.
 */
#ifndef CAMRELAY_CORE_MESSAGES_H
#define CAMRELAY_CORE_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CR_MAX_OUT is a buffer size that holds every message below. */
#define CR_MAX_OUT 512

/* cr_ack_ok writes {"type":"ack","id":ID,"ok":true,"applied":{...}} with
 * the settings of applied, in a fixed key order. */
size_t cr_ack_ok(char *out, size_t cap, uint64_t id, const cr_settings *applied);

/* cr_ack_error writes {"type":"ack","id":ID,"ok":false,"error":"..."}. */
size_t cr_ack_error(char *out, size_t cap, uint64_t id, const char *error);

typedef struct {
    const char *fw;     /* firmware version, e.g. "1.0.0" */
    const char *board;  /* e.g. "ai-thinker" */
    const char *sensor; /* e.g. "OV2640" */
    int framesize;      /* index into cr_framesizes */
    int max_framesize;  /* the size the camera was started with */
    int quality;
    int psram;           /* 1 if the board has PSRAM */
    const char *reset;   /* reset reason, e.g. "POWERON", "BROWNOUT" */
    const char *link;    /* "ws" or "uart" */
} cr_hello;

/* cr_hello_json writes the hello message. */
size_t cr_hello_json(char *out, size_t cap, const cr_hello *h);

typedef struct {
    int has_rssi;        /* WiFi links only */
    int rssi;            /* dBm */
    uint32_t heap;       /* free heap, bytes */
    uint32_t fps_tenths; /* frames sent per second since the last status, x10 */
    uint32_t failed;     /* failed captures since boot */
    int idle;            /* 1 while at the idle rate */
    uint32_t uptime_s;   /* seconds since boot */
} cr_status;

/* cr_status_json writes the status message. */
size_t cr_status_json(char *out, size_t cap, const cr_status *s);

/* Each writer returns the length written (out is NUL-terminated), or 0
 * when the message does not fit in cap. */

#ifdef __cplusplus
}
#endif

#endif
