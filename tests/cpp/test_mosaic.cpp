// Mosaic: tiles matched on their visible pixels, patches pasted cropped, PSNR; the oracle's
// choices on cases small enough to work out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "mosaic_testing.hpp"
#include "tessera/core/error.hpp"
#include "tessera/mosaic/quality.hpp"
#include "tessera/mosaic/render.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::build_library;
using testing::make_image;
using testing::nearest_matches;

LibraryParams gray_params(Size tile) {
    LibraryParams p;
    p.tile = p.stride = tile;
    p.mode = Mode::Gray;
    return p;
}

// A 4x3 target of value 100 whose 2-wide right column is an edge tile. Patch 0 is 101 all over;
// patch 1 is 100 on its left half and 255 on its right half. On the visible 2x3 pixels patch 1
// is exact; padding with black (the original workflow) would pick patch 0 instead.
TEST(Mosaic, EdgeTileMatchesVisiblePixelsOnly) {
    for (const auto& make_searcher :
         {make_bruteforce_searcher, +[](const Library& l) { return make_exact_searcher(l, 1); }}) {
        const std::vector<uint8_t> p1 = {100, 100, 255, 255, 100, 100,
                                         255, 255, 100, 100, 255, 255};
        const Image source =
            make_image(8, 3, 1, {101, 101, 101, 101, 100, 100, 255, 255, 101, 101, 101, 101,
                                 100, 100, 255, 255, 101, 101, 101, 101, 100, 100, 255, 255});
        const Library lib = build_library(gray_params({4, 3}), {&source});
        ASSERT_EQ(lib.patch_count(), 2u);
        ASSERT_EQ(std::vector<uint8_t>(lib.patch(1), lib.patch(1) + 12), p1);

        const Image t = testing::flat_image(6, 3, 1, 100);
        const auto searcher = make_searcher(lib);
        const std::vector<TileMatch> m = nearest_matches(lib, *searcher, t.view());
        ASSERT_EQ(m.size(), 2u);
        // The full tile: patch 0 is 12 away, patch 1 is 6 * 155^2 away.
        EXPECT_EQ(m[0].tile.size, (Size{4, 3}));
        EXPECT_EQ(m[0].patch, 0u);
        EXPECT_EQ(m[0].distance, 12u);
        // The edge tile at x = 4, 2 wide: patch 1 is exact there.
        EXPECT_EQ(m[1].tile.x, 4);
        EXPECT_EQ(m[1].tile.size, (Size{2, 3}));
        EXPECT_EQ(m[1].patch, 1u);
        EXPECT_EQ(m[1].distance, 0u);

        // Pasted cropped: patch 1's 255 half never appears.
        const Image out = render(LibraryTiles(lib), m, t.size());
        EXPECT_EQ(out.pixels, (std::vector<uint8_t>{101, 101, 101, 101, 100, 100,  //
                                                    101, 101, 101, 101, 100, 100,  //
                                                    101, 101, 101, 101, 100, 100}));
    }
}

// The bottom row and the corner: edge tiles cropped in height and in both sides.
TEST(Mosaic, BottomAndCornerEdgeTiles) {
    // Two 2x2 RGB patches: A = rows (10,20 | 30,40) in every channel ..., B = A + 50.
    const Image source = make_image(4, 2, 3, {10, 10, 10, 20, 20, 20, 60, 60, 60, 70, 70, 70,  //
                                              30, 30, 30, 40, 40, 40, 80, 80, 80, 90, 90, 90});
    LibraryParams p = gray_params({2, 2});
    p.mode = Mode::Rgb;
    const Library lib = build_library(p, {&source});
    ASSERT_EQ(lib.patch_count(), 2u);
    // A 3x3 target: tile (0,0) 2x2, (0,1) 1x2, (1,0) 2x1, (1,1) 1x1.
    const Image target = make_image(3, 3, 3, {11, 10, 10, 20, 20, 20, 61, 60, 60,  //
                                              30, 30, 30, 40, 40, 40, 80, 80, 80,  //
                                              60, 60, 60, 70, 70, 70, 12, 10, 10});
    std::vector<std::unique_ptr<Searcher>> searchers;
    searchers.push_back(make_bruteforce_searcher(lib));
    searchers.push_back(make_exact_searcher(lib, 1));
    searchers.push_back(make_exact_searcher(lib, 2));
    const char* const names[] = {"bruteforce", "exact 1 thread", "exact 2 threads"};
    for (size_t n = 0; n < searchers.size(); ++n) {
        const auto m = nearest_matches(lib, *searchers[n], target.view());
        ASSERT_EQ(m.size(), 4u);
        const uint32_t want_patch[] = {0, 1, 1, 0};
        const uint64_t want_distance[] = {1, 1, 0, 4};
        const Size want_size[] = {{2, 2}, {1, 2}, {2, 1}, {1, 1}};
        for (size_t i = 0; i < 4; ++i) {
            SCOPED_TRACE(std::string(names[n]) + " tile " + std::to_string(i));
            EXPECT_EQ(m[i].tile.row, int(i / 2));
            EXPECT_EQ(m[i].tile.col, int(i % 2));
            EXPECT_EQ(m[i].tile.size, want_size[i]);
            EXPECT_EQ(m[i].patch, want_patch[i]);
            EXPECT_EQ(m[i].distance, want_distance[i]);
        }
        const Image out = render(LibraryTiles(lib), m, target.size());
        EXPECT_EQ(out.pixels, (std::vector<uint8_t>{10, 10, 10, 20, 20, 20, 60, 60, 60,  //
                                                    30, 30, 30, 40, 40, 40, 80, 80, 80,  //
                                                    60, 60, 60, 70, 70, 70, 10, 10, 10}));
    }
}

// Patches are pasted as stored, that is under their transform.
TEST(Mosaic, RenderPastesTransformedPatches) {
    const Image source = make_image(2, 2, 1, {1, 2, 3, 4});
    LibraryParams p = gray_params({2, 2});
    p.transforms = {Transform::Rot0, Transform::Rot90, Transform::Flip};
    const Library lib = build_library(p, {&source});
    ASSERT_EQ(lib.patch_count(), 3u);
    std::vector<TileMatch> m(3);
    for (int i = 0; i < 3; ++i) {
        m[i].tile = {0, i, 2 * i, 0, {2, 2}};
        m[i].patch = uint32_t(i);
    }
    const Image out = render(LibraryTiles(lib), m, {6, 2});
    // numpy: rot90([[1,2],[3,4]]) = [[2,4],[1,3]]; fliplr = [[2,1],[4,3]].
    EXPECT_EQ(out.pixels, (std::vector<uint8_t>{1, 2, 2, 4, 2, 1, 3, 4, 1, 3, 4, 3}));
}

TEST(Mosaic, OutputsTileRowsInOrderAndReportsProgress) {
    std::mt19937 rng(11);
    const Image source = testing::random_image(12, 12, 1, rng);
    const Library lib = build_library(gray_params({3, 2}), {&source});
    const Image target = testing::random_image(10, 7, 1, rng);
    std::vector<size_t> done;
    const auto m = nearest_matches(lib, *make_exact_searcher(lib, 2), target.view(),
                                   [&](size_t n, size_t total) {
                                       EXPECT_EQ(total, 16u);
                                       done.push_back(n);
                                   });
    // From 0, before any search, up to every tile.
    ASSERT_GE(done.size(), 2u);
    EXPECT_EQ(done.front(), 0u);
    EXPECT_EQ(std::adjacent_find(done.begin(), done.end(), std::greater_equal<size_t>()),
              done.end());  // increasing
    EXPECT_EQ(done.back(), 16u);
    const auto tiles = cover_with_tiles(target.size(), {3, 2});
    ASSERT_EQ(m.size(), tiles.size());
    for (size_t i = 0; i < m.size(); ++i) {
        EXPECT_EQ(m[i].tile.x, tiles[i].x);
        EXPECT_EQ(m[i].tile.y, tiles[i].y);
        EXPECT_EQ(m[i].tile.size, tiles[i].size);
    }
}

// A target smaller than the tile (in one side or both) is one tile, cropped: the same matches
// as the oracle's at every SIMD level, pasted cropped.
TEST(Mosaic, TargetSmallerThanTheTileIsOneCroppedTile) {
    std::mt19937 rng(7);
    LibraryParams p = gray_params({8, 6});
    p.mode = Mode::Rgb;
    p.stride = {2, 3};
    const Image a = testing::random_image(20, 15, 3, rng, 4);
    const Image b = testing::random_image(13, 9, 3, rng, 4);
    const Library lib = build_library(p, {&a, &b});
    const auto oracle = make_bruteforce_searcher(lib);
    for (Size size : {Size{5, 3}, Size{8, 2}, Size{3, 6}, Size{1, 1}}) {
        const Image target = testing::random_image(size.width, size.height, 3, rng, 4);
        const std::vector<TileMatch> expected = nearest_matches(lib, *oracle, target.view());
        ASSERT_EQ(expected.size(), 1u);
        EXPECT_EQ(expected[0].tile.size, size);
        for (SimdLevel level : testing::supported_levels()) {
            const auto m = nearest_matches(lib, *make_exact_searcher(lib, 2, level), target.view());
            ASSERT_EQ(m.size(), 1u);
            EXPECT_EQ(m[0].patch, expected[0].patch) << simd_level_name(level);
            EXPECT_EQ(m[0].distance, expected[0].distance) << simd_level_name(level);
        }
        const Image out = render(LibraryTiles(lib), expected, size);
        const Image patch = testing::crop(
            make_image(8, 6, 3, {lib.patch(expected[0].patch), lib.patch(expected[0].patch + 1)}),
            0, 0, size.width, size.height);
        EXPECT_EQ(out.pixels, patch.pixels);
        uint64_t distance = 0;
        for (size_t i = 0; i < out.pixels.size(); ++i) {
            const int d = int(out.pixels[i]) - int(target.pixels[i]);
            distance += uint64_t(d * d);
        }
        EXPECT_EQ(distance, expected[0].distance);
    }
}

TEST(Mosaic, RejectsTargetOfOtherMode) {
    const Image source(4, 4, 1);
    const Library lib = build_library(gray_params({2, 2}), {&source});
    const Image rgb(4, 4, 3);
    try {
        nearest_matches(lib, *make_bruteforce_searcher(lib), rgb.view());
        ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("3 channels but the library is gray"),
                  std::string::npos);
    }
}

// A source whose sides are multiples of the tile is rebuilt exactly from its own stride = tile
// library.
TEST(Mosaic, SourceRebuildsItself) {
    std::mt19937 rng(12);
    for (int c : {1, 3}) {
        const Image source = testing::random_image(20, 12, c, rng);
        LibraryParams p = gray_params({5, 4});
        p.mode = mode_of_channels(c);
        const Library lib = build_library(p, {&source});
        const auto m = nearest_matches(lib, *make_exact_searcher(lib), source.view());
        for (const TileMatch& t : m) EXPECT_EQ(t.distance, 0u);
        const Image out = render(LibraryTiles(lib), m, source.size());
        EXPECT_EQ(out.pixels, source.pixels);
        EXPECT_TRUE(std::isinf(psnr(out.view(), source.view())));
    }
}

TEST(Psnr, KnownValues) {
    const Image a = make_image(2, 2, 1, {0, 0, 0, 0});
    const Image b = make_image(2, 2, 1, {255, 0, 0, 0});
    // MSE = 255^2 / 4, so PSNR = 10 log10(4).
    EXPECT_NEAR(psnr(a.view(), b.view()), 10 * std::log10(4.0), 1e-12);
    EXPECT_TRUE(std::isinf(psnr(a.view(), a.view())));
    EXPECT_GT(psnr(a.view(), a.view()), 0);
    // Every channel counts: one differing byte in 12.
    const Image c = make_image(2, 2, 3, std::vector<uint8_t>(12, 7));
    Image d = c;
    d.pixels[5] = 8;
    EXPECT_NEAR(psnr(c.view(), d.view()), 10 * std::log10(255.0 * 255.0 * 12), 1e-9);
    // The worst case: all 0 against all 255 is 0 dB.
    const Image white = make_image(2, 2, 1, {255, 255, 255, 255});
    EXPECT_NEAR(psnr(a.view(), white.view()), 0.0, 1e-12);
}

TEST(Psnr, HonoursStride) {
    const std::vector<uint8_t> padded = {1, 2, 200, 3, 4, 100};
    const ImageView view{padded.data(), 2, 2, 1, 3};
    const Image packed = make_image(2, 2, 1, {1, 2, 3, 4});
    EXPECT_TRUE(std::isinf(psnr(view, packed.view())));
}

}  // namespace
}  // namespace tessera
