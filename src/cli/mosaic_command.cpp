// tessera mosaic: rebuild a target image from a library's patches.
#include <chrono>
#include <cstdio>
#include <limits>
#include <string>

#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "tessera/core/text.hpp"
#include "tessera/io/formats.hpp"
#include "tessera/pipeline/check_output.hpp"
#include "tessera/pipeline/matches_file.hpp"
#include "tessera/pipeline/mosaic_job.hpp"
#include "tessera/pipeline/options.hpp"

namespace tessera::cli {

CLI::App* add_mosaic_command(CLI::App& app, MosaicArgs& args, Console& console) {
    CLI::App* command = app.add_subcommand(
        "mosaic", "Rebuild a target image from the library's patches, tile by tile.");
    command->add_option("library", args.library, "Library file from tessera build")
        ->required()
        ->check(kPath);
    command->add_option("target", args.target, "Image to rebuild")->required()->check(kPath);
    command
        ->add_option(
            "-o,--output", args.output,
            "Output image; the format follows the extension (.png, .jpg, .tif, .webp; .ppm for "
            "an rgb library, .pgm for a gray one, .pnm for either); a .jpg side is at most 65500 "
            "pixels, a .webp side 16383")
        ->required()
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
    command->add_flag("-q,--quiet", console.quiet, "No progress or summary");
    return command;
}

namespace {

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
}

// With --max-uses: the assignment's total cost, whether it was proven optimal, and its use counts.
std::string capped_summary(const pipeline::MosaicResult& result) {
    if (!result.capped) return "";
    const CappedAssignment& a = *result.capped;
    return ", total cost " + std::to_string(a.total_cost) +
           (a.certified ? " (optimal, certified)"
                        : " (lower bound " + std::to_string(a.lower_bound) + ")") +
           ", " + count_text(a.distinct_tiles, "distinct patch", "distinct patches") +
           ", at most " + count_text(a.most_uses, "use", "uses") + " each" +
           (result.summary.smallest_repeat_distance
                ? ", repeats " + std::to_string(*result.summary.smallest_repeat_distance) +
                      " or more tiles apart"
                : std::string());
}

}  // namespace

int run_mosaic(const MosaicArgs& args, const Console& console) {
    const auto start = std::chrono::steady_clock::now();
    const Library library = pipeline::open_library(args.library, [&](const Library& opened) {
        check_outputs(args, opened.params().mode);
        console.status("mosaic: checking %s", args.library.c_str());
    });
    console.status("mosaic: decoding %s", args.target.c_str());
    const io::LoadedImage target =
        io::load_image(args.target, library.params().mode, {args.max_pixels, "--max-pixels"});
    io::check_output_size(args.output, target.image.size(), "the mosaic of " + args.target);
    console.status("mosaic: cutting %s into tiles", args.target.c_str());
    const auto searcher = make_exact_searcher(library, args.threads);
    const pipeline::MosaicEvents events = {
        [&](const std::string& phase) { console.status("mosaic: %s", phase.c_str()); },
        [&](size_t done, size_t total) {
            console.status("mosaic: matching %zu/%zu tiles", done, total);
        }};
    pipeline::MosaicResult result =
        pipeline::make_mosaic(library, *searcher, target.image.view(), events, {args.max_uses});
    pipeline::write_mosaic(result, library, target.image, args.output, args.matches, args.quality,
                           !console.quiet, events);
    if (!console.quiet) {
        console.end_status();
        std::fprintf(stderr, "tessera mosaic: %s of %s, %.3f s, PSNR %.2f dB%s%s -> %s\n",
                     count_text(result.matches.size(), "tile", "tiles").c_str(),
                     size_text(library.params().tile).c_str(), seconds_since(start), result.psnr,
                     result.psnr_before_encoding ? " before encoding" : "",
                     capped_summary(result).c_str(), printable(args.output).c_str());
    }
    return 0;
}

}  // namespace tessera::cli
