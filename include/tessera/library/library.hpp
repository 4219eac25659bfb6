// The patch library: every window cut from the source images under each selected transform,
// with provenance and the per-patch data the search needs. Built in memory by LibraryBuilder,
// saved to and memory-mapped from one versioned, validated file (format in docs/architecture.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"

namespace tessera {

// 2 added the search index, 3 its per-channel sums for colour.
inline constexpr uint32_t kLibraryFormatVersion = 3;
inline constexpr int kMaxTileSide = 128;  // keeps every squared distance and norm inside uint32

struct LibraryParams {
    Size tile{16, 16};
    Size stride{16, 16};
    Mode mode = Mode::Rgb;
    std::vector<Transform> transforms{Transform::Rot0};  // ascending, no repeats

    int channels() const { return tessera::channels(mode); }
    size_t patch_bytes() const { return size_t(tile.width) * tile.height * channels(); }
    // Throws Error when the parameters cannot describe a library (zero or oversized tile,
    // rotation by 90/270 with a non-square tile, no transforms, ...).
    void validate() const;
};

// Builds the transform list from rotations in degrees (0, 90, 180, 270) and the flip switch.
std::vector<Transform> transforms_from(const std::vector<int>& rotations_degrees, bool flips);

struct SourceInfo {
    std::string path;
    uint64_t file_bytes = 0;
    uint64_t content_hash = 0;  // XXH3-64 of the file's bytes
    uint32_t width = 0;
    uint32_t height = 0;
};

// Where a patch came from: its window's top-left corner in the source, and the transform applied.
// The same bytes on disk and in memory.
struct PatchOrigin {
    uint32_t source = 0;
    uint32_t x = 0;
    uint32_t y = 0;
    uint32_t transform = 0;  // a Transform value
};

// The exact search's index, computed at build time (src/search_index.hpp explains it). Positions
// run in index order: order[i] is the id of the patch at position i.
struct SearchIndex {
    std::span<const uint32_t> order;
    std::span<const uint32_t> sums;     // sum of the patch's bytes
    std::span<const uint32_t> spreads;  // isqrt(D |p|^2 - sum^2)
    std::span<const uint32_t> buckets;  // positions where each mean bucket starts, and the end
    // Padded to whole groups of 8 positions:
    std::span<const uint32_t> tails;        // isqrt(n |p|^2 - sum of squared block sums)
    std::span<const uint32_t> block_pairs;  // block sums, two per lane, group-major
    size_t pairs = 0;                       // block-sum pairs per position
    std::span<const uint32_t> channels;     // colour only: channel sums and spread, group-major
};

// An immutable, cheaply copyable library. Patches are stored transformed, row-major, tightly
// packed: patch i is pixels()[i * patch_bytes() ...]. Patch ids follow the build order: sources
// in the order added, then transforms in ascending order, then windows in row-major order.
class Library {
  public:
    // Memory-maps and validates a library file; throws Error naming the file and the problem.
    static Library open(const std::string& path);

    // Writes the library to `path` through a temporary file renamed when complete.
    void save(const std::string& path) const;

    // Recomputes the data checksum stored in the file; throws Error on mismatch. Reads every byte.
    void verify() const;

    const LibraryParams& params() const { return params_; }
    size_t patch_bytes() const { return params_.patch_bytes(); }
    size_t size() const { return patch_count_; }  // number of patches
    const std::vector<SourceInfo>& sources() const { return *sources_; }
    std::span<const PatchOrigin> origins() const { return {origins_, patch_count_}; }
    const uint8_t* pixels() const { return pixels_; }
    const uint8_t* patch(size_t id) const { return pixels_ + id * patch_bytes(); }
    std::span<const uint32_t> norms() const { return {norms_, patch_count_}; }  // squared L2
    const SearchIndex& index() const { return index_; }

    const std::string& path() const { return path_; }  // empty until saved or when built in memory
    uint64_t file_bytes() const;                       // the size of its file representation
    uint64_t checksum() const { return data_checksum_; }  // XXH3-64 of the data, as in the header
    uint32_t format_version() const { return kLibraryFormatVersion; }

  private:
    friend class LibraryBuilder;
    Library() = default;

    LibraryParams params_;
    size_t patch_count_ = 0;
    std::shared_ptr<const std::vector<SourceInfo>> sources_;
    const PatchOrigin* origins_ = nullptr;
    const uint8_t* pixels_ = nullptr;
    const uint32_t* norms_ = nullptr;
    SearchIndex index_;
    uint64_t data_checksum_ = 0;
    std::span<const uint8_t> file_data_;  // when opened: the file's bytes after the header
    std::string path_;
    std::shared_ptr<const void> storage_;  // keeps the mapping or the builder's buffers alive
};

class LibraryBuilder {
  public:
    explicit LibraryBuilder(LibraryParams params);  // validates params

    // Cuts every window of `image` (in the library's mode) under each transform. Returns the
    // number of patches added, 0 when the image is smaller than a tile. Throws Error, saying how
    // much memory the library needs and how to make it smaller, when the patches do not fit.
    size_t add_source(SourceInfo source, ImageView image);

    const LibraryParams& params() const { return params_; }
    size_t patch_count() const;
    size_t source_count() const;

    // Finishes the library; the builder is left empty. Throws Error if no patch was added, or
    // (as add_source) when the search index does not fit in memory.
    Library finish();

  private:
    struct Buffers;
    LibraryParams params_;
    std::shared_ptr<Buffers> buffers_;
};

// XXH3-64 of a byte range: the content hash of sources and the library's data checksum.
uint64_t hash_bytes(const void* data, size_t size);

// A byte count as messages print it: "512 B", "58.3 GB" (powers of 1000).
std::string bytes_text(uint64_t bytes);

// A count and its noun as messages print it: count_text(1, "patch", "patches") is "1 patch".
std::string count_text(uint64_t n, const char* one, const char* many);

}  // namespace tessera
