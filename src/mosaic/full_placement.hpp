// A graph of candidate pairs able to place every cell under the repeat cap, before the network
// simplex solves it (capped_assignment.cpp): a maximum placement by augmenting paths, and arcs
// added for the cells that no path places.
#pragma once

#include <cstdint>
#include <vector>

#include "mosaic/candidate_table.hpp"
#include "tessera/mosaic/capped_assignment.hpp"

namespace tessera::capped {

// Adds arcs to `table` until its graph places every cell with each tile used at most max_uses
// times, and makes `placed` (a tile per cell, kNoTile where none; its tiles must be arcs) such a
// placement. Cells that no augmenting path places get, with `distances`, arcs to their nearest
// tiles with uses to spare, and where the cells before them took those, to the nearest with a use
// left; without, the listed candidates of tiles with uses to spare become arcs, and where that
// adds none, their lists widen.
void make_placeable(CandidateTable& table, uint32_t max_uses, std::vector<uint32_t>& placed,
                    const PairDistances& distances, const WidenCandidates& widen);

}  // namespace tessera::capped
