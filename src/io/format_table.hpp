// The one table of the formats tessera reads, behind formats.hpp, load_image and find_images.
#pragma once

#include <string>
#include <vector>

namespace tessera::io {

// The formats tessera reads: the name in messages, the libvips loader trusted with files from
// anywhere, and the extensions find_images looks for. The trusted loaders are libvips's own
// parsers and the widely fuzzed codec libraries, which read only the header until pixels are
// asked for. ImageMagick (libvips's fallback for BMP and dozens of rarer formats) decodes
// everything while reading the header, so it is used for BMP only (no loader here), and only
// after load_image's size check.
struct Format {
    const char* name;
    const char* loader;
    std::vector<std::string> extensions;
};

const std::vector<Format>& formats();

}  // namespace tessera::io
