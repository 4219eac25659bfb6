// The checks on an output's format and size (tessera/io/formats.hpp), made before any work,
// against what the encoders really do.
#ifdef TESSERA_TESTS_HAVE_IO
#include "tessera/io/formats.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <utility>

#include "tessera/core/error.hpp"
#include "tessera/io/encode.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::TempDir;

class OutputFormats : public ::testing::Test {
  protected:
    void SetUp() override { testing::load_data("coins.png", Mode::Gray); }  // starts libvips

    TempDir dir_;
    std::mt19937 rng_{3};
};

// A PNM extension has its own mode: libvips would convert an image saved under the other.
TEST_F(OutputFormats, PnmOutputExtensionMustMatchTheMode) {
    EXPECT_EQ(error_of([] { io::check_output_format("o.pgm", Mode::Rgb); }),
              "o.pgm: a .pgm file is gray but the image is rgb; use .ppm (or .pnm)");
    EXPECT_EQ(error_of([] { io::check_output_format("o.PPM", Mode::Gray); }),
              "o.PPM: a .ppm file is rgb but the image is gray; use .pgm (or .pnm)");
    const Image rgb = testing::random_image(4, 4, 3, rng_);
    EXPECT_NE(error_of([&] { io::save_image(dir_.file("o.pgm"), rgb.view()); }).find("use .ppm"),
              std::string::npos);
    EXPECT_FALSE(fs::exists(dir_.file("o.pgm")));
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        EXPECT_NO_THROW(io::check_output_format("o.pnm", mode));
        EXPECT_NO_THROW(io::check_output_format("o.png", mode));
    }
    EXPECT_NO_THROW(io::check_output_format("o.Pgm", Mode::Gray));
    EXPECT_NO_THROW(io::check_output_format("o.ppm", Mode::Rgb));
}

// JPEG and WebP limit each side, and the limits checked up front are the encoders' own: one
// pixel less saves, one more fails to save (single rows, tiny in memory).
TEST_F(OutputFormats, OutputSizeLimitsAreTheEncodersOwn) {
    EXPECT_EQ(error_of([] {
                  io::check_output_size("o.JPG", {1, 70000}, "the mosaic of t.png");
              }),
              "o.JPG: JPEG images are at most 65500 pixels wide and high, and the mosaic of t.png "
              "is 1x70000; use .png or .tif");
    EXPECT_EQ(error_of([] {
                  io::check_output_size("o.webp", {17000, 1});
              }),
              "o.webp: WebP images are at most 16383 pixels wide and high, and the image is "
              "17000x1; use .png or .tif");
    for (const auto& [ext, max] : {std::pair<std::string, int>{".jpeg", 65500}, {".webp", 16383}}) {
        const std::string path = dir_.file("o" + ext);
        for (const Size size : {Size{max, 1}, Size{1, max}}) {
            EXPECT_NO_THROW(io::check_output_size(path, size)) << ext;
            EXPECT_NO_THROW(io::save_image(path, Image(size.width, size.height, 1).view())) << ext;
        }
        for (const Size size : {Size{max + 1, 1}, Size{1, max + 1}}) {
            EXPECT_THROW(io::check_output_size(path, size), Error) << ext;
            EXPECT_THROW(io::save_image(path, Image(size.width, size.height, 1).view()), Error)
                << ext;
        }
    }
    for (const char* path : {"o.png", "o.tif", "o.tiff", "o.pgm", "o.pnm"}) {
        EXPECT_NO_THROW(io::check_output_size(path, {1 << 30, 1 << 30})) << path;
    }
}

}  // namespace
}  // namespace tessera
#endif  // TESSERA_TESTS_HAVE_IO
