// The optimal assignment of tiles to cells when each tile may be used at most `max_uses` times:
// minimum total squared distance, exact in integers, solved as a min-cost flow (LEMON's network
// simplex) on a sparse graph of candidate pairs, and certified optimal for the full problem
// (every cell may take every tile) from the dual potentials.
//
// The problem, as a linear program over x(c,t) >= 0:
//   minimise sum d(c,t) x(c,t)  subject to  sum_t x(c,t) = 1 (each cell)  and
//                                           sum_c x(c,t) <= max_uses (each tile).
// Its dual: maximise sum_c u_c + max_uses * sum_t v_t  subject to  v_t <= 0 and
//           d(c,t) - u_c - v_t >= 0 (the reduced cost) for every pair.
// Sign conventions: u_c is what cell c pays at most for a tile; v_t <= 0 is minus tile t's price
// for one of its uses, 0 when the tile has uses to spare. (LEMON's potential pi is -u for a cell
// node and v for a tile node; its reduced cost of arc c->t is d + pi(c) - pi(t).)
//
// The certificate: the candidates of cell c are its k nearest tiles, so every other tile t has
// d(c,t) >= d_k(c), the k-th candidate's distance, and its reduced cost is at least
// d_k(c) - u_c - max_t v_t. Where d_k(c) >= u_c + max_t v_t for every cell (always so when a cell's
// k is the library size), the potentials are feasible for the full dual, and the total cost equals
// the dual objective: the assignment is optimal among all assignments, not only among candidates.
//
// Where it fails, those cells get twice the candidates (at most the library size) from the
// caller's search. Given the pair distances instead, the certificate prices the pairs it cannot
// rule out: a tile t outside cell c's list can have a negative reduced cost only where its price
// -v_t < u_c - d_k(c), so those tiles, cheapest first, are measured (only as far as telling
// whether d(c,t) < u_c + v_t, which a lower bound of the distance often tells), and the most
// negative pairs of each cell, and of each tile, join the graph; no list is widened. Usually far
// fewer pairs than a widened list holds, and the bound is exact: u_c is lowered to the least
// d(c,t) - v_t found.
//
// Before the first solve the graph must be able to place every cell (first lists may hold too
// few tiles: a crowd of cells sharing a few tiles, or max_uses * tiles close to the cell count):
// a maximum placement by augmenting paths finds the cells no path places, which get arcs to the
// nearest tiles with uses to spare (pair distances), or else the listed candidates of tiles with
// uses to spare become arcs and where none is listed, their lists widen.
//
// Column generation: the graph solved holds the first lists and only those widened candidates
// whose reduced cost was negative under an earlier round's potentials; the others are priced
// against each round's potentials, and the graph is solved again only when one joins it. The
// potentials judged are the optimal ones with the lowest tile prices (a shortest-path pass over
// the graph), which ask the least of the k-th distances. When only a few arcs join (at most a
// 64th of the cells, or 16), the optimum is not solved again but repaired: each arc with a
// negative reduced cost takes its cell, and the unit its tile then holds too many returns along a
// shortest path of reduced costs from the optimal potentials (successive shortest paths).
// The lower bound of a round is the dual objective after lowering each failing u_c to
// d_k(c) - max_t v_t, which makes the potentials feasible for the full problem.
//
// Ties: among equally good assignments the result is the one the network simplex and the repairs
// reach on this graph, which is a fixed function of the input (nodes and arcs in cell order, each
// cell's candidates in list order, one thread). The exact search's lists do not depend on its
// thread count, so neither does the assignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "tessera/search/search.hpp"

namespace tessera {

struct CappedAssignment {
    std::vector<uint32_t> tiles;  // the tile placed in each cell
    uint64_t total_cost = 0;      // sum of the placed tiles' distances
    int64_t lower_bound = 0;      // the dual objective: no assignment costs less
    bool certified = false;       // lower_bound == total_cost: optimal for the full problem
    int rounds = 0;               // network simplex solves, the first included
    uint32_t distinct_tiles = 0;  // tiles placed at least once
    uint32_t most_uses = 0;       // the largest number of cells one tile is placed in
    std::vector<int64_t> cell_potentials;  // u, one per cell
    std::vector<int64_t> tile_potentials;  // v <= 0, one per library tile
};

// Returns the k nearest tiles, nearest first, of each listed cell: cells.size() * k entries, the
// i-th cell's at [i * k, i * k + k). k never exceeds the library size.
using WidenCandidates =
    std::function<std::vector<Neighbor>(std::span<const uint32_t> cells, int k)>;

// Writes the distance of `cell` to each of `tiles` into `distances` (as many), exactly as the
// candidate lists measure it. Given `limits` (as many, or none), a distance above limits[i] may be
// written as any value above it.
using PairDistances =
    std::function<void(uint32_t cell, std::span<const uint32_t> tiles,
                       std::span<const uint64_t> limits, std::span<uint64_t> distances)>;

// Throws Error, saying how many uses or tiles are needed, when max_uses * tiles < cells.
void check_repeat_cap(size_t cells, uint32_t tiles, uint32_t max_uses);

// The optimal assignment of `tiles` library tiles to `cells` cells under the cap, certified.
// `candidates` holds each cell's k nearest tiles (cells * k entries, cell i's at [i * k, i * k +
// k), nearest first, distinct ids below `tiles`); `widen` is called for the cells that need more,
// or, given `distances`, the pairs outside the lists that the certificate needs are priced with it
// and `widen` is not called. Throws Error on an infeasible cap or malformed lists.
CappedAssignment assign_with_repeat_cap(std::span<const Neighbor> candidates, size_t cells,
                                        uint32_t tiles, uint32_t max_uses,
                                        const WidenCandidates& widen,
                                        const PairDistances& distances = {});

}  // namespace tessera
