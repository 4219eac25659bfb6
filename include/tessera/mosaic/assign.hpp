// Assignment: one patch per tile, chosen from the tiles' candidates.
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/mosaic/match.hpp"

namespace tessera {

struct TileMatch {
    Tile tile;              // where the tile is in the target (cropped at the right and bottom)
    uint32_t patch = 0;     // library patch id
    uint64_t distance = 0;  // squared L2 over the tile's visible pixels
};

// Each tile takes its nearest candidate, in the candidates' tile order.
std::vector<TileMatch> assign_nearest(const TileCandidates& candidates);

}  // namespace tessera
