// The image I/O layer: decoding and encoding files through libvips, kept apart from the core,
// which only sees pixel buffers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/library.hpp"

namespace tessera::io {

// When libvips opens its modules (ImageMagick, libheif, poppler, libjxl, OpenSlide, with about a
// hundred shared libraries behind them: 30-40 ms of CPU). at_start is libvips's own way, right
// for a process that shares libvips with others (Python). on_demand opens only the two tessera
// uses, ImageMagick for BMP and libheif for HEIF, when a file first needs one: for the CLI.
enum class Modules { at_start, on_demand };

// Starts libvips; call once, before any other function here. Throws Error if it cannot start.
void initialize(const char* argv0, Modules modules = Modules::at_start);

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
// turned into `mode`. Images over the limit are refused from their header, before any pixel is
// decoded (PixelLimitError). Throws Error naming the file and the problem.
LoadedImage load_image(const std::string& path, Mode mode, const PixelLimit& limit = {});

// The formats load_image reads, as users know them: "PNG, JPEG, ..., HEIF".
std::string supported_formats();

// The extensions find_images looks for: ".png .jpg ... .avif".
std::string image_extensions();

// The extension of the file name in `path`, in lower case: "a/B.PNG" -> ".png".
std::string extension_of(const std::string& path);

// JPEG and WebP quality, 1 to 100. 90 rather than libvips's 75: a mosaic is all tile edges,
// where lower qualities ring visibly.
inline constexpr int kDefaultQuality = 90;

// Encodes `image` in the format named by the extension of file.path() straight into `file` (no
// copy of the encoded file in memory), which the caller commits, alone or with files that belong
// with it. `quality` applies to the lossy formats (.jpg, .webp).
void save_image(AtomicFile& file, ImageView image, int quality = kDefaultQuality);

// The same for one file on its own: writes `path` atomically.
void save_image(const std::string& path, ImageView image, int quality = kDefaultQuality);

// Whether the format named by the extension of `path` loses detail (JPEG, WebP).
bool lossy_format(const std::string& path);

// Throws Error unless the extension of `path` names a format that save_image can write for an
// image in `mode`: the PNM extensions have their own mode (.pgm gray, .ppm RGB; .pnm either).
void check_output_format(const std::string& path, Mode mode);

// Throws Error when an image of `size` is larger than the format named by the extension of
// `path` can hold (JPEG and WebP limit each side), naming the limit, `what` the image is, and the
// formats without one, so that a caller can refuse an output before the work that makes it.
void check_output_size(const std::string& path, Size size, const std::string& what = "the image");

// A file find_images found, or a place below the directory where images may be missed.
struct FoundImage {
    std::string path;
    std::string problem;  // empty, or why it cannot be read: an unreadable directory, a broken link
};

// The image files below `directory`, recursively, by the extensions of the supported formats
// (hidden files and directories skipped; links followed, each directory walked once however many
// links lead to it), with the subdirectories that cannot be read and the links that cannot be
// followed named like images, sorted by path so that patch ids do not depend on the file
// system's order. Throws Error when `directory` itself cannot be read.
std::vector<FoundImage> find_images(const std::string& directory);

}  // namespace tessera::io
