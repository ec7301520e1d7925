/*
 * blink: what the status LED says (firmware/README.md, "LED codes"). Each
 * code is that many short flashes, repeated every CR_BLINK_PERIOD_MS; the
 * sketch asks cr_blink_on() for the LED's state at a time and sets the pin.
 */
#ifndef CAMRELAY_CORE_BLINK_H
#define CAMRELAY_CORE_BLINK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CR_BLINK_OFF = 0,
    CR_BLINK_STREAMING = 1,    /* 1 flash: connected, sending frames */
    CR_BLINK_NO_WIFI = 2,      /* 2 flashes: joining the WiFi network */
    CR_BLINK_NO_GATEWAY = 3,   /* 3 flashes: WiFi up, gateway not reached or token refused */
    CR_BLINK_CAMERA_ERROR = 4, /* 4 flashes: camera not found or failing, retrying */
    CR_BLINK_SOLID = 100       /* steady on: starting up */
} cr_blink_code;

#define CR_BLINK_PERIOD_MS 3000u
#define CR_BLINK_ON_MS 120u
#define CR_BLINK_GAP_MS 280u

/* cr_blink_on reports whether the LED is lit for code at time t_ms. */
int cr_blink_on(cr_blink_code code, uint32_t t_ms);

#ifdef __cplusplus
}
#endif

#endif
