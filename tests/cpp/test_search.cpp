// Property tests: the fast exact search behind make_exact_searcher returns exactly what the
// brute-force oracle returns (patch ids and distances, ties to the lowest id) for every tile
// size, mode, thread count and kind of library; whatever the implementation behind it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "mosaic_testing.hpp"
#include "tessera/core/error.hpp"
#include "tessera/search/search.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::crop;
using testing::nearest_matches;
#ifdef TESSERA_TESTS_HAVE_IO
using testing::load_data;
#endif
using testing::random_image;

// The squared distance between a tile of `target` and the top-left of a patch, computed here
// independently of both searchers.
uint64_t distance_of(const Library& lib, const ImageView& target, const TileMatch& m) {
    const int c = lib.params().channels();
    const uint8_t* patch = lib.patch(m.patch);
    uint64_t sum = 0;
    for (int y = 0; y < m.tile.size.height; ++y) {
        for (int x = 0; x < m.tile.size.width * c; ++x) {
            const int64_t d = int64_t(target.row(m.tile.y + y)[m.tile.x * c + x]) -
                              patch[y * lib.params().tile.width * c + x];
            sum += uint64_t(d * d);
        }
    }
    return sum;
}

// Matches `target` with the oracle and with the exact searcher at every supported SIMD level on
// 1 and 2 threads, and expects the same TileMatch for every tile. Returns the oracle's matches for
// further checks.
std::vector<TileMatch> expect_same_as_oracle(const Library& lib, const Image& target) {
    const std::vector<TileMatch> want =
        nearest_matches(lib, *make_bruteforce_searcher(lib), target.view());
    EXPECT_FALSE(want.empty());
    for (const TileMatch& m : want) {
        EXPECT_EQ(m.distance, distance_of(lib, target.view(), m));
    }
    for (SimdLevel level : testing::supported_levels()) {
        for (int threads : {1, 2}) {
            const auto searcher = make_exact_searcher(lib, threads, level);
            const std::vector<TileMatch> got = nearest_matches(lib, *searcher, target.view());
            EXPECT_EQ(got.size(), want.size());
            size_t mismatches = 0;
            for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
                const TileMatch &g = got[i], &w = want[i];
                const bool same = g.tile.row == w.tile.row && g.tile.col == w.tile.col &&
                                  g.tile.x == w.tile.x && g.tile.y == w.tile.y &&
                                  g.tile.size == w.tile.size && g.patch == w.patch &&
                                  g.distance == w.distance;
                if (!same && ++mismatches <= 5) {
                    ADD_FAILURE() << simd_level_name(level) << " threads " << threads << " tile "
                                  << i << " at (" << w.tile.x << "," << w.tile.y << ") "
                                  << w.tile.size.width << "x" << w.tile.size.height
                                  << ": got patch " << g.patch << " distance " << g.distance
                                  << ", oracle patch " << w.patch << " distance " << w.distance;
                }
            }
            EXPECT_EQ(mismatches, 0u) << simd_level_name(level) << " threads " << threads;
        }
    }
    return want;
}

// k nearest through the Searcher interface directly, on the full window and the windows of a
// right-edge, bottom-edge and corner tile, at every supported SIMD level.
void expect_same_k_nearest(const Library& lib, const Image& target, int k) {
    const Size tile = lib.params().tile;
    const Size narrow{std::max(1, tile.width - 1), tile.height};
    const Size short_{tile.width, std::max(1, tile.height / 2)};
    const Size corner{narrow.width, short_.height};
    for (Size window : {tile, narrow, short_, corner}) {
        const std::vector<uint8_t> queries = testing::grid_queries(target, window, 64);
        const size_t count =
            queries.size() / (size_t(window.width) * window.height * target.channels);
        testing::expect_k_nearest_as_oracle(lib, {queries.data(), count, window}, k, "");
    }
}

struct Case {
    Size tile;
    Mode mode;
};

std::string case_name(const Case& c) {
    return std::to_string(c.tile.width) + "x" + std::to_string(c.tile.height) + "_" +
           std::string(mode_name(c.mode));
}
void PrintTo(const Case& c, std::ostream* os) {
    *os << case_name(c);
}

class MatchesOracle : public ::testing::TestWithParam<Case> {
  protected:
    Size tile() const { return GetParam().tile; }
    int channels() const { return tessera::channels(GetParam().mode); }
    bool square() const { return tile().width == tile().height; }

    // Stride half the tile, every transform the tile allows: a few hundred to a few thousand
    // patches, so the oracle stays fast.
    LibraryParams params(bool all_transforms = true) const {
        LibraryParams p;
        p.tile = tile();
        p.stride = {std::max(1, tile().width / 2), std::max(1, tile().height / 2)};
        p.mode = GetParam().mode;
        p.transforms = !all_transforms ? std::vector<Transform>{Transform::Rot0}
                       : square()      ? transforms_from({0, 90, 180, 270}, true)
                                       : transforms_from({0, 180}, true);
        return p;
    }
    // Sources about 5 tiles on a side, not multiples of the tile or the stride, and larger than
    // a target so that targets can be cut from them.
    Size source_size() const {
        return {std::max(32, 5 * tile().width + 3), std::max(24, 5 * tile().height + 3)};
    }
    // Targets about 4.5 tiles on a side, so edge tiles occur on the right and at the bottom.
    Size target_size() const {
        return {std::max(31, 4 * tile().width + tile().width / 2 + 1),
                std::max(23, 4 * tile().height + tile().height / 2 + 1)};
    }
    Image random(std::mt19937& rng, Size size, int levels = 256) const {
        return random_image(size.width, size.height, channels(), rng, levels);
    }
};

TEST_P(MatchesOracle, RandomImages) {
    std::mt19937 rng(100 + tile().width * 37 + tile().height);
    const Image a = random(rng, source_size()), b = random(rng, source_size());
    const Library lib = testing::build_library(params(), {&a, &b});
    expect_same_as_oracle(lib, random(rng, target_size()));
    // A target cut from a source, slightly perturbed: many close candidates.
    const Image near =
        testing::perturbed(crop(a, 1, 1, target_size().width, target_size().height), rng, 3);
    expect_same_as_oracle(lib, near);
    expect_same_k_nearest(lib, near, 1);
    expect_same_k_nearest(lib, near, 4);
}

// Two or three grey levels: many equal patches, and tiles at equal distance from several.
TEST_P(MatchesOracle, FewLevelsManyTies) {
    std::mt19937 rng(200 + tile().width * 37 + tile().height);
    for (int levels : {2, 3}) {
        const Image a = random(rng, source_size(), levels);
        const Library lib = testing::build_library(params(), {&a});
        Image target = random(rng, target_size(), levels);
        for (uint8_t& p : target.pixels) p = uint8_t(p * 100);  // far from the library's levels
        expect_same_as_oracle(lib, target);
        expect_same_k_nearest(lib, target, 3);
        const Image close = random(rng, target_size(), levels);
        expect_same_as_oracle(lib, close);
    }
}

// The same source twice: every patch has an equal twin with a higher id, which must never win.
TEST_P(MatchesOracle, DuplicatedPatchesTieToLowestId) {
    std::mt19937 rng(300 + tile().width * 37 + tile().height);
    const Image a = random(rng, source_size());
    const Library lib = testing::build_library(params(false), {&a, &a});
    const size_t half = lib.patch_count() / 2;
    ASSERT_EQ(lib.patch_count(), 2 * half);
    ASSERT_EQ(0, std::memcmp(lib.patch(0), lib.patch(half), half * lib.patch_bytes()));
    for (const Image& target :
         {random(rng, target_size()), crop(a, 0, 0, target_size().width, target_size().height)}) {
        for (const TileMatch& m : expect_same_as_oracle(lib, target)) {
            EXPECT_LT(m.patch, half);
        }
    }
}

// Every patch equal: every tile takes patch 0.
TEST_P(MatchesOracle, AllEqualPatches) {
    std::mt19937 rng(400 + tile().width * 37 + tile().height);
    for (uint8_t value : {0, 77, 255}) {
        const Image flat =
            testing::flat_image(source_size().width, source_size().height, channels(), value);
        const Library lib = testing::build_library(params(), {&flat});
        ASSERT_GT(lib.patch_count(), 1u);
        for (const TileMatch& m : expect_same_as_oracle(lib, random(rng, target_size()))) {
            EXPECT_EQ(m.patch, 0u);
        }
    }
}

// Extreme pixels: the largest distances a tile can have, and values at both ends of any
// signed shift a SIMD kernel may apply.
TEST_P(MatchesOracle, ExtremeValues) {
    std::mt19937 rng(500 + tile().width * 37 + tile().height);
    const Image a = random(rng, source_size(), 2);
    Image extreme = a;
    for (uint8_t& p : extreme.pixels) p = p ? 255 : 0;
    const Image black =
        testing::flat_image(source_size().width, source_size().height, channels(), 0);
    const Library lib = testing::build_library(params(), {&extreme, &black});
    Image target = random(rng, target_size(), 2);
    for (uint8_t& p : target.pixels) p = p ? 0 : 255;
    expect_same_as_oracle(lib, target);
    std::fill(target.pixels.begin(), target.pixels.end(), 255);
    expect_same_as_oracle(lib, target);
    expect_same_k_nearest(lib, target, 2);
}

#ifdef TESSERA_TESTS_HAVE_IO
// Patches and targets cut from the bundled photographs.
TEST_P(MatchesOracle, RealImages) {
    const Size s = source_size(), t = target_size();
    const Mode mode = GetParam().mode;
    const Image &brick = load_data("brick.png", mode), &coffee = load_data("coffee.png", mode),
                &chelsea = load_data("chelsea.png", mode), &coins = load_data("coins.png", mode);
    const Image a = crop(brick, 100, 50, s.width, s.height);
    const Image b = crop(coffee, 200, 150, s.width, s.height);
    const Library lib = testing::build_library(params(), {&a, &b});
    expect_same_as_oracle(lib, crop(chelsea, 150, 80, t.width, t.height));
    expect_same_as_oracle(lib, crop(coins, 0, 0, t.width, t.height));
    // A target from the same photograph as a source, shifted off the stride grid.
    expect_same_as_oracle(lib, crop(brick, 103, 51, t.width, t.height));
    expect_same_k_nearest(lib, crop(coffee, 210, 160, t.width, t.height), 3);
}
#endif

std::vector<Case> all_cases() {
    std::vector<Case> cases;
    for (Size tile : {Size{1, 1}, Size{2, 2}, Size{3, 2}, Size{7, 5}, Size{5, 7}, Size{8, 8},
                      Size{16, 16}, Size{16, 8}, Size{17, 3}, Size{32, 32}}) {
        for (Mode mode : {Mode::Gray, Mode::Rgb}) cases.push_back({tile, mode});
    }
    return cases;
}

INSTANTIATE_TEST_SUITE_P(Sizes, MatchesOracle, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) { return case_name(info.param); });

// The largest tile: distances near 2^32 must not wrap in any accumulator.
TEST(SearchLimits, LargestTileExtremes) {
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        const int c = channels(mode);
        LibraryParams p;
        p.tile = p.stride = {kMaxTileSide, kMaxTileSide};
        p.mode = mode;
        Image source(2 * kMaxTileSide, kMaxTileSide, c);
        // Patch 0 black, patch 1 white but one pixel.
        for (int y = 0; y < kMaxTileSide; ++y) {
            std::fill(source.row(y) + kMaxTileSide * c, source.row(y) + 2 * kMaxTileSide * c, 255);
        }
        source.row(0)[kMaxTileSide * c] = 0;
        const Library lib = testing::build_library(p, {&source});
        Image target(kMaxTileSide + 3, kMaxTileSide, c);
        std::fill(target.pixels.begin(), target.pixels.end(), 255);
        const auto m = expect_same_as_oracle(lib, target);
        ASSERT_EQ(m.size(), 2u);
        EXPECT_EQ(m[0].patch, 1u);
        EXPECT_EQ(m[0].distance, 255u * 255u);
        // With a black target, patch 0 wins at distance 0 and patch 1 is near the maximum.
        std::fill(target.pixels.begin(), target.pixels.end(), 0);
        std::vector<Neighbor> two(2);
        const Image tile = crop(target, 0, 0, kMaxTileSide, kMaxTileSide);
        const QueryBatch full{tile.pixels.data(), 1, p.tile};
        for (int threads : {1, 2}) {
            make_exact_searcher(lib, threads)->search(full, 2, two.data());
            EXPECT_EQ(two[0], (Neighbor{0, 0}));
            const uint64_t max = uint64_t(kMaxTileSide) * kMaxTileSide * c * 255 * 255;
            EXPECT_EQ(two[1], (Neighbor{max - 255 * 255, 1}));
        }
    }
}

TEST(SearchLimits, CheckQueries) {
    std::mt19937 rng(9);
    const Image a = random_image(8, 8, 1, rng);
    LibraryParams p;
    p.tile = p.stride = {4, 4};
    p.mode = Mode::Gray;
    const Library lib = testing::build_library(p, {&a});
    std::vector<uint8_t> q(16);
    std::vector<Neighbor> out(8);
    for (const auto& s : {make_bruteforce_searcher(lib), make_exact_searcher(lib, 1)}) {
        EXPECT_THROW(s->search({q.data(), 1, {5, 4}}, 1, out.data()), Error);
        EXPECT_THROW(s->search({q.data(), 1, {0, 4}}, 1, out.data()), Error);
        EXPECT_THROW(s->search({q.data(), 1, {4, 4}}, 0, out.data()), Error);
        EXPECT_THROW(s->search({q.data(), 1, {4, 4}}, 5, out.data()), Error);
        EXPECT_NO_THROW(s->search({q.data(), 1, {4, 4}}, 4, out.data()));
        EXPECT_NO_THROW(s->search({nullptr, 0, {4, 4}}, 1, out.data()));
    }
}

}  // namespace
}  // namespace tessera
