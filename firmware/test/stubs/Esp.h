#pragma once
/* Stub of arduino-esp32 cores/esp32/Esp.h. */
#include <stdint.h>
class EspClass {
  public:
    uint32_t getHeapSize();
    uint32_t getFreeHeap();
    uint32_t getPsramSize();
    uint32_t getFreePsram();
    void restart();
};
extern EspClass ESP;
