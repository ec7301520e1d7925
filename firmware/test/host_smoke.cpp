/*
 * Host smoke run of the whole sketch against the stubs: setup() and loop()
 * under a fake clock, as the board would run them, with the gateway's side
 * played by the stubs. Built once per board and core (make test), for the
 * WebSocket link and (SMOKE_UART) for the UART link.
 */
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "../camrelay/board.h"
#include "../camrelay/framesizes.h"
#include "../camrelay/settings.h"
#include "../camrelay/src/core/camlink.h"
#include "check.h"
#include "stubs/WiFi.h"
#include "stubs/host.h"

void setup();
void loop();

static void run_for(uint32_t ms) {
    uint64_t end = host::now_us + (uint64_t)ms * 1000;
    while (host::now_us < end) {
        uint64_t before = host::now_us;
        loop();
        if (host::now_us == before) {
            host::now_us += 1000;  // a loop on the board takes time too
        }
        if (host::fb_outstanding != 0) {
            CHECK(0, "a frame buffer was not returned (%d outstanding)", host::fb_outstanding);
            host::fb_outstanding = 0;
        }
    }
}

static bool has(const std::vector<std::string> &v, const std::string &s) {
    for (const std::string &x : v) {
        if (x == s) return true;
    }
    return false;
}

static std::string call(const char *what, framesize_t f) { return std::string(what) + " " + std::to_string((int)f); }

static const bool kHasLed = kBoardPins.flash_led >= 0;

static void check_camera_start() {
    const camera_config_t &c = host::camera_config;
    CHECK(host::camera_inits == 1, "camera inits %d", host::camera_inits);
    CHECK(c.frame_size == FRAMESIZE_UXGA, "started at %d, want the largest allowed size (UXGA)", (int)c.frame_size);
    CHECK(c.fb_count == 2 && c.grab_mode == CAMERA_GRAB_LATEST && c.fb_location == CAMERA_FB_IN_PSRAM,
          "with PSRAM: 2 buffers, newest wins");
    CHECK(c.pixel_format == PIXFORMAT_JPEG && c.jpeg_quality == 12 && c.xclk_freq_hz == 20000000, "JPEG q12 20 MHz");
    CHECK(c.pin_d0 == kBoardPins.d0 && c.pin_d7 == kBoardPins.d7 && c.pin_sccb_sda == kBoardPins.sda &&
              c.pin_pclk == kBoardPins.pclk && c.pin_pwdn == kBoardPins.pwdn && c.pin_xclk == kBoardPins.xclk,
          "pins of %s", kBoardPins.name);
    CHECK(has(host::sensor_calls, call("set_framesize", FRAMESIZE_VGA)), "stepped down to VGA");
    CHECK(has(host::sensor_calls, std::string("set_vflip ") + (kBoardPins.vflip ? "1" : "0")), "vflip of the board");
}

static std::string control(const std::string &json);

#ifndef SMOKE_UART

static std::string control(const std::string &json) {
    size_t before = host::ws_text_out.size();
    host::ws_text_in.push_back(json);
    run_for(50);
    for (size_t i = before; i < host::ws_text_out.size(); i++) {
        if (host::ws_text_out[i].find("\"type\":\"ack\"") != std::string::npos) return host::ws_text_out[i];
    }
    return "(no ack)";
}

static size_t count_text(const char *type) {
    size_t n = 0;
    std::string want = std::string("\"type\":\"") + type + "\"";
    for (const std::string &t : host::ws_text_out) n += t.find(want) != std::string::npos;
    return n;
}

int main() {
    setup();
    check_camera_start();
    CHECK(host::ws_host == CAMRELAY_GATEWAY_HOST && host::ws_port == 8080 && host::ws_url == "/cam/front/ingest",
          "dials %s:%u%s", host::ws_host.c_str(), host::ws_port, host::ws_url.c_str());
    CHECK(host::ws_extra_headers == "Authorization: Bearer change-me", "extra headers %s", host::ws_extra_headers.c_str());
    CHECK(host::ws_protocol.empty(), "no subprotocol");
    CHECK(host::ws_heartbeat[0] == 15000 && host::ws_heartbeat[1] == 3000 && host::ws_heartbeat[2] == 2, "heartbeat");

    run_for(2000);
    CHECK(!host::ws_text_out.empty() && host::ws_text_out[0].find("\"type\":\"hello\"") == 1,
          "hello first: %s", host::ws_text_out.empty() ? "" : host::ws_text_out[0].c_str());
    std::string hello = host::ws_text_out.empty() ? "" : host::ws_text_out[0];
    CHECK(hello == std::string("{\"type\":\"hello\",\"fw\":\"" CAMRELAY_FW_VERSION "\",\"board\":\"") + kBoardPins.name +
                       "\",\"sensor\":\"OV2640\",\"framesize\":\"VGA\",\"max_framesize\":\"UXGA\",\"quality\":12,"
                       "\"psram\":true,\"reset\":\"POWERON\",\"link\":\"ws\"}",
          "hello %s", hello.c_str());
    size_t frames = host::ws_bin_out.size();
    CHECK(frames >= 45 && frames <= 51, "2 s at max 25 fps sent %zu frames", frames);
    CHECK(!host::ws_bin_out.empty() && host::ws_bin_out[0] == host::jpeg, "frames byte-identical");

    // Control: applied through the sensor and acknowledged with the id.
    std::string ack = control(kHasLed ? "{\"type\":\"control\",\"id\":7,\"framesize\":\"SVGA\",\"quality\":10,\"vflip\":true,\"led\":255}"
                                      : "{\"type\":\"control\",\"id\":7,\"framesize\":\"SVGA\",\"quality\":10,\"vflip\":true}");
    CHECK(ack == (kHasLed ? "{\"type\":\"ack\",\"id\":7,\"ok\":true,\"applied\":{\"framesize\":\"SVGA\",\"quality\":10,\"vflip\":true,\"led\":255}}"
                          : "{\"type\":\"ack\",\"id\":7,\"ok\":true,\"applied\":{\"framesize\":\"SVGA\",\"quality\":10,\"vflip\":true}}"),
          "ack %s", ack.c_str());
    CHECK(host::sensor_calls.size() >= 3 && has(host::sensor_calls, call("set_framesize", FRAMESIZE_SVGA)) &&
              has(host::sensor_calls, "set_quality 10") && has(host::sensor_calls, "set_vflip 1"),
          "sensor calls");
    if (kHasLed) {
#if ESP_ARDUINO_VERSION_MAJOR >= 3
        CHECK(has(host::ledc_calls, "attachChannel 4 5000 8 7") && has(host::ledc_calls, "write pin 4 255"), "LEDC 3.x");
#else
        CHECK(has(host::ledc_calls, "setup 7 5000 8") && has(host::ledc_calls, "attachPin 4 7") &&
                  has(host::ledc_calls, "write channel 7 255"),
              "LEDC 2.x");
#endif
    } else {
        ack = control("{\"type\":\"control\",\"id\":6,\"led\":255}");
        CHECK(ack == "{\"type\":\"ack\",\"id\":6,\"ok\":false,\"error\":\"this board has no flash LED\"}", "%s", ack.c_str());
    }
    ack = control("{\"type\":\"control\",\"id\":8,\"framesize\":\"QXGA\"}");
    CHECK(ack == "{\"type\":\"ack\",\"id\":8,\"ok\":false,\"error\":\"framesize QXGA is above the size the camera was started with (UXGA)\"}",
          "%s", ack.c_str());
    ack = control("{\"type\":\"control\",\"id\":9,\"quality\":99,\"hmirror\":1,\"brightness\":-7}");
    CHECK(ack == "{\"type\":\"ack\",\"id\":9,\"ok\":true,\"applied\":{\"quality\":63,\"brightness\":-2,\"hmirror\":true}}",
          "%s", ack.c_str());
    ack = control("{\"type\":\"control\",\"id\":10,\"framesize\":\"128X128\"}");
#if CAMRELAY_STUB_CAMERA >= 2014
    CHECK(ack == "{\"type\":\"ack\",\"id\":10,\"ok\":true,\"applied\":{\"framesize\":\"128X128\"}}", "%s", ack.c_str());
    CHECK(has(host::sensor_calls, call("set_framesize", FRAMESIZE_128X128)), "128X128 by its symbol");
#else
    CHECK(ack == "{\"type\":\"ack\",\"id\":10,\"ok\":false,\"error\":\"framesize 128X128 is not supported by this camera driver\"}",
          "%s", ack.c_str());
#endif
    control("{\"type\":\"control\",\"id\":11,\"framesize\":\"VGA\"}");

    // Demand: idle drops to 1 fps, full comes back at once.
    host::ws_text_in.push_back("{\"type\":\"demand\",\"rate\":\"idle\"}");
    run_for(100);
    frames = host::ws_bin_out.size();
    run_for(10000);
    size_t idle_frames = host::ws_bin_out.size() - frames;
    CHECK(idle_frames >= 9 && idle_frames <= 11, "10 s idle sent %zu frames", idle_frames);
    CHECK(count_text("status") >= 2, "status every 5 s");
    host::ws_text_in.push_back("{\"type\":\"demand\",\"rate\":\"full\"}");
    frames = host::ws_bin_out.size();
    run_for(45);
    CHECK(host::ws_bin_out.size() > frames, "full rate: a frame at once");

    // A failing link: frames are still returned to the driver.
    host::ws_send_fails = true;
    run_for(500);
    host::ws_send_fails = false;
    CHECK(host::fb_gets == host::fb_returns, "every fb_get returned: %d gets, %d returns", host::fb_gets, host::fb_returns);

    // Captures failing: the driver restarts, the settings come back.
    size_t calls = host::sensor_calls.size();
    host::fb_fail_next = 5;
    run_for(500);
    CHECK(host::camera_deinits == 1 && host::camera_inits == 2, "driver restarted (%d deinit, %d init)",
          host::camera_deinits, host::camera_inits);
    bool reapplied = false;
    for (size_t i = calls; i < host::sensor_calls.size(); i++) {
        reapplied |= host::sensor_calls[i] == "set_quality 63";
    }
    CHECK(reapplied, "settings re-applied after the restart");
    CHECK(host::fb_gets == host::fb_returns + 5, "failed gets %d vs returns %d", host::fb_gets, host::fb_returns);

    // A restart that fails: control says so, the retry brings it back.
    host::fb_fail_next = 5;
    host::camera_init_fail = 2;  // the restart and the retry right after it
    run_for(300);
    ack = control("{\"type\":\"control\",\"id\":12,\"quality\":10}");
    CHECK(ack == "{\"type\":\"ack\",\"id\":12,\"ok\":false,\"error\":\"the camera is not running\"}", "%s", ack.c_str());
    run_for(61000);
    CHECK(host::camera_inits == 5, "camera started again (%d inits)", host::camera_inits);

    // The gateway goes away: reconnects with growing, capped intervals.
    host::ws_accept = false;
    host::ws_drop = true;
    size_t before = host::ws_intervals.size();
    run_for(120000);
    std::vector<unsigned long> iv(host::ws_intervals.begin() + (long)before, host::ws_intervals.end());
    CHECK(iv.size() >= 6, "%zu reconnect attempts in 2 minutes", iv.size());
    unsigned long ceil = 500;
    for (size_t i = 0; i < iv.size(); i++) {
        if (iv[i] < ceil / 10 || iv[i] > ceil) {
            CHECK(0, "attempt %zu waited %lu ms, want %lu..%lu", i, iv[i], ceil / 10, ceil);
            break;
        }
        ceil = ceil * 2 > 30000 ? 30000 : ceil * 2;
    }
    size_t hellos = count_text("hello");
    host::ws_accept = true;
    run_for(31000);
    CHECK(count_text("hello") == hellos + 1, "hello again after reconnecting");
    CHECK(host::ws_intervals.back() == 500, "backoff reset after connecting");

    // No WiFi for 10 minutes: the board restarts.
    host::wifi_status = WL_DISCONNECTED;
    uint64_t down = host::now_us;
    run_for(11 * 60 * 1000);
    CHECK(host::restarts >= 1 && host::first_restart_us - down >= 600000000ull &&
              host::first_restart_us - down < 601000000ull,
          "restart %.1f s after the WiFi went", (double)(host::first_restart_us - down) / 1e6);
    CHECK(host::fb_gets == host::fb_returns + 10, "every frame returned");
    return check_summary("sketch smoke (ws, " CAMRELAY_STUB_NAME ")");
}

#else  // SMOKE_UART

static cr_reader rd;
static std::vector<uint8_t> rd_buf(4 << 20);
static size_t out_pos = 0;

struct Got {
    uint8_t type;
    uint32_t seq;
    bool uptime;
    std::string payload;
};

static std::vector<Got> drain() {
    std::vector<Got> got;
    while (out_pos < host::serial_out.size()) {
        out_pos += cr_reader_feed(&rd, host::serial_out.data() + out_pos, host::serial_out.size() - out_pos);
        cr_packet p;
        while (cr_reader_next(&rd, 0, &p)) {
            got.push_back(Got{p.type, p.seq, (p.flags & CR_PKT_FLAG_UPTIME) != 0,
                              std::string((const char *)p.payload, p.len)});
        }
    }
    return got;
}

static void inject(const std::string &json, uint32_t seq) {
    std::vector<uint8_t> pkt(json.size() + CR_PKT_OVERHEAD);
    cr_pkt_encode(pkt.data(), pkt.size(), CR_PKT_JSON, 0, seq, 0, (const uint8_t *)json.data(), json.size());
    host::serial_in.insert(host::serial_in.end(), pkt.begin(), pkt.end());
}

static std::string control(const std::string &json) {
    static uint32_t seq = 0;
    drain();
    inject(json, seq++);
    run_for(50);
    for (const Got &g : drain()) {
        if (g.type == CR_PKT_JSON && g.payload.find("\"type\":\"ack\"") != std::string::npos) return g.payload;
    }
    return "(no ack)";
}

int main() {
    cr_reader_init(&rd, rd_buf.data(), rd_buf.size(), (uint32_t)rd_buf.size() - CR_PKT_OVERHEAD);
    setup();
    check_camera_start();
    CHECK(host::serial_baud == 2000000, "baud %lu", host::serial_baud);
    CHECK(!host::serial_debug_output && host::log_level_none_set == 1, "logging off on the line");
    CHECK(host::serial_rx_buffer >= CR_PKT_DOWNLINK_MAX + CR_PKT_OVERHEAD, "RX buffer %zu", host::serial_rx_buffer);
#if ESP_ARDUINO_VERSION_MAJOR >= 3
    CHECK(host::serial_tx_buffer >= CR_PKT_HEADER_LEN, "TX buffer %zu", host::serial_tx_buffer);
#endif
    run_for(2000);
    std::vector<Got> got = drain();
    CHECK(got.size() > 40 && got[0].type == CR_PKT_JSON && got[0].seq == 0 &&
              got[0].payload.find("{\"type\":\"hello\"") == 0 && got[0].payload.find("\"link\":\"uart\"") != std::string::npos,
          "hello first, seq 0");
    size_t frames = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (got[i].seq != i) {
            CHECK(0, "packet %zu has seq %u", i, got[i].seq);
            break;
        }
        if (got[i].type == CR_PKT_JPEG) {
            frames++;
            if (got[i].payload != std::string(host::jpeg.begin(), host::jpeg.end()) || !got[i].uptime) {
                CHECK(0, "frame %zu differs or lacks its capture time", i);
            }
        }
    }
    CHECK(frames >= 45 && frames <= 51, "2 s at max 25 fps sent %zu frames", frames);
    // Nothing but packets on the line: no log line, no boot text of ours.
    CHECK(rd.stats.garbage == 0 && rd.stats.bad_crc == 0, "%llu bytes outside packets",
          (unsigned long long)rd.stats.garbage);

    std::string ack = control("{\"type\":\"control\",\"id\":3,\"framesize\":\"svga\",\"saturation\":1}");
    CHECK(ack == "{\"type\":\"ack\",\"id\":3,\"ok\":true,\"applied\":{\"framesize\":\"SVGA\",\"saturation\":1}}", "%s",
          ack.c_str());
    CHECK(has(host::sensor_calls, call("set_framesize", FRAMESIZE_SVGA)), "SVGA by its symbol");

    // Noise and a reset of the gateway's sequence do not upset the reader.
    const char noise[] = "\r\nets Jun  8 2016 00:22:57\r\n\xa5\x5a\x43";
    host::serial_in.insert(host::serial_in.end(), noise, noise + sizeof noise - 1);
    inject("{\"type\":\"demand\",\"rate\":\"idle\"}", 0);
    run_for(100);
    drain();
    run_for(10000);
    frames = 0;
    size_t status = 0, hellos = 0;
    for (const Got &g : drain()) {
        frames += g.type == CR_PKT_JPEG;
        status += g.payload.find("\"type\":\"status\"") != std::string::npos;
        hellos += g.payload.find("\"type\":\"hello\"") != std::string::npos;
    }
    CHECK(frames >= 9 && frames <= 11, "10 s idle sent %zu frames", frames);
    CHECK(status >= 2, "status every 5 s (%zu)", status);
    run_for(25000);
    hellos = 0;
    for (const Got &g : drain()) hellos += g.payload.find("\"type\":\"hello\"") != std::string::npos;
    CHECK(hellos >= 1, "hello again every 30 s on the UART");
    CHECK(rd.stats.garbage == 0, "still nothing but packets");
    CHECK(host::fb_gets == host::fb_returns, "every fb_get returned");
    return check_summary("sketch smoke (uart, " CAMRELAY_STUB_NAME ")");
}

#endif
