// The assignment under a repeat cap: equal in total cost to a dense solve of the full problem
// (the Hungarian algorithm on the cost matrix with each tile's column repeated max_uses times,
// as scipy's linear_sum_assignment is used for it, and brute force on tiny cases), its potentials
// feasible for the full dual, the certificate widening the lists where small k is not enough, or,
// given the pair distances, pricing the pairs outside the lists instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/interrupt.hpp"
#include "tessera/mosaic/capped_assignment.hpp"

namespace tessera {
namespace {

// A full problem: the distance of every cell to every tile.
struct Instance {
    uint32_t cells = 0;
    uint32_t tiles = 0;
    std::vector<uint64_t> distance;  // [cell * tiles + tile]
    uint64_t d(uint32_t cell, uint32_t tile) const { return distance[size_t(cell) * tiles + tile]; }
};

// The squared distances between cells and tiles given as points of 3 coordinates each.
Instance from_points(const std::vector<int>& cell, const std::vector<int>& tile) {
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
Instance random_points(uint32_t cells, uint32_t tiles, int side, uint32_t seed) {
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
std::vector<Neighbor> nearest(const Instance& inst, uint32_t cell, int k) {
    std::vector<Neighbor> all(inst.tiles);
    for (uint32_t t = 0; t < inst.tiles; ++t) all[t] = {inst.d(cell, t), t};
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    all.resize(size_t(k));
    return all;
}

std::vector<Neighbor> nearest_of_all(const Instance& inst, int k) {
    std::vector<Neighbor> lists;
    for (uint32_t c = 0; c < inst.cells; ++c) {
        const auto list = nearest(inst, c, k);
        lists.insert(lists.end(), list.begin(), list.end());
    }
    return lists;
}

// The exact search for just the listed cells, counting its calls.
WidenCandidates widen_from(const Instance& inst, int* calls) {
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
PairDistances distances_from(const Instance& inst, size_t* priced) {
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
int64_t dense_optimum(const Instance& inst, uint32_t max_uses) {
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
void expect_certified_assignment(const Instance& inst, uint32_t max_uses,
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
constexpr Beyond kBoth[] = {Beyond::widen, Beyond::price};

CappedAssignment solve(const Instance& inst, uint32_t max_uses, int k, int* widen_calls,
                       Beyond beyond = Beyond::widen, size_t* priced = nullptr) {
    const auto lists = nearest_of_all(inst, k);
    size_t ignored = 0;
    return assign_with_repeat_cap(
        lists, inst.cells, inst.tiles, max_uses, widen_from(inst, widen_calls),
        beyond == Beyond::price ? distances_from(inst, priced ? priced : &ignored) : nullptr);
}

TEST(CappedAssignment, EqualsDenseOptimumOnRandomInstances) {
    for (uint32_t max_uses = 1; max_uses <= 3; ++max_uses) {
        for (uint32_t seed = 1; seed <= 4; ++seed) {
            const uint32_t cells = 150 + 25 * seed;
            const uint32_t tiles = cells / max_uses + 20 * seed;
            const Instance inst = random_points(cells, tiles, 64, seed * 10 + max_uses);
            const int64_t optimum = dense_optimum(inst, max_uses);
            for (const Beyond beyond : kBoth) {
                int calls = 0;
                const CappedAssignment result = solve(inst, max_uses, 4, &calls, beyond);
                SCOPED_TRACE(testing::Message() << "max_uses " << max_uses << " seed " << seed
                                                << " priced " << (beyond == Beyond::price));
                EXPECT_EQ(int64_t(result.total_cost), optimum);
                expect_certified_assignment(inst, max_uses, result);
                if (beyond == Beyond::price) {
                    EXPECT_EQ(calls, 0);
                }
            }
        }
    }
}

// Distances drawn from a handful of values: many assignments share the optimum.
TEST(CappedAssignment, TiesKeepTheOptimumAndTheResultIsRepeatable) {
    for (uint32_t max_uses = 1; max_uses <= 3; ++max_uses) {
        const Instance inst = random_points(200, 200 / max_uses + 7, 3, 40 + max_uses);
        for (const Beyond beyond : kBoth) {
            int calls = 0;
            const CappedAssignment first = solve(inst, max_uses, 3, &calls, beyond);
            EXPECT_EQ(int64_t(first.total_cost), dense_optimum(inst, max_uses));
            expect_certified_assignment(inst, max_uses, first);
            const CappedAssignment again = solve(inst, max_uses, 3, &calls, beyond);
            EXPECT_EQ(again.tiles, first.tiles);
            EXPECT_EQ(again.cell_potentials, first.cell_potentials);
        }
    }
}

// max_uses * tiles == cells: every tile placed exactly max_uses times, the popular ones and the
// ones no cell has among its nearest alike.
TEST(CappedAssignment, TilesExactlySufficient) {
    for (uint32_t max_uses = 1; max_uses <= 3; ++max_uses) {
        const uint32_t tiles = 90;
        const Instance inst = random_points(tiles * max_uses, tiles, 48, 70 + max_uses);
        for (const Beyond beyond : kBoth) {
            int calls = 0;
            const CappedAssignment result = solve(inst, max_uses, 4, &calls, beyond);
            EXPECT_EQ(int64_t(result.total_cost), dense_optimum(inst, max_uses));
            expect_certified_assignment(inst, max_uses, result);
            EXPECT_EQ(result.distinct_tiles, tiles);
            EXPECT_EQ(result.most_uses, max_uses);
            EXPECT_EQ(
                *std::max_element(result.tile_potentials.begin(), result.tile_potentials.end()), 0);
        }
    }
}

// Ctrl-C in the Python module: the solver stops between rounds, in both certificate modes.
TEST(CappedAssignment, StopsWhenItsScopeIsInterrupted) {
    const Instance inst = random_points(180, 90, 48, 71);
    for (const Beyond beyond : kBoth) {
        std::atomic<bool> stop = true;
        const InterruptionScope scope(stop);
        int calls = 0;
        EXPECT_THROW(solve(inst, 2, 4, &calls, beyond), Interrupted);
    }
}

// The potentials judged are the least tile prices: every tile with a price (v < 0) is held there
// by a cell placed elsewhere that would take it at any lower price (a tight pair), which a
// spanning-tree basis's potentials need not be.
TEST(CappedAssignment, TilePricesAreTheLeast) {
    for (uint32_t seed = 0; seed < 4; ++seed) {
        const Instance inst = random_points(120, 60, 32, 300 + seed);
        int calls = 0;
        const CappedAssignment result = solve(inst, 2, 6, &calls);
        expect_certified_assignment(inst, 2, result);
        for (uint32_t t = 0; t < inst.tiles; ++t) {
            const int64_t v = result.tile_potentials[t];
            if (v == 0) continue;
            bool held = false;
            for (uint32_t c = 0; c < inst.cells && !held; ++c) {
                held = result.tiles[c] != t &&
                       int64_t(inst.d(c, t)) - result.cell_potentials[c] - v == 0;
            }
            EXPECT_TRUE(held) << "seed " << seed << ", tile " << t << ", v " << v;
        }
    }
}

TEST(CappedAssignment, FarMoreTilesThanCells) {
    const Instance inst = random_points(60, 3000, 256, 90);
    int calls = 0;
    const CappedAssignment result = solve(inst, 1, 4, &calls);
    EXPECT_EQ(int64_t(result.total_cost), dense_optimum(inst, 1));
    expect_certified_assignment(inst, 1, result);
    EXPECT_EQ(result.distinct_tiles, 60u);
}

// Every cell ranks the tiles alike (tile t is about t * 100 away from all), so with one use each
// the 4 nearest tiles serve 4 cells and the others must be found further out: the first round's
// certificate fails, and the widened lists reach the dense optimum.
TEST(CappedAssignment, WidensWhereSmallKIsNotEnough) {
    const uint32_t cells = 40, tiles = 50;
    Instance inst{cells, tiles, std::vector<uint64_t>(size_t(cells) * tiles)};
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> noise(0, 30);
    for (uint32_t c = 0; c < cells; ++c) {
        for (uint32_t t = 0; t < tiles; ++t)
            inst.distance[size_t(c) * tiles + t] = t * 100 + noise(rng);
    }
    int calls = 0;
    const CappedAssignment result = solve(inst, 1, 4, &calls);
    EXPECT_GT(result.rounds, 1);
    EXPECT_GT(calls, 0);
    EXPECT_EQ(int64_t(result.total_cost), dense_optimum(inst, 1));
    expect_certified_assignment(inst, 1, result);
    EXPECT_EQ(result.distinct_tiles, cells);

    // Given the pair distances, the same optimum without a wider list: the pairs outside the
    // lists are priced and the ones the optimum needs join the graph.
    calls = 0;
    size_t priced = 0;
    const CappedAssignment by_pricing = solve(inst, 1, 4, &calls, Beyond::price, &priced);
    EXPECT_EQ(calls, 0);
    EXPECT_GT(priced, 0u);
    EXPECT_EQ(by_pricing.total_cost, result.total_cost);
    expect_certified_assignment(inst, 1, by_pricing);
}

// Clustered cells with tiles exactly sufficient: the 4 nearest tiles of most cells are wanted by
// many others, so the first lists cannot place every cell, and their optimum is not the full
// problem's. Pricing reaches the optimum without widening a list, and prices far fewer pairs
// than the dense matrix has.
TEST(CappedAssignment, PricingReachesTheOptimumOfACrowd) {
    std::mt19937 rng(11);
    std::normal_distribution<double> spread(0, 6);
    const uint32_t cells = 240, tiles = 120;
    std::vector<int> cell(size_t(cells) * 3), tile(size_t(tiles) * 3);
    for (int& x : cell) x = std::clamp(int(100 + spread(rng)), 0, 255);
    std::uniform_int_distribution<int> uniform(0, 255);
    for (int& x : tile) x = uniform(rng);
    const Instance inst = from_points(cell, tile);
    int calls = 0;
    size_t priced = 0;
    const CappedAssignment result = solve(inst, 2, 4, &calls, Beyond::price, &priced);
    EXPECT_EQ(calls, 0);
    EXPECT_GT(result.rounds, 1);
    EXPECT_GT(priced, 0u);
    EXPECT_EQ(int64_t(result.total_cost), dense_optimum(inst, 2));
    expect_certified_assignment(inst, 2, result);
}

// A crowd of identical cells shares one first candidate, so all but one are stuck, and all share
// their nearest spare tiles too: each stuck cell is measured against the spare tiles once (a
// call without limits), not once per pass that places a few more of them.
TEST(CappedAssignment, AlikeStuckCellsArePlacedInOnePass) {
    const uint32_t cells = 64, tiles = 80;
    std::vector<int> cell(size_t(cells) * 3, 100), tile(size_t(tiles) * 3);
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> uniform(0, 255);
    for (int& x : tile) x = uniform(rng);
    const Instance inst = from_points(cell, tile);
    size_t priced = 0, placing_calls = 0;
    const PairDistances measured = distances_from(inst, &priced);
    const PairDistances counted = [&](uint32_t c, std::span<const uint32_t> ids,
                                      std::span<const uint64_t> limits, std::span<uint64_t> out) {
        if (limits.empty()) ++placing_calls;
        measured(c, ids, limits, out);
    };
    int calls = 0;
    const CappedAssignment result = assign_with_repeat_cap(nearest_of_all(inst, 1), cells, tiles, 1,
                                                           widen_from(inst, &calls), counted);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(placing_calls, cells - 1);
    EXPECT_EQ(int64_t(result.total_cost), dense_optimum(inst, 1));
    expect_certified_assignment(inst, 1, result);
}

// Lists of the whole library leave nothing outside them: certified in one round, no widening.
TEST(CappedAssignment, WholeLibraryListsNeedOneRound) {
    const Instance inst = random_points(30, 20, 16, 7);
    int calls = 0;
    const CappedAssignment result = solve(inst, 2, 20, &calls);
    EXPECT_EQ(result.rounds, 1);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(int64_t(result.total_cost), dense_optimum(inst, 2));
    expect_certified_assignment(inst, 2, result);
}

// Every assignment of 6 cells to 3 tiles, for each cap that fits.
TEST(CappedAssignment, EqualsBruteForceOnTinyInstances) {
    for (uint32_t seed = 0; seed < 20; ++seed) {
        for (uint32_t max_uses = 2; max_uses <= 3; ++max_uses) {
            const Instance inst = random_points(6, 3, 8, 100 + seed);
            uint64_t best = std::numeric_limits<uint64_t>::max();
            for (uint32_t code = 0; code < 729; ++code) {  // 3^6
                uint32_t uses[3] = {0, 0, 0};
                uint64_t cost = 0;
                for (uint32_t c = 0, rest = code; c < 6; ++c, rest /= 3) {
                    ++uses[rest % 3];
                    cost += inst.d(c, rest % 3);
                }
                if (*std::max_element(uses, uses + 3) <= max_uses) best = std::min(best, cost);
            }
            EXPECT_EQ(dense_optimum(inst, max_uses), int64_t(best));
            for (const Beyond beyond : kBoth) {
                int calls = 0;
                const CappedAssignment result = solve(inst, max_uses, 1, &calls, beyond);
                EXPECT_EQ(result.total_cost, best);
                expect_certified_assignment(inst, max_uses, result);
            }
        }
    }
}

TEST(CappedAssignment, InfeasibleCapSaysWhatIsNeeded) {
    const std::vector<Neighbor> lists(1000, Neighbor{0, 0});
    try {
        assign_with_repeat_cap(lists, 1000, 300, 2, {});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(),
                     "--max-uses 2 with 300 tiles places at most 600 cells; the target has 1000: "
                     "use --max-uses 4 or more, or a library of at least 500 tiles");
    }
    EXPECT_THROW(check_repeat_cap(5, 2, 0), Error);
    EXPECT_NO_THROW(check_repeat_cap(600, 300, 2));
}

TEST(CappedAssignment, MalformedListsAreRefused) {
    auto attempt = [](std::vector<Neighbor> lists) { assign_with_repeat_cap(lists, 2, 4, 1, {}); };
    EXPECT_THROW(attempt({{1, 0}, {2, 4}, {1, 1}, {2, 2}}), Error);      // tile 4 of 4
    EXPECT_THROW(attempt({{1, 0}, {1, 0}, {1, 1}, {2, 2}}), Error);      // tile 0 twice
    EXPECT_THROW(attempt({{2, 0}, {1, 1}, {1, 1}, {2, 2}}), Error);      // not nearest first
    EXPECT_THROW(attempt({{1, 0}, {2, 1}, {1, 1}}), Error);              // 3 entries for 2 cells
    EXPECT_THROW(attempt({{1, 0}, {~0ull, 1}, {1, 1}, {2, 2}}), Error);  // beyond exact costs
}

}  // namespace
}  // namespace tessera
