// The grouped, chunk-major exact search for full tiles (internal to the search layer).
//
// Queries are sorted by (sum, spread) and taken kGroupQueries at a time. Each group gets a
// ceiling per query, its k-th best distance among the kSeedRows index positions around the
// group's middle query, and from it, in every mean bucket, the hull of its queries' spread
// intervals (the mean and spread bound of search_index.hpp). The positions the groups admit are
// then visited chunk by chunk (kChunkRows rows that stay in L2), every group that needs a chunk
// visiting it while it is there, and the panel kernel (kernels.hpp) gives full distances
// |p|^2 - 2 <p, q> + |q|^2 in 32-bit integers, exact while D * 255^2 < 2^31. Each thread keeps
// its own k best per query, merged by (distance, id): the answer is the oracle's for every
// thread count. Groups that admit fewer than `min_candidates` positions (smooth tiles) are
// cheaper for the per-query scan of search_exact.cpp, which takes them instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "search/exact_index.hpp"
#include "search/kernels/kernels.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/search.hpp"

namespace tessera::detail {

class TopK;

inline constexpr size_t kGroupQueries = 32;
inline constexpr size_t kSeedRows = 2048;
inline constexpr size_t kChunkRows = 2048;
// The min_candidates that leaves every group to the per-query scan.
inline constexpr size_t kGroupedNever = SIZE_MAX;

class GroupedSearch {
  public:
    // Whether the 32-bit distances are exact for this library's patches.
    static bool applies(const Library& library);

    // Lays the patches out in index order as the panel kernel reads them. Requires applies()
    // and a kernel set with panel_distances.
    GroupedSearch(const Library& library, const ExactIndex& index, const kernels::Kernels& kernels,
                  int threads, size_t min_candidates);

    // Full-tile queries: writes the k nearest of the queries in the groups it takes and returns
    // the others, in (sum, spread) order, for the per-query scan.
    std::vector<uint32_t> search(const QueryBatch& queries, int k, Neighbor* out) const;

  private:
    struct QueryKey;
    struct Group;
    Group prepare_group(const QueryBatch& queries, const QueryKey* keys, size_t size, int k) const;
    void seed(Group& group, int k) const;
    void admit(Group& group) const;
    // A slab of groups, chunk-major.
    void search_groups(std::span<const Group> groups, int k, Neighbor* out) const;
    void visit(const Group& group, TopK* tops, size_t begin, size_t end, uint32_t* distances,
               uint16_t* masks) const;

    Library library_;
    const ExactIndex& index_;
    const kernels::Kernels& kernels_;
    int threads_;
    size_t min_candidates_;
    size_t bytes_;                 // a row's bytes in the panels: the patch's, rounded up to 4
    std::vector<int8_t> panels_;   // by index position, kernels.hpp's panel layout
    std::vector<uint32_t> norms_;  // |p|^2 by index position, zero past the last
};

}  // namespace tessera::detail
