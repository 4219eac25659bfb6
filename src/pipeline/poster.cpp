#include "tessera/pipeline/poster.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "tessera/core/error.hpp"
#include "tessera/io/resample.hpp"

namespace tessera::pipeline {

Size grid_cells(Size target, Size tile, int64_t columns, int64_t rows, uint64_t max_pixels,
                const char* what) {
    const int64_t most = int64_t(1) << 20;
    if (columns < 1 || columns > most || rows < 0 || rows > most) {
        throw Error(std::string(what) + " " + std::to_string(columns) +
                    (rows > 0 ? "x" + std::to_string(rows) : std::string()) +
                    " is out of range: columns and rows must be 1 to " + std::to_string(most));
    }
    if (rows == 0) {
        // Cells of the match size cover the target's aspect ratio: rows / columns =
        // (height / tile height) / (width / tile width), rounded to the nearest.
        const double exact =
            double(columns) * tile.width * target.height / (double(target.width) * tile.height);
        rows = std::clamp<int64_t>(std::llround(exact), 1, most);
    }
    const uint64_t pixels = uint64_t(columns) * tile.width * uint64_t(rows) * tile.height;
    if (pixels > max_pixels) {
        throw Error(std::string(what) + " " + std::to_string(columns) + "x" + std::to_string(rows) +
                    " of " + size_text(tile) + " cells resamples the " + "target to " +
                    std::to_string(pixels) + " pixels, over the limit of " +
                    std::to_string(max_pixels));
    }
    return {int(columns), int(rows)};
}

Image resample_to_grid(ImageView target, Size tile, Size cells) {
    return io::resample_photo(target, {cells.width * tile.width, cells.height * tile.height},
                              Fit::stretch, "the target");
}

Size render_size_for(const Library& library, Size requested, const char* what) {
    const Size stored = library.params().render_size();
    if (requested == Size{0, 0}) return stored;
    const Size tile = library.params().tile;
    if (requested.width < tile.width || requested.height < tile.height ||
        requested.width > stored.width || requested.height > stored.height) {
        throw Error(std::string(what) + " " + size_text(requested) + " is out of range: from " +
                    "the tile " + size_text(tile) + " to the stored render size " +
                    size_text(stored));
    }
    return requested;
}

ResampledTiles::ResampledTiles(const Library& library, Size size,
                               std::span<const TileMatch> matches)
    : size_(size), channels_(library.params().channels()), tiles_(library.patch_count()) {
    const Size stored = library.params().render_size();
    for (const TileMatch& m : matches) {
        Image& tile = tiles_[m.patch];
        if (!tile.pixels.empty()) continue;
        const ImageView view{library.render_patch(m.patch), stored.width, stored.height, channels_,
                             ptrdiff_t(stored.width) * channels_};
        tile = io::resample_photo(view, size, Fit::stretch, "tile " + std::to_string(m.patch));
    }
}

const uint8_t* ResampledTiles::pixels(uint32_t id) const {
    TESSERA_ASSERT(!tiles_[id].pixels.empty());
    return tiles_[id].pixels.data();
}

}  // namespace tessera::pipeline
