/*
 * pacing: when to capture the next frame. At the full rate the camera sends
 * as fast as the sensor and the link allow, up to max fps; while nobody
 * watches (the gateway's demand "idle") it drops to the idle rate, but
 * never below one frame every CR_IDLE_MAX_INTERVAL_MS, so the gateway
 * (offline_after, default 5 s) keeps it online and snapshots stay fresh.
 * Times are millis() values: every comparison survives their wrap.
 */
#ifndef CAMRELAY_CORE_PACING_H
#define CAMRELAY_CORE_PACING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_IDLE_MAX_INTERVAL_MS 4000u

typedef struct {
    uint32_t full_ms;  /* interval at the full rate; 0: no limit */
    uint32_t idle_ms;  /* interval at the idle rate */
    int idle;
    uint32_t next_ms;  /* when the next frame is due */
} cr_pacer;

/* Rates are in frames per 1000 s (milli-fps), so 0.5 fps is 500. A max
 * rate of 0 means no limit; an idle rate of 0 means 1 fps. */
void cr_pacer_init(cr_pacer *p, uint32_t max_fps_milli, uint32_t idle_fps_milli, uint32_t now_ms);

/* cr_pacer_set_idle switches rate; going back to full makes a frame due at
 * once, so a new viewer does not wait out an idle interval. */
void cr_pacer_set_idle(cr_pacer *p, int idle, uint32_t now_ms);

/* cr_pacer_set_idle_fps changes the idle rate (the gateway's idle_fps). */
void cr_pacer_set_idle_fps(cr_pacer *p, uint32_t idle_fps_milli);

/* cr_pacer_wait_ms returns how long until the next frame is due; 0: now. */
uint32_t cr_pacer_wait_ms(const cr_pacer *p, uint32_t now_ms);

/* cr_pacer_sent records a frame taken at now_ms. A camera that fell
 * behind does not send a burst to catch up. */
void cr_pacer_sent(cr_pacer *p, uint32_t now_ms);

/* cr_pacer_interval_ms is the current interval. */
uint32_t cr_pacer_interval_ms(const cr_pacer *p);

/* cr_fps_meter measures the frame rate between status messages. */
typedef struct {
    uint32_t frames;
    uint32_t since_ms;
} cr_fps_meter;

void cr_fps_start(cr_fps_meter *m, uint32_t now_ms);
/* cr_fps_take returns frames per second x10 since the last take, rounded,
 * and starts a new period. */
uint32_t cr_fps_take(cr_fps_meter *m, uint32_t now_ms);

#ifdef __cplusplus
}
#endif

#endif
