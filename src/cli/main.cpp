// The tessera command: thin over the core library and the image I/O layer.
// Exit codes: 0 success, 1 failure (message on stderr), 2 usage error.
#include <limits.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/io/image_io.hpp"
#include "tessera/library/library.hpp"
#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/match.hpp"
#include "tessera/mosaic/quality.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/mosaic/tile_source.hpp"
#include "tessera/search/search.hpp"
#include "tessera/pipeline/sources.hpp"

namespace fs = std::filesystem;
using namespace tessera;

namespace {

// Warnings, and on a terminal one status line, rewritten in place, naming what is being done;
// the summary replaces it.
struct Console {
    bool quiet = false;
    mutable std::string phase;  // the last status, shown or not: what an out-of-memory error names
    bool progress() const { return !quiet && ::isatty(STDERR_FILENO); }
    void warn(const std::string& message) const {
        if (progress()) std::cerr << "\r\033[K";
        std::cerr << "tessera: warning: " << message << "\n";
    }
    template <typename... Args>
    void status(const char* format, Args... args) const {
        std::string line(size_t(std::snprintf(nullptr, 0, format, args...)), '\0');
        std::snprintf(line.data(), line.size() + 1, format, args...);
        phase = line;
        if (!progress()) return;
        // A line as wide as the terminal would wrap, and "\r" would no longer go back to its start:
        // cut it short (at a UTF-8 character boundary).
        winsize terminal{};
        if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &terminal) == 0 && terminal.ws_col > 0 &&
            line.size() >= terminal.ws_col) {
            size_t end = terminal.ws_col - 1;
            while (end > 0 && (uint8_t(line[end]) & 0xC0) == 0x80) --end;
            line.resize(end);
        }
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        std::fflush(stderr);
    }
    void end_status() const {
        if (progress()) std::fprintf(stderr, "\r\033[K");
    }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A bad option value found after parsing (a zero tile, a quarter turn of a non-square tile):
// reported like CLI11's own usage errors, with exit status 2.
struct UsageError : Error {
    using Error::Error;
};

// Refuses, before any work, an output that cannot be written or that would replace an input.
// What is not a regular file and a missing directory are refused by output_target, the rule
// AtomicFile applies when writing; the rest is checked where the file will really go: the end of
// a chain of symbolic links.
void check_output(const std::string& output, const std::vector<std::string>& inputs) {
    const fs::path target = output_target(output);
    fs::path dir = target.parent_path();
    if (dir.empty()) dir = ".";
    if (::access(dir.c_str(), W_OK) != 0) {
        throw Error(output + ": cannot write in " + dir.string() + " (permission denied)");
    }
    if (target.filename().string().size() > NAME_MAX) {
        throw Error(output + ": the file name is longer than " + std::to_string(NAME_MAX) +
                    " bytes; choose a shorter one");
    }
    std::error_code ec;
    for (const std::string& input : inputs) {
        if (fs::exists(input, ec) && fs::equivalent(input, target, ec)) {
            throw Error(output + ": would overwrite the input " + input +
                        "; choose another output");
        }
    }
}

// Digits only, from `low` to `high`: CLI11's own checks accept "1.5" or "1e9" for an integer
// option, or call them out of a range they print as floats.
CLI::Validator whole_number(uint64_t low, uint64_t high) {
    return CLI::Validator(
        [low, high](std::string& text) {
            uint64_t value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            const bool ok = !text.empty() && ec == std::errc() &&
                            end == text.data() + text.size() && value >= low && value <= high;
            return ok ? std::string()
                      : "'" + text + "' is not a whole number from " + std::to_string(low) +
                            " to " + std::to_string(high);
        },
        "N");
}
const CLI::Validator kThreadCount = whole_number(0, 4096);
const CLI::Validator kPositiveCount = whole_number(1, UINT64_MAX);

// Wherever a path is expected: "" would otherwise fail late with a message naming nothing.
const CLI::Validator kPath(
    [](std::string& text) {
        return text.empty() ? std::string("an empty path; give a file name") : std::string();
    },
    "");

// ---- build ----

// "0,90" -> {0, 90}, each an angle transforms_from takes. CLI11's own splitting would drop the
// empty items of "0," or ",90" without a word.
std::vector<int> parse_rotations(const std::string& list) {
    std::vector<int> degrees;
    for (size_t start = 0; start <= list.size();) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const std::string_view item(list.data() + start, comma - start);
        int angle = 0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), angle);
        if (item.empty() || ec != std::errc() || end != item.data() + item.size()) {
            throw Error("'" + list + "' is not a comma-separated list of angles like 0,90");
        }
        transforms_from({angle}, false);  // the core's message for an angle it does not take
        degrees.push_back(angle);
        start = comma + 1;
    }
    return degrees;
}

struct BuildArgs {
    std::vector<std::string> inputs;
    std::string output;
    std::string tile = "16";
    std::string stride;
    std::vector<std::string> rotations{"0"};  // each a comma-separated list
    bool flips = false;
    std::string mode = "rgb";
    bool strict = false;
    int threads = 0;
    uint64_t max_pixels = io::kDefaultMaxPixels;
};

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
        params.validate();
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    LibraryBuilder builder(params);
    std::vector<io::SourceInput> inputs;
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
    console.status("build: finding images");
    const std::vector<io::Source> sources = io::expand_inputs(inputs);
    // Checked against every file found, so an output inside an input folder cannot replace one.
    std::vector<std::string> input_files;
    for (const io::Source& s : sources) input_files.push_back(s.path);
    check_output(args.output, input_files);

    const io::AddSummary summary = io::add_sources(
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
        std::fprintf(
            stderr,
            "tessera build: %s used; skipped: %zu unreadable, %zu over --max-pixels, %zu "
            "too small; %s, %s, %.2f s -> %s\n",
            count_text(used, "source", "sources").c_str(), summary.skipped, summary.over_limit,
            summary.too_small, count_text(library.size(), "patch", "patches").c_str(),
            bytes_text(library.file_bytes()).c_str(), seconds_since(start), args.output.c_str());
    }
    return 0;
}

// ---- mosaic ----

struct MosaicArgs {
    std::string library;
    std::string target;
    std::string output;
    std::string matches;
    int threads = 0;
    uint64_t max_pixels = io::kDefaultMaxPixels;
    int quality = io::kDefaultQuality;
    bool quality_given = false;
};

// Writes the --matches file into `file` row by row, through a buffer: never the whole text in
// memory.
void write_matches(AtomicFile& file, const Library& library,
                   const std::vector<TileMatch>& matches) {
    const bool json = io::extension_of(file.path()) == ".json";
    // Each source name quoted once. JSON strings are UTF-8: a name that is not (file names are
    // bytes) has each bad byte replaced by U+FFFD. The CSV keeps the bytes, quoted as RFC 4180
    // says: wrapped in quotes, the quotes inside doubled.
    std::vector<std::string> names;
    for (const SourceInfo& s : library.sources()) {
        if (json) {
            names.push_back(nlohmann::json(s.path).dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace));
            continue;
        }
        std::string quoted = "\"";
        for (char c : s.path) {
            if (c == '"') quoted += '"';
            quoted += c;
        }
        names.push_back(quoted + '"');
    }
    std::string buffer;
    const auto put = [&](const auto&... parts) {
        ((buffer += parts), ...);
        if (buffer.size() >= (size_t(1) << 16)) {
            file.write(buffer.data(), buffer.size());
            buffer.clear();
        }
    };
    using std::to_string;
    // The layout nlohmann::json's dump(1) gives an array of objects: keys in sorted order.
    if (json) put(matches.empty() ? "[]" : "[\n");
    if (!json) put("row,col,x,y,patch,source,source_x,source_y,transform,distance\n");
    for (size_t i = 0; i < matches.size(); ++i) {
        const TileMatch& m = matches[i];
        const PatchOrigin& o = library.origins()[m.patch];
        const std::string_view transform = transform_name(Transform(o.transform));
        if (json) {
            put(" {\n  \"col\": ", to_string(m.tile.col),
                ",\n  \"distance\": ", to_string(m.distance),
                ",\n  \"patch\": ", to_string(m.patch), ",\n  \"row\": ", to_string(m.tile.row),
                ",\n  \"source\": ", names[o.source], ",\n  \"source_x\": ", to_string(o.x),
                ",\n  \"source_y\": ", to_string(o.y), ",\n  \"transform\": \"", transform,
                "\",\n  \"x\": ", to_string(m.tile.x), ",\n  \"y\": ", to_string(m.tile.y),
                i + 1 < matches.size() ? "\n },\n" : "\n }\n]");
        } else {
            put(to_string(m.tile.row), ",", to_string(m.tile.col), ",", to_string(m.tile.x), ",",
                to_string(m.tile.y), ",", to_string(m.patch), ",", names[o.source], ",",
                to_string(o.x), ",", to_string(o.y), ",", transform, ",", to_string(m.distance),
                "\n");
        }
    }
    if (json) put("\n");
    file.write(buffer.data(), buffer.size());
}

// The summary's PSNR of the mosaic against the target. JPEG and WebP lose some of the mosaic, so
// theirs is of the file as written, read back before it replaces anything, as best effort: `out`
// is freed first, so reading back takes no more memory than the mosaic did, and should it fail
// anyway the summary gives the PSNR before encoding, and says so.
std::string psnr_text(const AtomicFile& file, Image& out, const Image& target) {
    double value = psnr(out.view(), target.view());
    std::string note;
    if (io::lossy_format(file.path())) {
        const Mode mode = mode_of_channels(out.channels);
        out = Image();
        try {
            const io::LoadedImage written =
                io::load_image(file.temporary_path(), mode, {uint64_t(-1), ""});
            value = psnr(written.image.view(), target.view());
        } catch (const std::exception&) {  // Error, or bad_alloc
            note = " before encoding";
        }
    }
    char text[64];
    std::snprintf(text, sizeof text, "PSNR %.2f dB%s", value, note.c_str());
    return text;
}

int run_mosaic(const MosaicArgs& args, const Console& console) {
    const auto start = std::chrono::steady_clock::now();
    const Library library = Library::open(args.library);
    check_output(args.output, {args.library, args.target});
    io::check_output_format(args.output, library.params().mode);
    if (args.quality_given && !io::lossy_format(args.output)) {
        throw UsageError("--quality is for .jpg and .webp outputs; " + args.output +
                         " is written without loss");
    }
    if (!args.matches.empty()) {
        const std::string ext = io::extension_of(args.matches);
        if (ext != ".csv" && ext != ".json") {
            throw Error(args.matches + ": matches are written as .csv or .json; use one of those");
        }
        check_output(args.matches, {args.library, args.target, args.output});
    }
    console.status("mosaic: checking %s", args.library.c_str());
    // One pass over the file (with a large library and a small target it can cost more than the
    // search), so a library damaged on disk is refused instead of silently giving wrong matches.
    library.verify();
    console.status("mosaic: decoding %s", args.target.c_str());
    const io::LoadedImage target =
        io::load_image(args.target, library.params().mode, {args.max_pixels, "--max-pixels"});
    io::check_output_size(args.output, target.image.size(), "the mosaic of " + args.target);
    console.status("mosaic: cutting %s into tiles", args.target.c_str());
    const auto searcher = make_exact_searcher(library, args.threads);
    const TileRows all_rows{0, tile_rows(target.image.size(), library.params().tile)};
    const auto matches = assign_nearest(match_tiles(
        library, *searcher, target.image.view(), all_rows, 1, [&](size_t done, size_t total) {
            console.status("mosaic: matching %zu/%zu tiles", done, total);
        }));
    console.status("mosaic: rendering");
    Image out = render(LibraryTiles(library), matches, target.image.size());
    console.status("mosaic: writing %s", args.output.c_str());
    // Both written in full before either replaces anything, so that an image and its matches
    // always come from the same run.
    AtomicFile image(args.output);
    io::save_image(image, out.view(), args.quality);
    if (!console.quiet && io::lossy_format(args.output)) {
        console.status("mosaic: reading %s back for its PSNR", args.output.c_str());
    }
    const std::string quality = console.quiet ? "" : psnr_text(image, out, target.image);
    if (args.matches.empty()) {
        image.commit();
    } else {
        AtomicFile rows(args.matches);
        write_matches(rows, library, matches);
        commit_together({&image, &rows});
    }
    if (!console.quiet) {
        console.end_status();
        std::fprintf(stderr, "tessera mosaic: %s of %s, %.3f s, %s -> %s\n",
                     count_text(matches.size(), "tile", "tiles").c_str(),
                     size_text(library.params().tile).c_str(), seconds_since(start),
                     quality.c_str(), args.output.c_str());
    }
    return 0;
}

// ---- info ----

int run_info(const std::string& path, bool verify, bool list_sources) {
    const Library library = Library::open(path);
    const std::string simd(simd_level());  // throws on a bad TESSERA_SIMD before any output
    const LibraryParams& p = library.params();
    std::string transforms;
    for (Transform t : p.transforms)
        transforms += (transforms.empty() ? "" : " ") + std::string(transform_name(t));
    std::printf("library     %s\n", path.c_str());
    std::printf("format      %u\n", library.format_version());
    std::printf("mode        %s\n", std::string(mode_name(p.mode)).c_str());
    std::printf("tile        %s\n", size_text(p.tile).c_str());
    std::printf("stride      %s\n", size_text(p.stride).c_str());
    std::printf("transforms  %s\n", transforms.c_str());
    std::printf("patches     %zu\n", library.size());
    std::printf("sources     %zu\n", library.sources().size());
    std::printf("bytes       %llu (%s)\n", static_cast<unsigned long long>(library.file_bytes()),
                bytes_text(library.file_bytes()).c_str());
    std::printf("simd        %s\n", simd.c_str());
    if (verify) {
        library.verify();
        std::printf("checksum    ok\n");
    }
    if (list_sources) {
        for (const SourceInfo& s : library.sources()) {
            std::printf("source      %s  %ux%u  %llu bytes  xxh3 %016llx\n", s.path.c_str(),
                        s.width, s.height, static_cast<unsigned long long>(s.file_bytes),
                        static_cast<unsigned long long>(s.content_hash));
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    remove_temporaries_on_interrupt("tessera");
    CLI::App app{
        "tessera: rebuild images from a library of patches cut from example images.\n"
        "Exact nearest-patch search (squared L2 over pixels), all cores, deterministic."};
    app.name("tessera");
    // The SIMD level is read when asked for: a bad TESSERA_SIMD fails --version as it fails
    // every command, with exit status 1.
    app.set_version_flag("--version", [] {
        return std::string("tessera ") + TESSERA_VERSION + " (simd: " + std::string(simd_level()) +
               ")";
    });
    app.require_subcommand(1);
    Console console;

    // Malformed sizes and angles are usage errors (exit 2), like anything else CLI11 rejects;
    // the message is the core's.
    const auto usage_check = [](std::function<void(const std::string&)> parse) {
        return CLI::Validator(
            [parse](std::string& text) {
                try {
                    parse(text);
                    return std::string();
                } catch (const Error& e) {
                    return std::string(e.what());
                }
            },
            "");
    };
    const auto size_check = [&](const char* what) {
        return usage_check([what](const std::string& text) { parse_size(text, what); });
    };

    BuildArgs build;
    CLI::App* build_cmd = app.add_subcommand(
        "build", "Cut patches from source images (files or directories) into a library file.");
    build_cmd->footer(
        "A directory stands for the files below it with these extensions (any case; "
        "hidden files and directories skipped):\n  " +
        io::image_extensions());
    build_cmd
        ->add_option("inputs", build.inputs,
                     "Image files and directories (searched recursively; see below)")
        ->required()
        ->check(kPath);
    build_cmd->add_option("-o,--output", build.output, "Library file to write (e.g. lib.tsr)")
        ->required()
        ->check(kPath);
    build_cmd->add_option("--tile", build.tile, "Patch size: N or WxH like 16x8, 1 to 128 per side")
        ->check(size_check("tile"))
        ->capture_default_str();
    build_cmd
        ->add_option("--stride", build.stride,
                     "Step between windows: N or WxH, 1 to 65536 per side [default: the tile size]")
        ->check(size_check("stride"));
    build_cmd
        ->add_option("--rotations", build.rotations,
                     "Rotations to store, in degrees counter-clockwise: a comma-separated list "
                     "of any of 0,90,180,270 (repeating the option adds to it)")
        // One value per --rotations, so the inputs after it stay inputs.
        ->allow_extra_args(false)
        ->type_name("LIST")
        ->check(usage_check([](const std::string& text) { parse_rotations(text); }))
        ->capture_default_str();
    build_cmd->add_flag("--flips", build.flips, "Also store the mirror image of each rotation");
    build_cmd->add_option("--mode", build.mode, "Pixel mode of the library: gray or rgb")
        ->check(CLI::IsMember({"gray", "rgb"}))
        ->capture_default_str();
    build_cmd->add_flag("--strict", build.strict,
                        "Fail on any unreadable or too-small image instead of skipping it");
    build_cmd
        ->add_option("--max-pixels", build.max_pixels,
                     "Refuse images with more pixels than this (decompression bombs)")
        ->check(kPositiveCount)
        ->capture_default_str();
    build_cmd->add_option("--threads", build.threads, "Images decoded at once, 0 = all cores")
        ->check(kThreadCount)
        ->capture_default_str();
    build_cmd->add_flag("-q,--quiet", console.quiet, "No progress, warnings only");

    MosaicArgs mosaic;
    CLI::App* mosaic_cmd = app.add_subcommand(
        "mosaic", "Rebuild a target image from the library's patches, tile by tile.");
    mosaic_cmd->add_option("library", mosaic.library, "Library file from tessera build")
        ->required()
        ->check(kPath);
    mosaic_cmd->add_option("target", mosaic.target, "Image to rebuild")->required()->check(kPath);
    mosaic_cmd
        ->add_option(
            "-o,--output", mosaic.output,
            "Output image; the format follows the extension (.png, .jpg, .tif, .webp; .ppm for "
            "an rgb library, .pgm for a gray one, .pnm for either); a .jpg side is at most 65500 "
            "pixels, a .webp side 16383")
        ->required()
        ->check(kPath);
    mosaic_cmd
        ->add_option("--matches", mosaic.matches,
                     "Also write one row per tile (.csv or .json): tile position, patch id, "
                     "source, source position, transform, distance")
        ->check(kPath);
    mosaic_cmd
        ->add_option("--quality", mosaic.quality,
                     "JPEG or WebP quality, 1 to 100 (a .png, .tif or .pnm is lossless)")
        ->check(whole_number(1, 100))
        ->capture_default_str();
    mosaic_cmd->add_option("--threads", mosaic.threads, "Worker threads, 0 = all cores")
        ->check(kThreadCount)
        ->capture_default_str();
    mosaic_cmd
        ->add_option("--max-pixels", mosaic.max_pixels,
                     "Refuse a target with more pixels than this")
        ->check(kPositiveCount)
        ->capture_default_str();
    mosaic_cmd->add_flag("-q,--quiet", console.quiet, "No progress or summary");

    std::string info_path;
    bool verify = false, list_sources = false;
    CLI::App* info_cmd = app.add_subcommand("info", "Describe a library file.");
    info_cmd->add_option("library", info_path, "Library file")->required()->check(kPath);
    info_cmd->add_flag("--verify", verify, "Also check the data checksum (reads the whole file)");
    info_cmd->add_flag("--sources", list_sources, "List the source images");

    // Usage errors point at the help of the command given, when there is one.
    const bool known =
        argc > 1 && (build_cmd->get_name() == argv[1] || mosaic_cmd->get_name() == argv[1] ||
                     info_cmd->get_name() == argv[1]);
    const auto usage_error = [&](const std::string& message) {
        std::cerr << "tessera: " << message << "\nRun 'tessera " << (known ? argv[1] : "")
                  << (known ? " " : "") << "--help' for usage.\n";
        return 2;
    };
    // CLI11 would say only that a command is required.
    const std::string first = argc > 1 ? argv[1] : "";
    if (argc == 1) return usage_error("a command is required: build, mosaic or info");
    if (!known && !first.starts_with('-')) {
        return usage_error("unknown command '" + first +
                           "'; the commands are build, mosaic and info");
    }
    if (!known && first != "-h" && first != "--help" && first != "--version") {
        return usage_error("unknown option '" + first +
                           "'; give a command first: build, mosaic or info");
    }
    try {
        app.parse(argc, argv);
        if (*build_cmd || *mosaic_cmd) io::initialize(argv[0], io::Modules::on_demand);
        if (*build_cmd) return run_build(build, console);
        if (*mosaic_cmd) {
            mosaic.quality_given = mosaic_cmd->count("--quality") > 0;
            return run_mosaic(mosaic, console);
        }
        return run_info(info_path, verify, list_sources);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return usage_error(e.what());
    } catch (const UsageError& e) {
        return usage_error(e.what());
    } catch (const Error& e) {
        console.end_status();
        std::cerr << "tessera: " << e.what() << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        console.end_status();
        std::cerr << "tessera: out of memory"
                  << (console.phase.empty() ? "" : " (" + console.phase + ")") << "\n";
        return 1;
    } catch (const std::exception& e) {  // a library's exception: still a message, not an abort
        console.end_status();
        std::cerr << "tessera: " << e.what() << "\n";
        return 1;
    } catch (...) {  // a library's own exception type (DjVuLibre's, say): still not an abort
        console.end_status();
        std::cerr << "tessera: failed" << (console.phase.empty() ? "" : " (" + console.phase + ")")
                  << " with an error of a kind tessera does not know\n";
        return 1;
    }
}
