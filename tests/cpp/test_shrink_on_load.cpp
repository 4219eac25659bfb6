// Shrink on load for whole photos (io::load_image with ShrinkOnLoad): JPEG and WebP decoded
// smaller by the power of two libvips's thumbnail takes, other formats whole, the photo's own
// size kept as the source's.
#ifdef TESSERA_TESTS_HAVE_IO

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tessera/core/geometry.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/io/encode.hpp"
#include "tessera/io/resample.hpp"
#include "testing.hpp"

using namespace tessera;

namespace {

struct Case {
    Size size;  // what the photo will be resampled to
    Fit fit;
    double reduction;  // resample_reduction of a 1000x600 photo
    int jpeg, webp;    // the factors expected
};

// A 1000x600 photo (reductions below are of it): crop and stretch follow the axis reduced least,
// pad the one reduced most; a factor of two is always left to the resample; JPEG stops at 8.
const Case kCases[] = {
    {{151, 151}, Fit::crop, 600.0 / 151, 1, 1},  // under 4: decoded whole
    {{150, 150}, Fit::crop, 4, 2, 2},
    {{75, 75}, Fit::crop, 8, 4, 4},
    {{37, 30}, Fit::crop, 20, 8, 8},
    {{9, 9}, Fit::crop, 600.0 / 9, 8, 32},  // WebP: any power of two
    {{100, 100}, Fit::pad, 10, 4, 4},
    {{251, 100}, Fit::pad, 6, 2, 2},
    {{150, 300}, Fit::stretch, 2, 1, 1},
};

TEST(ShrinkOnLoad, FactorLeavesTwoForTheResample) {
    tessera::testing::start_io();
    tessera::testing::TempDir dir;
    std::mt19937 rng(14);
    const Image photo = tessera::testing::random_image(1000, 600, 3, rng);
    for (const char* ext : {".jpg", ".webp", ".png"}) {
        const std::string path = dir.file(std::string("photo") + ext);
        io::save_image(path, photo.view());
        for (const Case& c : kCases) {
            const std::string what = path + " to " + size_text(c.size) + " " + fit_name(c.fit);
            EXPECT_DOUBLE_EQ(io::resample_reduction({1000, 600}, c.size, c.fit), c.reduction)
                << what;
            const io::LoadedImage loaded =
                io::load_image(path, Mode::Rgb, {}, io::ShrinkOnLoad{c.size, c.fit});
            EXPECT_EQ(loaded.source.width, 1000u) << what;
            EXPECT_EQ(loaded.source.height, 600u) << what;
            const int factor = ext == std::string(".jpg")    ? c.jpeg
                               : ext == std::string(".webp") ? c.webp
                                                             : 1;
            // libjpeg rounds the shrunk sides up, libwebp to the nearest.
            EXPECT_NEAR(loaded.image.width, 1000.0 / factor, 1) << what;
            EXPECT_NEAR(loaded.image.height, 600.0 / factor, 1) << what;
        }
        const io::LoadedImage whole = io::load_image(path, Mode::Rgb);  // no ShrinkOnLoad
        EXPECT_EQ(whole.image.size(), (Size{1000, 600})) << path;
    }
}

TEST(ShrinkOnLoad, PixelLimitIsOfThePhotosOwnSize) {
    tessera::testing::start_io();
    tessera::testing::TempDir dir;
    std::mt19937 rng(15);
    const std::string path = dir.file("photo.jpg");
    io::save_image(path, tessera::testing::random_image(400, 300, 3, rng).view());
    // Shrunk by 8 it would be 50x38 = 1,900 pixels, under the limit; the photo is over it.
    EXPECT_THROW(io::load_image(path, Mode::Rgb, {400 * 300 - 1, "--max-pixels"},
                                io::ShrinkOnLoad{{10, 10}, Fit::crop}),
                 io::PixelLimitError);
}

// A padded photo keeps its own aspect ratio when shrunk on load: 3000x2000 shrunk by 32 (WebP)
// is 94x62 or 94x63 by the codec's rounding; 94x62 fitted into 40x40 is 40x26, the photo itself
// 40x27 (26.67 rounded), as resampled whole.
TEST(ShrinkOnLoad, PadKeepsThePhotosAspectRatio) {
    tessera::testing::start_io();
    const Image shrunk = tessera::testing::flat_image(94, 62, 3, 200);
    const Image padded =
        io::resample_photo(shrunk.view(), {40, 40}, Fit::pad, "p", Size{3000, 2000});
    int rows = 0;
    for (int y = 0; y < 40; ++y) rows += padded.pixels[size_t(y) * 40 * 3 + 20 * 3] > 0;
    EXPECT_EQ(rows, 27);
    const Image unshrunk = io::resample_photo(shrunk.view(), {40, 40}, Fit::pad, "p");
    rows = 0;
    for (int y = 0; y < 40; ++y) rows += unshrunk.pixels[size_t(y) * 40 * 3 + 20 * 3] > 0;
    EXPECT_EQ(rows, 26);  // 94x62's own ratio: the rounding the photo's size corrects
}

}  // namespace

#endif  // TESSERA_TESTS_HAVE_IO
