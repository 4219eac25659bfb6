#include "tessera/mosaic/render.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tessera/core/error.hpp"

namespace tessera {

Size rendered_size(Size target, Size tile, Size render) {
    TESSERA_ASSERT(target.width >= 0 && target.height >= 0 && tile.width > 0 && tile.height > 0 &&
                   render.width > 0 && render.height > 0);
    auto scale = [](int side, int tile_side, int render_side) {
        return (int64_t(side) * render_side + tile_side - 1) / tile_side;
    };
    const int64_t width = scale(target.width, tile.width, render.width);
    const int64_t height = scale(target.height, tile.height, render.height);
    if (width > INT_MAX || height > INT_MAX) {
        throw Error("the mosaic would be " + std::to_string(width) + "x" + std::to_string(height) +
                    " pixels, too large for an image");
    }
    return {int(width), int(height)};
}

Image render_band(const TileSource& tiles, std::span<const TileMatch> matches, Size output,
                  TileRows rows, const PasteFilter& filter) {
    const Size cell = tiles.tile_size();
    const int channels = tiles.channels();
    TESSERA_ASSERT(rows.first >= 0 && rows.count >= 0 &&
                   rows.first + rows.count <= tile_rows(output, cell));
    const int top = rows.first * cell.height;
    const int height = std::min(output.height, (rows.first + rows.count) * cell.height) - top;
    Image band(output.width, std::max(0, height), channels);
    const size_t cell_row_bytes = size_t(cell.width) * channels;
    std::vector<uint8_t> filtered;
    for (const TileMatch& m : matches) {
        TESSERA_ASSERT(m.patch < tiles.size());
        TESSERA_ASSERT(m.tile.col >= 0 && m.tile.row >= rows.first &&
                       m.tile.row < rows.first + rows.count);
        // Where the cell goes in the band; both are inside it, as its row and column are.
        const int64_t x = int64_t(m.tile.col) * cell.width;
        const int y = (m.tile.row - rows.first) * cell.height;
        TESSERA_ASSERT(x < output.width && y < band.height);
        const size_t width = size_t(std::min<int64_t>(cell.width, output.width - x)) * channels;
        const int cell_rows = std::min(cell.height, band.height - y);
        const uint8_t* pixels = tiles.pixels(m.patch);
        if (filter) {
            filtered.assign(pixels, pixels + cell_row_bytes * size_t(cell.height));
            filter(m, filtered);
            pixels = filtered.data();
        }
        for (int r = 0; r < cell_rows; ++r) {
            std::memcpy(band.row(y + r) + x * channels, pixels + r * cell_row_bytes, width);
        }
    }
    return band;
}

Image render(const TileSource& tiles, std::span<const TileMatch> matches, Size output,
             const PasteFilter& filter) {
    return render_band(tiles, matches, output, {0, tile_rows(output, tiles.tile_size())}, filter);
}

}  // namespace tessera
