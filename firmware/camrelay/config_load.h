// config_load: finds config.h and checks it at compile time, so that a
// wrong value fails the build with a message instead of the board.
#pragma once

#include <stdint.h>

#if defined(CAMRELAY_CONFIG)
// Host builds name the configuration file (e.g. config.example.h).
#include CAMRELAY_CONFIG
#elif defined(__has_include)
#if __has_include("config.h")
#include "config.h"
#else
#error "camrelay: config.h is missing. Copy config.example.h to config.h (in the camrelay folder, beside camrelay.ino) and fill in your WiFi, gateway and camera settings. The gateway's `camrelay camera add ID` prints one ready to paste."
#endif
#else
#include "config.h"
#endif

#if !defined(CAMRELAY_LINK) || !defined(CAMRELAY_WIFI_SSID) || !defined(CAMRELAY_WIFI_PASSWORD) ||    \
    !defined(CAMRELAY_GATEWAY_HOST) || !defined(CAMRELAY_GATEWAY_PORT) || !defined(CAMRELAY_CAMERA_ID) || \
    !defined(CAMRELAY_TOKEN) || !defined(CAMRELAY_BAUD) || !defined(CAMRELAY_FRAMESIZE) ||              \
    !defined(CAMRELAY_MAX_FRAMESIZE) || !defined(CAMRELAY_QUALITY) || !defined(CAMRELAY_MAX_FPS) ||      \
    !defined(CAMRELAY_IDLE_FPS)
#error "camrelay: config.h lacks a setting: compare it with config.example.h and add the missing #define."
#endif

// Compile-time string helpers, in C++11 (arduino-esp32 2.0.x compiles
// sketches with -std=gnu++11).
namespace crcfg {
constexpr char up(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }
constexpr bool eq(const char *a, const char *b) { return *a == *b && (*a == '\0' || eq(a + 1, b + 1)); }
constexpr bool eq_ci(const char *a, const char *b) {
    return up(*a) == up(*b) && (*a == '\0' || eq_ci(a + 1, b + 1));
}
constexpr bool id_chars(const char *s) {
    return *s == '\0' || (((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-') && id_chars(s + 1));
}
constexpr bool id_ok(const char *s) { return *s != '\0' && id_chars(s); }
}  // namespace crcfg
