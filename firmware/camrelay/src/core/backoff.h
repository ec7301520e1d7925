/*
 * backoff: capped exponential backoff with jitter, the same shape as the
 * gateway's source.Backoff: the n-th delay is drawn uniformly from
 * [ceil/10, ceil] where ceil = min * 2^n, capped at max. A seeded
 * xorshift32 makes it deterministic for tests; the board seeds it from
 * its hardware RNG so that cameras behind one router do not retry in step.
 */
#ifndef CAMRELAY_CORE_BACKOFF_H
#define CAMRELAY_CORE_BACKOFF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t min_ms, max_ms;
    uint32_t attempt;
    uint32_t rng;
} cr_backoff;

/* cr_rand32 steps a xorshift32 state (never 0) and returns it. */
uint32_t cr_rand32(uint32_t *state);

void cr_backoff_init(cr_backoff *b, uint32_t min_ms, uint32_t max_ms, uint32_t seed);

/* cr_backoff_next returns the delay before the next attempt and counts it. */
uint32_t cr_backoff_next(cr_backoff *b);

/* cr_backoff_reset starts over after a link that worked. */
void cr_backoff_reset(cr_backoff *b);

#ifdef __cplusplus
}
#endif

#endif
