// The exact search's index (format 3's eight search sections), computed at build time: what the
// lower bounds of search_index.hpp need, as a typed view of a library's search sections.
// Internal to the search layer; exact_search_data() (tessera/search/exact_search_data.hpp)
// builds and validates it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "tessera/library/library.hpp"

namespace tessera {

// Positions run in index order: order[i] is the id of the patch at position i.
struct ExactIndex {
    std::span<const uint32_t> norms;  // by id: the patch's squared L2 norm
    std::span<const uint32_t> order;
    std::span<const uint32_t> sums;     // sum of the patch's bytes
    std::span<const uint32_t> spreads;  // isqrt(D |p|^2 - sum^2)
    std::span<const uint32_t> buckets;  // positions where each mean bucket starts, and the end
    // Padded to whole groups of 8 positions:
    std::span<const uint32_t> tails;        // isqrt(n |p|^2 - sum of squared block sums)
    std::span<const uint32_t> block_pairs;  // block sums, two per lane, group-major
    size_t pairs = 0;                       // block-sum pairs per position
    // Colour only: each group's channel sums and channel spread, group-major.
    std::span<const uint32_t> channel_groups;
};

// The index of a library built or opened with exact_search_data().
ExactIndex exact_index(const Library& library);

// Recomputes every patch's features from its pixels, on `threads` threads, and throws Error
// naming the library's file unless `index` holds exactly those (and zero padding). The bounds
// skip patches on the index's word, so an index that disagrees with its pixels (damaged or
// crafted with its checksums recomputed) would silently skip true neighbours. Opening checks
// the index's own consistency only; this reads every pixel once, as building the index did.
void check_index_matches_patches(const Library& library, const ExactIndex& index, int threads);

}  // namespace tessera
