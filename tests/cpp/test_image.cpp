// Images: modes and colour conversion.
#include <gtest/gtest.h>

#include <array>

#include "tessera/core/error.hpp"
#include "tessera/core/image.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

TEST(Mode, ParseAndName) {
    EXPECT_EQ(parse_mode("gray"), Mode::Gray);
    EXPECT_EQ(parse_mode("rgb"), Mode::Rgb);
    EXPECT_EQ(mode_name(Mode::Gray), "gray");
    EXPECT_EQ(mode_name(Mode::Rgb), "rgb");
    EXPECT_THROW(parse_mode("RGB"), Error);
    EXPECT_THROW(parse_mode("grey"), Error);
    EXPECT_EQ(mode_of_channels(1), Mode::Gray);
    EXPECT_EQ(mode_of_channels(3), Mode::Rgb);
    EXPECT_THROW(mode_of_channels(2), Error);
    EXPECT_THROW(mode_of_channels(4), Error);
}

// Expected values from PIL 9.4: Image.new('RGB', ...).putdata(pixels).convert('L').
TEST(Convert, RgbToGrayMatchesPil) {
    const std::vector<std::array<uint8_t, 3>> rgb = {
        {0, 0, 0},     {255, 255, 255}, {255, 0, 0},   {0, 255, 0},    {0, 0, 255},
        {1, 1, 1},     {128, 128, 128}, {10, 200, 30}, {200, 10, 250}, {254, 1, 127},
        {3, 2, 1},     {99, 100, 101},  {1, 0, 0},     {0, 1, 1},      {37, 155, 90},
        {255, 255, 0}, {0, 255, 255},   {255, 0, 255}, {2, 3, 0},      {17, 0, 250}};
    const std::vector<uint8_t> pil = {0, 255, 76, 150, 29,  1,   128, 124, 94, 91,
                                      2, 100, 0,  1,   112, 226, 179, 105, 2,  34};
    std::vector<uint8_t> pixels;
    for (const auto& p : rgb) pixels.insert(pixels.end(), p.begin(), p.end());
    const Image image = testing::make_image(int(rgb.size()), 1, 3, pixels);
    const Image gray = convert(image.view(), Mode::Gray);
    EXPECT_EQ(gray.channels, 1);
    EXPECT_EQ(gray.width, int(rgb.size()));
    EXPECT_EQ(gray.pixels, pil);
}

TEST(Convert, GrayToRgbReplicates) {
    const Image gray = testing::make_image(2, 2, 1, {0, 7, 128, 255});
    const Image rgb = convert(gray.view(), Mode::Rgb);
    EXPECT_EQ(rgb.channels, 3);
    EXPECT_EQ(rgb.pixels, (std::vector<uint8_t>{0, 0, 0, 7, 7, 7, 128, 128, 128, 255, 255, 255}));
    // And back: gray (v, v, v) is v.
    EXPECT_EQ(convert(rgb.view(), Mode::Gray).pixels, gray.pixels);
}

TEST(Convert, SameModeHonoursStride) {
    // A 2x2 RGB view into rows 8 bytes apart: the padding must not leak into the copy.
    const std::vector<uint8_t> padded = {1, 2, 3, 4, 5, 6, 99, 99, 7, 8, 9, 10, 11, 12, 99, 99};
    const ImageView view{padded.data(), 2, 2, 3, 8};
    const Image out = convert(view, Mode::Rgb);
    EXPECT_EQ(out.pixels, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
    // PIL's convert('L') of (1,2,3), (4,5,6), (7,8,9), (10,11,12).
    EXPECT_EQ(convert(view, Mode::Gray).pixels, (std::vector<uint8_t>{2, 5, 8, 11}));
}

TEST(Convert, RejectsOtherChannelCounts) {
    const Image two(2, 2, 2);
    EXPECT_THROW(convert(two.view(), Mode::Gray), Error);
}

}  // namespace
}  // namespace tessera
