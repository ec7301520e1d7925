#pragma once
/* Stub of esp32-camera driver/include/sensor.h (../../../shared/FIRMWARE.md
 * §1.3, §1.4, §1.8). CAMRELAY_STUB_CAMERA selects the framesize_t of
 * v2.0.4..v2.0.13 (2013) or v2.0.14+ (2014): FRAMESIZE_128X128 and
 * FRAMESIZE_320X320 were inserted and FRAMESIZE_5MP appended, which
 * renumbered everything after QQVGA. */
#include <stdbool.h>
#include <stdint.h>

#include "esp_arduino_version.h"

#ifndef CAMRELAY_STUB_CAMERA
#if ESP_ARDUINO_VERSION_MAJOR >= 3
#define CAMRELAY_STUB_CAMERA 2014
#else
#define CAMRELAY_STUB_CAMERA 2013
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    OV9650_PID = 0x96,
    OV7725_PID = 0x77,
    OV2640_PID = 0x26,
#if CAMRELAY_STUB_CAMERA >= 2014
    OV3660_PID = 0x3660,
    OV5640_PID = 0x5640,
#else
    OV3660_PID = 0x36,
    OV5640_PID = 0x56,
#endif
    OV7670_PID = 0x76,
    NT99141_PID = 0x1410,
    GC2145_PID = 0x2145,
    GC032A_PID = 0x232a,
} camera_pid_t;

typedef enum {
    PIXFORMAT_RGB565,
    PIXFORMAT_YUV422,
#if CAMRELAY_STUB_CAMERA >= 2014
    PIXFORMAT_YUV420,
#endif
    PIXFORMAT_GRAYSCALE,
    PIXFORMAT_JPEG,
    PIXFORMAT_RGB888,
    PIXFORMAT_RAW,
    PIXFORMAT_RGB444,
    PIXFORMAT_RGB555,
#if CAMRELAY_STUB_CAMERA >= 2014
    PIXFORMAT_RAW8,
#endif
} pixformat_t;

typedef enum {
    FRAMESIZE_96X96,
    FRAMESIZE_QQVGA,
#if CAMRELAY_STUB_CAMERA >= 2014
    FRAMESIZE_128X128,
#endif
    FRAMESIZE_QCIF,
    FRAMESIZE_HQVGA,
    FRAMESIZE_240X240,
    FRAMESIZE_QVGA,
#if CAMRELAY_STUB_CAMERA >= 2014
    FRAMESIZE_320X320,
#endif
    FRAMESIZE_CIF,
    FRAMESIZE_HVGA,
    FRAMESIZE_VGA,
    FRAMESIZE_SVGA,
    FRAMESIZE_XGA,
    FRAMESIZE_HD,
    FRAMESIZE_SXGA,
    FRAMESIZE_UXGA,
    FRAMESIZE_FHD,
    FRAMESIZE_P_HD,
    FRAMESIZE_P_3MP,
    FRAMESIZE_QXGA,
    FRAMESIZE_QHD,
    FRAMESIZE_WQXGA,
    FRAMESIZE_P_FHD,
    FRAMESIZE_QSXGA,
#if CAMRELAY_STUB_CAMERA >= 2014
    FRAMESIZE_5MP,
#endif
    FRAMESIZE_INVALID
} framesize_t;

typedef enum {
    GAINCEILING_2X, GAINCEILING_4X, GAINCEILING_8X, GAINCEILING_16X,
    GAINCEILING_32X, GAINCEILING_64X, GAINCEILING_128X,
} gainceiling_t;

typedef struct {
    uint8_t MIDH;
    uint8_t MIDL;
    uint16_t PID;
    uint8_t VER;
} sensor_id_t;

typedef struct {
    framesize_t framesize;
    bool scale;
    bool binning;
    uint8_t quality;
    int8_t brightness;
    int8_t contrast;
    int8_t saturation;
    int8_t sharpness;
    uint8_t denoise;
    uint8_t special_effect;
    uint8_t wb_mode;
    uint8_t awb;
    uint8_t awb_gain;
    uint8_t aec;
    uint8_t aec2;
    int8_t ae_level;
    uint16_t aec_value;
    uint8_t agc;
    uint8_t agc_gain;
    uint8_t gainceiling;
    uint8_t bpc;
    uint8_t wpc;
    uint8_t raw_gma;
    uint8_t lenc;
    uint8_t hmirror;
    uint8_t vflip;
    uint8_t dcw;
    uint8_t colorbar;
} camera_status_t;

typedef struct _sensor sensor_t;
typedef struct _sensor {
    sensor_id_t id;
    uint8_t slv_addr;
    pixformat_t pixformat;
    camera_status_t status;
    int xclk_freq_hz;

    int (*init_status)(sensor_t *sensor);
    int (*reset)(sensor_t *sensor);
    int (*set_pixformat)(sensor_t *sensor, pixformat_t pixformat);
    int (*set_framesize)(sensor_t *sensor, framesize_t framesize);
    int (*set_contrast)(sensor_t *sensor, int level);
    int (*set_brightness)(sensor_t *sensor, int level);
    int (*set_saturation)(sensor_t *sensor, int level);
    int (*set_sharpness)(sensor_t *sensor, int level);
    int (*set_denoise)(sensor_t *sensor, int level);
    int (*set_gainceiling)(sensor_t *sensor, gainceiling_t gainceiling);
    int (*set_quality)(sensor_t *sensor, int quality);
    int (*set_colorbar)(sensor_t *sensor, int enable);
    int (*set_whitebal)(sensor_t *sensor, int enable);
    int (*set_gain_ctrl)(sensor_t *sensor, int enable);
    int (*set_exposure_ctrl)(sensor_t *sensor, int enable);
    int (*set_hmirror)(sensor_t *sensor, int enable);
    int (*set_vflip)(sensor_t *sensor, int enable);
    int (*set_aec2)(sensor_t *sensor, int enable);
    int (*set_awb_gain)(sensor_t *sensor, int enable);
    int (*set_agc_gain)(sensor_t *sensor, int gain);
    int (*set_aec_value)(sensor_t *sensor, int gain);
    int (*set_special_effect)(sensor_t *sensor, int effect);
    int (*set_wb_mode)(sensor_t *sensor, int mode);
    int (*set_ae_level)(sensor_t *sensor, int level);
    int (*set_dcw)(sensor_t *sensor, int enable);
    int (*set_bpc)(sensor_t *sensor, int enable);
    int (*set_wpc)(sensor_t *sensor, int enable);
    int (*set_raw_gma)(sensor_t *sensor, int enable);
    int (*set_lenc)(sensor_t *sensor, int enable);
    int (*get_reg)(sensor_t *sensor, int reg, int mask);
    int (*set_reg)(sensor_t *sensor, int reg, int mask, int value);
    int (*set_res_raw)(sensor_t *sensor, int startX, int startY, int endX, int endY, int offsetX,
                       int offsetY, int totalX, int totalY, int outputX, int outputY, bool scale,
                       bool binning);
    int (*set_pll)(sensor_t *sensor, int bypass, int mul, int sys, int root, int pre, int seld5,
                   int pclken, int pclk);
    int (*set_xclk)(sensor_t *sensor, int timer, int xclk);
} sensor_t;

#ifdef __cplusplus
}
#endif
