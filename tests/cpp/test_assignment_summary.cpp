// The assignment's summary against brute force: every pair of tiles of one patch compared.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <vector>

#include "tessera/mosaic/assignment_summary.hpp"

namespace tessera {
namespace {

std::vector<TileMatch> random_matches(int rows, int cols, uint32_t patches, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<TileMatch> matches;
    for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
            TileMatch m;
            m.tile.row = r;
            m.tile.col = c;
            m.patch = uint32_t(rng() % patches);
            m.distance = rng() % 1000;
            matches.push_back(m);
        }
    }
    return matches;
}

TEST(AssignmentSummary, EqualsBruteForce) {
    for (uint32_t seed = 0; seed < 30; ++seed) {
        const int rows = 1 + int(seed % 7), cols = 1 + int(seed * 5 % 11);
        const uint32_t patches = 1 + seed * 3;
        const std::vector<TileMatch> matches = random_matches(rows, cols, patches, seed);
        uint64_t total = 0;
        std::vector<uint32_t> uses(patches, 0);
        int best = -1;
        for (size_t i = 0; i < matches.size(); ++i) {
            total += matches[i].distance;
            ++uses[matches[i].patch];
            for (size_t j = i + 1; j < matches.size(); ++j) {
                if (matches[i].patch != matches[j].patch) continue;
                const int d = std::max(std::abs(matches[i].tile.row - matches[j].tile.row),
                                       std::abs(matches[i].tile.col - matches[j].tile.col));
                if (best < 0 || d < best) best = d;
            }
        }
        const AssignmentSummary s = summarize_matches(matches);
        EXPECT_EQ(s.total_cost, total);
        EXPECT_EQ(s.distinct_patches, uint32_t(std::count_if(uses.begin(), uses.end(),
                                                             [](uint32_t u) { return u > 0; })));
        EXPECT_EQ(s.most_uses, *std::max_element(uses.begin(), uses.end()));
        if (best < 0) {
            EXPECT_FALSE(s.smallest_repeat_distance.has_value());
        } else {
            ASSERT_TRUE(s.smallest_repeat_distance.has_value());
            EXPECT_EQ(*s.smallest_repeat_distance, best) << "seed " << seed;
        }
    }
}

// Two far repeats found past many near misses of other patches; none when no patch repeats.
TEST(AssignmentSummary, FarRepeatsAndNone) {
    std::vector<TileMatch> matches = random_matches(1, 6, 1, 0);
    for (size_t i = 0; i < matches.size(); ++i) matches[i].patch = uint32_t(i);
    EXPECT_FALSE(summarize_matches(matches).smallest_repeat_distance.has_value());
    matches.back().patch = 0;
    EXPECT_EQ(summarize_matches(matches).smallest_repeat_distance, 5);
    EXPECT_TRUE(summarize_matches({}).distinct_patches == 0);
}

}  // namespace
}  // namespace tessera
