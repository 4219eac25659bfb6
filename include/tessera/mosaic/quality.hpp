// How close a mosaic is to its target.
#pragma once

#include "tessera/core/image.hpp"

namespace tessera {

// Peak signal-to-noise ratio in dB of two images of the same shape; infinity when equal.
double psnr(ImageView a, ImageView b);

}  // namespace tessera
