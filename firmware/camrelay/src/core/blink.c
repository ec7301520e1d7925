/* blink: see blink.h. */
#include "blink.h"

int cr_blink_on(cr_blink_code code, uint32_t t_ms) {
    if (code == CR_BLINK_SOLID) {
        return 1;
    }
    if (code <= CR_BLINK_OFF || code > CR_BLINK_CAMERA_ERROR) {
        return 0;
    }
    uint32_t t = t_ms % CR_BLINK_PERIOD_MS;
    uint32_t slot = t / (CR_BLINK_ON_MS + CR_BLINK_GAP_MS);
    return slot < (uint32_t)code && t % (CR_BLINK_ON_MS + CR_BLINK_GAP_MS) < CR_BLINK_ON_MS;
}
