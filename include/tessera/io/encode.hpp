// Encoding pixel buffers into image files, in the format their extension names.
#pragma once

#include <string>

#include "tessera/core/file.hpp"
#include "tessera/core/image.hpp"
#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/tile_source.hpp"

#include <span>

namespace tessera::io {

// JPEG and WebP quality, 1 to 100. 90 rather than libvips's 75: a mosaic is all tile edges,
// where lower qualities ring visibly.
inline constexpr int kDefaultQuality = 90;

// Encodes `image` in the format named by the extension of file.path() straight into `file` (no
// copy of the encoded file in memory), which the caller commits, alone or with files that belong
// with it. `quality` applies to the lossy formats (.jpg, .webp).
void save_image(AtomicFile& file, ImageView image, int quality = kDefaultQuality);

// Encodes the mosaic of `matches` (one per cell, cells of tiles.tile_size() covering `output`,
// the last row and column cropped) into `file` as save_image does, each row made from the tiles
// when the encoder asks for it: the output is never in memory, only a strip of its rows.
void save_tiles(AtomicFile& file, const TileSource& tiles, std::span<const TileMatch> matches,
                Size output, int quality = kDefaultQuality);

// The same for one file on its own: writes `path` atomically.
void save_image(const std::string& path, ImageView image, int quality = kDefaultQuality);

}  // namespace tessera::io
