// Resampling a whole photo to a tile: the photomosaic library's tiles (build --whole) and the
// poster's target brought to a grid of cells (mosaic --grid).
#pragma once

#include <optional>
#include <string>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/params.hpp"

namespace tessera::io {

// `photo` resampled to exactly `size` with libvips's antialiased thumbnail (a box shrink, then
// Lanczos-3): centre-cropped to size's aspect ratio (Fit::crop), fitted inside and centred on
// black (Fit::pad), or stretched (Fit::stretch). `what` names the photo in an error. A photo
// shrunk on load gives its own size as `photo_size`: padded, it keeps the photo's aspect ratio,
// not the one its rounded shrunk size has.
Image resample_photo(ImageView photo, Size size, Fit fit, const std::string& what,
                     std::optional<Size> photo_size = std::nullopt);

// By how much resample_photo reduces a photo of `photo`'s size to `size` with `fit`: along the
// axis it reduces least (below 1 when it enlarges). What a decoder may shrink it by beforehand.
double resample_reduction(Size photo, Size size, Fit fit);

}  // namespace tessera::io
