// The tessera command's three commands: each adds its options to the CLI11 app and runs.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cli/console.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/io/encode.hpp"
#include "tessera/pipeline/library_size.hpp"

namespace tessera::pipeline {
struct MosaicResult;
}

namespace tessera::cli {

struct BuildArgs {
    std::vector<std::string> inputs;
    std::string output;
    std::string tile = "16";
    std::string stride;
    std::vector<std::string> rotations{"0"};  // each a comma-separated list
    bool flips = false;
    bool transform_sources = false;
    bool whole = false;
    std::string render;  // empty: the tile size
    std::string fit = "crop";
    std::string mode = "rgb";
    bool strict = false;
    int threads = 0;
    uint64_t max_pixels = io::kDefaultMaxPixels;
    uint64_t max_library_bytes = pipeline::kDefaultMaxLibraryBytes;
};

struct MosaicArgs {
    std::string library;
    std::vector<std::string> targets;  // as given: files and directories
    std::string target;                // the one target without --out-dir (single_target)
    std::string output;
    std::string matches;
    int threads = 0;
    uint64_t max_pixels = io::kDefaultMaxPixels;
    int quality = io::kDefaultQuality;
    bool quality_given = false;
    uint32_t max_uses = 0;      // 0: no limit
    uint32_t min_distance = 0;  // 0: no limit
    std::string grid;           // COLS or COLSxROWS; empty: cells at the target's resolution
    std::string render_size;    // N or WxH; empty: the library's render size
    std::string metric = "rgb";
    double color = 0;
    double blend = 0;
    std::string report;   // --report FILE.json, or empty
    std::string timings;  // --timings FILE.json, or empty
    // Many targets (mosaic_many.cpp): outputs <out_dir>/<stem>.<format>.
    std::string out_dir;
    std::string format = "png";
    bool format_given = false;
    std::string matches_format;  // "", "csv" or "json"
    bool strict = false;
};

struct InfoArgs {
    std::string library;
    bool verify = false;
    bool list_sources = false;
};

// Each adds its subcommand to `app`, its options filling `args` (and -q, console.quiet).
CLI::App* add_build_command(CLI::App& app, BuildArgs& args, Console& console);
CLI::App* add_mosaic_command(CLI::App& app, MosaicArgs& args, Console& console);
CLI::App* add_info_command(CLI::App& app, InfoArgs& args);
// mosaic's options for many targets (--out-dir, --format, --matches-format, --strict).
void add_many_options(CLI::App& command, MosaicArgs& args);

// Each returns the exit status; failures throw (UsageError for a bad option value).
int run_build(const BuildArgs& args, const Console& console);
int run_mosaic(const MosaicArgs& args, const Console& console);
int run_info(const InfoArgs& args);
// Without --out-dir: `args` with its one target as `target`, or a UsageError.
MosaicArgs single_target(const MosaicArgs& args);
int run_mosaic_many(const MosaicArgs& args, const Console& console);

// With --max-uses or --min-distance: the assignment's total cost, whether it was proven optimal
// (or how far above the optimum without --min-distance), its use counts and closest repeat (""
// without either).
std::string assignment_summary(const pipeline::MosaicResult& result);

}  // namespace tessera::cli
