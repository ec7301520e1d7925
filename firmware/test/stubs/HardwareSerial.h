#pragma once
/* Stub of arduino-esp32 cores/esp32/HardwareSerial.h (../../../shared/
 * FIRMWARE.md §5.6). Core 2.0.x: rxfifo_full_thrhd defaults to 112 and
 * setTxBufferSize is not relied on; core 3.x: 120, and setTxBufferSize. */
#include <stddef.h>
#include <stdint.h>

#include "Print.h"
#include "esp_arduino_version.h"

#define SERIAL_8N1 0x800001c

class HardwareSerial : public Stream {
  public:
    explicit HardwareSerial(uint8_t uart_nr) : uart_nr_(uart_nr) {}
#if ESP_ARDUINO_VERSION_MAJOR >= 3
    void begin(unsigned long baud, uint32_t config = SERIAL_8N1, int8_t rxPin = -1, int8_t txPin = -1,
               bool invert = false, unsigned long timeout_ms = 20000UL, uint8_t rxfifo_full_thrhd = 120);
    size_t setTxBufferSize(size_t new_size);
#else
    void begin(unsigned long baud, uint32_t config = SERIAL_8N1, int8_t rxPin = -1, int8_t txPin = -1,
               bool invert = false, unsigned long timeout_ms = 20000UL, uint8_t rxfifo_full_thrhd = 112);
#endif
    void end();
    size_t setRxBufferSize(size_t new_size);
    bool setPins(int8_t rxPin, int8_t txPin, int8_t ctsPin = -1, int8_t rtsPin = -1);
    void setDebugOutput(bool);
    int available() override;
    int peek() override;
    int read() override;
    size_t read(uint8_t *buffer, size_t size);
    void flush();
    size_t write(uint8_t) override;
    size_t write(const uint8_t *buffer, size_t size) override;
    using Print::write;

  private:
    uint8_t uart_nr_;
};

#if ARDUINO_USB_CDC_ON_BOOT
/* ESP32-S3 with "USB CDC On Boot": Serial is the USB port, UART0 is Serial0. */
class HWCDC : public Stream {
  public:
    void begin(unsigned long baud = 0);
    void setDebugOutput(bool);
    int available() override;
    int peek() override;
    int read() override;
    size_t write(uint8_t) override;
    size_t write(const uint8_t *buffer, size_t size) override;
    using Print::write;
};
extern HWCDC Serial;
extern HardwareSerial Serial0;
#else
extern HardwareSerial Serial;
#endif
