#pragma once
/* Stub of ESP-IDF esp_system.h: reset reasons (IDF 4.4; IDF 5.x, used by
 * arduino-esp32 3.x, appends more). */
#include "esp_arduino_version.h"
#include "esp_err.h"
#ifdef __cplusplus
extern "C" {
#endif
typedef enum {
    ESP_RST_UNKNOWN,
    ESP_RST_POWERON,
    ESP_RST_EXT,
    ESP_RST_SW,
    ESP_RST_PANIC,
    ESP_RST_INT_WDT,
    ESP_RST_TASK_WDT,
    ESP_RST_WDT,
    ESP_RST_DEEPSLEEP,
    ESP_RST_BROWNOUT,
    ESP_RST_SDIO,
#if ESP_ARDUINO_VERSION_MAJOR >= 3
    ESP_RST_USB,
    ESP_RST_JTAG,
    ESP_RST_EFUSE,
    ESP_RST_PWR_GLITCH,
    ESP_RST_CPU_LOCKUP,
#endif
} esp_reset_reason_t;
esp_reset_reason_t esp_reset_reason(void);
#ifdef __cplusplus
}
#endif
