// Estimating a build's size from its images' headers, before any pixel is decoded.
#include "tessera/pipeline/library_size.hpp"

#include <omp.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/core/text.hpp"
#include "tessera/io/decode.hpp"

namespace tessera::pipeline {

namespace {

// The bytes an unprivileged process may still write on the file system that holds `path`'s
// directory, or nullopt when that cannot be told.
std::optional<uint64_t> free_bytes(const std::string& path) {
    const std::filesystem::path parent = std::filesystem::path(output_target(path)).parent_path();
    struct statvfs fs {};
    if (::statvfs(parent.empty() ? "." : parent.c_str(), &fs) != 0) return std::nullopt;
    return uint64_t(fs.f_bavail) * uint64_t(fs.f_frsize);
}

}  // namespace

uint64_t check_library_size(const LibraryBuilder& builder, std::span<const Source> sources,
                            const LibrarySizeLimit& limit, int threads) {
    std::vector<uint64_t> patches(sources.size());
    const int team = threads > 0 ? threads : omp_get_num_procs();
#pragma omp parallel for schedule(dynamic) num_threads(team)
    for (size_t i = 0; i < sources.size(); ++i) {
        const Source& s = sources[i];
        if (s.pixels || !s.problem.empty()) continue;
        const std::optional<Size> size = io::image_size(s.path);
        if (size && uint64_t(size->width) * uint64_t(size->height) <= limit.max_pixels) {
            patches[i] = builder.patches_from(*size);
        }
    }
    uint64_t patch_count = builder.patch_count();
    for (uint64_t n : patches) patch_count += n;
    const uint64_t bytes = builder.file_bytes_for(patch_count);
    const LibraryParams& params = builder.params();
    const std::string estimate = "the library would take about " + bytes_text(bytes) + " (" +
                                 count_text(patch_count, "patch", "patches") + " of " +
                                 size_text(params.tile) + " " +
                                 std::string(mode_name(params.mode)) + ")";
    const std::string shrink = "use a larger stride, fewer rotations or flips, or a smaller tile";
    if (bytes > limit.max) {
        throw Error(estimate + ", over the limit of " + std::to_string(limit.max) + " bytes (" +
                    bytes_text(limit.max) + "); " + shrink + ", or raise " +
                    std::string(limit.option));
    }
    if (!limit.output.empty()) {
        const std::optional<uint64_t> free = free_bytes(limit.output);
        if (free && bytes > *free) {
            throw Error(estimate + ", more than the " + bytes_text(*free) + " free where " +
                        limit.output + " is written; " + shrink + ", or free some space");
        }
    }
    return bytes;
}

}  // namespace tessera::pipeline
