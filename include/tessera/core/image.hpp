// Images as the core sees them: strided uint8 buffers, 1 (gray) or 3 (RGB) interleaved channels.
// The core never decodes files; the I/O layer (tessera/image_io.hpp) does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tessera/core/geometry.hpp"

namespace tessera {

enum class Mode : uint8_t { Gray = 1, Rgb = 3 };  // the value is the channel count

inline int channels(Mode mode) {
    return static_cast<int>(mode);
}
std::string_view mode_name(Mode mode);
Mode parse_mode(std::string_view name);  // "gray" or "rgb"; throws Error otherwise
Mode mode_of_channels(int channels);     // 1 or 3; throws Error otherwise

// A read-only view of pixels; rows are `stride` bytes apart (stride >= width * channels).
struct ImageView {
    const uint8_t* data = nullptr;
    int width = 0;
    int height = 0;
    int channels = 1;
    ptrdiff_t stride = 0;

    Size size() const { return {width, height}; }
    const uint8_t* row(int y) const { return data + y * stride; }
};

// An owned, tightly packed image.
struct Image {
    int width = 0;
    int height = 0;
    int channels = 1;
    std::vector<uint8_t> pixels;

    Image() = default;
    Image(int width, int height, int channels);

    Size size() const { return {width, height}; }
    ptrdiff_t stride() const { return ptrdiff_t(width) * channels; }
    uint8_t* row(int y) { return pixels.data() + y * stride(); }
    ImageView view() const { return {pixels.data(), width, height, channels, stride()}; }
};

// Converts to the given mode. RGB to gray uses ITU-R 601 luma with the same fixed-point rounding
// as PIL's convert('L'), so results match what Python users compare against; gray to RGB
// replicates the channel.
Image convert(ImageView image, Mode mode);

}  // namespace tessera
