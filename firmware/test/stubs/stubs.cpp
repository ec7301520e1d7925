/* Behaviour of the stubs for the host smoke run: a fake clock, a camera
 * that hands out one JPEG, a gateway that can accept, refuse or drop the
 * uplink, and a serial line into memory. Nothing more. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "Arduino.h"
#include "WebSocketsClient.h"
#include "WiFi.h"
#include "esp_camera.h"
#include "esp_log.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "host.h"

namespace host {
uint64_t now_us = 1000000;
bool psram = true;
esp_reset_reason_t reset = ESP_RST_POWERON;
int wifi_status = WL_CONNECTED;
int restarts = 0;
uint64_t first_restart_us = 0;
std::vector<std::string> logs;
camera_config_t camera_config;
int camera_inits = 0, camera_deinits = 0, camera_init_fail = 0;
int fb_gets = 0, fb_returns = 0, fb_outstanding = 0, fb_fail_next = 0;
std::vector<uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9};
sensor_t sensor;
std::vector<std::string> sensor_calls;
std::vector<std::string> ledc_calls;
std::string ws_host, ws_url, ws_protocol, ws_extra_headers = "Origin: file://";
uint16_t ws_port = 0;
bool ws_accept = true, ws_send_fails = false, ws_drop = false;
std::vector<unsigned long> ws_intervals;
std::vector<std::string> ws_text_out, ws_text_in;
std::vector<std::vector<uint8_t>> ws_bin_out;
uint32_t ws_heartbeat[3];
unsigned long serial_baud = 0;
size_t serial_rx_buffer = 0, serial_tx_buffer = 0;
bool serial_debug_output = true;
std::vector<uint8_t> serial_out, serial_in;
int log_level_none_set = 0;
}  // namespace host

/* ---- Arduino core ---- */
unsigned long millis() { return (unsigned long)(host::now_us / 1000); }
unsigned long micros() { return (unsigned long)host::now_us; }
void delay(uint32_t ms) { host::now_us += (uint64_t)ms * 1000; }
void yield() {}
void pinMode(uint8_t, uint8_t) {}
void digitalWrite(uint8_t, uint8_t) {}
bool psramFound() { return host::psram; }
long random(long howbig) { return howbig > 0 ? (long)(host::now_us % (uint64_t)howbig) : 0; }
long random(long howsmall, long howbig) { return howsmall + random(howbig - howsmall); }
void randomSeed(unsigned long) {}
int64_t esp_timer_get_time(void) { return (int64_t)host::now_us; }
esp_reset_reason_t esp_reset_reason(void) { return host::reset; }
void esp_log_level_set(const char *tag, esp_log_level_t level) {
    if (strcmp(tag, "*") == 0 && level == ESP_LOG_NONE) host::log_level_none_set++;
}
uint32_t EspClass::getHeapSize() { return 320000; }
uint32_t EspClass::getFreeHeap() { return 181234; }
uint32_t EspClass::getPsramSize() { return host::psram ? 4194304 : 0; }
uint32_t EspClass::getFreePsram() { return host::psram ? 4000000 : 0; }
void EspClass::restart() {
    if (host::restarts++ == 0) host::first_restart_us = host::now_us;
}
EspClass ESP;

#if ESP_ARDUINO_VERSION_MAJOR >= 3
bool ledcAttach(uint8_t pin, uint32_t freq, uint8_t res) {
    host::ledc_calls.push_back("attach " + std::to_string(pin) + " " + std::to_string(freq) + " " + std::to_string(res));
    return true;
}
bool ledcAttachChannel(uint8_t pin, uint32_t freq, uint8_t res, int8_t ch) {
    host::ledc_calls.push_back("attachChannel " + std::to_string(pin) + " " + std::to_string(freq) + " " +
                               std::to_string(res) + " " + std::to_string(ch));
    return true;
}
bool ledcWrite(uint8_t pin, uint32_t duty) {
    host::ledc_calls.push_back("write pin " + std::to_string(pin) + " " + std::to_string(duty));
    return true;
}
bool ledcDetach(uint8_t) { return true; }
#else
uint32_t ledcSetup(uint8_t ch, uint32_t freq, uint8_t bits) {
    host::ledc_calls.push_back("setup " + std::to_string(ch) + " " + std::to_string(freq) + " " + std::to_string(bits));
    return freq;
}
void ledcAttachPin(uint8_t pin, uint8_t ch) {
    host::ledc_calls.push_back("attachPin " + std::to_string(pin) + " " + std::to_string(ch));
}
void ledcWrite(uint8_t ch, uint32_t duty) {
    host::ledc_calls.push_back("write channel " + std::to_string(ch) + " " + std::to_string(duty));
}
void ledcDetachPin(uint8_t) {}
#endif

/* ---- Print, Serial ---- */
size_t Print::write(const uint8_t *b, size_t n) {
    size_t w = 0;
    while (n-- > 0) w += write(*b++);
    return w;
}
size_t Print::write(const char *s) { return write((const uint8_t *)s, strlen(s)); }
size_t Print::print(const char *s) { return write(s); }
size_t Print::println(const char *s) { return print(s) + print("\r\n"); }
size_t Print::printf(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return n > 0 ? write((const uint8_t *)buf, strlen(buf)) : 0;
}

void HardwareSerial::begin(unsigned long baud, uint32_t, int8_t, int8_t, bool, unsigned long, uint8_t) {
    host::serial_baud = baud;
}
#if ESP_ARDUINO_VERSION_MAJOR >= 3
size_t HardwareSerial::setTxBufferSize(size_t n) {
    host::serial_tx_buffer = n;
    return n;
}
#endif
void HardwareSerial::end() {}
size_t HardwareSerial::setRxBufferSize(size_t n) {
    host::serial_rx_buffer = n;
    return n;
}
bool HardwareSerial::setPins(int8_t, int8_t, int8_t, int8_t) { return true; }
void HardwareSerial::setDebugOutput(bool on) { host::serial_debug_output = on; }
int HardwareSerial::available() { return (int)host::serial_in.size(); }
int HardwareSerial::peek() { return host::serial_in.empty() ? -1 : host::serial_in[0]; }
int HardwareSerial::read() {
    if (host::serial_in.empty()) return -1;
    int c = host::serial_in[0];
    host::serial_in.erase(host::serial_in.begin());
    return c;
}
size_t HardwareSerial::read(uint8_t *b, size_t n) {
    size_t k = n < host::serial_in.size() ? n : host::serial_in.size();
    memcpy(b, host::serial_in.data(), k);
    host::serial_in.erase(host::serial_in.begin(), host::serial_in.begin() + (long)k);
    return k;
}
void HardwareSerial::flush() {}
size_t HardwareSerial::write(uint8_t c) {
    host::serial_out.push_back(c);
    return 1;
}
size_t HardwareSerial::write(const uint8_t *b, size_t n) {
    host::serial_out.insert(host::serial_out.end(), b, b + n);
    return n;
}
#if ARDUINO_USB_CDC_ON_BOOT
void HWCDC::begin(unsigned long) {}
void HWCDC::setDebugOutput(bool) {}
int HWCDC::available() { return 0; }
int HWCDC::peek() { return -1; }
int HWCDC::read() { return -1; }
size_t HWCDC::write(uint8_t c) {
    host::serial_out.push_back(c);
    return 1;
}
size_t HWCDC::write(const uint8_t *b, size_t n) {
    host::serial_out.insert(host::serial_out.end(), b, b + n);
    return n;
}
HWCDC Serial;
HardwareSerial Serial0(0);
#else
HardwareSerial Serial(0);
#endif

/* ---- WiFi ---- */
bool WiFiClass::mode(wifi_mode_t) { return true; }
wifi_mode_t WiFiClass::getMode() { return WIFI_MODE_STA; }
wl_status_t WiFiClass::begin(const char *, const char *, int32_t, const uint8_t *, bool) {
    return (wl_status_t)host::wifi_status;
}
bool WiFiClass::disconnect(bool, bool) { return true; }
bool WiFiClass::reconnect() { return true; }
bool WiFiClass::setAutoReconnect(bool) { return true; }
bool WiFiClass::setSleep(bool) { return true; }
bool WiFiClass::setHostname(const char *) { return true; }
bool WiFiClass::isConnected() { return host::wifi_status == WL_CONNECTED; }
wl_status_t WiFiClass::status() { return (wl_status_t)host::wifi_status; }
int8_t WiFiClass::RSSI() { return -61; }
WiFiClass WiFi;

/* ---- camera ---- */
static camera_fb_t the_fb;
static int sensor_call(const char *what, int v) {
    host::sensor_calls.push_back(std::string(what) + " " + std::to_string(v));
    return 0;
}
static int s_framesize(sensor_t *s, framesize_t f) {
    s->status.framesize = f;
    return sensor_call("set_framesize", (int)f);
}
static int s_quality(sensor_t *, int v) { return sensor_call("set_quality", v); }
static int s_brightness(sensor_t *, int v) { return sensor_call("set_brightness", v); }
static int s_contrast(sensor_t *, int v) { return sensor_call("set_contrast", v); }
static int s_saturation(sensor_t *, int v) { return sensor_call("set_saturation", v); }
static int s_vflip(sensor_t *, int v) { return sensor_call("set_vflip", v); }
static int s_hmirror(sensor_t *, int v) { return sensor_call("set_hmirror", v); }

esp_err_t esp_camera_init(const camera_config_t *config) {
    host::camera_inits++;
    host::camera_config = *config;
    if (host::camera_init_fail > 0) {
        host::camera_init_fail--;
        return ESP_ERR_CAMERA_NOT_DETECTED;
    }
    memset(&host::sensor, 0, sizeof host::sensor);
    host::sensor.id.PID = OV2640_PID;
    host::sensor.pixformat = config->pixel_format;
    // The OV2640 tops out at UXGA: the driver lowers a larger size.
    host::sensor.status.framesize = config->frame_size > FRAMESIZE_UXGA ? FRAMESIZE_UXGA : config->frame_size;
    host::sensor.set_framesize = s_framesize;
    host::sensor.set_quality = s_quality;
    host::sensor.set_brightness = s_brightness;
    host::sensor.set_contrast = s_contrast;
    host::sensor.set_saturation = s_saturation;
    host::sensor.set_vflip = s_vflip;
    host::sensor.set_hmirror = s_hmirror;
    return ESP_OK;
}
esp_err_t esp_camera_deinit(void) {
    host::camera_deinits++;
    return ESP_OK;
}
camera_fb_t *esp_camera_fb_get(void) {
    host::fb_gets++;
    if (host::fb_fail_next > 0) {
        host::fb_fail_next--;
        return NULL;
    }
    host::fb_outstanding++;
    the_fb.buf = host::jpeg.data();
    the_fb.len = host::jpeg.size();
    the_fb.width = 640;
    the_fb.height = 480;
    the_fb.format = PIXFORMAT_JPEG;
    the_fb.timestamp.tv_sec = (time_t)(host::now_us / 1000000);
    the_fb.timestamp.tv_usec = (suseconds_t)(host::now_us % 1000000);
    return &the_fb;
}
void esp_camera_fb_return(camera_fb_t *fb) {
    if (fb == &the_fb) {
        host::fb_returns++;
        host::fb_outstanding--;
    }
}
sensor_t *esp_camera_sensor_get(void) { return host::camera_inits > host::camera_deinits ? &host::sensor : NULL; }

/* ---- arduinoWebSockets ---- */
static WebSocketsClient::WebSocketClientEvent ws_cb;
static bool ws_connected = false;
static unsigned long ws_interval = 500, ws_last_fail = 0;

WebSocketsClient::WebSocketsClient(void) {}
WebSocketsClient::~WebSocketsClient(void) {}
void WebSocketsClient::begin(const char *h, uint16_t port, const char *url, const char *protocol) {
    host::ws_host = h;
    host::ws_port = port;
    host::ws_url = url;
    host::ws_protocol = protocol;
}
void WebSocketsClient::begin(String h, uint16_t port, String url, String protocol) {
    begin(h.c_str(), port, url.c_str(), protocol.c_str());
}
void WebSocketsClient::loop(void) {
    if (ws_connected && host::ws_drop) {
        host::ws_drop = false;
        ws_connected = false;
        ws_last_fail = millis();
        ws_cb(WStype_DISCONNECTED, NULL, 0);
        return;
    }
    if (!ws_connected) {
        if (millis() - ws_last_fail < ws_interval) return;
        if (host::ws_accept && host::wifi_status == WL_CONNECTED) {
            ws_connected = true;
            ws_cb(WStype_CONNECTED, (uint8_t *)host::ws_url.data(), host::ws_url.size());
        } else {
            ws_last_fail = millis();
            static char reason[] = "HTTP 401";
            ws_cb(WStype_DISCONNECTED, (uint8_t *)reason, strlen(reason));
        }
        return;
    }
    while (!host::ws_text_in.empty()) {
        std::string msg = host::ws_text_in.front();
        host::ws_text_in.erase(host::ws_text_in.begin());
        std::vector<uint8_t> payload(msg.begin(), msg.end());
        payload.push_back(0);  // the library NUL-terminates text
        ws_cb(WStype_TEXT, payload.data(), msg.size());
    }
}
void WebSocketsClient::onEvent(WebSocketClientEvent cb) { ws_cb = cb; }
bool WebSocketsClient::sendTXT(uint8_t *p, size_t n, bool) { return sendTXT((const char *)p, n); }
bool WebSocketsClient::sendTXT(const uint8_t *p, size_t n) { return sendTXT((const char *)p, n); }
bool WebSocketsClient::sendTXT(char *p, size_t n, bool) { return sendTXT((const char *)p, n); }
bool WebSocketsClient::sendTXT(const char *p, size_t n) {
    if (!ws_connected || host::ws_send_fails) return false;
    host::ws_text_out.push_back(std::string(p, n ? n : strlen(p)));
    return true;
}
bool WebSocketsClient::sendTXT(String &p) { return sendTXT(p.c_str(), p.length()); }
bool WebSocketsClient::sendTXT(char c) { return sendTXT(&c, 1); }
bool WebSocketsClient::sendBIN(uint8_t *p, size_t n, bool) { return sendBIN((const uint8_t *)p, n); }
bool WebSocketsClient::sendBIN(const uint8_t *p, size_t n) {
    if (!ws_connected || host::ws_send_fails) return false;
    host::ws_bin_out.push_back(std::vector<uint8_t>(p, p + n));
    return true;
}
bool WebSocketsClient::sendPing(uint8_t *, size_t) { return ws_connected; }
bool WebSocketsClient::sendPing(String &) { return ws_connected; }
void WebSocketsClient::disconnect(void) { ws_connected = false; }
void WebSocketsClient::setAuthorization(const char *, const char *) {}
void WebSocketsClient::setAuthorization(const char *) {}
void WebSocketsClient::setExtraHeaders(const char *h) { host::ws_extra_headers = h ? h : ""; }
void WebSocketsClient::setReconnectInterval(unsigned long t) {
    ws_interval = t;
    host::ws_intervals.push_back(t);
}
void WebSocketsClient::enableHeartbeat(uint32_t a, uint32_t b, uint8_t c) {
    host::ws_heartbeat[0] = a;
    host::ws_heartbeat[1] = b;
    host::ws_heartbeat[2] = c;
}
void WebSocketsClient::disableHeartbeat() {}
bool WebSocketsClient::isConnected(void) { return ws_connected; }
String WebSocketsClient::getUrl(void) { return String(host::ws_url.c_str()); }
