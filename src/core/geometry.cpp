#include "tessera/core/geometry.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include "tessera/core/error.hpp"

namespace tessera {

namespace {

// Sets `too_large` for a number that does not fit an int, so that the message can say so.
bool parse_int(std::string_view text, int& value, bool& too_large) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    too_large = too_large || (ec == std::errc::result_out_of_range && !text.starts_with('-'));
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

Size parse_size(std::string_view text, std::string_view what) {
    Size size;
    size_t x = text.find('x');
    bool too_large = false;
    bool ok =
        x == std::string_view::npos
            ? parse_int(text, size.width, too_large) && parse_int(text, size.height, too_large)
            : parse_int(text.substr(0, x), size.width, too_large) &&
                  parse_int(text.substr(x + 1), size.height, too_large);
    if (too_large) {
        throw Error("invalid " + std::string(what) + " '" + std::string(text) +
                    "': a side is too large");
    }
    if (!ok || size.width <= 0 || size.height <= 0) {
        throw Error("invalid " + std::string(what) + " '" + std::string(text) +
                    "': expected a positive size like 16 or 16x8 (width x height)");
    }
    return size;
}

std::string size_text(Size size) {
    return std::to_string(size.width) + "x" + std::to_string(size.height);
}

std::string_view transform_name(Transform t) {
    static constexpr std::string_view names[kTransformCount] = {
        "rot0", "rot90", "rot180", "rot270", "flip", "flip-rot90", "flip-rot180", "flip-rot270"};
    return names[static_cast<int>(t) & 7];
}

bool swaps_axes(Transform t) {
    return (static_cast<int>(t) & 1) != 0;
}

Size transformed_size(Size size, Transform t) {
    return swaps_axes(t) ? Size{size.height, size.width} : size;
}

Point source_pixel(Point p, Size source, Transform t) {
    const int w = source.width, h = source.height;
    // Invert the counter-clockwise rotation (numpy.rot90's convention) ...
    Point s;
    switch (static_cast<int>(t) & 3) {
        case 0:
            s = p;
            break;
        case 1:
            s = {w - 1 - p.y, p.x};
            break;
        case 2:
            s = {w - 1 - p.x, h - 1 - p.y};
            break;
        case 3:
            s = {p.y, h - 1 - p.x};
            break;
    }
    // ... then the left-right mirror that was applied first.
    if (static_cast<int>(t) >= 4) s.x = w - 1 - s.x;
    return s;
}

Point source_window_origin(Point origin, Size tile, Size source, Transform t) {
    const Point a = source_pixel(origin, source, t);
    const Point b =
        source_pixel({origin.x + tile.width - 1, origin.y + tile.height - 1}, source, t);
    return {std::min(a.x, b.x), std::min(a.y, b.y)};
}

void apply_transform(const uint8_t* src, ptrdiff_t src_stride, Size size, int channels, Transform t,
                     uint8_t* dst) {
    const Size out = transformed_size(size, t);
    for (int y = 0; y < out.height; ++y) {
        for (int x = 0; x < out.width; ++x) {
            const Point s = source_pixel({x, y}, size, t);
            std::memcpy(dst + (ptrdiff_t(y) * out.width + x) * channels,
                        src + s.y * src_stride + ptrdiff_t(s.x) * channels, size_t(channels));
        }
    }
}

std::vector<Point> window_origins(Size image, Size tile, Size stride) {
    TESSERA_ASSERT(tile.width > 0 && tile.height > 0 && stride.width > 0 && stride.height > 0);
    std::vector<Point> origins;
    if (image.width < tile.width || image.height < tile.height) return origins;
    for (int y = 0; y + tile.height <= image.height; y += stride.height) {
        for (int x = 0; x + tile.width <= image.width; x += stride.width) {
            origins.push_back({x, y});
        }
    }
    return origins;
}

std::vector<Tile> cover_with_tiles(Size image, Size tile) {
    TESSERA_ASSERT(tile.width > 0 && tile.height > 0);
    std::vector<Tile> tiles;
    for (int y = 0, row = 0; y < image.height; y += tile.height, ++row) {
        for (int x = 0, col = 0; x < image.width; x += tile.width, ++col) {
            tiles.push_back(
                {row,
                 col,
                 x,
                 y,
                 {std::min(tile.width, image.width - x), std::min(tile.height, image.height - y)}});
        }
    }
    return tiles;
}

}  // namespace tessera
