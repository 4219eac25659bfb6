// A build's size known before it starts: estimated from the images' headers and refused when it
// is over a limit or larger than the free space it is to be written to.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tessera/io/decode.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/pipeline/add_sources.hpp"

namespace tessera::pipeline {

// Far above a library a mosaic needs (a million RGB 16x16 patches take about 1 GB), far below
// what fills a disk by mistake (a stride-1 build of one photo with 8 transforms: 14 GB).
inline constexpr uint64_t kDefaultMaxLibraryBytes = uint64_t(8) << 30;

struct LibrarySizeLimit {
    uint64_t max = kDefaultMaxLibraryBytes;
    std::string_view option = "--max-library-bytes";  // how the user raises `max`, for messages
    uint64_t max_pixels = io::kDefaultMaxPixels;      // larger images are refused, so not counted
    std::string output{};  // the file the library is saved to; empty: kept in memory
};

// The size of the library file once `sources` are added to `builder` (its patches so far
// included), from the images' headers: files only (pixels in memory, images over max_pixels and
// images whose header does not read are left out: decoding refuses them), source records left
// out. Reads the headers `threads` at a time (0 = all cores). Throws Error, with the estimate and
// how to make it smaller, when it is over limit.max or over the free space of limit.output's
// file system.
uint64_t check_library_size(const LibraryBuilder& builder, std::span<const Source> sources,
                            const LibrarySizeLimit& limit, int threads);

}  // namespace tessera::pipeline
