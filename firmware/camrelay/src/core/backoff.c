/* backoff: see backoff.h. */
#include "backoff.h"

uint32_t cr_rand32(uint32_t *s) {
    uint32_t x = *s != 0 ? *s : 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

void cr_backoff_init(cr_backoff *b, uint32_t min_ms, uint32_t max_ms, uint32_t seed) {
    b->min_ms = min_ms > 0 ? min_ms : 1;
    b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
    b->attempt = 0;
    b->rng = seed != 0 ? seed : 0x9E3779B9u;
}

uint32_t cr_backoff_next(cr_backoff *b) {
    uint32_t shift = b->attempt < 31 ? b->attempt : 31;
    uint64_t ceil = (uint64_t)b->min_ms << shift;
    if (ceil > b->max_ms) {
        ceil = b->max_ms;
    }
    if (b->attempt < UINT32_MAX) {
        b->attempt++;
    }
    uint32_t lo = (uint32_t)(ceil / 10);
    uint32_t span = (uint32_t)ceil - lo + 1;
    return lo + cr_rand32(&b->rng) % span;
}

void cr_backoff_reset(cr_backoff *b) { b->attempt = 0; }
