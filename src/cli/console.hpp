// What the tessera command shows while it works: warnings, and on a terminal one status line.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace tessera::cli {

// Warnings, and on a terminal one status line, rewritten in place, naming what is being done;
// the summary replaces it. Both pass through printable(): they name the user's files.
struct Console {
    bool quiet = false;
    mutable std::string phase;  // the last status, shown or not: what an out-of-memory error names
    bool progress() const;
    void warn(const std::string& message) const;
    template <typename... Args>
    void status(const char* format, Args... args) const {
        std::string line(size_t(std::snprintf(nullptr, 0, format, args...)), '\0');
        std::snprintf(line.data(), line.size() + 1, format, args...);
        phase = line;
        if (progress()) show(std::move(line));
    }
    void end_status() const;

  private:
    void show(std::string line) const;
};

double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace tessera::cli
