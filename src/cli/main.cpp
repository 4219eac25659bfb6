// The tessera command: CLI11 wiring, error reporting and exit codes; the commands are in
// *_command.cpp. Exit codes: 0 success, 1 failure (message on stderr), 2 usage error.
#include <CLI/CLI.hpp>

#include <iostream>
#include <new>
#include <string>

#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "cli/validators.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/core/text.hpp"
#include "tessera/io/vips.hpp"
#include "tessera/search/search.hpp"

using namespace tessera;
using namespace tessera::cli;

int main(int argc, char** argv) {
    remove_temporaries_on_interrupt("tessera");
    // A file truncated under its mapping fails the command (check_mapped_files) instead of
    // ending it at the first read past its end.
    const MappedReads mapped_reads;
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

    BuildArgs build;
    CLI::App* build_cmd = add_build_command(app, build, console);
    MosaicArgs mosaic;
    CLI::App* mosaic_cmd = add_mosaic_command(app, mosaic, console);
    InfoArgs info;
    CLI::App* info_cmd = add_info_command(app, info);

    // Usage errors point at the help of the command given, when there is one.
    const bool known =
        argc > 1 && (build_cmd->get_name() == argv[1] || mosaic_cmd->get_name() == argv[1] ||
                     info_cmd->get_name() == argv[1]);
    const auto usage_error = [&](const std::string& message) {
        std::cerr << "tessera: " << printable(message) << "\nRun 'tessera "
                  << (known ? argv[1] : "") << (known ? " " : "") << "--help' for usage.\n";
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
        int status = 0;
        if (*build_cmd) {
            status = run_build(build, console);
        } else if (*mosaic_cmd) {
            mosaic.quality_given = mosaic_cmd->count("--quality") > 0;
            mosaic.format_given = mosaic_cmd->count("--format") > 0;
            status = mosaic.out_dir.empty() ? run_mosaic(single_target(mosaic), console)
                                            : run_mosaic_many(mosaic, console);
        } else {
            status = run_info(info);
        }
        check_mapped_files();
        return status;
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
        // An error that follows reading a truncated file is that file's fault, named first.
        std::string message = e.what();
        try {
            check_mapped_files();
        } catch (const Error& fault) {
            message = fault.what();
        }
        std::cerr << "tessera: " << printable(message) << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        console.end_status();
        std::cerr << "tessera: out of memory"
                  << (console.phase.empty() ? "" : " (" + printable(console.phase) + ")") << "\n";
        return 1;
    } catch (const std::exception& e) {  // a library's exception: still a message, not an abort
        console.end_status();
        std::cerr << "tessera: " << printable(e.what()) << "\n";
        return 1;
    } catch (...) {  // a library's own exception type (DjVuLibre's, say): still not an abort
        console.end_status();
        std::cerr << "tessera: failed"
                  << (console.phase.empty() ? "" : " (" + printable(console.phase) + ")")
                  << " with an error of a kind tessera does not know\n";
        return 1;
    }
}
