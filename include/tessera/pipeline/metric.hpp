// What matching compares: the pixels as stored (rgb), or their CIELAB bytes (lab).
#pragma once

#include <string_view>

#include "tessera/core/image.hpp"
#include "tessera/library/library.hpp"

namespace tessera::pipeline {

// rgb: squared L2 on the pixel bytes, the library as stored. lab: squared L2 on each pixel's
// io::lab_bytes (CIELAB, D65, by libvips's conversion; L * 255 / 100, a + 128, b + 128, rounded),
// for rgb libraries only. Either way exact in integers, ties to the lowest id.
enum class Metric { rgb, lab };

std::string_view metric_name(Metric metric);

// The library and target that matching compares under a metric other than rgb: the library's
// patches converted (patch ids unchanged) into a library held in memory with its own search
// index, and the target converted alike. Rendering still pastes the library's own pixels.
struct MatchSpace {
    Library library;
    Image target;
};

// Converts an rgb library and an rgb target for --metric lab. Costs a pass over every patch
// and a library's worth of memory: the converted patches and their search index, built anew on
// every call (docs/performance.md).
MatchSpace lab_match_space(const Library& library, ImageView target);

}  // namespace tessera::pipeline
