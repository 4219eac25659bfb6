// Errors: user mistakes and bad input throw tessera::Error with a complete, printable message;
// internal invariants use TESSERA_ASSERT, which aborts (a failed assertion is a tessera bug).
#pragma once

#include <stdexcept>
#include <string>

namespace tessera {

class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

[[noreturn]] void assertion_failed(const char* expression, const char* file, int line);

}  // namespace tessera

#define TESSERA_ASSERT(condition) \
    ((condition) ? void(0) : ::tessera::assertion_failed(#condition, __FILE__, __LINE__))
