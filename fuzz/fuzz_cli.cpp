// The command line's parser on arbitrary arguments: every tessera command's options, as the
// tessera command adds them, must parse or be refused with CLI11's or tessera's exception, never
// crash. Parsing only: the commands, which read and write files, are not run.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "tessera/core/error.hpp"

namespace {

// Arguments are the input's NUL- or newline-separated pieces, at most 64.
std::vector<std::string> arguments(const uint8_t* data, size_t size) {
    std::vector<std::string> args{"tessera"};
    std::string piece;
    for (size_t i = 0; i < size && args.size() <= 64; ++i) {
        if (data[i] == 0 || data[i] == '\n') {
            args.push_back(piece);
            piece.clear();
        } else {
            piece += char(data[i]);
        }
    }
    if (!piece.empty()) args.push_back(piece);
    return args;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tessera::cli;
    const std::vector<std::string> args = arguments(data, size);
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    CLI::App app{"tessera"};
    app.require_subcommand(1);
    Console console;
    console.quiet = true;
    BuildArgs build;
    add_build_command(app, build, console);
    MosaicArgs mosaic;
    add_mosaic_command(app, mosaic, console);
    InfoArgs info;
    add_info_command(app, info);
    try {
        app.parse(int(argv.size()), argv.data());
    } catch (const CLI::Error&) {
    } catch (const tessera::Error&) {
    }
    return 0;
}
