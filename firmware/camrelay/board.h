// board: the one board this build is for, chosen by one #define
// (config.h or platformio.ini), AI-Thinker when none is given.
#pragma once

#include "camera_pins.h"
#include "config_load.h"

#if (defined(CAMERA_MODEL_AI_THINKER) + defined(CAMERA_MODEL_XIAO_ESP32S3) + \
     defined(CAMERA_MODEL_ESP32S3_EYE) + defined(CAMERA_MODEL_FREENOVE_ESP32S3)) > 1
#error "camrelay: more than one CAMERA_MODEL_... is defined. Pick one board, in config.h or in platformio.ini, not both."
#endif

#if defined(CAMERA_MODEL_XIAO_ESP32S3)
static constexpr const CameraBoard &kBoardPins = kBoardXiaoEsp32S3;
#define CAMRELAY_BOARD_IS_S3 1
#elif defined(CAMERA_MODEL_ESP32S3_EYE)
static constexpr const CameraBoard &kBoardPins = kBoardEsp32S3Eye;
#define CAMRELAY_BOARD_IS_S3 1
#elif defined(CAMERA_MODEL_FREENOVE_ESP32S3)
static constexpr const CameraBoard &kBoardPins = kBoardFreenoveEsp32S3;
#define CAMRELAY_BOARD_IS_S3 1
#else
#ifndef CAMERA_MODEL_AI_THINKER
#define CAMERA_MODEL_AI_THINKER
#endif
static constexpr const CameraBoard &kBoardPins = kBoardAiThinker;
#define CAMRELAY_BOARD_IS_S3 0
#endif

// A board built for the wrong chip would drive the wrong pins: stop here.
// (sdkconfig.h, which Arduino.h includes on the board, names the target.)
#if CAMRELAY_BOARD_IS_S3 && defined(CONFIG_IDF_TARGET_ESP32)
#error "camrelay: an ESP32-S3 board is selected but this build is for the classic ESP32. Choose an ESP32-S3 board in the IDE (e.g. esp32:esp32:esp32s3 or XIAO_ESP32S3), or select CAMERA_MODEL_AI_THINKER."
#endif
#if !CAMRELAY_BOARD_IS_S3 && defined(CONFIG_IDF_TARGET_ESP32S3)
#error "camrelay: the AI-Thinker ESP32-CAM is selected but this build is for the ESP32-S3. Select your S3 board's CAMERA_MODEL_... in config.h."
#endif

constexpr int kStatusLedPin =
#ifdef CAMRELAY_STATUS_LED_PIN
    CAMRELAY_STATUS_LED_PIN;
#else
    kBoardPins.status_led;
#endif
constexpr bool kStatusLedActiveLow =
#ifdef CAMRELAY_STATUS_LED_ACTIVE_LOW
    CAMRELAY_STATUS_LED_ACTIVE_LOW;
#else
    kBoardPins.status_active_low;
#endif
