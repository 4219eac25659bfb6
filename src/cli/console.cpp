// The status line and warnings on stderr.
#include "cli/console.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>

#include "tessera/core/text.hpp"

namespace tessera::cli {

bool Console::progress() const {
    return !quiet && ::isatty(STDERR_FILENO);
}

void Console::warn(const std::string& message) const {
    if (progress()) std::cerr << "\r\033[K";
    std::cerr << "tessera: warning: " << printable(message) << "\n";
}

void Console::show(std::string line) const {
    line = printable(line);
    // A line as wide as the terminal would wrap, and "\r" would no longer go back to its start:
    // cut it short (at a UTF-8 character boundary).
    winsize terminal{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &terminal) == 0 && terminal.ws_col > 0 &&
        line.size() >= terminal.ws_col) {
        size_t end = terminal.ws_col - 1;
        while (end > 0 && (uint8_t(line[end]) & 0xC0) == 0x80) --end;
        line.resize(end);
    }
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
}

void Console::end_status() const {
    if (progress()) std::fprintf(stderr, "\r\033[K");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace tessera::cli
