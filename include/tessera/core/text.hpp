// Numbers as messages print them: counts with their noun, byte sizes.
#pragma once

#include <cstdint>
#include <string>

namespace tessera {

// A byte count as messages print it: "512 B", "58.3 GB" (powers of 1000).
std::string bytes_text(uint64_t bytes);

// A count and its noun as messages print it: count_text(1, "patch", "patches") is "1 patch".
std::string count_text(uint64_t n, const char* one, const char* many);

}  // namespace tessera
