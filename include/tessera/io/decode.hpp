// Decoding image files into pixel buffers, with a limit on their size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tessera/core/error.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/library.hpp"
#include "tessera/library/params.hpp"

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
    Image image;        // in the requested mode; smaller than `source` when shrunk on load
    SourceInfo source;  // path, size in bytes, content hash, the photo's own dimensions
};

// What a decoded photo will be resampled to (resample_photo), so that load_image may decode it
// no larger than that needs.
struct ShrinkOnLoad {
    Size size;  // the largest size it will be resampled to
    Fit fit;
};

// Decodes an image file in one of the formats supported_formats() names: EXIF orientation
// applied, alpha dropped, 16-bit reduced to 8, CMYK and other colour spaces converted, then
// turned into `mode`. Gray or RGB samples of other types (floating point, signed or 32-bit
// integers) are read by the range of their values (0..1 or 0..255 for floating point, 0..255 or
// 0..65535 for integers) and refused when they fit none, as are complex samples. Images over the
// limit are refused from their header, before any pixel is decoded (PixelLimitError). Throws Error
// naming the file and the problem.
// With `shrink`, a JPEG or WebP photo that resample_photo would reduce by 4 or more is decoded
// smaller by its codec, as libvips's thumbnail does: by the largest power of two (at most 8 for
// JPEG, libjpeg's DCT scaling; any for WebP, libwebp's rescaler) that leaves at least a factor
// of two to resample_photo's antialiasing. Other formats are decoded whole. The limit still
// applies to the photo's own size.
LoadedImage load_image(const std::string& path, Mode mode, const PixelLimit& limit = {},
                       const std::optional<ShrinkOnLoad>& shrink = std::nullopt);

// The width and height load_image would decode `path` to (its EXIF orientation applied), read
// from the header alone; nullopt when there is none tessera reads (load_image then says why).
std::optional<Size> image_size(const std::string& path);

}  // namespace tessera::io
