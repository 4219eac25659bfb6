#include "tessera/pipeline/options.hpp"

#include <charconv>
#include <cstdio>
#include <limits>
#include <string>

#include "tessera/core/error.hpp"

namespace tessera::pipeline {

namespace {

std::string named(std::string_view what, const std::string& message) {
    return std::string(what) + ": " + message;
}

// The side limits of tile and stride, in the words LibraryParams::validate uses.
Size check_sides(Size size, int max_side, std::string_view what) {
    const auto side_ok = [max_side](int side) { return side >= 1 && side <= max_side; };
    if (!side_ok(size.width) || !side_ok(size.height)) {
        throw Error(sides_message(what, size_text(size), max_side));
    }
    return size;
}

}  // namespace

std::string whole_number_message(std::string_view text, uint64_t low, uint64_t high) {
    // Appended in steps: GCC 12 warns falsely (-Wrestrict) on "'" + std::string.
    std::string message = "'";
    message += text;
    return message + "' is not a whole number from " + std::to_string(low) + " to " +
           std::to_string(high);
}

std::string sides_message(std::string_view what, std::string_view size, int max_side) {
    return std::string(what) + " " + std::string(size) +
           " is out of range: each side must be 1 to " + std::to_string(max_side);
}

std::string rotation_message(std::string_view what, std::string_view degrees) {
    return named(what, "invalid rotation " + std::string(degrees) +
                           ": rotations are 0, 90, 180 or 270 degrees");
}

std::string k_message(std::string_view k, const Library& library) {
    return "k = " + std::string(k) + " is out of range: the library has " +
           std::to_string(library.patch_count()) + " patches";
}

int check_threads(int64_t threads, std::string_view what) {
    if (threads < 0 || threads > kMaxThreads) {
        throw Error(named(what, whole_number_message(std::to_string(threads), 0, kMaxThreads)));
    }
    return int(threads);
}

Size check_tile(Size tile, std::string_view what) {
    return check_sides(tile, kMaxTileSide, what);
}

Size check_stride(Size stride, std::string_view what) {
    return check_sides(stride, kMaxStrideSide, what);
}

std::vector<int> check_rotations(std::span<const int64_t> degrees, std::string_view what) {
    std::vector<int> checked;
    for (const int64_t d : degrees) {
        if (d != 0 && d != 90 && d != 180 && d != 270) {
            throw Error(rotation_message(what, std::to_string(d)));
        }
        checked.push_back(int(d));
    }
    return checked;
}

uint64_t check_max_pixels(uint64_t max_pixels, std::string_view what) {
    if (max_pixels < 1) {
        throw Error(named(what, whole_number_message(std::to_string(max_pixels), 1,
                                                     std::numeric_limits<uint64_t>::max())));
    }
    return max_pixels;
}

int check_quality(int64_t quality, std::string_view what) {
    if (quality < 1 || quality > kMaxQuality) {
        throw Error(named(what, whole_number_message(std::to_string(quality), 1, kMaxQuality)));
    }
    return int(quality);
}

int check_k(int64_t k, const Library& library) {
    if (k < 1 || uint64_t(k) > library.patch_count() || k > std::numeric_limits<int>::max()) {
        throw Error(k_message(std::to_string(k), library));
    }
    return int(k);
}

std::string fraction_message(std::string_view text) {
    std::string message = "'";
    message += text;
    return message + "' is not a number from 0 to 1";
}

std::string metric_message(std::string_view name) {
    std::string message = "unknown metric '";
    message += name;
    return message + "': use rgb or lab";
}

std::optional<double> parse_fraction(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        !(value >= 0 && value <= 1)) {
        return std::nullopt;
    }
    return value;
}

double check_fraction(double value, std::string_view what) {
    if (!(value >= 0 && value <= 1)) {
        char text[32];
        std::snprintf(text, sizeof text, "%g", value);
        throw Error(named(what, fraction_message(text)));
    }
    return value;
}

Metric check_metric(std::string_view name, std::string_view what) {
    if (name == "rgb") return Metric::rgb;
    if (name == "lab") return Metric::lab;
    throw Error(named(what, metric_message(name)));
}

void check_metric_for(Metric metric, const Library& library, std::string_view what) {
    if (metric == Metric::lab && library.params().mode != Mode::Rgb) {
        const std::string name = library.path().empty() ? "the library" : library.path();
        throw Error(named(what, "lab compares colours and " + name +
                                    " is a gray library: use rgb, or an rgb library"));
    }
}

}  // namespace tessera::pipeline
