// The certificate of the assignment under a repeat cap: lists widened where small k is not
// enough, pairs outside the lists priced instead, a crowd that the first lists cannot place, and
// lists of the whole library that leave nothing to prove.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "capped_testing.hpp"
#include "tessera/mosaic/capped_assignment.hpp"

namespace tessera {
namespace {

using namespace capped_testing;

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

}  // namespace
}  // namespace tessera
