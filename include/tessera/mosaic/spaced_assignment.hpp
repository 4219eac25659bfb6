// Repeats kept apart on the tile grid (--min-distance D): the same library tile never placed in
// two cells within Chebyshev distance D. Exact minimisation under this constraint is hard (it
// holds graph colouring), so it is met by a documented, deterministic repair of an optimal start:
//
// Start from the optimal assignment without the distance limit (each cell's nearest tile, or the
// certified optimum under a repeat cap). Visit the cells in row-major order; a cell whose tile
// already appears within D among the cells visited before it takes its cheapest candidate (its
// exact k nearest tiles, nearest first, ties to the lowest id; k doubled on demand up to the
// whole library) that appears within D of none of those cells and, under a cap, has uses left.
// Cells after it keep their tile unless it repeats in turn, so every cell visited is final and the
// constraint holds for the whole grid at the end.
//
// Without a cap the repair always succeeds once the library has more tiles than the visited
// cells within D of one cell (D rows above, 2D + 1 wide, and D to its left, clipped to the grid).
// With fewer, it may find no tile for a cell; the result is then the best periodic layout (each
// tile repeated at steps of D + 1 across and down, the tiles of the (D + 1) x (D + 1) classes
// chosen with the least total cost), which exists whenever check_min_distance passes. Under a
// cap that layout is used only when it places no tile more often than the cap; otherwise Error
// says what to change. The constraint always holds in what is returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tessera/mosaic/capped_assignment.hpp"
#include "tessera/search/search.hpp"

namespace tessera {

// Throws Error, before any work, when no assignment of `tiles` library tiles to a `rows` x
// `columns` grid keeps repeats more than `min_distance` apart: any min(D + 1, rows) x
// min(D + 1, columns) window of cells needs that many distinct tiles. Without a cap that is
// also enough: tile (r mod (D + 1)) * min(D + 1, columns) + c mod (D + 1) in cell (r, c).
// Under a cap N, this check and check_repeat_cap's (N * tiles >= cells) are both necessary but
// together not known to be sufficient: a tile fits in at most ceil(rows / (D + 1)) *
// ceil(columns / (D + 1)) cells, and that times the window is never below the cell count, so no
// further count refuses more.
void check_min_distance(int rows, int columns, uint32_t tiles, uint32_t min_distance);

struct SpacedAssignment {
    std::vector<Neighbor> chosen;  // each cell's tile and its distance, row-major
    uint64_t total_cost = 0;       // the sum of the chosen distances
    uint64_t start_cost = 0;       // the start's: the optimum without the distance limit
    size_t changed = 0;            // cells whose tile differs from the start's
};

// The repair above of `start` (each cell's tile and distance, row-major over `rows` x
// `columns`, no tile in more than `max_uses` cells when max_uses > 0) for `min_distance` >= 1;
// `widen` gives the exact k nearest tiles of the cells it is asked for (capped_assignment.hpp);
// the periodic layout asks it for every cell's whole library. `tiles` is the library size.
SpacedAssignment space_repeats(int rows, int columns, std::span<const Neighbor> start,
                               uint32_t tiles, uint32_t max_uses, uint32_t min_distance,
                               const WidenCandidates& widen);

}  // namespace tessera
