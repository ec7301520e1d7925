#pragma once
/* Stub of Arduino's Print and Stream (arduino-esp32 cores/esp32). */
#include <stddef.h>
#include <stdint.h>

class Print {
  public:
    virtual ~Print() {}
    virtual size_t write(uint8_t) = 0;
    virtual size_t write(const uint8_t *buffer, size_t size);
    size_t write(const char *str);
    size_t printf(const char *format, ...) __attribute__((format(printf, 2, 3)));
    size_t print(const char *s);
    size_t println(const char *s);
};

class Stream : public Print {
  public:
    virtual int available() = 0;
    virtual int read() = 0;
    virtual int peek() = 0;
};
