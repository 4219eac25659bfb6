// The one path a mosaic takes, from the CLI and from Python: open the library, match and render,
// write the image and its matches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tessera/core/image.hpp"
#include "tessera/core/progress.hpp"
#include "tessera/library/library.hpp"
#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/assignment_summary.hpp"
#include "tessera/mosaic/capped_assignment.hpp"
#include "tessera/mosaic/spaced_assignment.hpp"
#include "tessera/pipeline/metric.hpp"
#include "tessera/pipeline/phase_times.hpp"
#include "tessera/search/search.hpp"

namespace tessera::pipeline {

// Opens a library for searching: maps it, checks what Library::open checks, runs `checks` (the
// caller's checks that need the library's parameters, such as an output format for its mode),
// then verifies the data checksum: one pass over the file, which with a large library and a
// small target can cost more than the search, so a mistake in the command is reported before it,
// and a library damaged on disk is refused before it gives wrong matches. With `seconds`, adds
// the phases "open" (opening and `checks`) and "verify".
Library open_library(const std::string& path,
                     const std::function<void(const Library&)>& checks = {},
                     PhaseTimes* seconds = nullptr);

struct MosaicResult {
    Image image;       // the output, in the library's mode: the target's size x render / tile
    Size output;       // its size (also when it is not rendered in memory)
    Size render_size;  // each cell's
    std::vector<TileMatch> matches;  // one per tile, row-major
    // Of the output as delivered (file as written for lossy formats); of the tiles at the match
    // size when they are rendered larger.
    double psnr = 0;
    // The read-back of a lossy file failed: psnr is that of the pixels before encoding.
    bool psnr_before_encoding = false;
    // With a repeat cap: the assignment's total cost, certificate and use counts (its `tiles`
    // are those of `matches` before any --min-distance repair).
    std::optional<CappedAssignment> capped;
    // With a minimum repeat distance: the total cost before the repair (the optimum without the
    // distance limit: each tile's nearest patch, or the capped assignment's), and the tiles whose
    // patch the repair changed.
    std::optional<uint64_t> unspaced_cost;
    size_t respaced_tiles = 0;
    // Seconds per phase: "search" (matching), "assign" (the assignment under --max-uses),
    // "space" (the --min-distance repair, its searches included) and "render" (pasting, colour
    // transfer, blend) by make_mosaic; "encode", "read_back", "matches" by write_mosaic.
    PhaseTimes seconds;
    // Total cost, its lower bound and certificate, and the patches' repeats, with or without a
    // cap (without one, the nearest patches' cost is the bound; certified when it is the cost).
    AssignmentSummary summary;
};

struct MosaicOptions {
    // No patch in more than this many tiles (0: no cap, each tile takes its nearest patch): the
    // assignment with the smallest total distance under the cap, certified optimal.
    uint32_t max_uses = 0;
    // The size each cell is rendered at (render_size_for); 0x0: the library's render size.
    Size render_size{0, 0};
    // False: result.image is left empty, and write_mosaic encodes the output row strip by row
    // strip from the tiles (io::save_tiles): a poster never held in memory.
    bool render_in_memory = true;
    // What matching compares when not the library's own pixels (--metric lab): `searcher`
    // searches matched->library, with matched->target; rendering still pastes `library`'s.
    const MatchSpace* matched = nullptr;
    // Each placed tile's colour moved this fraction toward its target cell's (colour_transfer),
    // 0 to 1; 0 leaves the pixels untouched.
    double color = 0;
    // This fraction of the target mixed into the output (blend_target), 0 to 1.
    double blend = 0;
    // No patch in two tiles within this Chebyshev distance on the tile grid (0: no limit): the
    // optimal assignment (under the cap) repaired in row-major order (spaced_assignment.hpp).
    uint32_t min_distance = 0;
};

// Status callbacks a front end shows (a terminal line in the CLI, nothing in Python).
struct MosaicEvents {
    // What starts: "rendering", "writing <output>", "reading <output> back for its PSNR".
    std::function<void(const std::string& phase)> phase;
    Progress matching;  // tiles matched / total
};

// Matches and renders `target` (already in the library's mode) with `searcher`; psnr is that of
// the rendered pixels against `target`. A cap that the library cannot meet (max_uses * patches
// below the tile count), or a minimum distance (check_min_distance), throws Error before any
// search; a minimum distance that the repair cannot meet throws Error after it.
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
// separate, for the caller to make before any work. `side_files`, called once the image and
// matches are written, gives more files as (path, contents) (--report, --timings): written and
// committed together with them.
using SideFiles =
    std::function<std::vector<std::pair<std::string, std::string>>(const MosaicResult&)>;
void write_mosaic(MosaicResult& result, const Library& library, const Image& target,
                  const std::string& output, const std::string& matches_path, int quality,
                  bool want_psnr, const MosaicEvents& events = {},
                  const SideFiles& side_files = {});

}  // namespace tessera::pipeline
