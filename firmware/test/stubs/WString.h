#pragma once
/* Stub of Arduino's String: enough for the API overloads that take one. */
#include <string>
class String {
  public:
    String(const char *s = "") : s_(s ? s : "") {}
    const char *c_str() const { return s_.c_str(); }
    unsigned int length() const { return (unsigned int)s_.size(); }

  private:
    std::string s_;
};
