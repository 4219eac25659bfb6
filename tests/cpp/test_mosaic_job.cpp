// The one mosaic job both front ends run (tessera/pipeline/mosaic_job.hpp): the same mosaic as
// matching and rendering by hand, an image and its matches committed together, the PSNR of a
// lossy file as written.
#ifdef TESSERA_TESTS_HAVE_IO
#include "tessera/pipeline/mosaic_job.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "mosaic_testing.hpp"
#include "tessera/core/error.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/mosaic/quality.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/mosaic/tile_source.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class MosaicJob : public ::testing::Test {
  protected:
    void SetUp() override {
        const Image& coins = testing::load_data("coins.png", Mode::Gray);  // starts libvips
        LibraryParams params;
        params.tile = params.stride = {8, 8};
        params.mode = Mode::Gray;
        library_ = std::make_unique<Library>(testing::build_library(params, {&coins}));
        target_ = testing::crop(coins, 10, 20, 61, 45);  // edge tiles on the right and bottom
        searcher_ = make_exact_searcher(*library_, 1);
    }
    std::unique_ptr<Library> library_;
    Image target_;
    std::unique_ptr<Searcher> searcher_;
    TempDir dir_;
};

TEST_F(MosaicJob, MakeMosaicIsMatchThenRender) {
    std::vector<std::string> phases;
    size_t last_done = 0, last_total = 0;
    pipeline::MosaicEvents events;
    events.phase = [&](const std::string& phase) { phases.push_back(phase); };
    events.matching = [&](size_t done, size_t total) { last_done = done, last_total = total; };
    const pipeline::MosaicResult result =
        pipeline::make_mosaic(*library_, *searcher_, target_.view(), events);

    // By hand, with the oracle: the job is the exact matching and the plain render.
    const std::vector<TileMatch> matches =
        testing::nearest_matches(*library_, *make_bruteforce_searcher(*library_), target_.view());
    const Image image = render(LibraryTiles(*library_), matches, target_.size());
    ASSERT_EQ(result.matches.size(), matches.size());
    for (size_t i = 0; i < matches.size(); ++i) {
        EXPECT_EQ(result.matches[i].tile.x, matches[i].tile.x) << i;
        EXPECT_EQ(result.matches[i].tile.y, matches[i].tile.y) << i;
        EXPECT_EQ(result.matches[i].tile.size, matches[i].tile.size) << i;
        EXPECT_EQ(result.matches[i].patch, matches[i].patch) << i;
        EXPECT_EQ(result.matches[i].distance, matches[i].distance) << i;
    }
    EXPECT_EQ(result.image.pixels, image.pixels);
    EXPECT_EQ(result.image.size(), target_.size());
    EXPECT_EQ(result.psnr, psnr(image.view(), target_.view()));
    EXPECT_FALSE(result.psnr_before_encoding);
    EXPECT_EQ(phases, std::vector<std::string>{"rendering"});
    EXPECT_EQ(last_done, matches.size());
    EXPECT_EQ(last_total, matches.size());
}

// With a repeat cap: no patch in more tiles than the cap, each match's distance that of its patch,
// the summary that of the matches, and the pixels the render of the matches. Returns the rounds.
int check_capped_mosaic(const Library& library, const Searcher& searcher, const Image& target,
                        uint32_t max_uses) {
    std::vector<std::string> phases;
    pipeline::MosaicEvents events;
    events.phase = [&](const std::string& phase) { phases.push_back(phase); };
    const pipeline::MosaicResult result =
        pipeline::make_mosaic(library, searcher, target.view(), events, {max_uses});
    EXPECT_TRUE(result.capped.has_value());
    if (!result.capped) return 0;
    const auto all = make_bruteforce_searcher(library);
    const int k = int(library.patch_count());
    std::vector<uint32_t> uses(library.patch_count());
    uint64_t total = 0;
    for (const TileMatch& m : result.matches) {
        EXPECT_LE(++uses[m.patch], max_uses) << m.patch;
        std::vector<uint8_t> query;
        for (int y = 0; y < m.tile.size.height; ++y) {
            const uint8_t* row = target.view().row(m.tile.y + y) + m.tile.x;
            query.insert(query.end(), row, row + m.tile.size.width);
        }
        std::vector<Neighbor> found(size_t(k), Neighbor{});
        all->search({query.data(), 1, m.tile.size}, k, found.data());
        const auto it = std::find_if(found.begin(), found.end(),
                                     [&](const Neighbor& n) { return n.id == m.patch; });
        EXPECT_TRUE(it != found.end() && it->distance == m.distance) << m.patch;
        total += m.distance;
    }
    EXPECT_EQ(result.capped->total_cost, total);
    EXPECT_TRUE(result.capped->certified);
    EXPECT_EQ(result.capped->most_uses, *std::max_element(uses.begin(), uses.end()));
    // The summary a report shows: the capped assignment's figures, and the matches' repeats.
    EXPECT_EQ(result.summary.total_cost, total);
    EXPECT_EQ(result.summary.lower_bound, result.capped->lower_bound);
    EXPECT_TRUE(result.summary.certified);
    EXPECT_EQ(result.summary.most_uses, result.capped->most_uses);
    EXPECT_EQ(result.summary.distinct_patches, result.capped->distinct_tiles);
    EXPECT_EQ(result.summary.smallest_repeat_distance.has_value(), result.capped->most_uses > 1);
    EXPECT_EQ(result.image.pixels,
              render(LibraryTiles(library), result.matches, target.size()).pixels);
    EXPECT_EQ(phases, (std::vector<std::string>{"assigning", "rendering"}));
    return result.capped->rounds;
}

TEST_F(MosaicJob, RepeatCapHolds) {
    for (uint32_t max_uses : {1u, 2u})
        check_capped_mosaic(*library_, *searcher_, target_, max_uses);
    // Every tile the same 8x8 block (edge tiles its top-left): they all want the same patches,
    // so 8 candidates each cannot place them, and widening (the widened lists' distances) is used.
    Image same(target_.width, target_.height, 1);
    for (int y = 0; y < same.height; ++y) {
        for (int x = 0; x < same.width; ++x) same.row(y)[x] = target_.view().row(y % 8)[x % 8];
    }
    EXPECT_GT(check_capped_mosaic(*library_, *searcher_, same, 1), 1);
    // No cap: no capped assignment; the summary's bound is the nearest patches' cost.
    const pipeline::MosaicResult nearest =
        pipeline::make_mosaic(*library_, *searcher_, target_.view());
    EXPECT_FALSE(nearest.capped.has_value());
    uint64_t nearest_total = 0;
    for (const TileMatch& m : nearest.matches) nearest_total += m.distance;
    EXPECT_EQ(nearest.summary.total_cost, nearest_total);
    EXPECT_EQ(nearest.summary.lower_bound, int64_t(nearest_total));
    EXPECT_TRUE(nearest.summary.certified);
}

// With a minimum repeat distance, with and without a cap: no patch twice within it, the
// summary's bound that of the optimum without it, and the pixels the render of the matches.
TEST_F(MosaicJob, MinDistanceHolds) {
    for (uint32_t max_uses : {0u, 2u}) {
        const pipeline::MosaicResult free =
            pipeline::make_mosaic(*library_, *searcher_, target_.view(), {}, {max_uses});
        std::vector<std::string> phases;
        pipeline::MosaicEvents events;
        events.phase = [&](const std::string& phase) { phases.push_back(phase); };
        pipeline::MosaicOptions options{max_uses};
        options.min_distance = 2;
        const pipeline::MosaicResult result =
            pipeline::make_mosaic(*library_, *searcher_, target_.view(), events, options);
        ASSERT_EQ(result.matches.size(), free.matches.size());
        uint64_t total = 0;
        for (size_t i = 0; i < result.matches.size(); ++i) {
            const TileMatch& m = result.matches[i];
            total += m.distance;
            for (size_t j = 0; j < i; ++j) {
                const Tile& other = result.matches[j].tile;
                if (result.matches[j].patch == m.patch) {
                    EXPECT_GT(std::max(std::abs(other.row - m.tile.row),
                                       std::abs(other.col - m.tile.col)),
                              2);
                }
            }
        }
        EXPECT_EQ(result.summary.total_cost, total);
        ASSERT_TRUE(result.unspaced_cost.has_value());
        EXPECT_EQ(*result.unspaced_cost, free.summary.total_cost);
        EXPECT_EQ(result.summary.lower_bound, free.summary.lower_bound);
        EXPECT_GT(result.summary.smallest_repeat_distance.value_or(3), 2);
        // The free mosaic repeats patches closer, so the limit changes tiles and costs more.
        ASSERT_TRUE(free.summary.smallest_repeat_distance.has_value());
        EXPECT_LE(*free.summary.smallest_repeat_distance, 2);
        EXPECT_GT(total, *result.unspaced_cost);
        EXPECT_FALSE(result.summary.certified);
        EXPECT_GT(result.respaced_tiles, 0u);
        EXPECT_EQ(phases.back(), "rendering");
        EXPECT_EQ(phases[phases.size() - 2], "spacing repeats");
        EXPECT_EQ(result.image.pixels,
                  render(LibraryTiles(*library_), result.matches, target_.size()).pixels);
    }
    // A library too small for the distance: refused before any search.
    pipeline::MosaicOptions far;
    far.min_distance = 1000;
    size_t matched = 0;
    pipeline::MosaicEvents events;
    events.matching = [&](size_t done, size_t) { matched = done; };
    const Image square(8 * 60, 8 * 60, 1);  // a 60x60 window of tiles, 1,776 patches
    EXPECT_THROW(pipeline::make_mosaic(*library_, *searcher_, square.view(), events, far), Error);
    EXPECT_EQ(matched, 0u);
}

TEST_F(MosaicJob, WritesImageAndMatchesTogether) {
    pipeline::MosaicResult result = pipeline::make_mosaic(*library_, *searcher_, target_.view());
    const std::vector<uint8_t> pixels = result.image.pixels;
    const double before = result.psnr;
    const std::string output = dir_.file("out.png"), rows = dir_.file("out.csv");
    std::vector<std::string> phases;
    pipeline::MosaicEvents events;
    events.phase = [&](const std::string& phase) { phases.push_back(phase); };
    pipeline::write_mosaic(result, *library_, target_, output, rows, 90, true, events);

    EXPECT_EQ(phases, std::vector<std::string>{"writing " + output});  // lossless: no read-back
    EXPECT_EQ(io::load_image(output, Mode::Gray).image.pixels, pixels);
    EXPECT_EQ(result.image.pixels, pixels);  // kept: nothing to read back
    EXPECT_EQ(result.psnr, before);
    std::ifstream csv(rows);
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "row,col,x,y,patch,source,source_x,source_y,transform,distance");
    size_t count = 0;
    while (std::getline(csv, line)) ++count;
    EXPECT_EQ(count, result.matches.size());
    EXPECT_EQ(testing::file_names(dir_.path()), (std::vector<std::string>{"out.csv", "out.png"}));

    // A matches file that cannot be written: neither file is replaced, no temporary is left.
    const std::string other = dir_.file("other.png");
    EXPECT_THROW(pipeline::write_mosaic(result, *library_, target_, other,
                                        dir_.file("missing/out.json"), 90, true),
                 Error);
    EXPECT_EQ(testing::file_names(dir_.path()), (std::vector<std::string>{"out.csv", "out.png"}));
}

// A lossy file's PSNR is that of the file as written: decoding it gives the same value. The
// mosaic's pixels are freed before the read-back.
TEST_F(MosaicJob, LossyPsnrIsOfTheWrittenFile) {
    for (const char* name : {"out.jpg", "out.webp"}) {
        pipeline::MosaicResult result =
            pipeline::make_mosaic(*library_, *searcher_, target_.view());
        const double before = result.psnr;
        const std::string output = dir_.file(name);
        std::vector<std::string> phases;
        pipeline::MosaicEvents events;
        events.phase = [&](const std::string& phase) { phases.push_back(phase); };
        pipeline::write_mosaic(result, *library_, target_, output, "", 50, true, events);

        EXPECT_EQ(phases, (std::vector<std::string>{"writing " + output,
                                                    "reading " + output + " back for its PSNR"}));
        EXPECT_TRUE(result.image.pixels.empty()) << name;
        EXPECT_FALSE(result.psnr_before_encoding) << name;
        const Image written = io::load_image(output, Mode::Gray).image;
        EXPECT_EQ(result.psnr, psnr(written.view(), target_.view())) << name;
        EXPECT_NE(result.psnr, before) << name;  // quality 50 loses detail
    }
    // Without want_psnr nothing is read back and the pixels stay.
    pipeline::MosaicResult result = pipeline::make_mosaic(*library_, *searcher_, target_.view());
    const double before = result.psnr;
    pipeline::write_mosaic(result, *library_, target_, dir_.file("quiet.jpg"), "", 50, false);
    EXPECT_FALSE(result.image.pixels.empty());
    EXPECT_EQ(result.psnr, before);
}

// The caller's checks run once the header is read, before the checksum pass: a mistake in the
// command is reported first; a library damaged in its data is refused after them.
TEST_F(MosaicJob, OpenLibraryChecksBeforeVerifying) {
    const std::string path = dir_.file("lib.tsr");
    library_->save(path);
    std::vector<uint8_t> bytes = testing::read_file(path);
    bytes.back() ^= 1;  // in the data: only the checksum pass sees it
    testing::write_file(path, bytes);

    Mode seen = Mode::Rgb;
    EXPECT_EQ(testing::error_of([&] {
                  pipeline::open_library(path, [&](const Library& opened) {
                      seen = opened.params().mode;
                      throw Error("bad output");
                  });
              }),
              "bad output");
    EXPECT_EQ(seen, Mode::Gray);
    EXPECT_THROW(pipeline::open_library(path), Error);
    EXPECT_THROW(pipeline::open_library(path, [](const Library&) {}), Error);
}

}  // namespace
}  // namespace tessera
#endif  // TESSERA_TESTS_HAVE_IO
