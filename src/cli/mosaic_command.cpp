// tessera mosaic: rebuild a target image from a library's patches.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "tessera/core/text.hpp"
#include "tessera/io/formats.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/pipeline/check_output.hpp"
#include "tessera/pipeline/matches_file.hpp"
#include "tessera/pipeline/metric.hpp"
#include "tessera/pipeline/mosaic_job.hpp"
#include "tessera/pipeline/mosaic_report.hpp"
#include "tessera/pipeline/options.hpp"
#include "tessera/pipeline/poster.hpp"

namespace tessera::cli {

namespace {

CLI::Validator fraction_check() {
    return CLI::Validator(
        [](std::string& text) {
            return pipeline::parse_fraction(text) ? std::string()
                                                  : pipeline::fraction_message(text);
        },
        "A");
}

// --metric, --color, --blend, --report, --timings.
void add_look_options(CLI::App& command, MosaicArgs& args) {
    command
        .add_option("--metric", args.metric,
                    "What matching compares: rgb (squared L2 on the pixel bytes) or lab (squared "
                    "L2 on CIELAB, D65, as bytes: L*255/100, a+128, b+128, rounded; rgb "
                    "libraries only; converts the library in memory first)")
        ->check(CLI::Validator(
            [](std::string& text) {
                return text == "rgb" || text == "lab" ? std::string()
                                                      : pipeline::metric_message(text);
            },
            "rgb|lab"))
        ->capture_default_str();
    command
        .add_option("--color", args.color,
                    "Move each placed tile's colour this fraction (0 to 1) toward its cell of the "
                    "target: mean and standard deviation per CIELAB channel (Reinhard; the gray "
                    "level for a gray library); 0 leaves the tiles' pixels untouched")
        ->check(fraction_check())
        ->capture_default_str();
    command
        .add_option("--blend", args.blend,
                    "Mix this fraction (0 to 1) of the target itself into the output: what "
                    "metapixel calls cheating; 1 gives the target back, 0 the mosaic alone")
        ->check(fraction_check())
        ->capture_default_str();
    command
        .add_option("--report", args.report,
                    "Also write a quality report (JSON): PSNR and SSIM (7x7 windows, as "
                    "scikit-image) of the rendered pixels against the target, mean CIEDE2000 of "
                    "cell colours, distinct tiles, uses per tile, seconds per phase")
        ->check(kPath);
    command
        .add_option("--timings", args.timings,
                    "Also write the seconds of each phase (JSON): open, verify, decode, search, "
                    "assign (with --max-uses), space (with --min-distance), render, encode, and "
                    "what else ran")
        ->check(kPath);
}

}  // namespace

CLI::App* add_mosaic_command(CLI::App& app, MosaicArgs& args, Console& console) {
    CLI::App* command = app.add_subcommand(
        "mosaic", "Rebuild a target image from the library's patches, tile by tile.");
    command->add_option("library", args.library, "Library file from tessera build")
        ->required()
        ->check(kPath);
    command
        ->add_option("targets", args.targets,
                     "Image to rebuild; several, or directories (searched like build's inputs), "
                     "with --out-dir")
        ->required()
        ->check(kPath);
    command
        ->add_option(
            "-o,--output", args.output,
            "Output image; the format follows the extension (.png, .jpg, .tif, .webp; .ppm for "
            "an rgb library, .pgm for a gray one, .pnm for either); a .jpg side is at most 65500 "
            "pixels, a .webp side 16383; required without --out-dir")
        ->check(kPath);
    command
        ->add_option("--matches", args.matches,
                     "Also write one row per tile (.csv or .json): tile position, patch id, "
                     "source, source position, transform, distance")
        ->check(kPath);
    command
        ->add_option("--quality", args.quality,
                     "JPEG or WebP quality, 1 to 100 (a .png, .tif or .pnm is lossless)")
        ->check(whole_number(1, pipeline::kMaxQuality))
        ->capture_default_str();
    command->add_option("--threads", args.threads, "Worker threads, 0 = all cores")
        ->check(kThreadCount)
        ->capture_default_str();
    command
        ->add_option("--max-pixels", args.max_pixels, "Refuse a target with more pixels than this")
        ->check(kPositiveCount)
        ->capture_default_str();
    command
        ->add_option("--max-uses", args.max_uses,
                     "Place no patch in more than this many tiles: the assignment with the "
                     "smallest total distance under that limit, proven optimal [default: no "
                     "limit]")
        ->check(whole_number(1, std::numeric_limits<uint32_t>::max()));
    command
        ->add_option("--min-distance", args.min_distance,
                     "Place no patch twice within D tiles (Chebyshev distance on the grid: 1 "
                     "forbids side by side and diagonal): the optimal assignment (under "
                     "--max-uses) repaired in row-major order, each tile that repeats one above "
                     "or to its left taking its nearest patch that does not (where none is "
                     "left, the best layout repeating every D+1 tiles); the cost above the "
                     "optimum is in the summary and --report [default: no limit]")
        ->type_name("D")
        ->check(whole_number(1, std::numeric_limits<int32_t>::max()));
    command
        ->add_option("--grid", args.grid,
                     "Resample the target (libvips) to COLS or COLSxROWS cells of the tile size; "
                     "ROWS follows the target's aspect ratio when not given [default: cells at "
                     "the target's own resolution]")
        ->type_name("COLS[xROWS]");
    command
        ->add_option("--render-size", args.render_size,
                     "Render each cell at N or WxH pixels, from the tile size up to the library's "
                     "render size [default: the library's render size]")
        ->check(size_check("render size"));
    add_look_options(*command, args);
    add_many_options(*command, args);
    command->add_flag("-q,--quiet", console.quiet, "No progress or summary");
    return command;
}

namespace {

// "80" or "80x60": columns, and rows (0 when not given); a usage error otherwise.
std::pair<int64_t, int64_t> parse_grid(const std::string& text) {
    const size_t x = text.find('x');
    const auto number = [&](std::string_view part) {
        int64_t n = -1;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
        if (part.empty() || ec != std::errc() || end != part.data() + part.size() || n < 1) {
            throw UsageError("--grid " + text +
                             ": give COLS or COLSxROWS, each a whole number of at least 1");
        }
        return n;
    };
    const std::string_view all(text);
    if (x == std::string::npos) return {number(all), 0};
    return {number(all.substr(0, x)), number(all.substr(x + 1))};
}

// Refuses, before the library's checksum pass and any work, outputs that cannot be written.
void check_outputs(const MosaicArgs& args, Mode mode) {
    pipeline::check_output(args.output, {args.library, args.target});
    io::check_output_format(args.output, mode);
    if (args.quality_given && !io::lossy_format(args.output)) {
        throw UsageError("--quality is for .jpg and .webp outputs; " + args.output +
                         " is written without loss");
    }
    if (!args.matches.empty()) {
        pipeline::check_matches_format(args.matches);
        pipeline::check_distinct_outputs(args.output, args.matches);
        pipeline::check_output(args.matches, {args.library, args.target, args.output});
    }
    std::vector<std::string> written{args.output};
    if (!args.matches.empty()) written.push_back(args.matches);
    for (const std::string* side : {&args.report, &args.timings}) {
        if (side->empty()) continue;
        for (const std::string& other : written) pipeline::check_distinct_outputs(other, *side);
        std::vector<std::string> others{args.library, args.target};
        others.insert(others.end(), written.begin(), written.end());
        pipeline::check_output(*side, others);
        written.push_back(*side);
    }
}

}  // namespace

std::string assignment_summary(const pipeline::MosaicResult& result) {
    if (!result.capped && !result.unspaced_cost) return "";
    const AssignmentSummary& s = result.summary;
    std::string text = ", total cost " + std::to_string(s.total_cost);
    if (result.unspaced_cost) {
        const int64_t gap = int64_t(s.total_cost) - int64_t(*result.unspaced_cost);
        char percent[32];
        std::snprintf(
            percent, sizeof percent, "%.2f%%",
            *result.unspaced_cost > 0 ? 100.0 * double(gap) / double(*result.unspaced_cost) : 0.0);
        text += " (" + std::to_string(gap) + ", " + percent + ", above the " +
                (result.capped && !result.capped->certified ? "cost" : "optimum") +
                " without --min-distance; " + count_text(result.respaced_tiles, "tile", "tiles") +
                " changed)";
    } else {
        text += s.certified ? " (optimal, certified)"
                            : " (lower bound " + std::to_string(s.lower_bound) + ")";
    }
    return text + ", " + count_text(s.distinct_patches, "distinct patch", "distinct patches") +
           ", at most " + count_text(s.most_uses, "use", "uses") + " each" +
           (s.smallest_repeat_distance
                ? ", repeats " + std::to_string(*s.smallest_repeat_distance) +
                      " or more tiles apart"
                : std::string());
}

int run_mosaic(const MosaicArgs& args, const Console& console) {
    const auto start = std::chrono::steady_clock::now();
    const pipeline::Metric metric = pipeline::check_metric(args.metric, "--metric");
    pipeline::PhaseTimes seconds;
    const Library library = pipeline::open_library(
        args.library,
        [&](const Library& opened) {
            pipeline::check_metric_for(metric, opened, "--metric");
            check_outputs(args, opened.params().mode);
            console.status("mosaic: checking %s", args.library.c_str());
        },
        &seconds);
    Size render_size{0, 0};
    try {
        if (!args.render_size.empty()) render_size = parse_size(args.render_size, "render size");
        render_size = pipeline::render_size_for(library, render_size, "--render-size");
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    console.status("mosaic: decoding %s", args.target.c_str());
    io::LoadedImage target = seconds.time("decode", [&] {
        return io::load_image(args.target, library.params().mode,
                              {args.max_pixels, "--max-pixels"});
    });
    const Size tile = library.params().tile;
    if (!args.grid.empty()) {
        const auto [columns, rows] = parse_grid(args.grid);
        const Size cells = pipeline::grid_cells(target.image.size(), tile, columns, rows,
                                                args.max_pixels, "--grid");
        // The poster's size is refused before the target is resampled to the grid.
        io::check_output_size(args.output,
                              rendered_size({cells.width * tile.width, cells.height * tile.height},
                                            tile, render_size),
                              "the mosaic of " + args.target);
        console.status("mosaic: resampling %s to %dx%d cells", args.target.c_str(), cells.width,
                       cells.height);
        target.image = seconds.time(
            "decode", [&] { return pipeline::resample_to_grid(target.image.view(), tile, cells); });
    }
    io::check_output_size(args.output, rendered_size(target.image.size(), tile, render_size),
                          "the mosaic of " + args.target);
    std::optional<pipeline::MatchSpace> lab;
    if (metric == pipeline::Metric::lab) {
        console.status("mosaic: converting %s to CIELAB", args.library.c_str());
        lab = seconds.time("lab",
                           [&] { return pipeline::lab_match_space(library, target.image.view()); });
    }
    console.status("mosaic: cutting %s into tiles", args.target.c_str());
    const auto searcher = make_exact_searcher(lab ? lab->library : library, args.threads);
    const pipeline::MosaicEvents events = {
        [&](const std::string& phase) { console.status("mosaic: %s", phase.c_str()); },
        [&](size_t done, size_t total) {
            console.status("mosaic: matching %zu/%zu tiles", done, total);
        }};
    pipeline::MosaicOptions options{args.max_uses};
    options.min_distance = args.min_distance;
    options.render_size = render_size;
    // A poster is encoded strip by strip, never whole in memory, unless a colour transfer, a
    // blend or a report needs the whole image.
    options.render_in_memory =
        render_size == tile || args.color > 0 || args.blend > 0 || !args.report.empty();
    options.matched = lab ? &*lab : nullptr;
    options.color = args.color;
    options.blend = args.blend;
    pipeline::MosaicResult result =
        pipeline::make_mosaic(library, *searcher, target.image.view(), events, options);
    std::optional<pipeline::MosaicReport> report;
    if (!args.report.empty()) {
        console.status("mosaic: measuring the mosaic for %s", args.report.c_str());
        report = result.seconds.time("report", [&] {
            return pipeline::make_report(result.image.view(), target.image.view(), result.matches,
                                         library.params().tile);
        });
        pipeline::assignment_figures(*report, result, options);
    }
    const pipeline::SideFiles side_files = [&](const pipeline::MosaicResult& written) {
        pipeline::PhaseTimes all = seconds;
        all.merge(written.seconds);
        std::vector<std::pair<std::string, std::string>> files;
        if (report) files.emplace_back(args.report, pipeline::report_json(*report, metric, all));
        if (!args.timings.empty())
            files.emplace_back(args.timings, pipeline::phase_times_json(all));
        return files;
    };
    pipeline::write_mosaic(result, library, target.image, args.output, args.matches, args.quality,
                           !console.quiet, events, side_files);
    if (!console.quiet) {
        console.end_status();
        std::fprintf(stderr, "tessera mosaic: %s of %s, %.3f s, PSNR %.2f dB%s%s -> %s\n",
                     count_text(result.matches.size(), "tile", "tiles").c_str(),
                     size_text(library.params().tile).c_str(), seconds_since(start), result.psnr,
                     result.psnr_before_encoding ? " before encoding" : "",
                     assignment_summary(result).c_str(), printable(args.output).c_str());
    }
    return 0;
}

}  // namespace tessera::cli
