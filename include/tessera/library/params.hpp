// What a library is cut with: tile, stride, colour mode and transforms, and their limits.
#pragma once

#include <cstddef>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"

namespace tessera {

inline constexpr int kMaxTileSide = 128;  // keeps every squared distance and norm inside uint32
inline constexpr int kMaxStrideSide = 65536;
inline constexpr int kMaxRenderSide = 4096;  // a render-size tile: 48 MiB of RGB at most

// What a library's tiles are: windows cut on a grid, or each source image whole (a photomosaic's
// photo collection), resampled to the tile size and to the render size.
enum class LibraryKind { windows = 0, whole = 1 };

// How a whole photo is brought to a tile's aspect ratio: cropped about its centre, letterboxed
// (black bars), or stretched.
enum class Fit { crop = 0, pad = 1, stretch = 2 };
const char* fit_name(Fit fit);
const char* kind_name(LibraryKind kind);

struct LibraryParams {
    Size tile{16, 16};
    Size stride{16, 16};
    Mode mode = Mode::Rgb;
    std::vector<Transform> transforms{Transform::Rot0};  // ascending, no repeats
    LibraryKind kind = LibraryKind::windows;
    Fit fit = Fit::crop;  // whole libraries only
    // The size tiles are rendered at, stored beside the tile-size pixels (whole libraries only);
    // {0, 0}: the tile size, and nothing stored beside it.
    Size render{0, 0};

    int channels() const { return tessera::channels(mode); }
    size_t patch_bytes() const { return size_t(tile.width) * tile.height * channels(); }
    Size render_size() const { return render.width > 0 ? render : tile; }
    bool renders_larger() const { return render_size() != tile; }
    size_t render_patch_bytes() const {
        return size_t(render_size().width) * render_size().height * channels();
    }
    // Throws Error when the parameters cannot describe a library (zero or oversized tile,
    // rotation by 90/270 with a non-square tile, no transforms, a render size smaller than the
    // tile or given to a window library, ...).
    void validate() const;
};

// Builds the transform list from rotations in degrees (0, 90, 180, 270) and the flip switch.
std::vector<Transform> transforms_from(const std::vector<int>& rotations_degrees, bool flips);

}  // namespace tessera
