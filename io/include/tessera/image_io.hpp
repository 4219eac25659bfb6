// The image I/O layer: decoding and encoding files through libvips, kept apart from the core,
// which only sees pixel buffers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/image.hpp"
#include "tessera/library.hpp"

namespace tessera::io {

// Starts libvips; call once, before any other function here. Throws Error if it cannot start.
void initialize(const char* argv0);

inline constexpr uint64_t kDefaultMaxPixels = uint64_t(1) << 28;  // 268 megapixels

struct LoadedImage {
    Image image;        // in the requested mode
    SourceInfo source;  // path, size in bytes, content hash, dimensions
};

// Decodes an image file (PNG, JPEG, BMP, PNM, TIFF, WebP, GIF, ...): EXIF orientation applied,
// alpha dropped, 16-bit reduced to 8, CMYK and other colour spaces converted, then turned into
// `mode`. Images over `max_pixels` are refused from their header, before any pixel is decoded.
// Throws Error naming the file and the problem.
LoadedImage load_image(const std::string& path, Mode mode, uint64_t max_pixels = kDefaultMaxPixels);

// Encodes `image` in the format named by the extension of `path` and writes it atomically.
void save_image(const std::string& path, ImageView image);

// Throws Error unless the extension of `path` names a format that save_image can write.
void check_output_format(const std::string& path);

// The image files below `directory`, recursively, by extension (hidden files skipped), sorted
// by path so that patch ids do not depend on the file system's order.
std::vector<std::string> find_images(const std::string& directory);

}  // namespace tessera::io
