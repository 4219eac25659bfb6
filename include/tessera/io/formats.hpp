// The image formats tessera reads and writes, told apart by file extension.
#pragma once

#include <string>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"

namespace tessera::io {

// The formats load_image reads, as users know them: "PNG, JPEG, ..., HEIF".
std::string supported_formats();

// The extensions find_images looks for: ".png .jpg ... .avif".
std::string image_extensions();

// The extension of the file name in `path`, in lower case: "a/B.PNG" -> ".png".
std::string extension_of(const std::string& path);

// Whether the format named by the extension of `path` loses detail (JPEG, WebP).
bool lossy_format(const std::string& path);

// Throws Error unless the extension of `path` names a format that save_image can write for an
// image in `mode`: the PNM extensions have their own mode (.pgm gray, .ppm RGB; .pnm either).
void check_output_format(const std::string& path, Mode mode);

// Throws Error when an image of `size` is larger than the format named by the extension of
// `path` can hold (JPEG and WebP limit each side), naming the limit, `what` the image is, and the
// formats without one, so that a caller can refuse an output before the work that makes it.
void check_output_size(const std::string& path, Size size, const std::string& what = "the image");

}  // namespace tessera::io
