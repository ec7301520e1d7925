/*
 * framesize_list: every frame size name the gateway may send, in the order
 * of esp32-camera's framesize_t (and of the gateway's control.FrameSizes),
 * with its pixel size. One list for C and C++: control.c makes the name
 * table of it, and the sketch's framesizes.h maps each name to the
 * driver's enum symbol FRAMESIZE_<NAME> at compile time.
 */
#ifndef CAMRELAY_CORE_FRAMESIZE_LIST_H
#define CAMRELAY_CORE_FRAMESIZE_LIST_H

#define CR_FRAMESIZE_LIST(X) \
    X(96X96, 96, 96)         \
    X(QQVGA, 160, 120)       \
    X(128X128, 128, 128)     \
    X(QCIF, 176, 144)        \
    X(HQVGA, 240, 176)       \
    X(240X240, 240, 240)     \
    X(QVGA, 320, 240)        \
    X(320X320, 320, 320)     \
    X(CIF, 400, 296)         \
    X(HVGA, 480, 320)        \
    X(VGA, 640, 480)         \
    X(SVGA, 800, 600)        \
    X(XGA, 1024, 768)        \
    X(HD, 1280, 720)         \
    X(SXGA, 1280, 1024)      \
    X(UXGA, 1600, 1200)      \
    X(FHD, 1920, 1080)       \
    X(P_HD, 720, 1280)       \
    X(P_3MP, 864, 1536)      \
    X(QXGA, 2048, 1536)      \
    X(QHD, 2560, 1440)       \
    X(WQXGA, 2560, 1600)     \
    X(P_FHD, 1080, 1920)     \
    X(QSXGA, 2560, 1920)     \
    X(5MP, 2592, 1944)

#endif
