// settings: config.h's values as typed constants, checked at compile time.
#pragma once

#include <stdint.h>

#include "config_load.h"
#include "framesizes.h"

#define CAMRELAY_FW_VERSION "1.0.0"

namespace cfg {
constexpr bool kUart = crcfg::eq(CAMRELAY_LINK, "uart");
static_assert(kUart || crcfg::eq(CAMRELAY_LINK, "ws"), "config.h: CAMRELAY_LINK must be \"ws\" or \"uart\"");
constexpr const char *kLinkName = kUart ? "uart" : "ws";

constexpr int kFrameSize = fs_find(CAMRELAY_FRAMESIZE);
static_assert(kFrameSize >= 0, "config.h: CAMRELAY_FRAMESIZE is not a frame size name such as \"VGA\" (see config.example.h)");
constexpr int kMaxFrameSize = fs_find(CAMRELAY_MAX_FRAMESIZE);
static_assert(kMaxFrameSize >= 0, "config.h: CAMRELAY_MAX_FRAMESIZE is not a frame size name such as \"UXGA\"");
static_assert(kMaxFrameSize >= kFrameSize, "config.h: CAMRELAY_MAX_FRAMESIZE is smaller than CAMRELAY_FRAMESIZE");
static_assert(kFrameSizeSymbols[kFrameSize] != FRAMESIZE_INVALID,
              "config.h: CAMRELAY_FRAMESIZE is not known to this core's camera driver");
static_assert(kFrameSizeSymbols[kMaxFrameSize] != FRAMESIZE_INVALID,
              "config.h: CAMRELAY_MAX_FRAMESIZE is not known to this core's camera driver");

constexpr int kQuality = CAMRELAY_QUALITY;
static_assert(kQuality >= 0 && kQuality <= 63, "config.h: CAMRELAY_QUALITY must be 0..63 (lower is better)");

static_assert(CAMRELAY_MAX_FPS >= 0 && CAMRELAY_MAX_FPS <= 1000, "config.h: CAMRELAY_MAX_FPS must be 0 (no limit) to 1000");
static_assert(CAMRELAY_IDLE_FPS > 0 && CAMRELAY_IDLE_FPS <= 1000, "config.h: CAMRELAY_IDLE_FPS must be above 0");
constexpr uint32_t kMaxFpsMilli = (uint32_t)(CAMRELAY_MAX_FPS * 1000.0 + 0.5);
constexpr uint32_t kIdleFpsMilli = (uint32_t)(CAMRELAY_IDLE_FPS * 1000.0 + 0.5);

static_assert(CAMRELAY_BAUD >= 9600 && CAMRELAY_BAUD <= 5000000, "config.h: CAMRELAY_BAUD must be 9600..5000000");
constexpr unsigned long kBaud = CAMRELAY_BAUD;

static_assert(CAMRELAY_GATEWAY_PORT > 0 && CAMRELAY_GATEWAY_PORT <= 65535, "config.h: CAMRELAY_GATEWAY_PORT must be 1..65535");
constexpr uint16_t kPort = CAMRELAY_GATEWAY_PORT;
static_assert(crcfg::id_ok(CAMRELAY_CAMERA_ID), "config.h: CAMRELAY_CAMERA_ID must be the gateway's camera id: a-z, 0-9 and -");
constexpr const char *kHost = CAMRELAY_GATEWAY_HOST;
static_assert(kHost[0] != '\0', "config.h: CAMRELAY_GATEWAY_HOST is empty");
constexpr const char *kIngestPath = "/cam/" CAMRELAY_CAMERA_ID "/ingest";
constexpr bool kHasToken = CAMRELAY_TOKEN[0] != '\0';
// The uplink's extra header lines: the token, and no "Origin: file://"
// (arduinoWebSockets' default, which setExtraHeaders replaces).
constexpr const char *kAuthHeader = kHasToken ? "Authorization: Bearer " CAMRELAY_TOKEN : "";

static_assert(kUart || CAMRELAY_WIFI_SSID[0] != '\0', "config.h: CAMRELAY_WIFI_SSID is empty");
constexpr const char *kSsid = CAMRELAY_WIFI_SSID;
constexpr const char *kPassword = CAMRELAY_WIFI_PASSWORD;
constexpr const char *kHostname = "camrelay-" CAMRELAY_CAMERA_ID;
}  // namespace cfg
