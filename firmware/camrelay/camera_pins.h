// camera_pins: each supported board's wiring, as data. The values are
// those of arduino-esp32's CameraWebServer camera_pins.h
// (../../../shared/FIRMWARE.md §2); Y2..Y9 are d0..d7, SIOD/SIOC the SCCB
// (I2C) data and clock.
#pragma once

struct CameraBoard {
    const char *name;  // sent in hello
    int pwdn, reset, xclk, sda, scl;
    int d7, d6, d5, d4, d3, d2, d1, d0;
    int vsync, href, pclk;
    int flash_led;           // white flash LED dimmed by "led"; -1: none
    int status_led;          // LED for the blink codes; -1: none
    bool status_active_low;  // the status LED lights when its pin is low
    bool vflip;              // the sensor is mounted upside down
};

// AI-Thinker ESP32-CAM. GPIO4 drives the flash LED (and the SD card's
// data line), GPIO33 the small red LED on the back, lit when low; GPIO0
// is XCLK and also the boot strap pin.
constexpr CameraBoard kBoardAiThinker = {
    "ai-thinker", 32, -1, 0, 26, 27, 35, 34, 39, 36, 21, 19, 18, 5, 25, 23, 22, 4, 33, true, false};

// Seeed Studio XIAO ESP32S3 Sense: no flash LED; the user LED on GPIO21 is
// lit when low (Seeed's documentation; not re-verified here).
constexpr CameraBoard kBoardXiaoEsp32S3 = {
    "xiao-esp32s3", -1, -1, 10, 40, 39, 48, 11, 12, 14, 16, 18, 17, 15, 38, 47, 13, -1, 21, true, false};

// Espressif ESP32-S3-EYE: no flash LED, no plain LED; CameraWebServer flips
// its picture vertically.
constexpr CameraBoard kBoardEsp32S3Eye = {
    "esp32s3-eye", -1, -1, 15, 4, 5, 16, 17, 18, 12, 10, 8, 9, 11, 6, 7, 13, -1, -1, false, true};

// Freenove ESP32-S3 WROOM CAM: Freenove's own CameraWebServer selects the
// ESP32-S3-EYE pins. Its blue LED on GPIO2 is lit when high (Freenove's
// tutorials; not re-verified here).
constexpr CameraBoard kBoardFreenoveEsp32S3 = {
    "freenove-esp32s3", -1, -1, 15, 4, 5, 16, 17, 18, 12, 10, 8, 9, 11, 6, 7, 13, -1, 2, false, true};
