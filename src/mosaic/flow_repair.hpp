// Keeps an optimal placement optimal while a few arcs join the graph, without solving it again
// (capped_assignment.cpp): successive shortest paths from the optimal potentials.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "mosaic/candidate_table.hpp"

namespace tessera::capped {

// `placed`, u and v are optimal for the table's graph (every cell placed, each tile at most
// max_uses times, v <= 0 and 0 where a tile has uses to spare). Adds each of `joining` (cell,
// pair) to the table as an extra arc and leaves `placed`, u and v optimal for the graph with it:
// an arc with a negative reduced cost takes its cell's unit, and the unit its tile now has too
// many goes back to the cell along a shortest path of reduced costs (tiles give up cells, cells
// move to other arcs, tiles with uses to spare take one more), the potentials moved by the path
// lengths so that every reduced cost stays non-negative.
void join_and_repair(CandidateTable& table, uint32_t max_uses,
                     std::span<const std::pair<uint32_t, Neighbor>> joining,
                     std::vector<uint32_t>& placed, std::vector<int64_t>& u,
                     std::vector<int64_t>& v);

}  // namespace tessera::capped
