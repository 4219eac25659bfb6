// Matching: the k nearest library patches of every tile of a target, for a band of tile rows at a
// time. The tiles are cover_with_tiles's grid: edge tiles are cropped, never padded, and matched
// on their visible pixels, so a target side shorter than the tile is one row or column of them.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/core/progress.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/search.hpp"

namespace tessera {

// A band of tile rows: rows [first, first + count) of the tile grid.
struct TileRows {
    int first = 0;
    int count = 0;
};

// The number of tile rows of a target of `target` pixels cut into `tile` cells (the last one
// cropped).
int tile_rows(Size target, Size tile);

// The k nearest patches of every tile of a band, in row-major tile order.
struct TileCandidates {
    std::vector<Tile> tiles;
    int k = 1;
    std::vector<Neighbor> neighbors;  // tiles.size() * k; tile i's at [i*k, i*k + k), nearest first
    std::span<const Neighbor> of(size_t i) const;
};

// The k nearest patches of each of `tiles` (tiles of `target`, any subset of its grid, in any
// order): tiles.size() * k entries, tile i's at [i*k, i*k + k), nearest first. Tiles of one visible
// size are searched together, so a tile's neighbours do not depend on which others are listed.
std::vector<Neighbor> match_listed_tiles(const Library& library, const Searcher& searcher,
                                         ImageView target, std::span<const Tile> tiles, int k,
                                         const Progress& progress = {});

// The squared distances of tile `tile` of `target` to the patches `ids` of the library `measure`
// measures, as the search measures them (PatchDistances, which says what `limits` allows).
void tile_distances(PatchDistances& measure, ImageView target, const Tile& tile,
                    std::span<const uint32_t> ids, std::span<uint64_t> distances,
                    std::span<const uint64_t> limits = {});

// Matches the tiles of band `rows` of `target` (which must have the library's channel count);
// {0, tile_rows(...)} is the whole target. 1 <= k <= library size. `progress` counts the band's
// tiles.
TileCandidates match_tiles(const Library& library, const Searcher& searcher, ImageView target,
                           TileRows rows, int k, const Progress& progress = {});

}  // namespace tessera
