// The option checks both front ends share (tessera/pipeline/options.hpp): every boundary, and
// the exact message, which the CLI prints byte for byte.
#ifdef TESSERA_TESTS_HAVE_IO
#include "tessera/pipeline/options.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "tessera/core/error.hpp"
#include "testing.hpp"

namespace tessera::pipeline {
namespace {

// The message `call` throws as an Error; fails the test if it throws nothing.
std::string message_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no Error thrown";
    return "";
}

TEST(Options, WholeNumberMessage) {
    EXPECT_EQ(whole_number_message("1.5", 0, 4096), "'1.5' is not a whole number from 0 to 4096");
}

// The same words for a number given as text, as a front end shows one that fits no C++ integer.
TEST(Options, MessagesOfNumbersAsText) {
    EXPECT_EQ(sides_message("tile", "99999999999999999999x8", kMaxTileSide),
              "tile 99999999999999999999x8 is out of range: each side must be 1 to 128");
    EXPECT_EQ(rotation_message("rotations", "-99999999999999999999"),
              "rotations: invalid rotation -99999999999999999999: rotations are 0, 90, 180 or "
              "270 degrees");
}

TEST(Options, Threads) {
    EXPECT_EQ(check_threads(0, "--threads"), 0);  // all cores
    EXPECT_EQ(check_threads(1, "--threads"), 1);
    EXPECT_EQ(check_threads(kMaxThreads, "--threads"), 4096);
    EXPECT_EQ(message_of([] { check_threads(4097, "--threads"); }),
              "--threads: '4097' is not a whole number from 0 to 4096");
    EXPECT_EQ(message_of([] { check_threads(-1, "threads"); }),
              "threads: '-1' is not a whole number from 0 to 4096");
    EXPECT_EQ(message_of([] { check_threads(std::numeric_limits<int64_t>::min(), "threads"); }),
              "threads: '-9223372036854775808' is not a whole number from 0 to 4096");
}

TEST(Options, Tile) {
    EXPECT_EQ(check_tile({1, 1}, "tile"), (Size{1, 1}));
    EXPECT_EQ(check_tile({128, 7}, "tile"), (Size{128, 7}));
    EXPECT_EQ(message_of([] {
                  check_tile({129, 129}, "tile");
              }),
              "tile 129x129 is out of range: each side must be 1 to 128");
    EXPECT_EQ(message_of([] {
                  check_tile({16, 0}, "tile");
              }),
              "tile 16x0 is out of range: each side must be 1 to 128");
    EXPECT_EQ(message_of([] {
                  check_tile({-4, 8}, "tile");
              }),
              "tile -4x8 is out of range: each side must be 1 to 128");
}

TEST(Options, Stride) {
    EXPECT_EQ(check_stride({1, 65536}, "stride"), (Size{1, 65536}));
    EXPECT_EQ(message_of([] {
                  check_stride({70000, 70000}, "stride");
              }),
              "stride 70000x70000 is out of range: each side must be 1 to 65536");
    EXPECT_EQ(message_of([] {
                  check_stride({0, 1}, "stride");
              }),
              "stride 0x1 is out of range: each side must be 1 to 65536");
}

// The library layer refuses what the checks refuse, in the same words.
TEST(Options, SizesAgreeWithLibraryParams) {
    for (Size tile : {Size{0, 4}, Size{129, 4}, Size{4, 4}}) {
        LibraryParams params;
        params.tile = tile;
        params.stride = {1, 1};
        const std::string library = message_of([&] {
            params.validate();
            throw Error("");
        });
        const std::string option = message_of([&] {
            check_tile(tile, "tile");
            throw Error("");
        });
        EXPECT_EQ(library, option);
    }
    for (Size stride : {Size{0, 4}, Size{65537, 1}, Size{65536, 1}}) {
        LibraryParams params;
        params.stride = stride;
        const std::string library = message_of([&] {
            params.validate();
            throw Error("");
        });
        const std::string option = message_of([&] {
            check_stride(stride, "stride");
            throw Error("");
        });
        EXPECT_EQ(library, option);
    }
}

TEST(Options, Rotations) {
    const std::vector<int64_t> all{0, 90, 180, 270, 90};
    EXPECT_EQ(check_rotations(all, "rotations"), (std::vector<int>{0, 90, 180, 270, 90}));
    EXPECT_TRUE(check_rotations({}, "rotations").empty());  // LibraryParams refuses no rotation
    for (int64_t bad : {int64_t(45), int64_t(360), int64_t(-90), int64_t(1) << 40}) {
        const std::vector<int64_t> degrees{0, bad};
        EXPECT_EQ(message_of([&] { check_rotations(degrees, "--rotations"); }),
                  "--rotations: invalid rotation " + std::to_string(bad) +
                      ": rotations are 0, 90, 180 or 270 degrees");
    }
}

TEST(Options, MaxPixels) {
    EXPECT_EQ(check_max_pixels(1, "--max-pixels"), 1u);
    EXPECT_EQ(check_max_pixels(UINT64_MAX, "--max-pixels"), UINT64_MAX);
    EXPECT_EQ(message_of([] { check_max_pixels(0, "--max-pixels"); }),
              "--max-pixels: '0' is not a whole number from 1 to 18446744073709551615");
}

TEST(Options, Quality) {
    EXPECT_EQ(check_quality(1, "--quality"), 1);
    EXPECT_EQ(check_quality(100, "--quality"), 100);
    EXPECT_EQ(message_of([] { check_quality(0, "--quality"); }),
              "--quality: '0' is not a whole number from 1 to 100");
    EXPECT_EQ(message_of([] { check_quality(101, "--quality"); }),
              "--quality: '101' is not a whole number from 1 to 100");
}

TEST(Options, K) {
    std::mt19937 rng(7);
    const Image image = testing::random_image(8, 8, 1, rng);
    LibraryParams params;
    params.tile = params.stride = {4, 4};
    params.mode = Mode::Gray;
    const Library library = testing::build_library(params, {&image});
    ASSERT_EQ(library.patch_count(), 4u);
    EXPECT_EQ(check_k(1, library), 1);
    EXPECT_EQ(check_k(4, library), 4);
    for (int64_t bad : {int64_t(0), int64_t(5), int64_t(-1), std::numeric_limits<int64_t>::max()}) {
        EXPECT_EQ(message_of([&] { check_k(bad, library); }),
                  "k = " + std::to_string(bad) + " is out of range: the library has 4 patches");
    }
    EXPECT_EQ(k_message("18446744073709551616", library),
              "k = 18446744073709551616 is out of range: the library has 4 patches");
}

}  // namespace
}  // namespace tessera::pipeline
#endif
