// Geometry: sizes, the grid of windows cut from an image, and the 8 transforms of the dihedral
// group that a patch can be stored under.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

struct Size {
    int width = 0;
    int height = 0;
    bool operator==(const Size&) const = default;
};

// Parses "16" (square) or "16x8" (width x height); throws Error naming `what` on bad input.
Size parse_size(std::string_view text, std::string_view what);
// "16x8": width x height, as messages print a size and parse_size reads it.
std::string size_text(Size size);

struct Point {
    int x = 0;
    int y = 0;
    bool operator==(const Point&) const = default;
};

// Transform t is: mirror left-right if t >= 4 (numpy.fliplr), then rotate by (t % 4) quarter
// turns counter-clockwise (numpy.rot90). Rot90 and Rot270 swap width and height.
enum class Transform : uint8_t {
    Rot0 = 0,
    Rot90 = 1,
    Rot180 = 2,
    Rot270 = 3,
    Flip = 4,
    FlipRot90 = 5,
    FlipRot180 = 6,  // a top-bottom mirror
    FlipRot270 = 7,
};
inline constexpr int kTransformCount = 8;

std::string_view transform_name(Transform t);
bool swaps_axes(Transform t);
Size transformed_size(Size size, Transform t);

// The pixel of an image of size `source` that transform t moves to `p` of the transformed image.
Point source_pixel(Point p, Size source, Transform t);

// The top-left corner, in an image of size `source`, of the window that transform t turns into
// the `tile` window at `origin` of the transformed image: cutting the window there and
// transforming it gives the pixels that transforming the whole image and cutting at `origin` does.
Point source_window_origin(Point origin, Size tile, Size source, Transform t);

// Writes `src` (size.width x size.height pixels of `channels` bytes, rows `src_stride` bytes apart)
// under transform t to `dst`, tightly packed, with size transformed_size(size, t).
void apply_transform(const uint8_t* src, ptrdiff_t src_stride, Size size, int channels, Transform t,
                     uint8_t* dst);

// Top-left corners of every complete `tile` window on a grid with the given stride, in row-major
// order (y, then x). Empty when the tile does not fit.
std::vector<Point> window_origins(Size image, Size tile, Size stride);

// Tiles that cover `image` left to right, top to bottom; the last column and row are cropped
// where the image side is not a multiple of the tile.
struct Tile {
    int row = 0;
    int col = 0;
    int x = 0;
    int y = 0;
    Size size;  // visible size, at most the tile size
};
std::vector<Tile> cover_with_tiles(Size image, Size tile);

}  // namespace tessera
