// tessera info: describe a library file.
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "tessera/core/text.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "tessera/search/search.hpp"

namespace tessera::cli {

CLI::App* add_info_command(CLI::App& app, InfoArgs& args) {
    CLI::App* command = app.add_subcommand("info", "Describe a library file.");
    command->add_option("library", args.library, "Library file")->required()->check(kPath);
    command->add_flag("--verify", args.verify,
                      "Also check the data checksum (reads the whole file)");
    command->add_flag("--sources", args.list_sources, "List the source images");
    return command;
}

int run_info(const InfoArgs& args) {
    const std::string& path = args.library;
    const Library library = Library::open(path, exact_search_data());
    const std::string simd(simd_level());  // throws on a bad TESSERA_SIMD before any output
    const LibraryParams& p = library.params();
    std::string transforms;
    for (Transform t : p.transforms)
        transforms += (transforms.empty() ? "" : " ") + std::string(transform_name(t));
    std::printf("library     %s\n", printable(path).c_str());
    std::printf("format      %u\n", library.format_version());
    std::printf("mode        %s\n", std::string(mode_name(p.mode)).c_str());
    std::printf("writer      tessera %s\n", printable(library.writer()).c_str());
    std::printf("kind        %s\n", kind_name(p.kind));
    std::printf("tile        %s\n", size_text(p.tile).c_str());
    if (p.kind == LibraryKind::whole) {
        std::printf("render      %s\n", size_text(p.render_size()).c_str());
        std::printf("fit         %s\n", fit_name(p.fit));
    } else {
        std::printf("stride      %s\n", size_text(p.stride).c_str());
    }
    std::printf("transforms  %s\n", transforms.c_str());
    std::printf("patches     %zu\n", library.patch_count());
    std::printf("sources     %zu\n", library.sources().size());
    std::printf("bytes       %llu (%s)\n", static_cast<unsigned long long>(library.file_bytes()),
                bytes_text(library.file_bytes()).c_str());
    std::printf("simd        %s\n", simd.c_str());
    if (args.verify) {
        library.verify();
        std::printf("checksum    ok\n");
    }
    if (args.list_sources) {
        for (const SourceInfo& s : library.sources()) {
            std::printf("source      %s  %ux%u  %llu bytes  xxh3 %016llx\n",
                        printable(s.path).c_str(), s.width, s.height,
                        static_cast<unsigned long long>(s.file_bytes),
                        static_cast<unsigned long long>(s.content_hash));
        }
    }
    return 0;
}

}  // namespace tessera::cli
