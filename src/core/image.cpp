#include "tessera/core/image.hpp"

#include <cstring>
#include <string>

#include "tessera/core/error.hpp"

namespace tessera {

std::string_view mode_name(Mode mode) {
    return mode == Mode::Gray ? "gray" : "rgb";
}

Mode parse_mode(std::string_view name) {
    if (name == "gray") return Mode::Gray;
    if (name == "rgb") return Mode::Rgb;
    throw Error("invalid mode '" + std::string(name) + "': expected gray or rgb");
}

Mode mode_of_channels(int channels) {
    if (channels == 1) return Mode::Gray;
    if (channels == 3) return Mode::Rgb;
    throw Error("images must have 1 (gray) or 3 (RGB) channels, not " + std::to_string(channels));
}

Image::Image(int width, int height, int channels)
    : width(width),
      height(height),
      channels(channels),
      pixels(size_t(width) * size_t(height) * size_t(channels)) {}

Image convert(ImageView image, Mode mode) {
    mode_of_channels(image.channels);
    Image out(image.width, image.height, channels(mode));
    for (int y = 0; y < image.height; ++y) {
        const uint8_t* in = image.row(y);
        uint8_t* o = out.row(y);
        if (image.channels == out.channels) {
            std::memcpy(o, in, size_t(out.stride()));
        } else if (mode == Mode::Gray) {
            for (int x = 0; x < image.width; ++x, in += 3) {
                // PIL's L = R*299/1000 + G*587/1000 + B*114/1000, in 16-bit fixed point.
                o[x] = uint8_t((in[0] * 19595u + in[1] * 38470u + in[2] * 7471u + 0x8000u) >> 16);
            }
        } else {
            for (int x = 0; x < image.width; ++x, o += 3) o[0] = o[1] = o[2] = in[x];
        }
    }
    return out;
}

}  // namespace tessera
