// tessera mosaic with --out-dir: many targets against one library, opened and checked once.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/text.hpp"
#include "tessera/io/formats.hpp"
#include "tessera/pipeline/add_sources.hpp"
#include "tessera/pipeline/check_output.hpp"
#include "tessera/pipeline/matches_file.hpp"
#include "tessera/pipeline/mosaic_job.hpp"

namespace tessera::cli {

namespace fs = std::filesystem;

void add_many_options(CLI::App& command, MosaicArgs& args) {
    command
        .add_option("--out-dir", args.out_dir,
                    "Rebuild every target into this directory (made if missing) as "
                    "<stem>.<format>, instead of -o; a failed target is reported and counted, "
                    "the others go on")
        ->check(kPath);
    command
        .add_option("--format", args.format,
                    "With --out-dir: the outputs' format, by extension (png, jpg, tif, webp, pnm; "
                    "pgm/ppm by mode)")
        ->capture_default_str();
    command
        .add_option("--matches-format", args.matches_format,
                    "With --out-dir: also write each target's matches as <stem>.csv or "
                    "<stem>.json beside its image")
        ->check(CLI::IsMember({"csv", "json"}));
    command.add_flag("--strict", args.strict,
                     "With --out-dir: stop at the first target that fails (its output unwritten)");
}

MosaicArgs single_target(const MosaicArgs& args) {
    if (args.targets.size() > 1) {
        throw UsageError(count_text(args.targets.size(), "target", "targets") +
                         " given: several targets (or a directory) need --out-dir DIR");
    }
    if (args.output.empty()) throw UsageError("--output is required (or --out-dir DIR)");
    if (args.format_given || !args.matches_format.empty() || args.strict) {
        throw UsageError("--format, --matches-format and --strict go with --out-dir");
    }
    std::error_code ec;
    if (fs::is_directory(args.targets.front(), ec)) {
        throw UsageError(args.targets.front() +
                         " is a directory: --out-dir DIR rebuilds the images in it");
    }
    MosaicArgs single = args;
    single.target = args.targets.front();
    return single;
}

namespace {

struct Target {
    std::string path;
    std::string problem;  // io::FoundImage::problem: found in a directory but not readable
    std::string output;
    std::string matches;  // empty without --matches-format
};

// The targets in order, directories expanded as build expands its inputs, each with its output
// names; two targets that would write the same name are refused before anything is written.
std::vector<Target> plan_targets(const MosaicArgs& args) {
    if (!args.output.empty()) throw UsageError("--output names one output; --out-dir replaces it");
    if (!args.matches.empty()) {
        throw UsageError("with --out-dir, --matches-format csv|json writes each target's matches");
    }
    // Each target of a batch takes the plain path (make_mosaic with the repeat cap only).
    if (!args.grid.empty() || !args.render_size.empty() || args.metric != "rgb" || args.color > 0 ||
        args.blend > 0 || !args.report.empty() || !args.timings.empty()) {
        throw UsageError(
            "--grid, --render-size, --metric, --color, --blend, --report and --timings are for "
            "one target (-o) and not yet taken with --out-dir: run one target at a time");
    }
    if (args.format.empty() || args.format.find('/') != std::string::npos) {
        throw UsageError("--format " + args.format + ": give an extension such as png or jpg");
    }
    std::vector<pipeline::SourceInput> inputs;
    for (const std::string& path : args.targets) inputs.push_back({path, {}});
    std::vector<Target> targets;
    std::map<std::string, std::string> by_stem;
    for (pipeline::Source& source : pipeline::expand_inputs(inputs)) {
        const std::string stem = fs::path(source.path).stem().string();
        const auto [first, added] = by_stem.emplace(stem, source.path);
        if (!added && first->second == source.path) {
            throw Error(source.path + ": given twice; each target is rebuilt once");
        }
        if (!added) {
            throw Error(first->second + " and " + source.path + " would both be written as " +
                        (fs::path(args.out_dir) / stem).string() +
                        ".*; rename one or run them separately");
        }
        const fs::path base = fs::path(args.out_dir) / stem;
        targets.push_back(
            {std::move(source.path), std::move(source.problem), base.string() + "." + args.format,
             args.matches_format.empty() ? "" : base.string() + "." + args.matches_format});
    }
    return targets;
}

// What single-target mosaic refuses before any work, for every output; makes the directory.
void check_outputs(const MosaicArgs& args, const std::vector<Target>& targets, Mode mode) {
    const std::string& first = targets.front().output;
    io::check_output_format(first, mode);
    if (args.quality_given && !io::lossy_format(first)) {
        throw UsageError("--quality is for jpg and webp outputs; --format " + args.format +
                         " is written without loss");
    }
    std::error_code ec;
    fs::create_directories(args.out_dir, ec);
    if (ec) throw Error(args.out_dir + ": cannot make the directory (" + ec.message() + ")");
    std::vector<std::string> inputs{args.library};
    for (const Target& t : targets) inputs.push_back(t.path);
    for (const Target& t : targets) {
        pipeline::check_output(t.output, inputs);
        if (!t.matches.empty()) pipeline::check_output(t.matches, inputs);
    }
}

// One target, from decoding to its files; throws what fails it.
void run_target(const MosaicArgs& args, const Library& library, const Searcher& searcher,
                const Target& target, const std::string& position, const Console& console) {
    const auto start = std::chrono::steady_clock::now();
    if (!target.problem.empty()) throw Error(target.path + ": " + target.problem);
    const char* name = target.path.c_str();
    console.status("mosaic %s: decoding %s", position.c_str(), name);
    const io::LoadedImage image =
        io::load_image(target.path, library.params().mode, {args.max_pixels, "--max-pixels"});
    io::check_output_size(target.output, image.image.size(), "the mosaic of " + target.path);
    const pipeline::MosaicEvents events = {
        [&](const std::string& phase) {
            console.status("mosaic %s: %s: %s", position.c_str(), name, phase.c_str());
        },
        [&](size_t done, size_t total) {
            console.status("mosaic %s: %s: matching %zu/%zu tiles", position.c_str(), name, done,
                           total);
        }};
    pipeline::MosaicResult result =
        pipeline::make_mosaic(library, searcher, image.image.view(), events,
                              {.max_uses = args.max_uses, .min_distance = args.min_distance});
    pipeline::write_mosaic(result, library, image.image, target.output, target.matches,
                           args.quality, !console.quiet, events);
    if (!console.quiet) {
        console.end_status();
        std::fprintf(stderr, "tessera mosaic: %s: %s, %.3f s, PSNR %.2f dB%s%s -> %s\n",
                     printable(target.path).c_str(),
                     count_text(result.matches.size(), "tile", "tiles").c_str(),
                     seconds_since(start), result.psnr,
                     result.psnr_before_encoding ? " before encoding" : "",
                     assignment_summary(result).c_str(), printable(target.output).c_str());
    }
}

}  // namespace

int run_mosaic_many(const MosaicArgs& args, const Console& console) {
    const auto start = std::chrono::steady_clock::now();
    console.status("%s", "mosaic: finding targets");
    const std::vector<Target> targets = plan_targets(args);
    const Library library = pipeline::open_library(args.library, [&](const Library& opened) {
        check_outputs(args, targets, opened.params().mode);
        console.status("mosaic: checking %s", args.library.c_str());
    });
    const auto searcher = make_exact_searcher(library, args.threads);
    size_t failed = 0;
    for (size_t i = 0; i < targets.size(); ++i) {
        const std::string position = std::to_string(i + 1) + "/" + std::to_string(targets.size());
        try {
            run_target(args, library, *searcher, targets[i], position, console);
        } catch (const UsageError&) {
            throw;
        } catch (const std::exception& e) {  // Error, bad_alloc, a library's exception
            if (args.strict) throw;
            ++failed;
            // Named by its target, which the engine's messages need not name.
            const std::string& path = targets[i].path;
            std::string message =
                dynamic_cast<const std::bad_alloc*>(&e) ? "out of memory" : e.what();
            if (!message.starts_with(path)) message = path + ": " + message;
            console.end_status();
            std::fprintf(stderr, "tessera: %s\n", printable(message).c_str());
        }
    }
    if (!console.quiet) {
        console.end_status();
        std::fprintf(stderr, "tessera mosaic: %s, %zu written, %zu failed, %.3f s -> %s\n",
                     count_text(targets.size(), "target", "targets").c_str(),
                     targets.size() - failed, failed, seconds_since(start),
                     printable(args.out_dir).c_str());
    }
    return failed == 0 ? 0 : 1;
}

}  // namespace tessera::cli
