// What a library is cut with: tile, stride, colour mode and transforms, and their limits.
#pragma once

#include <cstddef>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"

namespace tessera {

inline constexpr int kMaxTileSide = 128;  // keeps every squared distance and norm inside uint32
inline constexpr int kMaxStrideSide = 65536;

struct LibraryParams {
    Size tile{16, 16};
    Size stride{16, 16};
    Mode mode = Mode::Rgb;
    std::vector<Transform> transforms{Transform::Rot0};  // ascending, no repeats

    int channels() const { return tessera::channels(mode); }
    size_t patch_bytes() const { return size_t(tile.width) * tile.height * channels(); }
    // Throws Error when the parameters cannot describe a library (zero or oversized tile,
    // rotation by 90/270 with a non-square tile, no transforms, ...).
    void validate() const;
};

// Builds the transform list from rotations in degrees (0, 90, 180, 270) and the flip switch.
std::vector<Transform> transforms_from(const std::vector<int>& rotations_degrees, bool flips);

}  // namespace tessera
