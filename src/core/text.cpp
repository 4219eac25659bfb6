#include "tessera/core/text.hpp"

#include <cstdio>

namespace tessera {

std::string count_text(uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string bytes_text(uint64_t bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1000 && u < 4) v /= 1000, ++u;
    char text[32];
    std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return text;
}

namespace {

// The length of the UTF-8 sequence at the start of `s` when it is valid and printable, else 0.
size_t printable_length(std::string_view s) {
    const auto byte = [&s](size_t i) { return uint8_t(s[i]); };
    const uint8_t lead = byte(0);
    if (lead < 0x80) return lead >= 0x20 && lead != 0x7F ? 1 : 0;
    const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (length == 0 || s.size() < length) return 0;
    uint32_t code = lead & (0x7F >> length);
    for (size_t i = 1; i < length; ++i) {
        if ((byte(i) & 0xC0) != 0x80) return 0;
        code = code << 6 | (byte(i) & 0x3F);
    }
    constexpr uint32_t kShortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kShortest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
        return 0;  // overlong, out of range or a surrogate: not UTF-8
    }
    const bool control = code <= 0x9F;  // C1 (C0 and DEL are one byte)
    const bool bidi = (code >= 0x200E && code <= 0x200F) || (code >= 0x202A && code <= 0x202E) ||
                      (code >= 0x2066 && code <= 0x2069);  // reorder what follows on the line
    const bool separator = code == 0x2028 || code == 0x2029;
    return control || bidi || separator ? 0 : length;
}

}  // namespace

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const size_t length = printable_length(text);
        if (text[0] == '\\') {
            out += "\\\\";
            text.remove_prefix(1);
        } else if (length > 0) {
            out += text.substr(0, length);
            text.remove_prefix(length);
        } else {
            // Every byte of a valid but unprintable character is escaped, as each invalid byte.
            size_t bytes = 1;
            const uint8_t lead = uint8_t(text[0]);
            if (lead >= 0xC0) {
                const size_t expected = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
                while (bytes < expected && bytes < text.size() &&
                       (uint8_t(text[bytes]) & 0xC0) == 0x80) {
                    ++bytes;
                }
            }
            for (size_t i = 0; i < bytes; ++i) {
                char escaped[5];
                std::snprintf(escaped, sizeof escaped, "\\x%02x", unsigned(uint8_t(text[i])));
                out += escaped;
            }
            text.remove_prefix(bytes);
        }
    }
    return out;
}

}  // namespace tessera
