// Resampling a whole photo to a tile: the photomosaic library's tiles (build --whole) and the
// poster's target brought to a grid of cells (mosaic --grid).
#pragma once

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/params.hpp"

namespace tessera::io {

// `photo` resampled to exactly `size` with libvips's antialiased thumbnail (a box shrink, then
// Lanczos-3): centre-cropped to size's aspect ratio (Fit::crop), fitted inside and centred on
// black (Fit::pad), or stretched (Fit::stretch). `what` names the photo in an error.
Image resample_photo(ImageView photo, Size size, Fit fit, const std::string& what);

}  // namespace tessera::io
