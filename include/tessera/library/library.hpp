// The patch library: every window cut from the source images under each selected transform,
// with provenance and the search data (search_data.hpp) kept as opaque sections. Built in memory
// by LibraryBuilder (builder.hpp), saved to and memory-mapped from one versioned, validated file
// (format in docs/architecture.md and src/library/file_format.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/params.hpp"
#include "tessera/library/search_data.hpp"

namespace tessera {

// The version of tessera this library code is (the project's VERSION).
extern const char* const kTesseraVersion;

// 2 added the search index, 3 its per-channel sums for colour, 4 whole-photo libraries (the kind,
// the render size and its pixels, the version of tessera that wrote the file).
inline constexpr uint32_t kLibraryFormatVersion = 4;

struct SourceInfo {
    std::string path;
    uint64_t file_bytes = 0;
    uint64_t content_hash = 0;  // XXH3-64 of the file's bytes
    uint32_t width = 0;
    uint32_t height = 0;
};

// Where a patch came from: its window's top-left corner in the source (0, 0 for a whole photo),
// and the transform applied.
// The same bytes on disk and in memory.
struct PatchOrigin {
    uint32_t source = 0;
    uint32_t x = 0;
    uint32_t y = 0;
    uint32_t transform = 0;  // a Transform value
};

// An immutable, cheaply copyable library. Patches are stored transformed, row-major, tightly
// packed: patch i is pixels()[i * patch_bytes() ...]. Patch ids follow the build order: sources
// in the order added, then transforms in ascending order, then windows in row-major order.
class Library {
  public:
    // Memory-maps and validates a library file, its search sections with `search_data` (which
    // must outlive the library); throws Error naming the file and the problem.
    static Library open(const std::string& path, const SearchData& search_data);

    // Writes the library to `path` through a temporary file renamed when complete.
    void save(const std::string& path) const;

    // Recomputes the data checksum stored in the file; throws Error on mismatch. Reads every byte.
    void verify() const;

    const LibraryParams& params() const { return params_; }
    size_t patch_bytes() const { return params_.patch_bytes(); }
    size_t patch_count() const { return patch_count_; }
    const std::vector<SourceInfo>& sources() const { return *sources_; }
    std::span<const PatchOrigin> origins() const { return {origins_, patch_count_}; }
    const uint8_t* pixels() const { return pixels_; }
    const uint8_t* patch(size_t id) const { return pixels_ + id * patch_bytes(); }
    // Patch `id` at the render size (params().render_size()), transformed as patch(id).
    const uint8_t* render_patch(size_t id) const {
        return params_.renders_larger() ? render_pixels_ + id * params_.render_patch_bytes()
                                        : patch(id);
    }
    // The search layer's sections, validated by search_data() when opened.
    const SearchData& search_data() const { return *search_data_; }
    const SearchSections& search_sections() const { return search_sections_; }

    const std::string& path() const { return path_; }  // empty until saved or when built in memory
    uint64_t file_bytes() const;                       // the size of its file representation
    uint64_t checksum() const { return data_checksum_; }  // XXH3-64 of the data, as in the header
    uint32_t format_version() const { return kLibraryFormatVersion; }
    // The tessera version that wrote the file (this one for a library built in memory).
    const std::string& writer() const { return writer_; }

  private:
    friend class LibraryBuilder;
    Library() = default;

    LibraryParams params_;
    size_t patch_count_ = 0;
    std::shared_ptr<const std::vector<SourceInfo>> sources_;
    const PatchOrigin* origins_ = nullptr;
    const uint8_t* pixels_ = nullptr;
    const uint8_t* render_pixels_ = nullptr;  // when params_.renders_larger()
    std::string writer_ = kTesseraVersion;
    const SearchData* search_data_ = nullptr;
    SearchSections search_sections_;
    uint64_t data_checksum_ = 0;
    std::span<const uint8_t> file_data_;  // when opened: the file's bytes after the header
    std::string path_;
    std::shared_ptr<const void> storage_;  // keeps the mapping or the builder's buffers alive
};

}  // namespace tessera
