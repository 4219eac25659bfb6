// Matching by bands of tile rows with k candidates per tile, and the nearest-candidate assignment:
// every band and every k against the oracle searched tile by tile.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "mosaic_testing.hpp"
#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/match.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

// A library of 4x3 tiles and an 11x8 target: 3 tile rows, the last 2 high, and a right column 3
// wide, so that a band meets every kind of edge tile.
struct Scene {
    Library lib;
    Image target;
};

Scene scene(Mode mode, uint32_t seed) {
    std::mt19937 rng(seed);
    LibraryParams p;
    p.tile = {4, 3};
    p.stride = {2, 1};
    p.mode = mode;
    // Few levels: many equal distances, so ties must resolve the oracle's way.
    const Image source = testing::random_image(13, 9, channels(mode), rng, 6);
    return {testing::build_library(p, {&source}),
            testing::random_image(11, 8, channels(mode), rng, 6)};
}

// The oracle's k nearest for one tile, searched alone on its visible pixels.
std::vector<Neighbor> oracle_nearest(const Library& lib, ImageView target, const Tile& t, int k) {
    const int c = lib.params().channels();
    std::vector<uint8_t> query(size_t(t.size.width) * t.size.height * c);
    for (int y = 0; y < t.size.height; ++y) {
        std::memcpy(&query[size_t(y) * t.size.width * c], target.row(t.y + y) + t.x * c,
                    size_t(t.size.width) * c);
    }
    std::vector<Neighbor> found(size_t(k), Neighbor{});
    make_bruteforce_searcher(lib)->search({query.data(), 1, t.size}, k, found.data());
    return found;
}

TEST(Match, TileRowsIsTheCeiling) {
    EXPECT_EQ(tile_rows({11, 8}, {4, 3}), 3);
    EXPECT_EQ(tile_rows({11, 9}, {4, 3}), 3);
    EXPECT_EQ(tile_rows({11, 10}, {4, 3}), 4);
    EXPECT_EQ(tile_rows({5, 1}, {4, 3}), 1);
    EXPECT_EQ(tile_rows({5, 0}, {4, 3}), 0);
}

// k > 1: each tile's candidates are the oracle's k nearest, nearest first, edge tiles included.
TEST(Match, KCandidatesAreTheOraclesKNearest) {
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        const Scene s = scene(mode, 21 + uint32_t(mode));
        const auto tiles = cover_with_tiles(s.target.size(), s.lib.params().tile);
        std::vector<std::unique_ptr<Searcher>> searchers;
        searchers.push_back(make_bruteforce_searcher(s.lib));
        for (SimdLevel level : testing::supported_levels()) {
            for (int threads : {1, 2})
                searchers.push_back(make_exact_searcher(s.lib, threads, level));
        }
        for (int k : {1, 2, 5, int(s.lib.patch_count())}) {
            for (size_t n = 0; n < searchers.size(); ++n) {
                const TileCandidates c =
                    match_tiles(s.lib, *searchers[n], s.target.view(), {0, 3}, k);
                EXPECT_EQ(c.k, k);
                ASSERT_EQ(c.tiles.size(), tiles.size());
                ASSERT_EQ(c.neighbors.size(), tiles.size() * size_t(k));
                for (size_t i = 0; i < tiles.size(); ++i) {
                    SCOPED_TRACE("searcher " + std::to_string(n) + " k " + std::to_string(k) +
                                 " tile " + std::to_string(i));
                    EXPECT_EQ(c.tiles[i].x, tiles[i].x);
                    EXPECT_EQ(c.tiles[i].y, tiles[i].y);
                    EXPECT_EQ(c.tiles[i].size, tiles[i].size);
                    const auto want = oracle_nearest(s.lib, s.target.view(), tiles[i], k);
                    const auto got = c.of(i);
                    EXPECT_EQ(std::vector<Neighbor>(got.begin(), got.end()), want);
                }
            }
        }
    }
}

// A band is those rows of the whole: the same tiles (rows and y in the target) and candidates,
// for bands of 1, 2 and 3 rows, one that ends at the bottom edge, and an empty one.
// Any subset of the grid, in any order (what widening a repeat-capped assignment searches): each
// listed tile's neighbours are those the whole grid's matching gives it.
TEST(Match, ListedTilesMatchAsInTheWholeGrid) {
    const Scene s = scene(Mode::Rgb, 11);
    const auto searcher = make_exact_searcher(s.lib, 2);
    const int k = 5;
    const TileCandidates whole = match_tiles(s.lib, *searcher, s.target.view(), {0, 3}, k);
    const std::vector<size_t> picked = {8, 0, 5, 7, 2, 4};  // corner, interior, edges, unordered
    std::vector<Tile> tiles;
    for (size_t i : picked) tiles.push_back(whole.tiles[i]);
    const std::vector<Neighbor> listed =
        match_listed_tiles(s.lib, *searcher, s.target.view(), tiles, k);
    ASSERT_EQ(listed.size(), picked.size() * k);
    for (size_t j = 0; j < picked.size(); ++j) {
        const auto of = whole.of(picked[j]);
        EXPECT_EQ(std::vector<Neighbor>(listed.begin() + ptrdiff_t(j * k),
                                        listed.begin() + ptrdiff_t(j * k + k)),
                  std::vector<Neighbor>(of.begin(), of.end()))
            << "tile " << picked[j];
    }
}

// Every patch's distance to every tile, edge tiles included, as the oracle ranks them all; and
// with limits, exact within each limit (at it, one below the distance, the tile's median
// distance) and above it elsewhere.
TEST(Match, TileDistancesAreTheOraclesDistances) {
    for (const Mode mode : {Mode::Gray, Mode::Rgb}) {
        const Scene s = scene(mode, 17);
        PatchDistances measure(s.lib);
        const uint32_t n = uint32_t(s.lib.patch_count());
        std::vector<uint32_t> ids(n);
        for (uint32_t i = 0; i < n; ++i) ids[i] = n - 1 - i;  // any order
        size_t above = 0;
        for (const Tile& t : cover_with_tiles(s.target.size(), s.lib.params().tile)) {
            std::vector<uint64_t> truth(n);  // by position in ids
            for (const Neighbor& nb : oracle_nearest(s.lib, s.target.view(), t, int(n))) {
                truth[n - 1 - nb.id] = nb.distance;
            }
            std::vector<uint64_t> median(truth);
            std::nth_element(median.begin(), median.begin() + n / 2, median.end());
            const std::vector<std::function<uint64_t(uint64_t)>> limit_of = {
                [](uint64_t d) { return d; }, [](uint64_t d) { return d == 0 ? 0 : d - 1; },
                [&](uint64_t) { return median[n / 2]; }};
            std::vector<uint64_t> distances(n);
            tile_distances(measure, s.target.view(), t, ids, distances);
            EXPECT_EQ(distances, truth) << "tile " << t.x << "," << t.y;
            for (const auto& limit : limit_of) {
                std::vector<uint64_t> limits(n);
                for (uint32_t i = 0; i < n; ++i) limits[i] = limit(truth[i]);
                tile_distances(measure, s.target.view(), t, ids, distances, limits);
                for (uint32_t i = 0; i < n; ++i) {
                    if (truth[i] <= limits[i]) {
                        EXPECT_EQ(distances[i], truth[i]) << "patch " << ids[i];
                    } else {
                        EXPECT_GT(distances[i], limits[i]) << "patch " << ids[i];
                        ++above;
                    }
                }
            }
        }
        EXPECT_GT(above, size_t(n));  // the limits were exercised
    }
}

TEST(Match, BandsAreSlicesOfTheWhole) {
    const Scene s = scene(Mode::Rgb, 5);
    const auto searcher = make_exact_searcher(s.lib, 2);
    const int k = 3;
    const TileCandidates whole = match_tiles(s.lib, *searcher, s.target.view(), {0, 3}, k);
    const size_t per_row = 3;  // 11 = 4 + 4 + 3
    for (TileRows rows : {TileRows{0, 1}, TileRows{1, 1}, TileRows{2, 1}, TileRows{0, 2},
                          TileRows{1, 2}, TileRows{0, 3}, TileRows{3, 0}}) {
        SCOPED_TRACE(std::to_string(rows.first) + "+" + std::to_string(rows.count));
        std::vector<size_t> progress;
        const TileCandidates band =
            match_tiles(s.lib, *searcher, s.target.view(), rows, k, [&](size_t done, size_t total) {
                EXPECT_EQ(total, size_t(rows.count) * per_row);
                progress.push_back(done);
            });
        ASSERT_EQ(band.tiles.size(), size_t(rows.count) * per_row);
        ASSERT_FALSE(progress.empty());
        EXPECT_EQ(progress.front(), 0u);
        EXPECT_EQ(progress.back(), band.tiles.size());
        for (size_t i = 0; i < band.tiles.size(); ++i) {
            const size_t w = rows.first * per_row + i;
            const Tile &b = band.tiles[i], &t = whole.tiles[w];
            EXPECT_EQ(b.row, t.row);
            EXPECT_EQ(b.col, t.col);
            EXPECT_EQ(b.x, t.x);
            EXPECT_EQ(b.y, t.y);
            EXPECT_EQ(b.size, t.size);
            const auto got = band.of(i), want = whole.of(w);
            EXPECT_EQ(std::vector<Neighbor>(got.begin(), got.end()),
                      std::vector<Neighbor>(want.begin(), want.end()));
        }
    }
}

TEST(Match, RejectsKOutOfRange) {
    const Scene s = scene(Mode::Gray, 9);
    const auto searcher = make_bruteforce_searcher(s.lib);
    for (int k : {0, -1, int(s.lib.patch_count()) + 1}) {
        // Even for a band without tiles.
        for (TileRows rows : {TileRows{0, 3}, TileRows{1, 0}}) {
            EXPECT_NE(testing::error_of([&] {
                          match_tiles(s.lib, *searcher, s.target.view(), rows, k);
                      }).find("is out of range"),
                      std::string::npos);
        }
    }
}

// Each tile takes its nearest candidate: the same choice from 1 candidate or from many, and the
// oracle's nearest with its distance.
TEST(Assign, NearestIsTheFirstCandidate) {
    const Scene s = scene(Mode::Rgb, 17);
    const auto searcher = make_exact_searcher(s.lib, 2);
    const auto m1 = testing::nearest_matches(s.lib, *searcher, s.target.view());
    const auto m4 = assign_nearest(match_tiles(s.lib, *searcher, s.target.view(), {0, 3}, 4));
    const auto tiles = cover_with_tiles(s.target.size(), s.lib.params().tile);
    ASSERT_EQ(m1.size(), tiles.size());
    ASSERT_EQ(m4.size(), tiles.size());
    for (size_t i = 0; i < tiles.size(); ++i) {
        const Neighbor want = oracle_nearest(s.lib, s.target.view(), tiles[i], 1)[0];
        for (const TileMatch& m : {m1[i], m4[i]}) {
            EXPECT_EQ(m.tile.x, tiles[i].x);
            EXPECT_EQ(m.tile.y, tiles[i].y);
            EXPECT_EQ(m.tile.size, tiles[i].size);
            EXPECT_EQ(m.patch, want.id);
            EXPECT_EQ(m.distance, want.distance);
        }
    }
}

}  // namespace
}  // namespace tessera
