// SSIM against its definition computed window by window, the report of an output rendered
// larger than the target, the CIELAB library --metric lab searches, and phase timings.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "mosaic_testing.hpp"
#include "tessera/mosaic/quality.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/mosaic/ssim.hpp"
#include "tessera/mosaic/tile_source.hpp"
#include "tessera/pipeline/phase_times.hpp"
#include "testing.hpp"

#ifdef TESSERA_TESTS_HAVE_IO
#include "tessera/io/colour.hpp"
#include "tessera/pipeline/metric.hpp"
#include "tessera/pipeline/mosaic_report.hpp"
#endif

namespace tessera {
namespace {

// Wang et al.'s SSIM as skimage defines it, straight from the formula: every 7x7 window inside
// the image, each channel, mean, sample variances and covariance in double.
double ssim_by_windows(const Image& a, const Image& b) {
    const double c1 = std::pow(0.01 * 255, 2), c2 = std::pow(0.03 * 255, 2);
    double total = 0;
    for (int c = 0; c < a.channels; ++c) {
        double sum = 0;
        int windows = 0;
        for (int y = 0; y + 7 <= a.height; ++y) {
            for (int x = 0; x + 7 <= a.width; ++x) {
                double mx = 0, my = 0;
                for (int i = 0; i < 49; ++i) {
                    const size_t at = (size_t(y + i / 7) * a.width + x + i % 7) * a.channels + c;
                    mx += a.pixels[at] / 49.0;
                    my += b.pixels[at] / 49.0;
                }
                double vx = 0, vy = 0, vxy = 0;
                for (int i = 0; i < 49; ++i) {
                    const size_t at = (size_t(y + i / 7) * a.width + x + i % 7) * a.channels + c;
                    vx += (a.pixels[at] - mx) * (a.pixels[at] - mx) / 48.0;
                    vy += (b.pixels[at] - my) * (b.pixels[at] - my) / 48.0;
                    vxy += (a.pixels[at] - mx) * (b.pixels[at] - my) / 48.0;
                }
                sum += ((2 * mx * my + c1) * (2 * vxy + c2)) /
                       ((mx * mx + my * my + c1) * (vx + vy + c2));
                ++windows;
            }
        }
        total += sum / windows;
    }
    return total / a.channels;
}

TEST(Ssim, EqualsTheWindowByWindowDefinition) {
    std::mt19937 rng(5);
    for (int channels : {1, 3}) {
        const Image a = testing::random_image(23, 11, channels, rng);
        const Image b = testing::perturbed(a, rng, 60);
        ASSERT_TRUE(ssim(a.view(), b.view()).has_value());
        EXPECT_NEAR(*ssim(a.view(), b.view()), ssim_by_windows(a, b), 1e-12);
        EXPECT_EQ(*ssim(a.view(), a.view()), 1.0);
    }
}

TEST(Ssim, NoneUnderSevenPixels) {
    std::mt19937 rng(6);
    const Image a = testing::random_image(7, 6, 3, rng);
    EXPECT_FALSE(ssim(a.view(), a.view()).has_value());
    const Image b = testing::random_image(7, 7, 1, rng);
    EXPECT_TRUE(ssim(b.view(), b.view()).has_value());
}

TEST(PhaseTimes, AddsRepeatsInFirstOrder) {
    pipeline::PhaseTimes times;
    times.add("search", 1.5);
    times.add("open", 0.25);
    times.add("search", 0.5);
    EXPECT_EQ(times.time("render", [] { return 7; }), 7);
    ASSERT_EQ(times.seconds.size(), 3u);
    EXPECT_EQ(times.seconds[0].first, "search");
    EXPECT_EQ(times.seconds[0].second, 2.0);
    EXPECT_EQ(times.seconds[2].first, "render");
    EXPECT_GE(times.seconds[2].second, 0.0);
    EXPECT_EQ(pipeline::phase_times_json({{{"open", 0.25}, {"search", 2.0}}}),
              "{\n \"open\": 0.25,\n \"search\": 2.0\n}\n");
}

#ifdef TESSERA_TESTS_HAVE_IO

// Each pixel repeated factor x factor times: the mosaic as tiles rendered that much larger.
Image enlarged(const Image& image, int factor) {
    Image out(image.width * factor, image.height * factor, image.channels);
    for (int y = 0; y < out.height; ++y) {
        for (int x = 0; x < out.width; ++x) {
            for (int c = 0; c < image.channels; ++c) {
                out.row(y)[size_t(x) * image.channels + c] =
                    image.pixels[(size_t(y / factor) * image.width + x / factor) * image.channels +
                                 c];
            }
        }
    }
    return out;
}

TEST(MosaicReport, AnOutputRenderedLargerIsShrunkToTheTargetsSize) {
    LibraryParams p;
    p.tile = {4, 4};
    p.stride = {2, 2};
    const Image& photo = testing::load_data("coffee.png", Mode::Rgb);
    const Image source = testing::crop(photo, 0, 0, 40, 40);
    const Image target = testing::crop(photo, 200, 100, 30, 21);  // cropped edge tiles
    const Library lib = testing::build_library(p, {&source});
    const auto matches = testing::nearest_matches(lib, *make_exact_searcher(lib, 1), target.view());
    const Image output = render(LibraryTiles(lib), matches, target.size());
    const pipeline::MosaicReport at_size =
        pipeline::make_report(output.view(), target.view(), matches, p.tile);
    // A 2x2 box of equal pixels shrinks to that pixel: the same numbers at twice the size.
    const Image poster = enlarged(output, 2);
    const pipeline::MosaicReport larger =
        pipeline::make_report(poster.view(), target.view(), matches, {8, 8});
    EXPECT_EQ(larger.compared, target.size());
    EXPECT_EQ(larger.psnr, psnr(output.view(), target.view()));
    EXPECT_EQ(larger.psnr, at_size.psnr);
    EXPECT_EQ(larger.ssim, at_size.ssim);
    EXPECT_NEAR(larger.mean_ciede2000, at_size.mean_ciede2000, 1e-4);
    EXPECT_GT(at_size.mean_ciede2000, 0);
    EXPECT_EQ(larger.uses_histogram, at_size.uses_histogram);
    uint64_t cells = 0;
    for (const auto& [uses, patches] : at_size.uses_histogram) cells += uses * patches;
    EXPECT_EQ(cells, matches.size());
}

TEST(LabMatchSpace, KeepsPatchIdsAcrossColumns) {
    std::mt19937 rng(7);
    LibraryParams p;
    p.tile = {3, 2};
    p.stride = {1, 1};
    p.transforms = {Transform::Rot0, Transform::Rot180};
    const Image source = testing::random_image(50, 48, 3, rng);  // 2 x 48 x 47 = 4512 patches
    const Image target = testing::random_image(9, 5, 3, rng);
    const Library lib = testing::build_library(p, {&source});
    ASSERT_GT(lib.patch_count(), 4096u);  // more than one column of the converted library
    const pipeline::MatchSpace lab = pipeline::lab_match_space(lib, target.view());
    ASSERT_EQ(lab.library.patch_count(), lib.patch_count());
    for (size_t id = 0; id < lib.patch_count(); id += 97) {
        const ImageView patch{lib.patch(id), 3, 2, 3, 9};
        const Image expected = io::lab8_image(patch);
        EXPECT_TRUE(
            std::equal(expected.pixels.begin(), expected.pixels.end(), lab.library.patch(id)))
            << id;
    }
    EXPECT_EQ(lab.target.pixels, io::lab8_image(target.view()).pixels);
    uint8_t white[3];
    io::lab_bytes(io::srgb_to_lab(255, 255, 255), white);
    EXPECT_EQ(white[0], 255);
    EXPECT_EQ(white[1], 128);
    EXPECT_EQ(white[2], 128);
}

#endif

}  // namespace
}  // namespace tessera
