/* pacing: see pacing.h. */
#include "pacing.h"

static uint32_t interval(uint32_t fps_milli) {
    if (fps_milli == 0) {
        return 0;
    }
    uint32_t ms = (uint32_t)((1000000ull + fps_milli / 2) / fps_milli);
    return ms > 0 ? ms : 1;
}

static void clamp_idle(cr_pacer *p) {
    if (p->idle_ms > CR_IDLE_MAX_INTERVAL_MS) {
        p->idle_ms = CR_IDLE_MAX_INTERVAL_MS;
    }
    if (p->idle_ms < p->full_ms) {
        p->idle_ms = p->full_ms;
    }
}

void cr_pacer_init(cr_pacer *p, uint32_t max_fps_milli, uint32_t idle_fps_milli, uint32_t now_ms) {
    p->full_ms = interval(max_fps_milli);
    p->idle_ms = interval(idle_fps_milli ? idle_fps_milli : 1000);
    clamp_idle(p);
    p->idle = 0;
    p->next_ms = now_ms;
}

void cr_pacer_set_idle_fps(cr_pacer *p, uint32_t idle_fps_milli) {
    p->idle_ms = interval(idle_fps_milli ? idle_fps_milli : 1000);
    clamp_idle(p);
}

void cr_pacer_set_idle(cr_pacer *p, int idle, uint32_t now_ms) {
    if (p->idle && !idle) {
        p->next_ms = now_ms;
    }
    p->idle = idle ? 1 : 0;
}

uint32_t cr_pacer_interval_ms(const cr_pacer *p) { return p->idle ? p->idle_ms : p->full_ms; }

uint32_t cr_pacer_wait_ms(const cr_pacer *p, uint32_t now_ms) {
    int32_t d = (int32_t)(p->next_ms - now_ms);
    if (d <= 0) {
        return 0;
    }
    /* A due time further off than the interval is stale (the rate got
     * faster): it is due at most one interval from now. */
    uint32_t iv = cr_pacer_interval_ms(p);
    return (uint32_t)d > iv ? iv : (uint32_t)d;
}

void cr_pacer_sent(cr_pacer *p, uint32_t now_ms) {
    uint32_t iv = cr_pacer_interval_ms(p);
    uint32_t next = p->next_ms + iv;
    /* Behind by more than one interval: start again from now. */
    if ((int32_t)(next - now_ms) < 0 || (int32_t)(next - now_ms) > (int32_t)iv) {
        next = now_ms + iv;
    }
    p->next_ms = next;
}

void cr_fps_start(cr_fps_meter *m, uint32_t now_ms) {
    m->frames = 0;
    m->since_ms = now_ms;
}

uint32_t cr_fps_take(cr_fps_meter *m, uint32_t now_ms) {
    uint32_t el = now_ms - m->since_ms;
    uint32_t tenths = el == 0 ? 0 : (uint32_t)(((uint64_t)m->frames * 10000u + el / 2) / el);
    cr_fps_start(m, now_ms);
    return tenths;
}
