// The fast exact search: lower bounds from the library's search index (search_index.hpp) skip
// most patches, and only the survivors get a full distance from the SIMD kernels. Every bound is
// exact integer arithmetic and a patch is skipped only when its bound is strictly greater than
// the current k-th best distance, so ties still reach the top-k and resolve to the lowest id.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <memory>
#include <mutex>
#include <numeric>
#include <utility>
#include <vector>

#include "search/backends.hpp"
#include "search/edge_search.hpp"
#include "search/exact_index.hpp"
#include "search/grouped_search.hpp"
#include "search/search_index.hpp"
#include "search/top_k.hpp"
#include "tessera/core/error.hpp"
#include "tessera/search/search.hpp"

namespace tessera {

namespace {

using detail::TopK;
using u128 = unsigned __int128;

// Positions per step of the scan: the limits tighten between steps.
constexpr size_t kPositionsPerStep = 64;

class ExactSearcher final : public Searcher {
  public:
    ExactSearcher(const Library& library, int threads, const kernels::Kernels& kernels,
                  size_t grouped_min_candidates)
        : library_(library),
          threads_(threads > 0 ? threads : omp_get_num_procs()),
          kernels_(kernels),
          grid_(detail::block_grid(library.params())),
          index_(exact_index(library_)),
          grouped_min_candidates_(grouped_min_candidates),
          edges_(library_, kernels_, threads_) {
        check_index_matches_patches(library_, index_, threads_);
    }

    void search(const QueryBatch& queries, int k, Neighbor* out) const override {
        check_queries(library_, queries, k);
        const bool full = queries.window == library_.params().tile;
        std::vector<uint32_t> order;  // the queries for the per-query scan, neighbours together
        if (full && grouped_ready()) {
            order = grouped_->search(queries, k, out);
        } else if (full) {
            order = by_mean_and_spread(queries);
        } else {
            order.resize(queries.count);
            std::iota(order.begin(), order.end(), 0u);
        }
        scan(queries, order, k, out);
    }

  private:
    // Full tiles in index order (mean bucket, spread): neighbouring queries then scan mostly the
    // same positions, whose block sums and pixels are still in the caches.
    std::vector<uint32_t> by_mean_and_spread(const QueryBatch& queries) const {
        const size_t n = queries.count;
        const uint64_t D = library_.patch_bytes();
        std::vector<std::pair<uint64_t, uint32_t>> keys(n);
#pragma omp parallel num_threads(threads_)
        {
            std::vector<uint16_t> blocks(2 * grid_.pairs());
#pragma omp for schedule(static)
            for (size_t q = 0; q < n; ++q) {
                const detail::PatchFeatures f = detail::patch_features(
                    queries.data + q * D, library_.params(), grid_, blocks.data());
                keys[q] = {uint64_t(detail::mean_bucket(f.sum, D)) << 32 | f.spread, uint32_t(q)};
            }
        }
        std::sort(keys.begin(), keys.end());
        std::vector<uint32_t> order(n);
        for (size_t i = 0; i < n; ++i) order[i] = keys[i].second;
        return order;
    }

    // The queries `order` names, one at a time.
    void scan(const QueryBatch& queries, const std::vector<uint32_t>& order, int k,
              Neighbor* out) const {
        const bool full = queries.window == library_.params().tile;
        const size_t query_bytes =
            size_t(queries.window.width) * queries.window.height * library_.params().channels();
        const std::shared_ptr<const detail::EdgeSearch::WindowIndex> window =
            full ? nullptr : edges_.index(queries.window);
        // Runs of neighbouring queries share a thread so each can start from the last one's
        // answer; the answers themselves do not depend on the runs.
        constexpr size_t kRun = 16;
        const size_t runs = (order.size() + kRun - 1) / kRun;
        std::atomic<bool> incomplete{false};
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
        for (size_t r = 0; r < runs; ++r) {
            Scratch scratch{std::vector<uint16_t>(2 * grid_.pairs()),
                            std::vector<uint32_t>(grid_.pairs())};
            const Neighbor* previous = nullptr;
            for (size_t i = r * kRun; i < std::min(order.size(), (r + 1) * kRun); ++i) {
                const size_t q = order[i];
                const uint8_t* query = queries.data + q * query_bytes;
                TopK top(out + q * size_t(k), k);
                if (previous != nullptr) seed(query, queries.window, previous, k, top);
                if (full) {
                    search_full(query, scratch, top);
                } else {
                    edges_.search(query, queries.window, *window, top);
                }
                if (!top.sort()) incomplete = true;
                previous = out + q * size_t(k);
            }
        }
        // Only a file changed by another process after the searcher checked it gets here.
        if (incomplete) {
            throw Error(library_.path() +
                        ": search index disagrees with its patches (was the file changed while "
                        "in use?); rebuild the library");
        }
    }

    // Whether the grouped search takes full tiles here; it lays out its rows on first use.
    bool grouped_ready() const {
        if (grouped_min_candidates_ == detail::kGroupedNever ||
            kernels_.panel_distances == nullptr || !detail::GroupedSearch::applies(library_)) {
            return false;
        }
        std::call_once(grouped_once_, [this] {
            grouped_ = std::make_unique<detail::GroupedSearch>(library_, index_, kernels_, threads_,
                                                               grouped_min_candidates_);
        });
        return true;
    }

    // The previous query's answers, k distinct patches, bound the k-th best distance before the
    // scan starts; the scan then meets them again like any other patch.
    void seed(const uint8_t* query, Size window, const Neighbor* previous, int k, TopK& top) const {
        uint64_t ceiling = 0;
        for (int i = 0; i < k; ++i) {
            ceiling = std::max(ceiling, detail::window_distance(library_, kernels_, query, window,
                                                                previous[i].id));
        }
        top.set_ceiling(ceiling);
    }

    // A query's block sums, alone and in pairs.
    struct Scratch {
        std::vector<uint16_t> blocks;
        std::vector<uint32_t> pairs;
    };

    void search_full(const uint8_t* query, Scratch& scratch, TopK& top) const {
        const ExactIndex& x = index_;
        const uint64_t D = library_.patch_bytes();
        const size_t pairs = x.pairs;
        const detail::PatchFeatures qf =
            detail::patch_features(query, library_.params(), grid_, scratch.blocks.data());
        for (size_t j = 0; j < pairs; ++j) {
            scratch.pairs[j] = detail::block_pair(scratch.blocks.data(), j);
        }
        const uint64_t S = qf.sum;
        kernels::BlockQuery bq;
        bq.pairs = scratch.pairs.data();
        bq.pair_count = pairs;
        bq.tail = int32_t(qf.tail);
        const int channels = library_.params().channels();
        const size_t lanes = detail::channel_lanes(channels);
        const uint64_t Dc = uint64_t(library_.params().tile.width) * library_.params().tile.height;
        kernels::ChannelQuery cq;
        cq.channels = channels;
        for (int c = 0; c < channels; ++c) cq.sums[c] = int32_t(qf.channel_sums[c]);
        cq.spread = int32_t(qf.channel_spread);

        // Limits derived from the k-th best distance tau, refreshed when it falls.
        uint64_t tau = 0;
        u128 spread_limit = 0;  // D tau
        auto refresh = [&] {
            tau = top.worst();
            spread_limit = tau == UINT64_MAX ? ~u128(0) : u128(D) * tau;
            bq.limit = int32_t(std::min<u128>(u128(grid_.block_bytes) * tau, INT32_MAX));
            cq.limit = int64_t(std::min<u128>(u128(Dc) * tau, INT64_MAX));
        };
        refresh();

        uint8_t masks[kPositionsPerStep / detail::kGroup + 1];
        // Positions [begin, end): the channel filter (colour), the block filter on the groups
        // with a survivor, then full distances for the survivors.
        auto visit = [&](size_t begin, size_t end) __attribute__((always_inline)) {
            const size_t g0 = begin / detail::kGroup, g1 = (end - 1) / detail::kGroup + 1;
            if (lanes != 0) {
                colour_filter(cq, bq, g0, g1, masks);
            } else if (pairs != 0) {
                kernels_.block_filter(bq, &x.block_pairs[g0 * pairs * detail::kGroup],
                                      &x.tails[g0 * detail::kGroup], g1 - g0, masks);
            } else {
                std::fill(masks, masks + (g1 - g0), uint8_t(0xff));
            }
            // Survivors' patches are scattered over the library: fetch them all before the
            // distances so their cache misses overlap.
            uint32_t ids[kPositionsPerStep + detail::kGroup];
            size_t count = 0;
            for (size_t g = g0; g < g1; ++g) {
                for (uint32_t m = masks[g - g0]; m != 0; m &= m - 1) {
                    const size_t i = g * detail::kGroup + size_t(std::countr_zero(m));
                    if (i < begin || i >= end) continue;
                    ids[count++] = x.order[i];
                    prefetch_patch(x.order[i]);
                }
            }
            for (size_t j = 0; j < count; ++j) offer(query, ids[j], top, refresh);
        };

        // One bucket: outwards from the query's spread in chunks, the spread interval the bound
        // allows (sum_gap^2 + root_gap^2 <= D tau) recomputed as tau falls.
        auto scan_bucket = [&](size_t b, uint64_t sum_gap) __attribute__((always_inline)) {
            const uint32_t* spreads = x.spreads.data();
            const size_t first = x.buckets[b], last = x.buckets[b + 1];
            const size_t mid =
                std::lower_bound(spreads + first, spreads + last, qf.spread) - spreads;
            size_t down = mid, up = mid;       // [down, up) is done
            size_t begin = first, end = last;  // the allowed interval, shrinking with tau
            uint64_t tau_seen = 0;
            bool stale = true;
            while (true) {
                if (stale || tau != tau_seen) {
                    stale = false;
                    tau_seen = tau;
                    const u128 mean_part = u128(sum_gap) * sum_gap;
                    if (mean_part > spread_limit) return;
                    const u128 room = spread_limit - mean_part;
                    const uint64_t g = room >> 64 ? UINT64_MAX : detail::isqrt(uint64_t(room));
                    const uint64_t reach = std::min<uint64_t>(g, UINT32_MAX) + 1;
                    const uint64_t lo = qf.spread > reach ? qf.spread - reach : 0;
                    begin = std::lower_bound(spreads + begin, spreads + down, lo) - spreads;
                    end =
                        std::upper_bound(spreads + up, spreads + end, qf.spread + reach) - spreads;
                }
                if (begin == down && end == up) return;
                if (up < end) {
                    const size_t stop = std::min(end, up + kPositionsPerStep);
                    visit(up, stop);
                    up = stop;
                }
                if (begin < down) {
                    const size_t start =
                        std::max(begin, down > kPositionsPerStep ? down - kPositionsPerStep : 0);
                    visit(start, down);
                    down = start;
                }
            }
        };

        // Buckets in order of their least sum gap, outwards from the query's own; a direction
        // stops at the first bucket the mean bound rules out, as all further ones are farther.
        const size_t home = detail::mean_bucket(S, D);
        auto bucket_gap = [&](size_t b) -> uint64_t {
            const uint64_t lo = b * D, hi = b + 1 < detail::kMeanBuckets ? (b + 1) * D - 1 : b * D;
            return S < lo ? lo - S : S > hi ? S - hi : 0;
        };
        auto open = [&](uint64_t sum_gap) { return u128(sum_gap) * sum_gap <= u128(D) * tau; };
        size_t down = home + 1, up = home + 1;  // next buckets: down - 1 and up
        bool down_open = true, up_open = true;
        while (true) {
            down_open = down_open && down > 0 && open(bucket_gap(down - 1));
            up_open = up_open && up < detail::kMeanBuckets && open(bucket_gap(up));
            if (!down_open && !up_open) break;
            if (down_open && (!up_open || bucket_gap(down - 1) <= bucket_gap(up))) {
                --down;
                scan_bucket(down, bucket_gap(down));
            } else {
                scan_bucket(up, bucket_gap(up));
                ++up;
            }
        }
    }

    // Colour: the channel filter over groups [g0, g1), then the block filter over the runs of
    // groups it leaves a survivor in.
    void colour_filter(const kernels::ChannelQuery& cq, const kernels::BlockQuery& bq, size_t g0,
                       size_t g1, uint8_t* masks) const {
        const ExactIndex& x = index_;
        const size_t lanes = detail::channel_lanes(library_.params().channels());
        kernels_.channel_filter(cq, &x.channel_groups[g0 * lanes], g1 - g0, masks);
        uint8_t block_masks[kPositionsPerStep / detail::kGroup + 1];
        for (size_t g = g0; x.pairs != 0 && g < g1;) {
            if (masks[g - g0] == 0) {
                ++g;
                continue;
            }
            size_t run = g + 1;  // [g, run): groups with a survivor
            while (run < g1 && masks[run - g0] != 0) ++run;
            kernels_.block_filter(bq, &x.block_pairs[g * x.pairs * detail::kGroup],
                                  &x.tails[g * detail::kGroup], run - g, block_masks);
            for (size_t r = g; r < run; ++r) masks[r - g0] &= block_masks[r - g];
            g = run;
        }
    }

    void prefetch_patch(uint32_t id) const {
        const uint8_t* patch = library_.patch(id);
        const size_t bytes = std::min<size_t>(library_.patch_bytes(), 1024);
        for (size_t at = 0; at < bytes; at += 64) __builtin_prefetch(patch + at);
    }

    // Full distance to the patch `id`; refreshes the limits when it enters the top k.
    template <typename Refresh>
    void offer(const uint8_t* query, uint32_t id, TopK& top, const Refresh& refresh) const {
        // Distances fit 32 bits (kMaxTileSide); one past the k-th best cannot enter the top k.
        const auto limit = uint32_t(std::min<uint64_t>(top.worst(), UINT32_MAX));
        const uint32_t d =
            kernels_.sqdist_u8_within(query, library_.patch(id), library_.patch_bytes(), limit);
        if (top.offer(d, id)) {
            refresh();
        }
    }

    Library library_;
    int threads_;
    const kernels::Kernels& kernels_;
    detail::BlockGrid grid_;
    ExactIndex index_;
    size_t grouped_min_candidates_;
    mutable std::once_flag grouped_once_;
    mutable std::unique_ptr<detail::GroupedSearch> grouped_;
    detail::EdgeSearch edges_;
};

}  // namespace

std::unique_ptr<Searcher> detail::exact_searcher_on(const Library& library, int threads,
                                                    const kernels::Kernels& kernels,
                                                    size_t grouped_min_candidates) {
    return std::make_unique<ExactSearcher>(library, threads, kernels, grouped_min_candidates);
}

}  // namespace tessera
