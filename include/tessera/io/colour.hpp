// CIELAB (D65) and CIEDE2000 by libvips's own per-pixel conversions (vips_col_*: sRGB through
// linear light and XYZ to Lab, and back), and resampling an image to another size.
#pragma once

#include <cstdint>

#include "tessera/core/image.hpp"

namespace tessera::io {

struct Lab {
    float L = 0, a = 0, b = 0;
};

// An 8-bit sRGB pixel in CIELAB, D65 white: L 0 to 100, a and b about -128 to 127.
Lab srgb_to_lab(uint8_t red, uint8_t green, uint8_t blue);

// The sRGB pixel of `lab`, each channel rounded and clipped to 0..255.
void lab_to_srgb(Lab lab, uint8_t* rgb);

// CIEDE2000 colour difference (vips_col_dE00).
double ciede2000(Lab x, Lab y);

// The byte triple that --metric lab matches on: L * 255 / 100, a + 128, b + 128, each rounded
// to nearest (halves away from zero) and clipped to 0..255.
void lab_bytes(Lab lab, uint8_t* out);

// `rgb` (3 channels) as lab_bytes, pixel by pixel, packed.
Image lab8_image(ImageView rgb);

// `image` resampled to `size` by libvips: shrinking averages each output pixel's box of input
// pixels (vips_shrink), enlarging interpolates bilinearly (vips_resize, linear kernel). Throws
// Error when libvips fails.
Image resize_image(ImageView image, Size size);

}  // namespace tessera::io
