// The one path a mosaic takes, from the CLI and from Python: open the library, match and render,
// write the image and its matches.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tessera/core/image.hpp"
#include "tessera/core/progress.hpp"
#include "tessera/library/library.hpp"
#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/assignment_summary.hpp"
#include "tessera/mosaic/capped_assignment.hpp"
#include "tessera/search/search.hpp"

namespace tessera::pipeline {

// Opens a library for searching: maps it, checks what Library::open checks, runs `checks` (the
// caller's checks that need the library's parameters, such as an output format for its mode),
// then verifies the data checksum: one pass over the file, which with a large library and a
// small target can cost more than the search, so a mistake in the command is reported before it,
// and a library damaged on disk is refused before it gives wrong matches.
Library open_library(const std::string& path,
                     const std::function<void(const Library&)>& checks = {});

struct MosaicResult {
    Image image;                     // the output, in the library's mode
    std::vector<TileMatch> matches;  // one per tile, row-major
    double psnr = 0;  // of the output as delivered (file as written for lossy formats)
    // The read-back of a lossy file failed: psnr is that of the pixels before encoding.
    bool psnr_before_encoding = false;
    // With a repeat cap: the assignment's total cost, certificate and use counts (its `tiles`
    // are those of `matches`).
    std::optional<CappedAssignment> capped;
    // Total cost, its lower bound and certificate, and the patches' repeats, with or without a
    // cap (without one, each tile's nearest patch: the bound is the cost, certified).
    AssignmentSummary summary;
};

struct MosaicOptions {
    // No patch in more than this many tiles (0: no cap, each tile takes its nearest patch): the
    // assignment with the smallest total distance under the cap, certified optimal.
    uint32_t max_uses = 0;
};

// Status callbacks a front end shows (a terminal line in the CLI, nothing in Python).
struct MosaicEvents {
    // What starts: "rendering", "writing <output>", "reading <output> back for its PSNR".
    std::function<void(const std::string& phase)> phase;
    Progress matching;  // tiles matched / total
};

// Matches and renders `target` (already in the library's mode) with `searcher`; psnr is that of
// the rendered pixels against `target`. A cap that the library cannot meet (max_uses * patches
// below the tile count) throws Error before any search.
MosaicResult make_mosaic(const Library& library, const Searcher& searcher, ImageView target,
                         const MosaicEvents& events = {}, const MosaicOptions& options = {});

// Writes result.image to `output` (format by extension, `quality` for lossy formats) and, when
// `matches_path` is not empty, the matches as .csv or .json, both written in full before either
// replaces anything, so that an image and its matches always come from the same run. With
// `want_psnr`, for a lossy format (JPEG, WebP) it reads the file back before committing it and
// sets result.psnr to that of the file as written against `target`: result.image is freed first,
// so reading back takes no more memory than the mosaic did; should it fail anyway, result.psnr
// stays that of the pixels before encoding and psnr_before_encoding says so. Checks on outputs
// (check_output, io::check_output_format and io::check_output_size, check_matches_format) are
// separate, for the caller to make before any work.
void write_mosaic(MosaicResult& result, const Library& library, const Image& target,
                  const std::string& output, const std::string& matches_path, int quality,
                  bool want_psnr, const MosaicEvents& events = {});

}  // namespace tessera::pipeline
