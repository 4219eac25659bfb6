// Whole-photo libraries (format 4): one tile per photo with its render-size pixels, saved and
// opened, hostile headers refused; posters rendered at the render size from exact matches; the
// --grid arithmetic.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "mosaic_testing.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/io/encode.hpp"
#include "tessera/io/resample.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/library/library.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/pipeline/add_sources.hpp"
#include "tessera/pipeline/mosaic_job.hpp"
#include "tessera/pipeline/poster.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "tessera/search/search.hpp"
#include "testing.hpp"

using namespace tessera;
using tessera::testing::error_of;
using tessera::testing::expect_message;
using tessera::testing::read_file;
using tessera::testing::set_sealed;
using tessera::testing::write_file;

namespace {

// Header fields after the sections (src/library/file_format.hpp): kind, fit, render size, writer.
constexpr size_t kKindAt = 272, kFitAt = 276, kRenderWidthAt = 280, kWriterAt = 288;

LibraryParams whole_params(Size tile, Size render, std::vector<Transform> transforms) {
    LibraryParams params;
    params.kind = LibraryKind::whole;
    params.tile = tile;
    params.stride = tile;
    params.render = render == tile ? Size{0, 0} : render;
    params.transforms = std::move(transforms);
    return params;
}

// A whole library of `count` random photos: tile and render pixels drawn independently (the
// builder stores what it is given; resampling is the io layer's, tested in pytest).
Library random_whole_library(Size tile, Size render, int count, uint32_t seed,
                             std::vector<Transform> transforms = {Transform::Rot0}) {
    std::mt19937 rng(seed);
    LibraryBuilder builder(whole_params(tile, render, transforms), exact_search_data());
    for (int i = 0; i < count; ++i) {
        const Image small = tessera::testing::random_image(tile.width, tile.height, 3, rng);
        const Image large = tessera::testing::random_image(render.width, render.height, 3, rng);
        builder.add_whole({"photo" + std::to_string(i) + ".jpg", 10, 20, 0, 0}, {640, 480},
                          small.view(), large.view());
    }
    return builder.finish();
}

// The brute-force nearest patch (squared L2 over the tile's visible pixels, ties to the lowest
// id) of the cell of `target` at (x, y).
uint32_t oracle_nearest(const Library& lib, ImageView target, int x, int y) {
    const Size tile = lib.params().tile;
    const int w = std::min(tile.width, target.width - x),
              h = std::min(tile.height, target.height - y);
    uint64_t best = UINT64_MAX;
    uint32_t best_id = 0;
    for (uint32_t id = 0; id < lib.patch_count(); ++id) {
        uint64_t d = 0;
        for (int r = 0; r < h; ++r) {
            for (int c = 0; c < w * 3; ++c) {
                const int diff = int(target.row(y + r)[x * 3 + c]) -
                                 int(lib.patch(id)[(size_t(r) * tile.width * 3) + c]);
                d += uint64_t(diff * diff);
            }
        }
        if (d < best) best = d, best_id = id;
    }
    return best_id;
}

}  // namespace

TEST(WholeLibrary, OnePatchPerTransformWithRenderPixelsTransformed) {
    const Size tile{4, 4}, render{12, 12};
    const Library lib =
        random_whole_library(tile, render, 3, 1, {Transform::Rot0, Transform::Rot90});
    ASSERT_EQ(lib.patch_count(), 6u);
    for (size_t id = 0; id < lib.patch_count(); ++id) {
        EXPECT_EQ(lib.origins()[id].source, id / 2);
        EXPECT_EQ(lib.origins()[id].x, 0u);
        EXPECT_EQ(lib.origins()[id].y, 0u);
    }
    EXPECT_EQ(lib.sources()[0].width, 640u);
    // Patch 1 is patch 0 turned a quarter, at both sizes.
    std::vector<uint8_t> turned(lib.params().render_patch_bytes());
    apply_transform(lib.render_patch(0), render.width * 3, render, 3, Transform::Rot90,
                    turned.data());
    EXPECT_EQ(0, std::memcmp(turned.data(), lib.render_patch(1), turned.size()));
    apply_transform(lib.patch(0), tile.width * 3, tile, 3, Transform::Rot90, turned.data());
    EXPECT_EQ(0, std::memcmp(turned.data(), lib.patch(1), lib.patch_bytes()));
}

TEST(WholeLibrary, Format4RoundTrip) {
    const tessera::testing::TempDir dir;
    const std::string path = (dir.path() / "whole.tsr").string();
    const Library built = random_whole_library({4, 6}, {10, 15}, 5, 2);
    built.save(path);
    const Library lib = Library::open(path, exact_search_data());
    lib.verify();
    EXPECT_EQ(lib.params().kind, LibraryKind::whole);
    EXPECT_EQ(lib.params().fit, Fit::crop);
    EXPECT_EQ(lib.params().render_size(), (Size{10, 15}));
    EXPECT_EQ(lib.writer(), kTesseraVersion);
    EXPECT_EQ(lib.checksum(), built.checksum());
    for (size_t id = 0; id < lib.patch_count(); ++id) {
        EXPECT_EQ(0, std::memcmp(lib.render_patch(id), built.render_patch(id),
                                 lib.params().render_patch_bytes()));
        EXPECT_EQ(0, std::memcmp(lib.patch(id), built.patch(id), lib.patch_bytes()));
    }
    // A window library stores no render pixels and renders its own patches.
    LibraryParams windows;
    windows.tile = {4, 4};
    const Image image = tessera::testing::flat_image(8, 8, 3, 9);
    const Library w = tessera::testing::build_library(windows, {&image});
    w.save(path);
    const Library opened = Library::open(path, exact_search_data());
    EXPECT_EQ(opened.params().kind, LibraryKind::windows);
    EXPECT_FALSE(opened.params().renders_larger());
    EXPECT_EQ(opened.render_patch(1), opened.patch(1));
}

TEST(WholeLibrary, HostileHeadersRefused) {
    const tessera::testing::TempDir dir;
    const std::string good = (dir.path() / "good.tsr").string(),
                      bad = (dir.path() / "bad.tsr").string();
    random_whole_library({4, 4}, {8, 8}, 3, 3).save(good);
    const std::vector<uint8_t> bytes = read_file(good);
    ASSERT_EQ(tessera::testing::header_bytes(bytes), kWriterAt + 32);
    const auto refused = [&](std::vector<uint8_t> b, const std::string& part) {
        write_file(bad, b);
        const std::string error =
            error_of([&] { Library::open(bad, exact_search_data()).verify(); });
        expect_message(error, {bad + ": ", part});
    };
    auto b = bytes;
    set_sealed<uint32_t>(b, kKindAt, 2);
    refused(b, "invalid library kind");
    b = bytes;
    set_sealed<uint32_t>(b, kFitAt, 3);
    refused(b, "invalid library kind");
    b = bytes;
    set_sealed<uint32_t>(b, kKindAt, 0);  // a window library rendered larger
    refused(b, "invalid parameters");
    b = bytes;
    set_sealed<uint32_t>(b, kRenderWidthAt, 0);
    refused(b, "invalid render size");
    b = bytes;
    set_sealed<uint32_t>(b, kRenderWidthAt, 2);  // smaller than the tile
    refused(b, "smaller than the tile");
    b = bytes;
    set_sealed<uint32_t>(b, kRenderWidthAt, 1u << 31);
    refused(b, "out of range");
    b = bytes;
    set_sealed<uint32_t>(b, kRenderWidthAt, 9);  // sections no longer match the size
    refused(b, "sections do not match");
    b = bytes;
    set_sealed<char>(b, kWriterAt, '\n');
    refused(b, "invalid writer version");
    b = bytes;
    set_sealed<char>(b, kWriterAt + 15, 'x');  // not terminated
    refused(b, "invalid writer version");
    // A whole photo's origin is (0, 0): anything else is damage (caught before the checksum).
    b = bytes;
    const uint64_t origins_at = [&] {
        uint64_t at;
        std::memcpy(&at, bytes.data() + 64 + 16 * 2, sizeof at);
        return at;
    }();
    b[origins_at + 4] = 1;
    refused(b, "provenance is corrupt");
}

TEST(WholeLibrary, PosterCellsAreTheStoredRenderPixelsOfTheExactMatches) {
    const Size tile{4, 4}, render{12, 8};
    const Library lib = random_whole_library(tile, render, 20, 4);
    std::mt19937 rng(5);
    const Image target = tessera::testing::random_image(18, 11, 3, rng);  // cropped edge cells
    const auto searcher = make_exact_searcher(lib, 2);
    const pipeline::MosaicResult result = pipeline::make_mosaic(lib, *searcher, target.view());
    ASSERT_EQ(result.image.size(), (Size{54, 22}));  // 18 * 12 / 4 by 11 * 8 / 4 rounded up
    for (const TileMatch& m : result.matches) {
        const int x = m.tile.col * tile.width, y = m.tile.row * tile.height;
        EXPECT_EQ(m.patch, oracle_nearest(lib, target.view(), x, y));
        const int ox = m.tile.col * render.width, oy = m.tile.row * render.height;
        const int w = std::min(render.width, result.image.width - ox);
        const int h = std::min(render.height, result.image.height - oy);
        for (int r = 0; r < h; ++r) {
            EXPECT_EQ(0,
                      std::memcmp(result.image.view().row(oy + r) + ox * 3,
                                  lib.render_patch(m.patch) + r * render.width * 3, size_t(w) * 3));
        }
    }
    // Rendered smaller on request: each cell is its stored render pixels resampled (libvips).
    const pipeline::MosaicResult small =
        pipeline::make_mosaic(lib, *searcher, target.view(), {}, {0, tile});
    ASSERT_EQ(small.image.size(), target.size());
    for (const TileMatch& m : small.matches) {
        const Image want = io::resample_photo(
            {lib.render_patch(m.patch), render.width, render.height, 3, render.width * 3}, tile,
            Fit::stretch, "tile");
        const int x = m.tile.col * tile.width, y = m.tile.row * tile.height;
        const int w = std::min(tile.width, target.width - x);
        for (int r = 0; r < std::min(tile.height, target.height - y); ++r) {
            EXPECT_EQ(0, std::memcmp(small.image.view().row(y + r) + x * 3, want.view().row(r),
                                     size_t(w) * 3));
        }
    }
    expect_message(error_of([&] {
                       pipeline::make_mosaic(lib, *searcher, target.view(), {}, {0, {2, 2}});
                   }),
                   {"render size 2x2 is out of range"});
}

TEST(WholeLibrary, GridFollowsTheAspectRatio) {
    // rows = round(columns * tile w * height / (width * tile h)).
    EXPECT_EQ(pipeline::grid_cells({1024, 768}, {16, 16}, 80, 0, 1u << 30, "--grid"),
              (Size{80, 60}));
    EXPECT_EQ(pipeline::grid_cells({1000, 333}, {16, 16}, 7, 0, 1u << 30, "--grid"),
              (Size{7, 2}));  // 2.331
    EXPECT_EQ(pipeline::grid_cells({333, 1000}, {16, 8}, 7, 0, 1u << 30, "--grid"),
              (Size{7, 42}));  // 7 * 16 * 1000 / (333 * 8) = 42.04
    EXPECT_EQ(pipeline::grid_cells({5000, 10}, {16, 16}, 3, 0, 1u << 30, "--grid"),
              (Size{3, 1}));  // never 0 rows
    EXPECT_EQ(pipeline::grid_cells({640, 480}, {16, 16}, 5, 9, 1u << 30, "--grid"), (Size{5, 9}));
    expect_message(error_of([] {
                       pipeline::grid_cells({640, 480}, {16, 16}, 0, 0, 1u << 30, "--grid");
                   }),
                   {"--grid 0 is out of range"});
    expect_message(error_of([] {
                       pipeline::grid_cells({640, 480}, {16, 16}, 1000, 1000, 1u << 20, "--grid");
                   }),
                   {"--grid 1000x1000", "over the limit of 1048576"});
}

// A poster encoded strip by strip from its tiles (io::save_tiles) is the image rendered whole
// and encoded (io::save_image), byte for byte (PPM: pixel for pixel), lossless or JPEG.
TEST(WholeLibrary, StreamedPosterEqualsTheWholeImage) {
    const tessera::testing::TempDir dir;
    const Size tile{4, 4}, render{12, 8};
    const Library lib = random_whole_library(tile, render, 9, 6);
    std::mt19937 rng(7);
    const Image target = tessera::testing::random_image(23, 13, 3, rng);  // cropped edge cells
    const auto searcher = make_exact_searcher(lib, 1);
    const std::vector<TileMatch> matches =
        tessera::testing::nearest_matches(lib, *searcher, target.view());
    const Size output = rendered_size(target.size(), tile, render);
    const Image whole = tessera::render(LibraryTiles(lib), matches, output);
    (void)tessera::testing::load_data("coffee.png", Mode::Rgb);  // starts libvips
    for (const char* ext : {".png", ".tif", ".ppm", ".jpg"}) {
        SCOPED_TRACE(ext);
        const std::string a = (dir.path() / (std::string("whole") + ext)).string();
        const std::string b = (dir.path() / (std::string("streamed") + ext)).string();
        io::save_image(a, whole.view());
        AtomicFile file(b);
        io::save_tiles(file, LibraryTiles(lib), matches, output);
        file.commit();
        if (std::string(ext) == ".ppm") {  // its header comment carries the time
            EXPECT_EQ(io::load_image(a, Mode::Rgb).image.pixels,
                      io::load_image(b, Mode::Rgb).image.pixels);
        } else {
            EXPECT_EQ(read_file(a), read_file(b));
        }
    }
}
