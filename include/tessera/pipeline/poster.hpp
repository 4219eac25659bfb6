// A poster: the target brought to a grid of cells of the match size (--grid), and the output's
// size when each cell is rendered at the library's render size. One rule for the CLI and Python.
#pragma once

#include <cstdint>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/library.hpp"
#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/tile_source.hpp"

#include <span>
#include <vector>

namespace tessera::pipeline {

// The grid a target of `target` pixels is resampled to: `columns` cells across and `rows` down,
// rows 0 following the target's aspect ratio (at least 1). `what` is the option as the front end
// names it ("--grid", "grid"). Throws Error for 0 columns or a grid whose resampled target would
// have more than `max_pixels` pixels.
Size grid_cells(Size target, Size tile, int64_t columns, int64_t rows, uint64_t max_pixels,
                const char* what);

// `target` resampled (libvips, antialiased, stretched to the grid's aspect ratio, which `rows` 0
// makes the target's own within one cell) to cells.width x cells.height tiles of `tile`.
Image resample_to_grid(ImageView target, Size tile, Size cells);

// The size tiles are rendered at: the library's render size, or `requested` (--render-size)
// when given (not 0x0), which must lie between the tile size and the stored render size.
Size render_size_for(const Library& library, Size requested, const char* what);

// The library's render-size tiles resampled (libvips) to a smaller `size`: only those `matches`
// place, once each.
class ResampledTiles final : public TileSource {
  public:
    ResampledTiles(const Library& library, Size size, std::span<const TileMatch> matches);
    Size tile_size() const override { return size_; }
    int channels() const override { return channels_; }
    size_t size() const override { return tiles_.size(); }
    const uint8_t* pixels(uint32_t id) const override;

  private:
    Size size_;
    int channels_;
    std::vector<Image> tiles_;  // by patch id; empty for those not placed
};

}  // namespace tessera::pipeline
