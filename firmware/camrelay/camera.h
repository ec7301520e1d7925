// camera: the one place that owns the camera driver.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "esp_camera.h"
#include "src/core/control.h"

struct CameraState {
    bool ok;                // the driver is running
    bool psram;             // frame buffers in PSRAM (2, newest wins) or one in DRAM
    int max_framesize;      // the size the driver was started with (index)
    const char *sensor;     // "OV2640", ...
    cr_settings current;    // every setting, as applied
    uint32_t failed;        // failed captures since boot
    uint32_t fail_streak;   // failed captures in a row
};

// camera_begin starts the driver at the largest allowed size, then steps
// down to the configured one (frame buffers are sized at start), and
// applies the remembered settings. It returns false, with the driver off,
// when the sensor is not found.
bool camera_begin();

// camera_restart stops and starts the driver again, keeping the settings:
// after repeated capture failures (a sensor that stopped answering).
bool camera_restart();

const CameraState &camera_state();
cr_camera_limits camera_limits();

// camera_apply applies validated settings through the sensor's functions
// and fills applied with what was applied. On a failure it writes err and
// returns false; the settings before the failing one stay applied.
bool camera_apply(const cr_settings &want, cr_settings *applied, char *err, size_t errlen);

// CameraFrame holds one frame buffer and gives it back to the driver when
// it goes out of scope, so every esp_camera_fb_get is paired with an
// esp_camera_fb_return on every path. A frame that is not a whole JPEG is
// given back at once and counts as a failed capture.
class CameraFrame {
  public:
    CameraFrame();
    ~CameraFrame();
    CameraFrame(const CameraFrame &) = delete;
    CameraFrame &operator=(const CameraFrame &) = delete;

    explicit operator bool() const { return fb_ != nullptr; }
    const uint8_t *data() const { return fb_->buf; }
    size_t size() const { return fb_->len; }
    // uptime_us is the capture time in microseconds since boot, the clock
    // of esp_timer_get_time().
    uint64_t uptime_us() const {
        return (uint64_t)fb_->timestamp.tv_sec * 1000000u + (uint64_t)fb_->timestamp.tv_usec;
    }

  private:
    camera_fb_t *fb_;
};

// kCaptureFailuresBeforeRestart failed captures in a row (each waits up to
// 4 s in the driver) restart the driver.
constexpr uint32_t kCaptureFailuresBeforeRestart = 5;
