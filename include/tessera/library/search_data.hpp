// What the library stores for a search layer without knowing what it means: the search data
// is a fixed number of sections the library builds, saves, checksums and validates through this
// interface, and hands back as bytes. The search layer (src/search/exact_index.hpp) implements
// it; callers pass its implementation to LibraryBuilder and Library::open.
//
// Format 3 stores one kind, the exact search's index, and does not name it in the file: a file
// opened with another kind's SearchData would fail its checks. A later format names the kind in
// the header.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "tessera/library/params.hpp"

namespace tessera {

// The sections after the library's own (sources, names, origins, pixels), in file order.
inline constexpr size_t kSearchSectionCount = 8;
using SearchSectionBytes = std::array<uint64_t, kSearchSectionCount>;
using SearchSections = std::array<std::span<const uint8_t>, kSearchSectionCount>;

struct BuiltSearchSections {
    SearchSections sections;
    std::shared_ptr<const void> storage;  // owns the sections' bytes
};

class SearchData {
  public:
    virtual ~SearchData() = default;

    // The size of each section, from the parameters and the patch count alone: writing lays the
    // file out with it, and opening accepts a header only when its sections are these.
    virtual SearchSectionBytes section_bytes(const LibraryParams& params,
                                             uint64_t patch_count) const = 0;

    // Computes the sections of the patches in `pixels` (as Library::pixels() lays them out).
    // Throws std::bad_alloc when they do not fit in memory.
    virtual BuiltSearchSections build(const LibraryParams& params, const uint8_t* pixels,
                                      size_t patch_count) const = 0;

    // Checks sections of section_bytes() sizes read from a file before anything uses them;
    // throws Error with a one-line message (the caller names the file) when they are corrupt.
    virtual void validate(const LibraryParams& params, size_t patch_count,
                          const SearchSections& sections) const = 0;
};

}  // namespace tessera
