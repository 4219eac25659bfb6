// tessera build: cut patches from source images into a library file.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "tessera/core/text.hpp"
#include "tessera/io/formats.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/library/library.hpp"
#include "tessera/library/params.hpp"
#include "tessera/pipeline/add_sources.hpp"
#include "tessera/pipeline/check_output.hpp"
#include "tessera/search/exact_search_data.hpp"

namespace tessera::cli {

namespace fs = std::filesystem;

CLI::App* add_build_command(CLI::App& app, BuildArgs& args, Console& console) {
    CLI::App* command = app.add_subcommand(
        "build", "Cut patches from source images (files or directories) into a library file.");
    command->footer(
        "A directory stands for the files below it with these extensions (any case; "
        "hidden files and directories skipped):\n  " +
        io::image_extensions());
    command
        ->add_option("inputs", args.inputs,
                     "Image files and directories (searched recursively; see below)")
        ->required()
        ->check(kPath);
    command->add_option("-o,--output", args.output, "Library file to write (e.g. lib.tsr)")
        ->required()
        ->check(kPath);
    command
        ->add_option(
            "--tile", args.tile,
            "Patch size: N or WxH like 16x8, 1 to " + std::to_string(kMaxTileSide) + " per side")
        ->check(size_check("tile"))
        ->capture_default_str();
    command
        ->add_option("--stride", args.stride,
                     "Step between windows: N or WxH, 1 to " + std::to_string(kMaxStrideSide) +
                         " per side [default: the tile size]")
        ->check(size_check("stride"));
    command
        ->add_option("--rotations", args.rotations,
                     "Rotations to store, in degrees counter-clockwise: a comma-separated list "
                     "of any of 0,90,180,270 (repeating the option adds to it)")
        // One value per --rotations, so the inputs after it stay inputs.
        ->allow_extra_args(false)
        ->type_name("LIST")
        ->check(usage_check([](const std::string& text) { parse_rotations(text); }))
        ->capture_default_str();
    command->add_flag("--flips", args.flips, "Also store the mirror image of each rotation");
    command->add_flag("--transform-sources", args.transform_sources,
                      "Rotate/flip each whole source, then cut it on the grid from its top-left "
                      "corner (numpy.rot90 then slicing), instead of each window");
    command->add_flag(
        "--whole", args.whole,
        "Photomosaic library: each image becomes one tile (resampled with an "
        "antialiasing filter, EXIF orientation applied) instead of a grid of windows");
    command
        ->add_option("--render", args.render,
                     "With --whole: the size tiles are rendered at in a mosaic, stored beside the "
                     "tile: N or WxH, at least the tile, at most " +
                         std::to_string(kMaxRenderSide) + " per side [default: the tile size]")
        ->check(size_check("render"));
    command
        ->add_option("--fit", args.fit,
                     "With --whole: how a photo gets the tile's aspect ratio: crop (about the "
                     "centre), pad (black bars) or stretch")
        ->check(CLI::IsMember({"crop", "pad", "stretch"}))
        ->capture_default_str();
    command->add_option("--mode", args.mode, "Pixel mode of the library: gray or rgb")
        ->check(CLI::IsMember({"gray", "rgb"}))
        ->capture_default_str();
    command->add_flag("--strict", args.strict,
                      "Fail on any unreadable or too-small image instead of skipping it");
    command
        ->add_option("--max-pixels", args.max_pixels,
                     "Refuse images with more pixels than this (decompression bombs)")
        ->check(kPositiveCount)
        ->capture_default_str();
    command
        ->add_option("--max-library-bytes", args.max_library_bytes,
                     "Refuse a build whose library would be larger than this, estimated from the "
                     "images' headers before decoding (as is one larger than the free disk space)")
        ->check(kPositiveCount)
        ->capture_default_str();
    command->add_option("--threads", args.threads, "Images decoded at once, 0 = all cores")
        ->check(kThreadCount)
        ->capture_default_str();
    command->add_flag("-q,--quiet", console.quiet, "No progress, warnings only");
    return command;
}

int run_build(const BuildArgs& args, const Console& console) {
    const auto start = std::chrono::steady_clock::now();
    LibraryParams params;
    try {
        params.tile = parse_size(args.tile, "tile");
        params.stride = args.stride.empty() ? params.tile : parse_size(args.stride, "stride");
        params.mode = parse_mode(args.mode);
        std::vector<int> degrees;
        for (const std::string& list : args.rotations) {
            for (int d : parse_rotations(list)) degrees.push_back(d);
        }
        params.transforms = transforms_from(degrees, args.flips);
        if (args.whole) {
            if (!args.stride.empty()) {
                throw Error("--stride cuts windows; a --whole library has one tile per image");
            }
            if (args.transform_sources) {
                throw Error(
                    "--transform-sources cuts windows; a --whole library has one tile "
                    "per image");
            }
            params.kind = LibraryKind::whole;
            params.fit = args.fit == "pad"       ? Fit::pad
                         : args.fit == "stretch" ? Fit::stretch
                                                 : Fit::crop;
            if (!args.render.empty()) params.render = parse_size(args.render, "render");
            if (params.render == params.tile) params.render = {0, 0};
        } else if (!args.render.empty() || args.fit != "crop") {
            throw Error(std::string(args.render.empty() ? "--fit" : "--render") +
                        " applies to whole-photo libraries: add --whole");
        }
        params.validate();
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    LibraryBuilder builder(
        params, exact_search_data(),
        args.transform_sources ? WindowGrid::TransformedSource : WindowGrid::Source);
    std::vector<pipeline::SourceInput> inputs;
    for (const std::string& input : args.inputs) {
        std::error_code ec;
        if (!fs::exists(input, ec) &&
            (input == "0" || input == "90" || input == "180" || input == "270")) {
            throw UsageError(input +
                             ": no such file or directory; --rotations takes one list, "
                             "comma-separated: --rotations 0,90");
        }
        inputs.push_back({input, {}});
    }
    console.status("%s", "build: finding images");
    const std::vector<pipeline::Source> sources = pipeline::expand_inputs(inputs);
    // Checked against every file found, so an output inside an input folder cannot replace one.
    std::vector<std::string> input_files;
    for (const pipeline::Source& s : sources) input_files.push_back(s.path);
    pipeline::check_output(args.output, input_files);
    console.status("%s", "build: estimating the library's size");
    pipeline::check_library_size(
        builder, sources,
        {args.max_library_bytes, "--max-library-bytes", args.max_pixels, args.output},
        args.threads);

    const pipeline::AddSummary summary = pipeline::add_sources(
        builder, sources, {args.strict, {args.max_pixels, "--max-pixels"}, args.threads},
        [&](const std::string& message) { console.warn(message); },
        [&](size_t done, size_t total) {
            console.status("build: decoding %zu/%zu images, %zu patches", done, total,
                           builder.patch_count());
        });
    const size_t used = builder.source_count();
    console.status("build: building the search index of %zu patches", builder.patch_count());
    Library library = builder.finish();
    console.status("build: writing %s", args.output.c_str());
    library.save(args.output);
    console.end_status();
    if (!console.quiet) {
        std::fprintf(stderr,
                     "tessera build: %s used; skipped: %zu unreadable, %zu over --max-pixels, %zu "
                     "too small; %s, %s, %.2f s -> %s\n",
                     count_text(used, "source", "sources").c_str(), summary.skipped,
                     summary.over_limit, summary.too_small,
                     count_text(library.patch_count(), "patch", "patches").c_str(),
                     bytes_text(library.file_bytes()).c_str(), seconds_since(start),
                     printable(args.output).c_str());
    }
    return 0;
}

}  // namespace tessera::cli
