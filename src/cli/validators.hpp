// The checks CLI11 runs on option values: a bad value is a usage error (exit status 2).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tessera/core/error.hpp"

namespace tessera::cli {

// A bad option value found after parsing (a zero tile, a quarter turn of a non-square tile):
// reported like CLI11's own usage errors, with exit status 2.
struct UsageError : Error {
    using Error::Error;
};

// Digits only, from `low` to `high`, refused in the words of tessera/pipeline/options.hpp: CLI11's
// own checks accept "1.5" or "1e9" for an integer option, or call them out of a range they print as
// floats.
CLI::Validator whole_number(uint64_t low, uint64_t high);
extern const CLI::Validator kThreadCount;    // 0 (all cores) to pipeline::kMaxThreads
extern const CLI::Validator kPositiveCount;  // 1 or more

// Wherever a path is expected: "" would otherwise fail late with a message naming nothing.
extern const CLI::Validator kPath;

// A value `parse` takes without throwing Error; else the usage error is the core's message.
CLI::Validator usage_check(std::function<void(const std::string&)> parse);

// A size parse_size takes, `what` naming it in the message ("tile").
CLI::Validator size_check(const char* what);

// "0,90" -> {0, 90}, each an angle transforms_from takes. CLI11's own splitting would drop the
// empty items of "0," or ",90" without a word.
std::vector<int> parse_rotations(const std::string& list);

}  // namespace tessera::cli
