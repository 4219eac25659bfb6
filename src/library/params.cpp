#include "tessera/library/params.hpp"

#include <string>

#include "tessera/core/error.hpp"

namespace tessera {

void LibraryParams::validate() const {
    auto side_ok = [](int v) { return v >= 1 && v <= kMaxTileSide; };
    if (!side_ok(tile.width) || !side_ok(tile.height)) {
        throw Error("tile " + std::to_string(tile.width) + "x" + std::to_string(tile.height) +
                    " is out of range: each side must be 1 to " + std::to_string(kMaxTileSide));
    }
    if (stride.width < 1 || stride.height < 1 || stride.width > kMaxStrideSide ||
        stride.height > kMaxStrideSide) {
        throw Error("stride " + std::to_string(stride.width) + "x" + std::to_string(stride.height) +
                    " is out of range: each side must be 1 to " + std::to_string(kMaxStrideSide));
    }
    const Size r = render_size();
    if (r.width > kMaxRenderSide || r.height > kMaxRenderSide) {
        throw Error("render size " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                    " is out of range: each side must be at most " +
                    std::to_string(kMaxRenderSide));
    }
    if (r.width < tile.width || r.height < tile.height) {
        throw Error("render size " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                    " is smaller than the tile " + std::to_string(tile.width) + "x" +
                    std::to_string(tile.height) + ": tiles are rendered at least at the size " +
                    "they are matched");
    }
    if (kind == LibraryKind::windows && r != tile) {
        throw Error("a render size larger than the tile needs a whole-photo library (--whole)");
    }
    if (transforms.empty()) throw Error("no transform selected: give at least one rotation");
    for (size_t i = 0; i < transforms.size(); ++i) {
        int t = static_cast<int>(transforms[i]);
        TESSERA_ASSERT(t >= 0 && t < kTransformCount);
        TESSERA_ASSERT(i == 0 || transforms[i - 1] < transforms[i]);
        if (swaps_axes(transforms[i]) && tile.width != tile.height) {
            throw Error("rotations by 90 or 270 degrees need a square tile, not " +
                        std::to_string(tile.width) + "x" + std::to_string(tile.height) +
                        ": use rotations 0,180 or a square tile");
        }
        if (swaps_axes(transforms[i]) && r.width != r.height) {
            throw Error("rotations by 90 or 270 degrees need a square render size, not " +
                        std::to_string(r.width) + "x" + std::to_string(r.height));
        }
    }
}

const char* fit_name(Fit fit) {
    switch (fit) {
        case Fit::crop:
            return "crop";
        case Fit::pad:
            return "pad";
        case Fit::stretch:
            return "stretch";
    }
    TESSERA_ASSERT(false);
}

const char* kind_name(LibraryKind kind) {
    return kind == LibraryKind::whole ? "whole photos" : "windows";
}

std::vector<Transform> transforms_from(const std::vector<int>& rotations_degrees, bool flips) {
    uint32_t mask = 0;
    for (int degrees : rotations_degrees) {
        if (degrees % 90 != 0 || degrees < 0 || degrees >= 360) {
            throw Error("invalid rotation " + std::to_string(degrees) +
                        ": rotations are 0, 90, 180 or 270 degrees");
        }
        int turns = degrees / 90;
        mask |= 1u << turns;
        if (flips) mask |= 1u << (turns + 4);
    }
    std::vector<Transform> transforms;
    for (int t = 0; t < kTransformCount; ++t) {
        if (mask & (1u << t)) transforms.push_back(static_cast<Transform>(t));
    }
    return transforms;
}

}  // namespace tessera
