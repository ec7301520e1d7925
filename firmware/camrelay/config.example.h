// camrelay firmware configuration.
//
// Copy this file to config.h (beside camrelay.ino) and fill it in. config.h
// is git-ignored, so your WiFi password and token stay out of the
// repository. On the gateway, `camrelay camera add ID` prints a config.h
// ready to paste, with the camera's id and token filled in.

// --- Board -------------------------------------------------------------
// Uncomment the one you have. With none, the AI-Thinker ESP32-CAM is
// assumed. PlatformIO's environments (platformio.ini) set it for you:
// leave these commented there.
// #define CAMERA_MODEL_AI_THINKER      // AI-Thinker ESP32-CAM (ESP32, 4 MB PSRAM)
// #define CAMERA_MODEL_XIAO_ESP32S3    // Seeed Studio XIAO ESP32S3 Sense
// #define CAMERA_MODEL_ESP32S3_EYE     // Espressif ESP32-S3-EYE
// #define CAMERA_MODEL_FREENOVE_ESP32S3  // Freenove ESP32-S3 WROOM CAM (ESP32-S3-EYE pins)

// --- Link to the gateway -------------------------------------------------
// "ws":   WiFi, and a WebSocket to ws://HOST:PORT/cam/ID/ingest (source: push).
// "uart": framed packets on the serial line (source: serial); WiFi stays off
//         and nothing else is ever printed on that line.
#define CAMRELAY_LINK "ws"

// WiFi (link "ws"). 2.4 GHz only: the ESP32 has no 5 GHz radio.
#define CAMRELAY_WIFI_SSID "your-wifi-name"
#define CAMRELAY_WIFI_PASSWORD "your-wifi-password"

// The gateway (link "ws"): its address as the camera reaches it, and port.
#define CAMRELAY_GATEWAY_HOST "192.168.1.10"
#define CAMRELAY_GATEWAY_PORT 8080

// This camera's id in the gateway's configuration ([a-z0-9-]+), and its
// uplink token (the camera's `token:` there). An empty token is only
// accepted by a camera configured `insecure: true`.
#define CAMRELAY_CAMERA_ID "front"
#define CAMRELAY_TOKEN "change-me"

// Line rate of link "uart", 8N1: 2000000 for CH340, CP2102N and FTDI
// adapters, 921600 for a plain CP2102. Must match the camera's `baud:` on
// the gateway.
#define CAMRELAY_BAUD 2000000

// --- Picture ------------------------------------------------------------
// Frame size at start: 96X96 QQVGA 128X128 QCIF HQVGA 240X240 QVGA 320X320
// CIF HVGA VGA SVGA XGA HD SXGA UXGA (FHD and up need a 3 or 5 MP sensor).
#define CAMRELAY_FRAMESIZE "VGA"
// The largest frame size the gateway may switch to later. The camera is
// started at this size, because its frame buffers are sized once, at start;
// without PSRAM it is capped at CIF.
#define CAMRELAY_MAX_FRAMESIZE "UXGA"
// JPEG quality 0..63, lower is better; 10..12 is the usual choice, below 10
// large frames may not fit their buffer.
#define CAMRELAY_QUALITY 12

// --- Frame rate ---------------------------------------------------------
// Most frames per second while someone watches; 0 means as fast as the
// sensor and the link allow.
#define CAMRELAY_MAX_FPS 25
// Frames per second while nobody watches (the gateway says when); at least
// one every 4 s is sent anyway so the gateway keeps the camera online.
#define CAMRELAY_IDLE_FPS 1

// --- Optional -----------------------------------------------------------
// Another status LED pin (-1: none), e.g. on a board variant.
// #define CAMRELAY_STATUS_LED_PIN 33
// #define CAMRELAY_STATUS_LED_ACTIVE_LOW 1
