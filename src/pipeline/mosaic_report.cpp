#include "tessera/pipeline/mosaic_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/io/colour.hpp"
#include "tessera/mosaic/quality.hpp"
#include "tessera/mosaic/ssim.hpp"

namespace tessera::pipeline {

namespace {

// The mean CIELAB colour of the pixels of `area` in `image`.
io::Lab mean_colour(ImageView image, int x, int y, Size area) {
    double sum[3] = {0, 0, 0};
    for (int row = y; row < y + area.height; ++row) {
        const uint8_t* p = image.row(row) + size_t(x) * image.channels;
        for (int col = 0; col < area.width; ++col, p += image.channels) {
            const io::Lab v = image.channels == 1 ? io::srgb_to_lab(p[0], p[0], p[0])
                                                  : io::srgb_to_lab(p[0], p[1], p[2]);
            sum[0] += v.L;
            sum[1] += v.a;
            sum[2] += v.b;
        }
    }
    const double n = double(area.width) * area.height;
    return {float(sum[0] / n), float(sum[1] / n), float(sum[2] / n)};
}

}  // namespace

MosaicReport make_report(ImageView output, ImageView target, std::span<const TileMatch> matches,
                         Size render) {
    TESSERA_ASSERT(output.channels == target.channels);
    MosaicReport report;
    report.compared = target.size();
    Image shrunk;
    ImageView compared = output;
    if (output.size() != target.size()) {
        shrunk = io::resize_image(output, target.size());
        compared = shrunk.view();
    }
    report.psnr = psnr(compared, target);
    report.ssim = ssim(compared, target);

    report.cells = matches.size();
    std::vector<double> differences(matches.size());
#pragma omp parallel for schedule(dynamic, 64)
    for (size_t i = 0; i < matches.size(); ++i) {
        const Tile& t = matches[i].tile;
        // The output cell: the tile's place scaled from the tile size to the render size.
        const int x = t.col * render.width, y = t.row * render.height;
        const Size area{std::min(render.width, output.width - x),
                        std::min(render.height, output.height - y)};
        TESSERA_ASSERT(area.width > 0 && area.height > 0 && t.size.width > 0);
        differences[i] =
            io::ciede2000(mean_colour(output, x, y, area), mean_colour(target, t.x, t.y, t.size));
    }
    double total = 0;
    for (double d : differences) total += d;  // in cell order: the same sum for every thread count
    report.mean_ciede2000 = matches.empty() ? 0 : total / double(matches.size());

    std::unordered_map<uint32_t, uint64_t> uses;
    for (const TileMatch& m : matches) ++uses[m.patch];
    report.distinct_tiles = uses.size();
    for (const auto& [patch, count] : uses) ++report.uses_histogram[count];
    return report;
}

void assignment_figures(MosaicReport& report, const MosaicResult& result,
                        const MosaicOptions& options) {
    report.assignment = result.summary;
    report.max_uses = options.max_uses;
    report.min_distance = options.min_distance;
    report.unspaced_cost = result.unspaced_cost;
}

namespace {

nlohmann::ordered_json assignment_json(const MosaicReport& report) {
    const AssignmentSummary& s = report.assignment;
    const auto or_null = [](auto value, bool present) {
        return present ? nlohmann::ordered_json(value) : nlohmann::ordered_json();
    };
    nlohmann::ordered_json json;
    json["total_cost"] = s.total_cost;
    json["lower_bound"] = s.lower_bound;
    json["certified"] = s.certified;
    json["distinct_tiles"] = s.distinct_patches;
    json["most_uses"] = s.most_uses;
    json["smallest_repeat_distance"] =
        or_null(s.smallest_repeat_distance.value_or(0), s.smallest_repeat_distance.has_value());
    json["max_uses"] = or_null(report.max_uses, report.max_uses > 0);
    json["min_distance"] = or_null(report.min_distance, report.min_distance > 0);
    const uint64_t unspaced = report.unspaced_cost.value_or(0);
    // Below 0 only when an uncertified capped start was not optimal.
    const int64_t gap = int64_t(s.total_cost) - int64_t(unspaced);
    json["cost_without_min_distance"] = or_null(unspaced, report.unspaced_cost.has_value());
    json["gap"] = or_null(gap, report.unspaced_cost.has_value());
    json["relative_gap"] = or_null(unspaced > 0 ? double(gap) / double(unspaced) : 0.0,
                                   report.unspaced_cost.has_value());
    return json;
}

}  // namespace

std::string report_json(const MosaicReport& report, Metric metric, const PhaseTimes& seconds) {
    nlohmann::ordered_json json;
    json["psnr"] =
        std::isinf(report.psnr) ? nlohmann::ordered_json() : nlohmann::ordered_json(report.psnr);
    json["ssim"] = report.ssim ? nlohmann::ordered_json(*report.ssim) : nlohmann::ordered_json();
    json["compared"] = {report.compared.width, report.compared.height};
    json["mean_ciede2000"] = report.mean_ciede2000;
    json["cells"] = report.cells;
    json["distinct_tiles"] = report.distinct_tiles;
    nlohmann::ordered_json histogram = nlohmann::ordered_json::object();
    for (const auto& [count, patches] : report.uses_histogram) {
        histogram[std::to_string(count)] = patches;
    }
    json["uses_histogram"] = histogram;
    json["assignment"] = assignment_json(report);
    json["metric"] = metric_name(metric);
    nlohmann::ordered_json phases = nlohmann::ordered_json::object();
    for (const auto& [phase, elapsed] : seconds.seconds) phases[phase] = elapsed;
    json["seconds"] = phases;
    return json.dump(1) + "\n";
}

}  // namespace tessera::pipeline
