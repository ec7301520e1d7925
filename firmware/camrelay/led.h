// led: the status LED's blink codes (src/core/blink.h) and the flash LED.
#pragma once

#include <stdint.h>

#include "src/core/blink.h"

void led_begin();
// led_status sets the code the status LED shows from now on.
void led_status(cr_blink_code code);
// led_tick drives the status LED; call it often (each loop).
void led_tick(uint32_t now_ms);
// led_flash_set dims the flash LED, 0 (off) to 255; false without one.
bool led_flash_set(uint8_t duty);
