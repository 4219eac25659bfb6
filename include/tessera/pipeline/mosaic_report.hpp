// The quality report of a mosaic (tessera mosaic --report, Library.mosaic(report=True)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/assignment_summary.hpp"
#include "tessera/pipeline/metric.hpp"
#include "tessera/pipeline/mosaic_job.hpp"
#include "tessera/pipeline/phase_times.hpp"

namespace tessera::pipeline {

struct MosaicReport {
    // Of the rendered pixels (before any lossy encoding) against the target as matched, at the
    // target's size: an output larger than the target (tiles rendered larger than matched) is
    // first shrunk to it, each pixel the mean of the box it covers (io::resize_image).
    Size compared;
    double psnr = 0;             // dB; infinity when equal
    std::optional<double> ssim;  // tessera::ssim; none when a side is under 7 pixels
    // Mean over cells of the CIEDE2000 difference between the output cell's mean CIELAB colour
    // and the target cell's (each the mean of its pixels' io::srgb_to_lab; gray as r = g = b).
    double mean_ciede2000 = 0;
    size_t cells = 0;
    size_t distinct_tiles = 0;                    // patches placed at least once
    std::map<uint64_t, uint64_t> uses_histogram;  // uses -> patches placed that many times
    // The assignment's figures (MosaicResult::summary) and the limits asked (0: none), set by
    // the caller (assignment_figures).
    AssignmentSummary assignment;
    uint32_t max_uses = 0;
    uint32_t min_distance = 0;
    // With min_distance: the total cost without it (MosaicResult::unspaced_cost).
    std::optional<uint64_t> unspaced_cost;
};

// The report of `output` (the rendered mosaic, cells of `render` size) against `target` (the
// target as matched) for `matches` (whose tiles are the target's cells).
MosaicReport make_report(ImageView output, ImageView target, std::span<const TileMatch> matches,
                         Size render);

// Sets the report's assignment figures from a mosaic made with `options`.
void assignment_figures(MosaicReport& report, const MosaicResult& result,
                        const MosaicOptions& options);

// The report and the phases' seconds as JSON (nlohmann::json's dump(1)): psnr (null when
// infinite), ssim (null when none), compared [width, height], mean_ciede2000, cells,
// distinct_tiles, uses_histogram {"uses": patches}, assignment {total_cost, lower_bound,
// certified, distinct_tiles, most_uses, smallest_repeat_distance (null: no repeat), max_uses,
// min_distance (null: not asked), and with min_distance cost_without_min_distance, gap (the
// total cost minus that) and relative_gap (gap / that; 0 when that is 0); else those three
// null}, metric, seconds {phase: seconds}.
std::string report_json(const MosaicReport& report, Metric metric, const PhaseTimes& seconds);

}  // namespace tessera::pipeline
