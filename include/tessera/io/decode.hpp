// Decoding image files into pixel buffers, with a limit on their size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tessera/core/error.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/library.hpp"

namespace tessera::io {

inline constexpr uint64_t kDefaultMaxPixels = uint64_t(1) << 28;  // 268 megapixels

// The most pixels an image may have (decompression bombs are refused from their header), and
// how the caller's user raises it, named in the error: "--max-pixels" in the CLI, "max_pixels="
// in Python.
struct PixelLimit {
    uint64_t max = kDefaultMaxPixels;
    std::string_view option;
};

// What load_image throws for an image over the limit, so that a build can count those apart.
struct PixelLimitError : Error {
    using Error::Error;
};

struct LoadedImage {
    Image image;        // in the requested mode
    SourceInfo source;  // path, size in bytes, content hash, dimensions
};

// Decodes an image file in one of the formats supported_formats() names: EXIF orientation
// applied, alpha dropped, 16-bit reduced to 8, CMYK and other colour spaces converted, then
// turned into `mode`. Gray or RGB samples of other types (floating point, signed or 32-bit
// integers) are read by the range of their values (0..1 or 0..255 for floating point, 0..255 or
// 0..65535 for integers) and refused when they fit none, as are complex samples. Images over the
// limit are refused from their header, before any pixel is decoded (PixelLimitError). Throws Error
// naming the file and the problem.
LoadedImage load_image(const std::string& path, Mode mode, const PixelLimit& limit = {});

// The width and height load_image would decode `path` to (its EXIF orientation applied), read
// from the header alone; nullopt when there is none tessera reads (load_image then says why).
std::optional<Size> image_size(const std::string& path);

}  // namespace tessera::io
