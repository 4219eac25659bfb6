// The whole-target matching the mosaic tests share: every tile given its nearest patch, as the
// CLI and the Python module do it.
#pragma once

#include <vector>

#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/match.hpp"

namespace tessera::testing {

inline std::vector<TileMatch> nearest_matches(const Library& lib, const Searcher& searcher,
                                              ImageView target, const Progress& progress = {}) {
    const TileRows all_rows{0, tile_rows(target.size(), lib.params().tile)};
    return assign_nearest(match_tiles(lib, searcher, target, all_rows, 1, progress));
}

}  // namespace tessera::testing
