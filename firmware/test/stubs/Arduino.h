#pragma once
/* Stub of arduino-esp32's Arduino.h: what the sketch uses of esp32-hal.h,
 * esp32-hal-gpio.h, esp32-hal-psram.h and esp32-hal-ledc.h. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "Esp.h"
#include "HardwareSerial.h"
#include "WString.h"
#include "esp_arduino_version.h"
#include "esp_system.h"

#define LOW 0x0
#define HIGH 0x1
#define INPUT 0x01
#define OUTPUT 0x03

unsigned long millis();
unsigned long micros();
void delay(uint32_t ms);
void yield();
void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
bool psramFound();
long random(long howbig);
long random(long howsmall, long howbig);
void randomSeed(unsigned long seed);

/* LEDC (../../../shared/FIRMWARE.md §7): 3.x attaches by pin and writes by
 * pin; 2.x sets a channel up, attaches the pin to it and writes by channel. */
#if ESP_ARDUINO_VERSION_MAJOR >= 3
bool ledcAttach(uint8_t pin, uint32_t freq, uint8_t resolution);
bool ledcAttachChannel(uint8_t pin, uint32_t freq, uint8_t resolution, int8_t channel);
bool ledcWrite(uint8_t pin, uint32_t duty);
bool ledcDetach(uint8_t pin);
#else
uint32_t ledcSetup(uint8_t channel, uint32_t freq, uint8_t resolution_bits);
void ledcAttachPin(uint8_t pin, uint8_t channel);
void ledcWrite(uint8_t channel, uint32_t duty);
void ledcDetachPin(uint8_t pin);
#endif
