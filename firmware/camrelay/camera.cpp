// camera: see camera.h.
#include "camera.h"

#include <Arduino.h>
#include <string.h>

#include "app.h"
#include "board.h"
#include "framesizes.h"
#include "led.h"
#include "settings.h"

static CameraState state;

const CameraState &camera_state() { return state; }

// The largest size a driver without PSRAM can hold: above CIF, JPEG frame
// buffers need PSRAM (esp32-camera README; ../../../shared/FIRMWARE.md §5.4).
static const int kMaxFrameSizeWithoutPsram = fs_find("CIF");

static const char *sensor_name(uint16_t pid) {
    switch (pid) {
    case OV2640_PID:
        return "OV2640";
    case OV3660_PID:
        return "OV3660";
    case OV5640_PID:
        return "OV5640";
    case OV7725_PID:
        return "OV7725";
    case OV7670_PID:
        return "OV7670";
    default:
        return "unknown";
    }
}

static void initial_settings() {
    cr_settings &s = state.current;
    s.present = CR_SET_FRAMESIZE | CR_SET_QUALITY | CR_SET_BRIGHTNESS | CR_SET_CONTRAST | CR_SET_SATURATION |
                CR_SET_VFLIP | CR_SET_HMIRROR | (kBoardPins.flash_led >= 0 ? CR_SET_LED : 0);
    s.framesize = cfg::kFrameSize;
    s.quality = cfg::kQuality;
    s.brightness = 0;
    s.contrast = 0;
    s.saturation = 0;
    s.vflip = kBoardPins.vflip ? 1 : 0;
    s.hmirror = 0;
    s.led = 0;
}

static bool start_driver() {
    state.psram = psramFound();
    int max = cfg::kMaxFrameSize;
    if (!state.psram && max > kMaxFrameSizeWithoutPsram) {
        max = kMaxFrameSizeWithoutPsram;
    }

    camera_config_t c;
    memset(&c, 0, sizeof c);  // fields a driver version adds start as zero
    c.pin_pwdn = kBoardPins.pwdn;
    c.pin_reset = kBoardPins.reset;
    c.pin_xclk = kBoardPins.xclk;
    c.pin_sccb_sda = kBoardPins.sda;
    c.pin_sccb_scl = kBoardPins.scl;
    c.pin_d7 = kBoardPins.d7;
    c.pin_d6 = kBoardPins.d6;
    c.pin_d5 = kBoardPins.d5;
    c.pin_d4 = kBoardPins.d4;
    c.pin_d3 = kBoardPins.d3;
    c.pin_d2 = kBoardPins.d2;
    c.pin_d1 = kBoardPins.d1;
    c.pin_d0 = kBoardPins.d0;
    c.pin_vsync = kBoardPins.vsync;
    c.pin_href = kBoardPins.href;
    c.pin_pclk = kBoardPins.pclk;
    c.xclk_freq_hz = 20000000;  // the I2S sampling limit of the ESP32 (esp32-camera#81)
    c.ledc_timer = LEDC_TIMER_0;
    c.ledc_channel = LEDC_CHANNEL_0;
    c.pixel_format = PIXFORMAT_JPEG;
    c.frame_size = kFrameSizeSymbols[max];
    c.jpeg_quality = state.current.quality;
    if (state.psram) {
        // Two buffers, newest wins: the driver captures while a frame is
        // sent, and a slow link gets the latest frame, not a stale one.
        c.fb_count = 2;
        c.fb_location = CAMERA_FB_IN_PSRAM;
        c.grab_mode = CAMERA_GRAB_LATEST;
    } else {
        c.fb_count = 1;
        c.fb_location = CAMERA_FB_IN_DRAM;
        c.grab_mode = CAMERA_GRAB_WHEN_EMPTY;
    }

    esp_err_t err = esp_camera_init(&c);
    if (err != ESP_OK) {
        // 0x20001 (ESP_ERR_CAMERA_NOT_DETECTED): a loose ribbon cable or a
        // weak supply, far more often than a broken sensor.
        cr_log("camera: init failed: 0x%x", (unsigned)err);
        return false;
    }
    sensor_t *s = esp_camera_sensor_get();
    if (s == nullptr) {
        cr_log("camera: no sensor");
        esp_camera_deinit();
        return false;
    }
    state.sensor = sensor_name(s->id.PID);
    // The driver lowers a size above the sensor's largest to it: read back
    // what it really started with.
    int started = fs_index_of(s->status.framesize);
    state.max_framesize = started >= 0 && started < max ? started : max;
    if (state.current.framesize > state.max_framesize) {
        state.current.framesize = state.max_framesize;
    }
    static bool quirks_done = false;
    if (s->id.PID == OV3660_PID && !quirks_done) {
        // The OV3660 is mounted flipped and comes out dim and oversaturated
        // (CameraWebServer's settings for it); once, so the gateway's later
        // changes survive a restart of the driver.
        state.current.brightness = 1;
        state.current.saturation = -2;
        state.current.vflip = 1;
    }
    quirks_done = true;
    return true;
}

static bool apply_one(sensor_t *s, unsigned bit, const cr_settings &w, char *err, size_t n);

bool camera_begin() {
    if (state.current.present == 0) {
        initial_settings();
    }
    state.ok = false;
    if (!start_driver()) {
        return false;
    }
    cr_settings applied;
    char err[96];
    if (!camera_apply(state.current, &applied, err, sizeof err)) {
        cr_log("camera: %s", err);
    }
    state.ok = true;
    state.fail_streak = 0;
    cr_log("camera: %s started at %s, now %s, %s", state.sensor, kFrameSizeNames[state.max_framesize],
           kFrameSizeNames[state.current.framesize], state.psram ? "2 buffers in PSRAM" : "1 buffer in DRAM");
    return true;
}

bool camera_restart() {
    if (state.ok) {
        esp_camera_deinit();
    }
    state.ok = false;
    delay(50);
    return camera_begin();
}

cr_camera_limits camera_limits() {
    cr_camera_limits l;
    l.max_framesize = state.max_framesize;
    l.supported = fs_mask();
    l.has_led = kBoardPins.flash_led >= 0 ? 1 : 0;
    return l;
}

static bool apply_one(sensor_t *s, unsigned bit, const cr_settings &w, char *err, size_t n) {
    int r = 0;
    const char *what = "";
    switch (bit) {
    case CR_SET_FRAMESIZE:
        what = "framesize";
        // Only a JPEG stream may change size (CameraWebServer's rule too).
        r = s->pixformat == PIXFORMAT_JPEG && s->set_framesize != nullptr
                ? s->set_framesize(s, kFrameSizeSymbols[w.framesize])
                : -1;
        break;
    case CR_SET_QUALITY:
        what = "quality";
        r = s->set_quality ? s->set_quality(s, w.quality) : -1;
        break;
    case CR_SET_BRIGHTNESS:
        what = "brightness";
        r = s->set_brightness ? s->set_brightness(s, w.brightness) : -1;
        break;
    case CR_SET_CONTRAST:
        what = "contrast";
        r = s->set_contrast ? s->set_contrast(s, w.contrast) : -1;
        break;
    case CR_SET_SATURATION:
        what = "saturation";
        r = s->set_saturation ? s->set_saturation(s, w.saturation) : -1;
        break;
    case CR_SET_VFLIP:
        what = "vflip";
        r = s->set_vflip ? s->set_vflip(s, w.vflip) : -1;
        break;
    case CR_SET_HMIRROR:
        what = "hmirror";
        r = s->set_hmirror ? s->set_hmirror(s, w.hmirror) : -1;
        break;
    case CR_SET_LED:
        what = "led";
        r = led_flash_set((uint8_t)w.led) ? 0 : -1;
        break;
    default:
        return true;
    }
    if (r != 0) {
        snprintf(err, n, "the sensor refused %s (error %d)", what, r);
        return false;
    }
    return true;
}

bool camera_apply(const cr_settings &want, cr_settings *applied, char *err, size_t errlen) {
    memset(applied, 0, sizeof *applied);
    sensor_t *s = esp_camera_sensor_get();
    if (s == nullptr) {
        snprintf(err, errlen, "the camera is not running");
        return false;
    }
    for (unsigned bit = 1; bit <= CR_SET_LED; bit <<= 1) {
        if (!(want.present & bit)) {
            continue;
        }
        if (!apply_one(s, bit, want, err, errlen)) {
            return false;
        }
        applied->present |= bit;
        cr_settings &c = state.current;
        c.present |= bit;
        switch (bit) {
        case CR_SET_FRAMESIZE: c.framesize = applied->framesize = want.framesize; break;
        case CR_SET_QUALITY: c.quality = applied->quality = want.quality; break;
        case CR_SET_BRIGHTNESS: c.brightness = applied->brightness = want.brightness; break;
        case CR_SET_CONTRAST: c.contrast = applied->contrast = want.contrast; break;
        case CR_SET_SATURATION: c.saturation = applied->saturation = want.saturation; break;
        case CR_SET_VFLIP: c.vflip = applied->vflip = want.vflip; break;
        case CR_SET_HMIRROR: c.hmirror = applied->hmirror = want.hmirror; break;
        case CR_SET_LED: c.led = applied->led = want.led; break;
        }
    }
    return true;
}

CameraFrame::CameraFrame() : fb_(nullptr) {
    if (!state.ok) {
        return;
    }
    camera_fb_t *fb = esp_camera_fb_get();
    // A buffer that does not start with SOI is not a JPEG (a DMA glitch):
    // give it back rather than send it.
    if (fb != nullptr && (fb->len < 4 || fb->buf[0] != 0xFF || fb->buf[1] != 0xD8)) {
        esp_camera_fb_return(fb);
        fb = nullptr;
    }
    if (fb == nullptr) {
        state.failed++;
        state.fail_streak++;
        return;
    }
    state.fail_streak = 0;
    fb_ = fb;
}

CameraFrame::~CameraFrame() {
    if (fb_ != nullptr) {
        esp_camera_fb_return(fb_);
    }
}
