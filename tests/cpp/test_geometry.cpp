// Geometry: the 8 transforms against numpy's rot90/fliplr results written out by hand, the
// window grid, the tile cover and size parsing.
#include <gtest/gtest.h>

#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/geometry.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

struct Expected {
    Transform t;
    Size size;
    std::vector<uint8_t> gray;  // row-major values
};

// numpy: a = [[1, 2, 3], [4, 5, 6]] (3 wide, 2 high); t = rot90(fliplr(a) if t >= 4 else a, t % 4).
const std::vector<Expected> kNonSquare = {
    {Transform::Rot0, {3, 2}, {1, 2, 3, 4, 5, 6}},
    {Transform::Rot90, {2, 3}, {3, 6, 2, 5, 1, 4}},
    {Transform::Rot180, {3, 2}, {6, 5, 4, 3, 2, 1}},
    {Transform::Rot270, {2, 3}, {4, 1, 5, 2, 6, 3}},
    {Transform::Flip, {3, 2}, {3, 2, 1, 6, 5, 4}},
    {Transform::FlipRot90, {2, 3}, {1, 4, 2, 5, 3, 6}},
    {Transform::FlipRot180, {3, 2}, {4, 5, 6, 1, 2, 3}},
    {Transform::FlipRot270, {2, 3}, {6, 3, 5, 2, 4, 1}},
};

// numpy: a = [[1, 2, 3], [4, 5, 6], [7, 8, 9]].
const std::vector<Expected> kSquare = {
    {Transform::Rot0, {3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}},
    {Transform::Rot90, {3, 3}, {3, 6, 9, 2, 5, 8, 1, 4, 7}},
    {Transform::Rot180, {3, 3}, {9, 8, 7, 6, 5, 4, 3, 2, 1}},
    {Transform::Rot270, {3, 3}, {7, 4, 1, 8, 5, 2, 9, 6, 3}},
    {Transform::Flip, {3, 3}, {3, 2, 1, 6, 5, 4, 9, 8, 7}},
    {Transform::FlipRot90, {3, 3}, {1, 4, 7, 2, 5, 8, 3, 6, 9}},
    {Transform::FlipRot180, {3, 3}, {7, 8, 9, 4, 5, 6, 1, 2, 3}},
    {Transform::FlipRot270, {3, 3}, {9, 6, 3, 8, 5, 2, 7, 4, 1}},
};

// Runs apply_transform on the source (values 1..w*h, row-major) stored with `channels` bytes per
// pixel, pixel v as (v, v + 100, v + 200), in rows padded by 5 bytes so the stride is honoured.
void check_transforms(Size size, const std::vector<Expected>& cases, int channels) {
    const ptrdiff_t stride = ptrdiff_t(size.width) * channels + 5;
    std::vector<uint8_t> src(size_t(stride) * size.height, 0xEE);
    for (int y = 0; y < size.height; ++y) {
        for (int x = 0; x < size.width; ++x) {
            for (int c = 0; c < channels; ++c) {
                src[y * stride + x * channels + c] = uint8_t(1 + y * size.width + x + 100 * c);
            }
        }
    }
    ASSERT_EQ(cases.size(), size_t(kTransformCount));
    for (const Expected& e : cases) {
        SCOPED_TRACE(std::string(transform_name(e.t)) + " channels " + std::to_string(channels));
        EXPECT_EQ(transformed_size(size, e.t), e.size);
        std::vector<uint8_t> want;
        for (uint8_t v : e.gray) {
            for (int c = 0; c < channels; ++c) want.push_back(uint8_t(v + 100 * c));
        }
        // One spare byte after the output checks that nothing is written past it.
        std::vector<uint8_t> got(want.size() + 1, 0xAB);
        apply_transform(src.data(), stride, size, channels, e.t, got.data());
        EXPECT_EQ(got.back(), 0xAB);
        got.pop_back();
        EXPECT_EQ(got, want);
    }
}

TEST(Transform, NonSquareGray) {
    check_transforms({3, 2}, kNonSquare, 1);
}
TEST(Transform, NonSquareRgb) {
    check_transforms({3, 2}, kNonSquare, 3);
}
TEST(Transform, SquareGray) {
    check_transforms({3, 3}, kSquare, 1);
}
TEST(Transform, SquareRgb) {
    check_transforms({3, 3}, kSquare, 3);
}

TEST(Transform, NamesAndAxes) {
    const char* names[] = {"rot0", "rot90",      "rot180",      "rot270",
                           "flip", "flip-rot90", "flip-rot180", "flip-rot270"};
    for (int t = 0; t < kTransformCount; ++t) {
        EXPECT_EQ(transform_name(Transform(t)), names[t]);
        EXPECT_EQ(swaps_axes(Transform(t)), t % 2 == 1);
    }
}

// The group structure: four quarter turns are the identity, a mirror twice is the identity.
TEST(Transform, GroupLaws) {
    std::mt19937 rng(7);
    const Image a = testing::random_image(5, 5, 3, rng);
    std::vector<uint8_t> x = a.pixels, y(x.size());
    for (int i = 0; i < 4; ++i) {
        apply_transform(x.data(), 15, {5, 5}, 3, Transform::Rot90, y.data());
        x.swap(y);
        if (i < 3) {
            EXPECT_NE(x, a.pixels);
        }
    }
    EXPECT_EQ(x, a.pixels);
    apply_transform(a.pixels.data(), 15, {5, 5}, 3, Transform::Flip, y.data());
    apply_transform(y.data(), 15, {5, 5}, 3, Transform::Flip, x.data());
    EXPECT_EQ(x, a.pixels);
}

std::vector<Point> points(std::initializer_list<std::pair<int, int>> xy) {
    std::vector<Point> out;
    for (auto [x, y] : xy) out.push_back({x, y});
    return out;
}

TEST(WindowOrigins, StrideEqualsTile) {
    EXPECT_EQ(window_origins({8, 4}, {4, 2}, {4, 2}), points({{0, 0}, {4, 0}, {0, 2}, {4, 2}}));
    // Leftover columns and rows that cannot hold a whole window are not used.
    EXPECT_EQ(window_origins({9, 5}, {4, 2}, {4, 2}), points({{0, 0}, {4, 0}, {0, 2}, {4, 2}}));
}

TEST(WindowOrigins, OverlappingStride) {
    EXPECT_EQ(window_origins({5, 3}, {3, 2}, {1, 1}),
              points({{0, 0}, {1, 0}, {2, 0}, {0, 1}, {1, 1}, {2, 1}}));
    EXPECT_EQ(window_origins({7, 4}, {3, 2}, {2, 2}),
              points({{0, 0}, {2, 0}, {4, 0}, {0, 2}, {2, 2}, {4, 2}}));
}

TEST(WindowOrigins, StrideLargerThanTile) {
    EXPECT_EQ(window_origins({10, 7}, {2, 2}, {5, 4}), points({{0, 0}, {5, 0}, {0, 4}, {5, 4}}));
    EXPECT_EQ(window_origins({10, 7}, {2, 2}, {100, 100}), points({{0, 0}}));
}

TEST(WindowOrigins, TileEqualsImage) {
    EXPECT_EQ(window_origins({6, 4}, {6, 4}, {1, 1}), points({{0, 0}}));
}

TEST(WindowOrigins, TileLargerThanImage) {
    EXPECT_TRUE(window_origins({6, 4}, {7, 4}, {1, 1}).empty());
    EXPECT_TRUE(window_origins({6, 4}, {6, 5}, {1, 1}).empty());
    EXPECT_TRUE(window_origins({0, 0}, {1, 1}, {1, 1}).empty());
}

TEST(WindowOrigins, CountMatchesFormula) {
    for (int w = 1; w <= 12; ++w) {
        for (int tw = 1; tw <= 5; ++tw) {
            for (int sx = 1; sx <= 6; ++sx) {
                const auto o = window_origins({w, 3}, {tw, 2}, {sx, 1});
                const size_t cols = w < tw ? 0 : size_t((w - tw) / sx + 1);
                EXPECT_EQ(o.size(), cols * 2) << w << " " << tw << " " << sx;
                for (const Point& p : o) EXPECT_LE(p.x + tw, w);
            }
        }
    }
}

TEST(CoverWithTiles, ExactMultiple) {
    const auto tiles = cover_with_tiles({8, 4}, {4, 2});
    ASSERT_EQ(tiles.size(), 4u);
    const int want[4][4] = {{0, 0, 0, 0}, {0, 1, 4, 0}, {1, 0, 0, 2}, {1, 1, 4, 2}};
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(tiles[i].row, want[i][0]);
        EXPECT_EQ(tiles[i].col, want[i][1]);
        EXPECT_EQ(tiles[i].x, want[i][2]);
        EXPECT_EQ(tiles[i].y, want[i][3]);
        EXPECT_EQ(tiles[i].size, (Size{4, 2}));
    }
}

TEST(CoverWithTiles, EdgeTilesAreCropped) {
    // 10x5 with 4x2 tiles: columns at 0, 4, 8 (the last 2 wide), rows at 0, 2, 4 (the last 1 high).
    const auto tiles = cover_with_tiles({10, 5}, {4, 2});
    ASSERT_EQ(tiles.size(), 9u);
    for (size_t i = 0; i < tiles.size(); ++i) {
        const int row = int(i) / 3, col = int(i) % 3;
        EXPECT_EQ(tiles[i].row, row);
        EXPECT_EQ(tiles[i].col, col);
        EXPECT_EQ(tiles[i].x, 4 * col);
        EXPECT_EQ(tiles[i].y, 2 * row);
        EXPECT_EQ(tiles[i].size, (Size{col == 2 ? 2 : 4, row == 2 ? 1 : 2}));
    }
}

TEST(CoverWithTiles, TileLargerThanImage) {
    const auto tiles = cover_with_tiles({3, 2}, {16, 16});
    ASSERT_EQ(tiles.size(), 1u);
    EXPECT_EQ(tiles[0].size, (Size{3, 2}));
    EXPECT_TRUE(cover_with_tiles({0, 0}, {4, 4}).empty());
}

// Every pixel is covered exactly once.
TEST(CoverWithTiles, CoversEachPixelOnce) {
    for (Size image : {Size{17, 9}, Size{16, 16}, Size{1, 31}}) {
        for (Size tile : {Size{1, 1}, Size{3, 2}, Size{7, 5}, Size{16, 8}}) {
            std::vector<int> hits(size_t(image.width) * image.height);
            for (const Tile& t : cover_with_tiles(image, tile)) {
                for (int y = t.y; y < t.y + t.size.height; ++y) {
                    for (int x = t.x; x < t.x + t.size.width; ++x) ++hits[y * image.width + x];
                }
            }
            for (int h : hits) ASSERT_EQ(h, 1);
        }
    }
}

TEST(ParseSize, Valid) {
    EXPECT_EQ(parse_size("16", "tile"), (Size{16, 16}));
    EXPECT_EQ(parse_size("16x8", "tile"), (Size{16, 8}));
    EXPECT_EQ(parse_size("1x32", "tile"), (Size{1, 32}));
}

TEST(ParseSize, Invalid) {
    for (const char* text : {"", "x", "0", "-4", "16x", "x8", "16x0", "16x-1", "a", "16x8x2", "16 ",
                             " 16", "1.5", "16X8", "99999999999"}) {
        SCOPED_TRACE(text);
        try {
            parse_size(text, "stride");
            ADD_FAILURE() << "accepted";
        } catch (const Error& e) {
            const std::string message = e.what();
            EXPECT_NE(message.find("invalid stride '" + std::string(text) + "'"), std::string::npos)
                << message;
        }
    }
}

}  // namespace
}  // namespace tessera
