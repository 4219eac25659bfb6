// Text as messages print it: counts with their noun, byte sizes, names made safe for a terminal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tessera {

// A byte count as messages print it: "512 B", "58.3 GB" (powers of 1000).
std::string bytes_text(uint64_t bytes);

// A count and its noun as messages print it: count_text(1, "patch", "patches") is "1 patch".
std::string count_text(uint64_t n, const char* one, const char* many);

// `text` as it may reach a terminal: a file name can hold escape sequences that would recolour,
// retitle or rewrite the user's terminal. Each byte of a control character (C0, DEL, C1), of a
// bidirectional or line-separator format character, or of invalid UTF-8 becomes \xNN, and a
// backslash becomes \\, so the printed text still tells every name apart. Printable UTF-8
// passes as it is.
std::string printable(std::string_view text);

}  // namespace tessera
