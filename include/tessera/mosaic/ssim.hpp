// Structural similarity (Wang, Bovik, Sheikh and Simoncelli 2004) as scikit-image's
// structural_similarity computes it by default.
#pragma once

#include <optional>

#include "tessera/core/image.hpp"

namespace tessera {

inline constexpr int kSsimWindow = 7;

// The mean SSIM of two images of the same shape, as skimage.metrics.structural_similarity(a, b,
// channel_axis=-1 for rgb) with its defaults: 7x7 uniform windows, sample covariance (N - 1),
// K1 0.01, K2 0.03, data range 255, averaged over every window that lies wholly inside the image
// (skimage's filtered map cropped by 3 pixels per side), then over channels. Window sums are
// exact integers; only the per-window formula is floating point. nullopt when a side is under 7
// (skimage refuses such images).
std::optional<double> ssim(ImageView a, ImageView b);

}  // namespace tessera
