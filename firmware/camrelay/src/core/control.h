/*
 * control: the gateway's JSON messages to the camera (docs/PROTOCOL.md §1):
 * control commands and demand, parsed with cJSON, validated and clamped
 * the way internal/control does it on the gateway's side.
 *
 * Frame sizes travel by name ("VGA"). Here a frame size is an index into
 * cr_framesizes, which lists the names in the order of esp32-camera's
 * framesize_t; the sketch maps an index to the driver's enum symbol at
 * compile time (framesizes.h), never through the enum's numbers, which
 * changed between driver versions.
 */
#ifndef CAMRELAY_CORE_CONTROL_H
#define CAMRELAY_CORE_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CR_MAX_MESSAGE is the largest JSON text accepted: arduinoWebSockets
 * closes the connection on larger messages (WEBSOCKETS_MAX_DATA_SIZE,
 * 15 KiB on ESP32), and the gateway keeps its messages below it. */
#define CR_MAX_MESSAGE (15u * 1024u)

/* CR_MAX_DEPTH bounds the nesting of a message before cJSON sees it:
 * cJSON recurses once per level (up to 1000), which would overflow the
 * 8 KiB stack of Arduino's loop task. Real messages are one level deep. */
#define CR_MAX_DEPTH 8

#define CR_FRAMESIZE_COUNT 25

typedef struct {
    const char *name;
    uint16_t width, height;
} cr_framesize_info;

/* cr_framesizes: every name the gateway may send, smallest first, in the
 * order of framesize_t (and of the gateway's control.FrameSizes). */
extern const cr_framesize_info cr_framesizes[CR_FRAMESIZE_COUNT];

/* cr_framesize_index returns the index of name (any case), or -1. */
int cr_framesize_index(const char *name);

/* Bits of cr_settings.present, one per setting. */
enum {
    CR_SET_FRAMESIZE = 1u << 0,
    CR_SET_QUALITY = 1u << 1,
    CR_SET_BRIGHTNESS = 1u << 2,
    CR_SET_CONTRAST = 1u << 3,
    CR_SET_SATURATION = 1u << 4,
    CR_SET_VFLIP = 1u << 5,
    CR_SET_HMIRROR = 1u << 6,
    CR_SET_LED = 1u << 7
};

/* Ranges of the settings (esp32-camera sensors/ov2640.c; flash LED PWM). */
#define CR_QUALITY_MIN 0
#define CR_QUALITY_MAX 63
#define CR_LEVEL_MIN (-2)
#define CR_LEVEL_MAX 2
#define CR_LED_MAX 255

/* cr_settings is a set of camera settings; only the fields whose bit is
 * in present mean anything. */
typedef struct {
    unsigned present;
    int framesize; /* index into cr_framesizes */
    int quality;   /* 0..63, lower is better */
    int brightness, contrast, saturation; /* -2..2 */
    int vflip, hmirror;                   /* 0 or 1 */
    int led;                              /* flash LED duty 0..255 */
} cr_settings;

/* cr_camera_limits is what this camera can do, which the parser checks. */
typedef struct {
    /* max_framesize is the size the camera was initialised with: its
     * frame buffers were sized for it, so larger sizes are refused. */
    int max_framesize;
    /* supported has bit i set when the camera driver knows
     * cr_framesizes[i] (older drivers lack 128X128, 320X320, 5MP). */
    uint32_t supported;
    /* has_led says the board has a flash LED to dim. */
    int has_led;
} cr_camera_limits;

typedef enum {
    CR_MSG_INVALID = 0, /* not a JSON object with a string "type" (or too large or deep) */
    CR_MSG_CONTROL,     /* a control command: answer with an ack */
    CR_MSG_DEMAND,      /* full or idle rate */
    CR_MSG_OTHER        /* a type this firmware does not know: ignore it */
} cr_msg_kind;

#define CR_ERROR_LEN 160

/* cr_message is one parsed message from the gateway. */
typedef struct {
    cr_msg_kind kind;
    /* CONTROL: id is the command's id (0 when has_id is 0); settings holds
     * every requested setting, validated and clamped, when error is empty.
     * When error is not empty the command is refused as a whole. */
    uint64_t id;
    int has_id;
    cr_settings settings;
    /* DEMAND: idle is 1 for "idle", 0 for "full"; idle_fps_milli is the
     * optional idle rate in frames per 1000 s (0: not given). */
    int idle;
    uint32_t idle_fps_milli;
    /* Why the message was refused (CONTROL, DEMAND) or ignored (INVALID);
     * empty when it was accepted. */
    char error[CR_ERROR_LEN];
} cr_message;

/* cr_parse_message parses len bytes of JSON text; text[len] must be 0 (both
 * arduinoWebSockets and the UART link NUL-terminate what they receive).
 * It fills *out and returns out->kind. It never allocates more than cJSON
 * needs for one message of at most CR_MAX_MESSAGE bytes. */
cr_msg_kind cr_parse_message(const char *text, size_t len, const cr_camera_limits *lim,
                             cr_message *out);

#ifdef __cplusplus
}
#endif

#endif
