// led: see led.h.
#include "led.h"

#include <Arduino.h>

#include "board.h"

static cr_blink_code status_code = CR_BLINK_SOLID;
static int last_level = -1;
static bool flash_ready = false;

// The flash LED's PWM runs on LEDC channel 7, whose timer (3) is not the
// camera's XCLK timer 0: flash PWM on the camera's channels disturbed the
// picture on older cores (espressif/arduino-esp32#3829).
static const uint8_t kFlashChannel = 7;
static const uint32_t kFlashFreq = 5000;
static const uint8_t kFlashBits = 8;

void led_begin() {
    if (kStatusLedPin >= 0) {
        pinMode((uint8_t)kStatusLedPin, OUTPUT);
    }
    if (kBoardPins.flash_led >= 0 && !flash_ready) {
        const uint8_t pin = (uint8_t)kBoardPins.flash_led;
#if ESP_ARDUINO_VERSION_MAJOR >= 3
        flash_ready = ledcAttachChannel(pin, kFlashFreq, kFlashBits, (int8_t)kFlashChannel);
        if (flash_ready) {
            ledcWrite(pin, 0);
        }
#else
        ledcSetup(kFlashChannel, kFlashFreq, kFlashBits);
        ledcAttachPin(pin, kFlashChannel);
        ledcWrite(kFlashChannel, 0);
        flash_ready = true;
#endif
    }
    led_tick(0);
}

void led_status(cr_blink_code code) { status_code = code; }

void led_tick(uint32_t now_ms) {
    if (kStatusLedPin < 0) {
        return;
    }
    int on = cr_blink_on(status_code, now_ms);
    if (on != last_level) {
        digitalWrite((uint8_t)kStatusLedPin, (on != 0) != kStatusLedActiveLow ? HIGH : LOW);
        last_level = on;
    }
}

bool led_flash_set(uint8_t duty) {
    if (!flash_ready) {
        return false;
    }
#if ESP_ARDUINO_VERSION_MAJOR >= 3
    return ledcWrite((uint8_t)kBoardPins.flash_led, duty);
#else
    ledcWrite(kFlashChannel, duty);
    return true;
#endif
}
