// The limits of the options both front ends take, and one check for each: the CLI and the Python
// module refuse the same values with the same words. `what` is the option as the front end
// names it in messages: "--threads", "--max-pixels", "--quality", "--rotations", but "tile" and
// "stride" (the words LibraryParams::validate uses) in the CLI; "threads", "tile"... in Python.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/library/library.hpp"
#include "tessera/library/params.hpp"
#include "tessera/pipeline/metric.hpp"

namespace tessera::pipeline {

inline constexpr int kMaxThreads = 4096;  // threads: 0 = all cores, everywhere
inline constexpr int kMaxQuality = 100;   // JPEG and WebP quality: 1 to 100

// The message of each check below, for the number as text: the checks show it so, and a front
// end whose numbers do not fit a check's type (Python's ints are unbounded; such a number is
// out of every range) refuses it with the same words. A command-line parser that names the
// option itself shows whole_number_message as it is: "'1.5' is not a whole number from 0 to 4096".
std::string whole_number_message(std::string_view text, uint64_t low, uint64_t high);
std::string sides_message(std::string_view what, std::string_view size, int max_side);
std::string rotation_message(std::string_view what, std::string_view degrees);
std::string k_message(std::string_view k, const Library& library);
std::string fraction_message(std::string_view text);  // "'1.5' is not a number from 0 to 1"
std::string metric_message(std::string_view name);    // "unknown metric 'x': use rgb or lab"
// The number `text` is when it is a fraction from 0 to 1 ("0.25", "1", ".5"); else nullopt.
std::optional<double> parse_fraction(std::string_view text);

// Each returns its value, in the type the engine takes, or throws Error.
int check_threads(int64_t threads, std::string_view what);  // 0 (all cores) to kMaxThreads
Size check_tile(Size tile, std::string_view what);          // 1 to kMaxTileSide per side
Size check_stride(Size stride, std::string_view what);      // 1 to kMaxStrideSide per side
// Each of 0, 90, 180 or 270 (degrees counter-clockwise); repeats are kept.
std::vector<int> check_rotations(std::span<const int64_t> degrees, std::string_view what);
uint64_t check_max_pixels(uint64_t max_pixels, std::string_view what);  // at least 1
int check_quality(int64_t quality, std::string_view what);              // 1 to kMaxQuality
// Neighbours per query: 1 to the library's patch count (both front ends call it k).
int check_k(int64_t k, const Library& library);
// A fraction from 0 to 1 (--color, --blend); NaN is refused.
double check_fraction(double value, std::string_view what);
// "rgb" or "lab" (--metric).
Metric check_metric(std::string_view name, std::string_view what);
// lab needs colour: refused, naming the library, for a gray one.
void check_metric_for(Metric metric, const Library& library, std::string_view what);

}  // namespace tessera::pipeline
