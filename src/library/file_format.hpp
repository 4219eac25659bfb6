// The library file's layout (format 4; docs/architecture.md describes it for readers of the
// file): a fixed header, then the sections in file order, each on a cache line, zero padding
// between them. Internal to the library layer.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/core/interrupt.hpp"
#include "tessera/library/library.hpp"

namespace tessera::detail {

static_assert(std::endian::native == std::endian::little, "the library format is little-endian");

inline constexpr std::array<char, 8> kMagic = {'T', 'E', 'S', 'S', 'E', 'R', 'A', '\x1a'};
inline constexpr uint64_t kAlignment = 64;  // every section starts on a cache line

struct FileSection {
    uint64_t offset;
    uint64_t bytes;
    bool operator==(const FileSection&) const = default;
};

// The sections in file order: the library's own, then the search data's (search_data.hpp).
// kRenderPixels: each patch at the render size, in patch order; empty when that is the tile size.
enum SectionId { kSources, kNames, kOrigins, kPixels, kRenderPixels, kFirstSearchSection };
inline constexpr int kSectionCount = kFirstSearchSection + int(kSearchSectionCount);
using Sections = std::array<FileSection, kSectionCount>;
using SectionBytes = std::array<uint64_t, kSectionCount>;
using SectionData = std::array<const void*, kSectionCount>;

struct FileHeader {
    std::array<char, 8> magic;
    uint32_t version;
    uint32_t header_bytes;
    uint32_t tile_width, tile_height;
    uint32_t stride_x, stride_y;
    uint32_t channels;
    uint32_t transform_mask;  // bit t set when Transform t was applied
    uint64_t patch_count;
    uint64_t source_count;
    uint64_t file_bytes;
    Sections sections;
    uint32_t kind;  // LibraryKind
    uint32_t fit;   // Fit, for whole libraries; 0 for windows
    uint32_t render_width, render_height;
    std::array<char, 16> writer;  // the tessera version that wrote the file, zero padded
    uint64_t data_checksum;       // XXH3-64 of the sections in order, zero padding included
    uint64_t header_checksum;     // XXH3-64 of every header byte before this field
};
static_assert(sizeof(FileHeader) == 320);

struct SourceRecord {
    uint64_t file_bytes;
    uint64_t content_hash;
    uint32_t width, height;
    uint32_t name_offset, name_bytes;
};
static_assert(sizeof(SourceRecord) == 32);
static_assert(sizeof(PatchOrigin) == 16);

// The size of every section, from the counts and the search data's sizes.
// render_patch_bytes is 0 when tiles render at the tile size.
SectionBytes section_bytes(uint64_t source_count, uint64_t name_bytes, uint64_t patch_count,
                           uint64_t patch_bytes, uint64_t render_patch_bytes,
                           const SearchSectionBytes& search);

// The render-size bytes of one patch in the file: 0 when they are the tile-size ones.
inline uint64_t stored_render_bytes(const LibraryParams& params) {
    return params.renders_larger() ? params.render_patch_bytes() : 0;
}

// Where each section goes, as a function of the sizes alone: writing uses it, and reading
// accepts a header only when its sections are exactly these.
struct Layout {
    Sections sections;
    uint64_t file_bytes;
    explicit Layout(const SectionBytes& bytes);
};

// The library's bytes after the header, as (pointer, size) chunks in file order; nullptr stands
// for zero padding. Saving writes these chunks and the checksum hashes them.
template <typename Fn>
void for_each_chunk(const Layout& layout, const SectionData& data, Fn&& fn) {
    // Sections in pieces, with an interruption point before each: a section may hold gigabytes.
    constexpr uint64_t kPieceBytes = uint64_t(32) << 20;
    uint64_t at = sizeof(FileHeader);
    for (int i = 0; i < kSectionCount; ++i) {
        const FileSection& section = layout.sections[i];
        fn(nullptr, section.offset - at);
        for (uint64_t done = 0; done < section.bytes; done += kPieceBytes) {
            interruption_point();
            const auto* bytes = static_cast<const uint8_t*>(data[i]);
            fn(bytes == nullptr ? nullptr : bytes + done,
               std::min(kPieceBytes, section.bytes - done));
        }
        at = section.offset + section.bytes;
    }
}

// The data checksum of a library as saving writes it (library_save.cpp).
uint64_t data_checksum(const Library& library);

}  // namespace tessera::detail
