// Rendering: each matched tile's pixels from a TileSource, pasted in the tile's grid cell.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/match.hpp"
#include "tessera/mosaic/tile_source.hpp"

namespace tessera {

// The output size of a target of `target` pixels cut into `tile` cells, each rendered at `render`
// size: the target scaled by render / tile per axis, rounded up so that a cropped last tile keeps
// a pixel (render == tile: the target's size). Throws Error when a side would not fit an int.
Size rendered_size(Size target, Size tile, Size render);

// Changes a placed tile's pixels (tightly packed, at the rendered size) before they are pasted in
// the cell of `match`: a colour transfer toward that cell of the target.
using PasteFilter = std::function<void(const TileMatch& match, std::span<uint8_t> pixels)>;

// The pixel rows of band `rows` of the output: those tile rows at the rendered size, cropped at
// the output's bottom edge, the whole output wide. Each match's tile is pasted at
// (col * render width, row * render height), cropped to the output; `matches` are the band's.
// With `filter`, each tile's pixels pass through it first.
Image render_band(const TileSource& tiles, std::span<const TileMatch> matches, Size output,
                  TileRows rows, const PasteFilter& filter = {});

// The whole output: render_band over all its tile rows.
Image render(const TileSource& tiles, std::span<const TileMatch> matches, Size output,
             const PasteFilter& filter = {});

}  // namespace tessera
