// The assignment under a repeat cap: equal in total cost to a dense solve of the full problem
// (capped_testing.hpp) and to brute force on tiny cases, its potentials feasible for the full
// dual, whether it reaches beyond the first lists by widening them or by pricing pairs; ties,
// caps that exactly suffice or cannot, malformed lists, interruption.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "capped_testing.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/interrupt.hpp"
#include "tessera/mosaic/capped_assignment.hpp"

namespace tessera {
namespace {

using namespace capped_testing;

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
