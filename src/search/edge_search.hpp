// The exact search for edge tiles (internal to the search layer): a target's right column and
// bottom row hold windows smaller than the tile, matched against the top-left window of every
// patch, which the library's search index (built for whole patches) does not bound.
//
// For one window shape, each patch's window sums per channel, and the spread left after removing
// them: isqrt(Dc |p|^2 - sum_c S_c^2) with Dc the bytes per channel. Dc d >= sum_c (Sq_c -
// Sp_c)^2 + (sqrt(Rq) - sqrt(Rp))^2 is the mean and spread bound per channel (search_index.hpp),
// much tighter than the grey one on colour. Patches are kept in the order (window total over all
// channels, id), so a query visits them outwards from its own total and stops each way at the
// first total the bound rules out: sum_c (Sq_c - Sp_c)^2 >= (Tq - Tp)^2 / C (Cauchy-Schwarz), so
// a gap in totals with (Tq - Tp)^2 > C Dc tau means d > tau, for this patch and every one
// farther out.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "search/kernels/kernels.hpp"
#include "tessera/library/library.hpp"

namespace tessera::detail {

class TopK;

// Distance over the top-left window of a patch (the whole patch when window is the tile). Past
// `limit` it may stop early and return any value above it, as sqdist_u8_within does.
uint64_t window_distance(const Library& library, const kernels::Kernels& kernels,
                         const uint8_t* query, Size window, uint32_t id,
                         uint64_t limit = UINT64_MAX);

class EdgeSearch {
  public:
    // The patches of one window shape in the order the search visits them.
    struct WindowIndex {
        std::vector<uint32_t> ids, totals, sums, spreads;  // by position in that order
    };

    // `library` and `kernels` must outlive the search.
    EdgeSearch(const Library& library, const kernels::Kernels& kernels, int threads)
        : library_(library), kernels_(kernels), threads_(threads) {}

    // The index of a shape, built on first use and kept: a target has at most three edge shapes
    // (right column, bottom row, corner) and callers often search many same-size targets.
    std::shared_ptr<const WindowIndex> index(Size window) const;

    // Offers `top` every patch the per-channel bound does not rule out.
    void search(const uint8_t* query, Size window, const WindowIndex& w, TopK& top) const;

  private:
    WindowIndex build_index(Size window) const;

    const Library& library_;
    const kernels::Kernels& kernels_;
    int threads_;
    static constexpr size_t kCachedWindows = 6;  // two target sizes' edge shapes
    mutable std::mutex windows_mutex_;
    mutable std::vector<std::pair<Size, std::shared_ptr<const WindowIndex>>> windows_;
};

}  // namespace tessera::detail
