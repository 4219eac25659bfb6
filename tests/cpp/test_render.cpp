// Rendering: bands that join into the whole output, tiles rendered at another size than they
// were matched at (placed in their cells, cropped at the edges), and the output size.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "mosaic_testing.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/mosaic/tile_source.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

// The library's patches at `factor` times their size, each pixel repeated factor x factor times.
class Enlarged final : public TileSource {
  public:
    Enlarged(const Library& lib, int factor) : lib_(lib), factor_(factor) {
        const Size tile = lib.params().tile;
        const int c = lib.params().channels();
        const size_t bytes = size_t(tile.width) * tile.height * c * factor * factor;
        pixels_.resize(lib.patch_count() * bytes);
        for (size_t id = 0; id < lib.patch_count(); ++id) {
            for (int y = 0; y < tile.height * factor; ++y) {
                for (int x = 0; x < tile.width * factor; ++x) {
                    for (int ch = 0; ch < c; ++ch) {
                        pixels_[id * bytes + (size_t(y) * tile.width * factor + x) * c + ch] =
                            lib.patch(id)[(size_t(y / factor) * tile.width + x / factor) * c + ch];
                    }
                }
            }
        }
    }
    Size tile_size() const override {
        return {lib_.params().tile.width * factor_, lib_.params().tile.height * factor_};
    }
    int channels() const override { return lib_.params().channels(); }
    size_t size() const override { return lib_.patch_count(); }
    const uint8_t* pixels(uint32_t id) const override {
        return pixels_.data() + id * pixels_.size() / lib_.patch_count();
    }

  private:
    Library lib_;
    int factor_;
    std::vector<uint8_t> pixels_;
};

// A library of 4x3 RGB tiles, an 11x8 target (3 tile rows, the last 2 high; a right column 3
// wide) and its matches.
struct Scene {
    Library lib;
    Image target;
    std::vector<TileMatch> matches;
};

Scene scene(uint32_t seed) {
    std::mt19937 rng(seed);
    LibraryParams p;
    p.tile = {4, 3};
    p.stride = {3, 2};
    p.mode = Mode::Rgb;
    const Image source = testing::random_image(16, 12, 3, rng);
    Scene s{testing::build_library(p, {&source}), testing::random_image(11, 8, 3, rng), {}};
    s.matches = testing::nearest_matches(s.lib, *make_exact_searcher(s.lib, 1), s.target.view());
    return s;
}

// The matches of the tile rows of `rows`.
std::vector<TileMatch> band_matches(const std::vector<TileMatch>& all, TileRows rows) {
    std::vector<TileMatch> band;
    for (const TileMatch& m : all) {
        if (m.tile.row >= rows.first && m.tile.row < rows.first + rows.count) band.push_back(m);
    }
    return band;
}

TEST(RenderedSize, ScalesByRenderOverTileRoundingUp) {
    EXPECT_EQ(rendered_size({11, 8}, {4, 3}, {4, 3}), (Size{11, 8}));
    EXPECT_EQ(rendered_size({11, 8}, {4, 3}, {8, 6}), (Size{22, 16}));
    // 11 * 6 / 4 = 16.5 and 8 * 4 / 3 = 10.67: the last cell keeps its pixels.
    EXPECT_EQ(rendered_size({11, 8}, {4, 3}, {6, 4}), (Size{17, 11}));
    // Smaller: 11 * 2 / 4 = 5.5.
    EXPECT_EQ(rendered_size({11, 8}, {4, 3}, {2, 3}), (Size{6, 8}));
    // A 1-pixel edge tile rendered at a tenth of its size still has a pixel.
    EXPECT_EQ(rendered_size({11, 1}, {10, 10}, {1, 1}), (Size{2, 1}));
    EXPECT_EQ(rendered_size({3, 2}, {4, 3}, {40, 30}), (Size{30, 20}));
    EXPECT_EQ(rendered_size({0, 0}, {4, 3}, {8, 6}), (Size{0, 0}));
    EXPECT_NE(testing::error_of([] {
                  rendered_size({100000, 10}, {1, 1}, {100000, 1});
              }).find("too large"),
              std::string::npos);
}

// Bands of 1, 2 and 3 tile rows (the last band of each ending at the bottom edge, cropped there)
// stacked are the whole render, at the matched size and enlarged.
TEST(Render, BandsStackIntoTheWhole) {
    const Scene s = scene(3);
    const LibraryTiles same(s.lib);
    const Enlarged twice(s.lib, 2);
    for (const TileSource* tiles :
         {static_cast<const TileSource*>(&same), static_cast<const TileSource*>(&twice)}) {
        const Size output = rendered_size(s.target.size(), s.lib.params().tile, tiles->tile_size());
        const Image whole = render(*tiles, s.matches, output);
        ASSERT_EQ(whole.size(), output);
        for (int per_band : {1, 2, 3}) {
            SCOPED_TRACE(std::to_string(output.width) + " wide, bands of " +
                         std::to_string(per_band));
            std::vector<uint8_t> stacked;
            for (int first = 0; first < 3; first += per_band) {
                const TileRows rows{first, std::min(per_band, 3 - first)};
                const Image band = render_band(*tiles, band_matches(s.matches, rows), output, rows);
                EXPECT_EQ(band.width, output.width);
                const int top = first * tiles->tile_size().height;
                EXPECT_EQ(band.height,
                          std::min(output.height - top, rows.count * tiles->tile_size().height));
                stacked.insert(stacked.end(), band.pixels.begin(), band.pixels.end());
            }
            EXPECT_EQ(stacked, whole.pixels);
        }
    }
}

// Rendered at twice the tile size: every output pixel comes from the patch matched for its cell,
// at half its coordinates in the cell; the right column and bottom row are cropped.
TEST(Render, LargerTilesArePlacedInTheirCellsAndCropped) {
    const Scene s = scene(4);
    const Enlarged twice(s.lib, 2);
    const Size output = rendered_size(s.target.size(), s.lib.params().tile, twice.tile_size());
    ASSERT_EQ(output, (Size{22, 16}));
    const Image out = render(twice, s.matches, output);
    const Size cell = twice.tile_size();
    for (int y = 0; y < output.height; ++y) {
        for (int x = 0; x < output.width; ++x) {
            const TileMatch& m = s.matches[size_t(y / cell.height) * 3 + size_t(x / cell.width)];
            ASSERT_EQ(m.tile.row, y / cell.height);
            ASSERT_EQ(m.tile.col, x / cell.width);
            const int px = (x % cell.width) / 2, py = (y % cell.height) / 2;
            for (int c = 0; c < 3; ++c) {
                ASSERT_EQ(out.pixels[(size_t(y) * output.width + x) * 3 + c],
                          s.lib.patch(m.patch)[(size_t(py) * 4 + px) * 3 + c])
                    << x << "," << y;
            }
        }
    }
}

}  // namespace
}  // namespace tessera
