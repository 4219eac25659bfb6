// Instances of the assignment under a repeat cap and their external truths, for its tests: the
// full problem as a dense matrix, nearest lists, widening and pricing callbacks that count their
// calls, the dense optimum (the Hungarian algorithm on the cost matrix with each tile's column
// repeated max_uses times, as scipy's linear_sum_assignment is used for it) and the check of an
// optimality proof.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "tessera/mosaic/capped_assignment.hpp"

namespace tessera::capped_testing {

// A full problem: the distance of every cell to every tile.
struct Instance {
    uint32_t cells = 0;
    uint32_t tiles = 0;
    std::vector<uint64_t> distance;  // [cell * tiles + tile]
    uint64_t d(uint32_t cell, uint32_t tile) const { return distance[size_t(cell) * tiles + tile]; }
};

// The squared distances between cells and tiles given as points of 3 coordinates each.
inline Instance from_points(const std::vector<int>& cell, const std::vector<int>& tile) {
    const auto cells = uint32_t(cell.size() / 3), tiles = uint32_t(tile.size() / 3);
    Instance inst{cells, tiles, std::vector<uint64_t>(size_t(cells) * tiles)};
    for (uint32_t c = 0; c < cells; ++c) {
        for (uint32_t t = 0; t < tiles; ++t) {
            uint64_t sum = 0;
            for (int i = 0; i < 3; ++i) {
                const int64_t diff = cell[c * 3 + i] - tile[t * 3 + i];
                sum += uint64_t(diff * diff);
            }
            inst.distance[size_t(c) * tiles + t] = sum;
        }
    }
    return inst;
}

// Cells and tiles as random points of a small colour cube: squared distances like a mosaic's.
inline Instance random_points(uint32_t cells, uint32_t tiles, int side, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> coordinate(0, side - 1);
    auto points = [&](uint32_t n) {
        std::vector<int> p(size_t(n) * 3);
        for (int& x : p) x = coordinate(rng);
        return p;
    };
    const std::vector<int> cell = points(cells);
    return from_points(cell, points(tiles));
}

// The k nearest tiles of a cell in the exact search's order: by distance, then by id.
inline std::vector<Neighbor> nearest(const Instance& inst, uint32_t cell, int k) {
    std::vector<Neighbor> all(inst.tiles);
    for (uint32_t t = 0; t < inst.tiles; ++t) all[t] = {inst.d(cell, t), t};
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    all.resize(size_t(k));
    return all;
}

inline std::vector<Neighbor> nearest_of_all(const Instance& inst, int k) {
    std::vector<Neighbor> lists;
    for (uint32_t c = 0; c < inst.cells; ++c) {
        const auto list = nearest(inst, c, k);
        lists.insert(lists.end(), list.begin(), list.end());
    }
    return lists;
}

// The exact search for just the listed cells, counting its calls.
inline WidenCandidates widen_from(const Instance& inst, int* calls) {
    return [&inst, calls](std::span<const uint32_t> cells, int k) {
        ++*calls;
        EXPECT_LE(uint32_t(k), inst.tiles);
        std::vector<Neighbor> lists;
        for (uint32_t c : cells) {
            const auto list = nearest(inst, c, k);
            lists.insert(lists.end(), list.begin(), list.end());
        }
        return lists;
    };
}

// The distances of the pairs the solver prices, counting them. A distance above its limit is
// written as the least value the contract allows, which exact arithmetic must not mistake for it.
inline PairDistances distances_from(const Instance& inst, size_t* priced) {
    return [&inst, priced](uint32_t cell, std::span<const uint32_t> tiles,
                           std::span<const uint64_t> limits, std::span<uint64_t> out) {
        EXPECT_EQ(tiles.size(), out.size());
        EXPECT_TRUE(limits.empty() || limits.size() == tiles.size());
        for (size_t i = 0; i < tiles.size(); ++i) {
            const uint64_t d = inst.d(cell, tiles[i]);
            out[i] = !limits.empty() && d > limits[i] ? limits[i] + 1 : d;
        }
        *priced += tiles.size();
    };
}

// The Hungarian algorithm (potentials and shortest augmenting paths, O(rows^2 columns)) on the
// dense matrix with each tile's column repeated max_uses times. Returns the optimal total cost.
inline int64_t dense_optimum(const Instance& inst, uint32_t max_uses) {
    const size_t rows = inst.cells, cols = size_t(inst.tiles) * max_uses;
    auto cost = [&](size_t r, size_t c) {
        return int64_t(inst.d(uint32_t(r), uint32_t(c / max_uses)));
    };
    const int64_t inf = std::numeric_limits<int64_t>::max() / 4;
    std::vector<int64_t> u(rows + 1, 0), v(cols + 1, 0);
    std::vector<size_t> match(cols + 1, 0), way(cols + 1, 0);  // 1-based rows, 0 is none
    for (size_t r = 1; r <= rows; ++r) {
        match[0] = r;
        size_t col = 0;
        std::vector<int64_t> slack(cols + 1, inf);
        std::vector<char> used(cols + 1, 0);
        do {
            used[col] = 1;
            const size_t row = match[col];
            int64_t delta = inf;
            size_t next = 0;
            for (size_t j = 1; j <= cols; ++j) {
                if (used[j]) continue;
                const int64_t reduced = cost(row - 1, j - 1) - u[row] - v[j];
                if (reduced < slack[j]) slack[j] = reduced, way[j] = col;
                if (slack[j] < delta) delta = slack[j], next = j;
            }
            for (size_t j = 0; j <= cols; ++j) {
                if (used[j]) {
                    u[match[j]] += delta, v[j] -= delta;
                } else {
                    slack[j] -= delta;
                }
            }
            col = next;
        } while (match[col] != 0);
        do {
            const size_t previous = way[col];
            match[col] = match[previous];
            col = previous;
        } while (col != 0);
    }
    int64_t total = 0;
    for (size_t j = 1; j <= cols; ++j) {
        if (match[j] != 0) total += cost(match[j] - 1, j - 1);
    }
    return total;
}

// Every cell's tile, the cap, the reported figures, and the potentials feasible for the full
// dual with an objective equal to the cost: the optimality proof, checked on the dense matrix.
inline void expect_certified_assignment(const Instance& inst, uint32_t max_uses,
                                        const CappedAssignment& result) {
    ASSERT_EQ(result.tiles.size(), inst.cells);
    std::vector<uint32_t> uses(inst.tiles, 0);
    uint64_t cost = 0;
    for (uint32_t c = 0; c < inst.cells; ++c) {
        ASSERT_LT(result.tiles[c], inst.tiles);
        cost += inst.d(c, result.tiles[c]);
        ++uses[result.tiles[c]];
    }
    EXPECT_EQ(result.total_cost, cost);
    EXPECT_LE(*std::max_element(uses.begin(), uses.end()), max_uses);
    EXPECT_EQ(result.most_uses, *std::max_element(uses.begin(), uses.end()));
    EXPECT_EQ(result.distinct_tiles, inst.tiles - std::count(uses.begin(), uses.end(), 0u));
    EXPECT_TRUE(result.certified);
    EXPECT_EQ(result.lower_bound, int64_t(cost));

    ASSERT_EQ(result.cell_potentials.size(), inst.cells);
    ASSERT_EQ(result.tile_potentials.size(), inst.tiles);
    int64_t dual = 0;
    for (uint32_t t = 0; t < inst.tiles; ++t) {
        EXPECT_LE(result.tile_potentials[t], 0);
        dual += int64_t(max_uses) * result.tile_potentials[t];
    }
    for (uint32_t c = 0; c < inst.cells; ++c) {
        dual += result.cell_potentials[c];
        for (uint32_t t = 0; t < inst.tiles; ++t) {
            ASSERT_GE(int64_t(inst.d(c, t)) - result.cell_potentials[c] - result.tile_potentials[t],
                      0)
                << "cell " << c << " tile " << t;
        }
    }
    EXPECT_EQ(dual, int64_t(cost));
}

// How the solver reaches beyond the first lists: by widening them, or by pricing pairs.
enum class Beyond { widen, price };
inline constexpr Beyond kBoth[] = {Beyond::widen, Beyond::price};

inline CappedAssignment solve(const Instance& inst, uint32_t max_uses, int k, int* widen_calls,
                              Beyond beyond = Beyond::widen, size_t* priced = nullptr) {
    const auto lists = nearest_of_all(inst, k);
    size_t ignored = 0;
    return assign_with_repeat_cap(
        lists, inst.cells, inst.tiles, max_uses, widen_from(inst, widen_calls),
        beyond == Beyond::price ? distances_from(inst, priced ? priced : &ignored) : nullptr);
}

}  // namespace tessera::capped_testing
