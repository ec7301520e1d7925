// framesizes: frame size names to esp32-camera's framesize_t symbols, at
// compile time.
//
// The enum's numbers changed between driver versions (FRAMESIZE_128X128
// and FRAMESIZE_320X320 were inserted in v2.0.14, FRAMESIZE_5MP appended;
// ../../../shared/FIRMWARE.md §1.4), and arduino-esp32 2.x and 3.x ship
// different versions. So no number is ever written down here: each name of
// src/core/framesize_list.h becomes the symbol FRAMESIZE_<NAME>, and a
// symbol the installed driver lacks is detected (not a compile error) and
// maps to FRAMESIZE_INVALID: such a size is refused at run time.
#pragma once

#include <stdint.h>

#include "config_load.h"
#include "esp_camera.h"
#include "src/core/control.h"
#include "src/core/framesize_list.h"

namespace crfs {
// sym_NAME<framesize_t>(0) is FRAMESIZE_NAME when the enum has it (the
// first overload; an unscoped enum's enumerators may be named through the
// enum since C++11), else FRAMESIZE_INVALID (SFINAE drops the first).
#define CR_FS_DETECT(name, w, h)                                                         \
    template <typename E>                                                                \
    constexpr auto sym_##name(int) -> decltype(E::FRAMESIZE_##name) {                    \
        return E::FRAMESIZE_##name;                                                      \
    }                                                                                    \
    template <typename E>                                                                \
    constexpr E sym_##name(long) {                                                       \
        return E::FRAMESIZE_INVALID;                                                     \
    }
CR_FRAMESIZE_LIST(CR_FS_DETECT)
#undef CR_FS_DETECT
}  // namespace crfs

#define CR_FS_SYMBOL(name, w, h) crfs::sym_##name<framesize_t>(0),
constexpr framesize_t kFrameSizeSymbols[CR_FRAMESIZE_COUNT] = {CR_FRAMESIZE_LIST(CR_FS_SYMBOL)};
#undef CR_FS_SYMBOL

#define CR_FS_NAME(name, w, h) #name,
constexpr const char *kFrameSizeNames[CR_FRAMESIZE_COUNT] = {CR_FRAMESIZE_LIST(CR_FS_NAME)};
#undef CR_FS_NAME

// fs_find is the index of a name (any case), or -1.
constexpr int fs_find(const char *name, int i = 0) {
    return i >= CR_FRAMESIZE_COUNT ? -1 : crcfg::eq_ci(kFrameSizeNames[i], name) ? i : fs_find(name, i + 1);
}

// fs_mask has bit i set for each size the installed driver knows.
constexpr uint32_t fs_mask(int i = 0) {
    return i >= CR_FRAMESIZE_COUNT ? 0u
                                   : ((kFrameSizeSymbols[i] != FRAMESIZE_INVALID ? 1u << i : 0u) | fs_mask(i + 1));
}

constexpr int fs_count(int i = 0) {
    return i >= CR_FRAMESIZE_COUNT ? 0 : (kFrameSizeSymbols[i] != FRAMESIZE_INVALID ? 1 : 0) + fs_count(i + 1);
}

// fs_ordered checks that the known symbols come in the list's order: a
// name in the wrong place of the list would map a size to another's slot.
constexpr bool fs_ordered(int i = 0, int last = -1) {
    return i >= CR_FRAMESIZE_COUNT ? true
           : kFrameSizeSymbols[i] == FRAMESIZE_INVALID
               ? fs_ordered(i + 1, last)
               : (int)kFrameSizeSymbols[i] > last && fs_ordered(i + 1, (int)kFrameSizeSymbols[i]);
}

static_assert(fs_ordered(), "camrelay: framesize_list.h is out of the driver's framesize_t order");
static_assert(fs_count() >= 22, "camrelay: the camera driver lacks frame sizes every version since v2.0.4 has");
static_assert(kFrameSizeSymbols[10] == FRAMESIZE_VGA && kFrameSizeSymbols[15] == FRAMESIZE_UXGA,
              "camrelay: framesize_list.h does not match the driver's names");

// fs_index_of maps a driver symbol back to its index, or -1.
inline int fs_index_of(framesize_t f) {
    for (int i = 0; i < CR_FRAMESIZE_COUNT; i++) {
        if (kFrameSizeSymbols[i] == f && f != FRAMESIZE_INVALID) {
            return i;
        }
    }
    return -1;
}
