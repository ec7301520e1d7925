// app: see app.h. Order of events at boot: WiFi before the camera (the
// camera's start and WiFi's together brown a weak supply out:
// yoursunny/esp32cam#33), then the link, then frames.
#include "app.h"

#include <Arduino.h>
#include <esp_log.h>
#include <esp_system.h>
#include <esp_timer.h>
#include <stdarg.h>
#include <stdio.h>

#include "board.h"
#include "camera.h"
#include "led.h"
#include "link_uart.h"
#include "link_ws.h"
#include "settings.h"
#include "src/core/backoff.h"
#include "src/core/messages.h"
#include "src/core/pacing.h"

// How often the camera reports status, and (UART) says hello again so a
// gateway that reopened the port learns what is on it.
static const uint32_t kStatusEveryMs = 5000;
static const uint32_t kUartHelloEveryMs = 30000;
// How long setup waits for WiFi before it starts the camera anyway.
static const uint32_t kWifiWaitMs = 15000;
// Camera start retries, and how many failures in a row restart the board.
static const uint32_t kCameraRetryMinMs = 2000;
static const uint32_t kCameraRetryMaxMs = 60000;
static const uint32_t kCameraFailuresBeforeReboot = 10;

static cr_pacer pacer;
static cr_fps_meter meter;
static cr_backoff camera_backoff;
static uint32_t camera_retry_at = 0;
static uint32_t camera_failures = 0;
static uint32_t last_status_ms = 0;
static uint32_t last_hello_ms = 0;
static const char *reset_reason = "UNKNOWN";

void cr_log(const char *fmt, ...) {
    if (cfg::kUart) {
        return;
    }
    char line[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    Serial.println(line);
}

uint32_t app_seed() { return (uint32_t)random(0x7FFFFFFF) ^ (uint32_t)micros(); }

static const char *reset_name(esp_reset_reason_t r) {
    switch (r) {
    case ESP_RST_POWERON: return "POWERON";
    case ESP_RST_EXT: return "EXT";
    case ESP_RST_SW: return "SW";
    case ESP_RST_PANIC: return "PANIC";
    case ESP_RST_INT_WDT: return "INT_WDT";
    case ESP_RST_TASK_WDT: return "TASK_WDT";
    case ESP_RST_WDT: return "WDT";
    case ESP_RST_DEEPSLEEP: return "DEEPSLEEP";
    case ESP_RST_BROWNOUT: return "BROWNOUT";
    case ESP_RST_SDIO: return "SDIO";
    default: return "UNKNOWN";
    }
}

static bool send_text(const char *text, size_t len) {
    if (len == 0) {
        return false;
    }
    return cfg::kUart ? uart_send_text(text, len) : ws_send_text(text, len);
}

static void send_hello() {
    const CameraState &cam = camera_state();
    cr_hello h;
    h.fw = CAMRELAY_FW_VERSION;
    h.board = kBoardPins.name;
    h.sensor = cam.ok ? cam.sensor : "none";
    h.framesize = cam.current.framesize;
    h.max_framesize = cam.max_framesize;
    h.quality = cam.current.quality;
    h.psram = cam.psram ? 1 : 0;
    h.reset = reset_reason;
    h.link = cfg::kLinkName;
    char out[CR_MAX_OUT];
    send_text(out, cr_hello_json(out, sizeof out, &h));
    last_hello_ms = (uint32_t)millis();
}

static void send_status(uint32_t now) {
    cr_status s;
    s.has_rssi = cfg::kUart ? 0 : 1;
    s.rssi = cfg::kUart ? 0 : wifi_rssi();
    s.heap = ESP.getFreeHeap();
    s.fps_tenths = cr_fps_take(&meter, now);
    s.failed = camera_state().failed;
    s.idle = pacer.idle;
    s.uptime_s = (uint32_t)(esp_timer_get_time() / 1000000);
    char out[CR_MAX_OUT];
    send_text(out, cr_status_json(out, sizeof out, &s));
    last_status_ms = now;
}

void app_link_up() {
    uint32_t now = (uint32_t)millis();
    // A new link starts at the full rate; the gateway says "idle" at once
    // if nobody watches.
    cr_pacer_set_idle(&pacer, 0, now);
    cr_fps_start(&meter, now);
    last_status_ms = now;
    send_hello();
}

void app_message(const char *text, size_t len) {
    const CameraState &cam = camera_state();
    cr_camera_limits lim = camera_limits();
    cr_message m;
    cr_parse_message(text, len, &lim, &m);
    char out[CR_MAX_OUT];
    switch (m.kind) {
    case CR_MSG_CONTROL: {
        size_t n;
        if (m.error[0] == '\0' && !cam.ok) {
            n = cr_ack_error(out, sizeof out, m.id, "the camera is not running");
        } else if (m.error[0] != '\0') {
            n = cr_ack_error(out, sizeof out, m.id, m.error);
        } else {
            cr_settings applied;
            char err[96];
            n = camera_apply(m.settings, &applied, err, sizeof err) ? cr_ack_ok(out, sizeof out, m.id, &applied)
                                                                     : cr_ack_error(out, sizeof out, m.id, err);
        }
        send_text(out, n);
        cr_log("control %u: %s", (unsigned)m.id, out);
        break;
    }
    case CR_MSG_DEMAND:
        if (m.error[0] != '\0') {
            cr_log("demand ignored: %s", m.error);
            break;
        }
        if (m.idle_fps_milli != 0) {
            cr_pacer_set_idle_fps(&pacer, m.idle_fps_milli);
        }
        cr_pacer_set_idle(&pacer, m.idle, (uint32_t)millis());
        cr_log("demand: %s rate", m.idle ? "idle" : "full");
        break;
    case CR_MSG_OTHER:
        break;
    case CR_MSG_INVALID:
        cr_log("message from the gateway ignored: %s", m.error);
        break;
    }
}

static void start_camera(uint32_t now) {
    if (camera_begin()) {
        camera_failures = 0;
        cr_backoff_reset(&camera_backoff);
        return;
    }
    camera_failures++;
    if (camera_failures >= kCameraFailuresBeforeReboot) {
        // A restart powers the sensor down and up again (PWDN), which an
        // init alone does not always do.
        cr_log("camera: %u failed starts, restarting", (unsigned)camera_failures);
        ESP.restart();
    }
    camera_retry_at = now + cr_backoff_next(&camera_backoff);
}

void app_setup() {
    reset_reason = reset_name(esp_reset_reason());
    if (cfg::kUart) {
        // The line carries packets only: no log from IDF, the core or us.
        esp_log_level_set("*", ESP_LOG_NONE);
        uart_start();
        wifi_off();
    } else {
        Serial.begin(115200);
        cr_log("camrelay %s on %s, reset: %s", CAMRELAY_FW_VERSION, kBoardPins.name, reset_reason);
    }
    led_begin();
    led_status(CR_BLINK_SOLID);
    cr_backoff_init(&camera_backoff, kCameraRetryMinMs, kCameraRetryMaxMs, app_seed());

    if (!cfg::kUart) {
        led_status(CR_BLINK_NO_WIFI);
        wifi_start();
        uint32_t t0 = (uint32_t)millis();
        while (!wifi_up() && (uint32_t)millis() - t0 < kWifiWaitMs) {
            led_tick((uint32_t)millis());
            delay(50);
        }
    }
    uint32_t now = (uint32_t)millis();
    start_camera(now);
    cr_pacer_init(&pacer, cfg::kMaxFpsMilli, cfg::kIdleFpsMilli, now);
    cr_fps_start(&meter, now);
    if (cfg::kUart) {
        app_link_up();
    } else {
        ws_start();
    }
}

void app_loop() {
    uint32_t now = (uint32_t)millis();
    led_tick(now);
    bool link;
    if (cfg::kUart) {
        uart_tick();
        link = true;
    } else {
        wifi_tick(now);
        ws_tick();
        link = ws_up();
    }

    const CameraState &cam = camera_state();
    if (!cam.ok) {
        led_status(CR_BLINK_CAMERA_ERROR);
        if ((int32_t)(now - camera_retry_at) >= 0) {
            start_camera(now);
        }
    } else if (cam.fail_streak >= kCaptureFailuresBeforeRestart) {
        cr_log("camera: %u captures failed in a row, restarting the driver", (unsigned)cam.fail_streak);
        if (!camera_restart()) {
            start_camera(now);
        }
    } else if (!cfg::kUart && !wifi_up()) {
        led_status(CR_BLINK_NO_WIFI);
    } else if (!link) {
        led_status(CR_BLINK_NO_GATEWAY);
    } else {
        led_status(CR_BLINK_STREAMING);
    }

    if (link && cam.ok) {
        uint32_t wait = cr_pacer_wait_ms(&pacer, now);
        if (wait == 0) {
            cr_pacer_sent(&pacer, now);
            CameraFrame frame;  // returned to the driver at the end of this block
            if (frame) {
                bool sent = cfg::kUart ? uart_send_frame(frame.data(), frame.size(), frame.uptime_us())
                                       : ws_send_frame(frame.data(), frame.size());
                if (sent) {
                    meter.frames++;
                }
            }
        } else if (wait > 2) {
            // Nothing due: let the WiFi and idle tasks run, but come back
            // soon for the link's messages.
            delay(wait > 10 ? 10 : wait - 1);
        }
        now = (uint32_t)millis();
        if (now - last_status_ms >= kStatusEveryMs) {
            send_status(now);
        }
        if (cfg::kUart && now - last_hello_ms >= kUartHelloEveryMs) {
            send_hello();
        }
    } else {
        delay(5);
    }
}
