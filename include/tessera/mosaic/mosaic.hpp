// Mosaic: cut a target into tiles, find each tile's nearest patch, paste it in place.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/search.hpp"

namespace tessera {

struct TileMatch {
    Tile tile;              // where the tile is in the target (cropped at the right and bottom)
    uint32_t patch = 0;     // library patch id
    uint64_t distance = 0;  // squared L2 over the tile's visible pixels
};

// Called with 0 first, then after each batch, with the number of tiles matched so far and the
// total.
using Progress = std::function<void(size_t done, size_t total)>;

// Matches every tile of `target` (which must have the library's channel count) with its nearest
// patch, in row-major tile order. Edge tiles are cropped, never padded, and matched on their
// visible pixels, so a target side shorter than the tile is one row or column of them.
std::vector<TileMatch> match_tiles(const Library& library, const Searcher& searcher,
                                   ImageView target, const Progress& progress = {});

// Pastes each match's patch (cropped to the tile) into an image of size `size`.
Image render(const Library& library, std::span<const TileMatch> matches, Size size);

// Peak signal-to-noise ratio in dB of two images of the same shape; infinity when equal.
double psnr(ImageView a, ImageView b);

}  // namespace tessera
