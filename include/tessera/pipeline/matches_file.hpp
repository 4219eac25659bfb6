// The matches file a mosaic job writes beside its image: one row per tile, as CSV or JSON.
#pragma once

#include <span>
#include <string>

#include "tessera/core/file.hpp"
#include "tessera/library/library.hpp"
#include "tessera/mosaic/assign.hpp"

namespace tessera::pipeline {

// Throws Error unless `path` ends in .csv or .json (any case), the two layouts write_matches has.
void check_matches_format(const std::string& path);

// Writes `matches` into `file` as CSV or JSON by the extension of file.path(): per tile its row,
// column and position, the patch id, the patch's source (by path), position and transform in
// that source, and the distance. Written row by row through a buffer, never the whole text in
// memory; the caller commits `file`.
void write_matches(AtomicFile& file, const Library& library, std::span<const TileMatch> matches);

}  // namespace tessera::pipeline
