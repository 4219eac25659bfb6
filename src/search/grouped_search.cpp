#include "search/grouped_search.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <tuple>

#include "search/search_index.hpp"
#include "search/top_k.hpp"
#include "tessera/core/error.hpp"

namespace tessera::detail {

using kernels::kPanelQueries;
using kernels::kPanelRows;

namespace {

using u128 = unsigned __int128;

// Panels per kernel call in the main pass: the limits tighten between calls.
constexpr size_t kStepPanels = 16;
// Groups per chunk-major pass: bounds the per-thread k best of every query in it.
constexpr size_t kSlabGroups = 128;

}  // namespace

struct GroupedSearch::QueryKey {
    uint32_t sum = 0, spread = 0, norm = 0, query = 0;
};

struct GroupedSearch::Group {
    size_t size = 0;  // queries; the slots past it are zero and never read back
    uint32_t members[kGroupQueries] = {};
    uint32_t sums[kGroupQueries] = {}, spreads[kGroupQueries] = {};
    int32_t offsets[kGroupQueries] = {};  // |q|^2 - 256 sum(q), as the panel kernel takes them
    uint64_t ceilings[kGroupQueries] = {};
    std::vector<uint8_t> pixels;                        // kGroupQueries rows of bytes_
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // admitted positions [first, second)
    size_t candidates = 0;
};

bool GroupedSearch::applies(const Library& library) {
    return uint64_t(library.patch_bytes()) * 255 * 255 < uint64_t(1) << 31;
}

GroupedSearch::GroupedSearch(const Library& library, const ExactIndex& index,
                             const kernels::Kernels& kernels, int threads, size_t min_candidates)
    : library_(library),
      index_(index),
      kernels_(kernels),
      threads_(threads),
      min_candidates_(min_candidates),
      bytes_((library.patch_bytes() + 3) / 4 * 4) {
    TESSERA_ASSERT(applies(library) && kernels.panel_distances != nullptr);
    const size_t n = library.patch_count(), D = library.patch_bytes();
    const size_t rows = (n + kPanelRows - 1) / kPanelRows * kPanelRows;
    panels_.assign(rows * bytes_, 0);
    norms_.assign(rows, 0);
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (size_t pos = 0; pos < n; ++pos) {
        const uint32_t id = index.order[pos];
        const uint8_t* patch = library.patch(id);
        int8_t* row = &panels_[pos / kPanelRows * kPanelRows * bytes_ + pos % kPanelRows * 4];
        for (size_t b = 0; b < D; ++b)
            row[b / 4 * kPanelRows * 4 + b % 4] = int8_t(patch[b] ^ 0x80);
        norms_[pos] = index.norms[id];
    }
}

std::vector<uint32_t> GroupedSearch::search(const QueryBatch& queries, int k, Neighbor* out) const {
    const size_t D = library_.patch_bytes();
    std::vector<QueryKey> keys(queries.count);
    for (size_t q = 0; q < queries.count; ++q) {
        const uint8_t* query = queries.data + q * D;
        uint32_t sum = 0, norm = 0;  // both fit (applies())
        for (size_t b = 0; b < D; ++b) {
            sum += query[b];
            norm += uint32_t(query[b]) * query[b];
        }
        const auto spread = uint32_t(isqrt(uint64_t(D) * norm - uint64_t(sum) * sum));
        keys[q] = {sum, spread, norm, uint32_t(q)};
    }
    std::sort(keys.begin(), keys.end(), [](const QueryKey& a, const QueryKey& b) {
        return std::tie(a.sum, a.spread, a.query) < std::tie(b.sum, b.spread, b.query);
    });
    std::vector<Group> groups((keys.size() + kGroupQueries - 1) / kGroupQueries);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
    for (size_t g = 0; g < groups.size(); ++g) {
        const size_t first = g * kGroupQueries;
        groups[g] =
            prepare_group(queries, &keys[first], std::min(kGroupQueries, keys.size() - first), k);
    }
    std::vector<uint32_t> rest;
    std::vector<Group> taken;
    for (Group& group : groups) {
        if (group.candidates < min_candidates_) {
            rest.insert(rest.end(), group.members, group.members + group.size);
        } else {
            taken.push_back(std::move(group));
        }
    }
    // The per-query scan seeds each query from the one before: neighbouring tiles in the
    // caller's order are closer than neighbours in (sum, spread) order.
    std::sort(rest.begin(), rest.end());
    for (size_t first = 0; first < taken.size(); first += kSlabGroups) {
        search_groups(std::span(taken).subspan(first, std::min(kSlabGroups, taken.size() - first)),
                      k, out);
    }
    return rest;
}

GroupedSearch::Group GroupedSearch::prepare_group(const QueryBatch& queries, const QueryKey* keys,
                                                  size_t size, int k) const {
    const size_t D = library_.patch_bytes();
    Group group;
    group.size = size;
    group.pixels.assign(kGroupQueries * bytes_, 0);
    for (size_t i = 0; i < size; ++i) {
        group.members[i] = keys[i].query;
        group.sums[i] = keys[i].sum;
        group.spreads[i] = keys[i].spread;
        // Modulo 2^32, as the kernel's sum is.
        group.offsets[i] = int32_t(keys[i].norm - 256u * keys[i].sum);
        std::memcpy(&group.pixels[i * bytes_], queries.data + size_t(keys[i].query) * D, D);
    }
    seed(group, k);
    admit(group);
    return group;
}

// Each query's ceiling: its k-th best distance among the kSeedRows positions around the middle
// query's place in the index (k distinct patches, so at least the k-th best overall).
void GroupedSearch::seed(Group& group, int k) const {
    const ExactIndex& x = index_;
    const size_t n = library_.patch_count();
    const size_t mid = group.size / 2;
    const size_t b = mean_bucket(group.sums[mid], library_.patch_bytes());
    const uint32_t* spreads = x.spreads.data();
    const size_t at =
        std::lower_bound(spreads + x.buckets[b], spreads + x.buckets[b + 1], group.spreads[mid]) -
        spreads;
    const size_t rows = std::min(n, std::max(kSeedRows, size_t(k)));
    const size_t first = std::min(at > rows / 2 ? at - rows / 2 : 0, n - rows);
    const size_t p0 = first / kPanelRows, p1 = (first + rows + kPanelRows - 1) / kPanelRows;
    const size_t count = p1 - p0, width = count * kPanelRows;
    std::vector<uint32_t> distances(kPanelQueries * width), mine;
    std::vector<uint16_t> masks(kPanelQueries * count);
    const uint32_t limits[kPanelQueries] = {};  // the masks go unread
    for (size_t q0 = 0; q0 < group.size; q0 += kPanelQueries) {
        kernels_.panel_distances({&group.pixels[q0 * bytes_], &group.offsets[q0], limits, bytes_},
                                 &panels_[p0 * kPanelRows * bytes_], &norms_[p0 * kPanelRows],
                                 count, distances.data(), masks.data());
        for (size_t i = q0; i < std::min(group.size, q0 + kPanelQueries); ++i) {
            const uint32_t* d = &distances[(i - q0) * width + (first - p0 * kPanelRows)];
            mine.assign(d, d + rows);
            std::nth_element(mine.begin(), mine.begin() + (k - 1), mine.end());
            group.ceilings[i] = mine[size_t(k) - 1];
        }
    }
}

// Per mean bucket, the hull of the queries' spread intervals within their ceilings: every
// patch within a query's ceiling passes the mean and spread bound (search_index.hpp), so it is
// admitted. Buckets hold disjoint positions, so the ranges are disjoint.
void GroupedSearch::admit(Group& group) const {
    const ExactIndex& x = index_;
    const uint64_t D = library_.patch_bytes();
    const uint32_t* spreads = x.spreads.data();
    for (size_t b = 0; b < kMeanBuckets; ++b) {
        const uint64_t low_sum = b * D, high_sum = b + 1 < kMeanBuckets ? (b + 1) * D - 1 : b * D;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (size_t i = 0; i < group.size; ++i) {
            const uint64_t S = group.sums[i];
            const uint64_t sum_gap = S < low_sum ? low_sum - S : S > high_sum ? S - high_sum : 0;
            const u128 limit = u128(D) * group.ceilings[i], mean_part = u128(sum_gap) * sum_gap;
            if (mean_part > limit) continue;
            // sqrt(Vp) within reach of sqrt(Vq): |isqrt(Vp) - isqrt(Vq)| - 1 <= isqrt(room).
            const uint64_t reach = isqrt(uint64_t(limit - mean_part)) + 1;
            lo = std::min(lo, group.spreads[i] > reach ? group.spreads[i] - reach : 0);
            hi = std::max(hi, group.spreads[i] + reach);
        }
        if (lo > hi) continue;
        const uint32_t* last = spreads + x.buckets[b + 1];
        const uint32_t* begin = std::lower_bound(spreads + x.buckets[b], last, lo);
        const uint32_t* end = std::upper_bound(begin, last, hi);
        if (begin == end) continue;
        group.ranges.emplace_back(uint32_t(begin - spreads), uint32_t(end - spreads));
        group.candidates += size_t(end - begin);
    }
}

void GroupedSearch::search_groups(std::span<const Group> groups, int k, Neighbor* out) const {
    // The admitted ranges cut at chunk boundaries, chunk-major.
    struct Work {
        uint32_t chunk, group, begin, end;
    };
    std::vector<Work> work;
    for (size_t g = 0; g < groups.size(); ++g) {
        for (const auto& [begin, end] : groups[g].ranges) {
            for (uint32_t at = begin; at < end;) {
                const auto chunk = uint32_t(at / kChunkRows);
                const auto stop = uint32_t(std::min<size_t>(end, (chunk + 1) * kChunkRows));
                work.push_back({chunk, uint32_t(g), at, stop});
                at = stop;
            }
        }
    }
    std::sort(work.begin(), work.end(), [](const Work& a, const Work& b) {
        return std::tie(a.chunk, a.group, a.begin) < std::tie(b.chunk, b.group, b.begin);
    });
    std::vector<size_t> starts;  // where each chunk's work begins, and the end
    for (size_t i = 0; i < work.size(); ++i) {
        if (i == 0 || work[i].chunk != work[i - 1].chunk) starts.push_back(i);
    }
    starts.push_back(work.size());
    const size_t chunks = starts.size() - 1;

    // Each thread's k best per query slot, within the slot's ceiling.
    const size_t slots = groups.size() * kGroupQueries;
    std::vector<std::vector<Neighbor>> bests(static_cast<size_t>(threads_));
#pragma omp parallel num_threads(threads_)
    {
        std::vector<Neighbor>& best = bests[size_t(omp_get_thread_num())];
        best.resize(slots * size_t(k));
        std::vector<TopK> tops;
        tops.reserve(slots);
        for (size_t s = 0; s < slots; ++s) {
            tops.emplace_back(&best[s * size_t(k)], k);
            tops.back().set_ceiling(groups[s / kGroupQueries].ceilings[s % kGroupQueries]);
        }
        std::vector<uint32_t> distances(kPanelQueries * kStepPanels * kPanelRows);
        std::vector<uint16_t> masks(kPanelQueries * kStepPanels);
#pragma omp for schedule(dynamic, 1)
        for (size_t c = 0; c < chunks; ++c) {
            for (size_t w = starts[c]; w < starts[c + 1]; ++w) {
                visit(groups[work[w].group], &tops[work[w].group * kGroupQueries], work[w].begin,
                      work[w].end, distances.data(), masks.data());
            }
        }
    }

    // The k best of the threads' k best, by (distance, id).
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
    for (size_t g = 0; g < groups.size(); ++g) {
        std::vector<Neighbor> merged;
        for (size_t i = 0; i < groups[g].size; ++i) {
            merged.clear();
            const size_t slot = g * kGroupQueries + i;
            for (const std::vector<Neighbor>& best : bests) {
                if (best.empty()) continue;  // a thread the runtime did not start
                for (int j = 0; j < k; ++j) {
                    const Neighbor& n = best[slot * size_t(k) + size_t(j)];
                    if (n.id != UINT32_MAX) merged.push_back(n);
                }
            }
            // k patches lie within the ceiling, all admitted, each offered to one thread.
            TESSERA_ASSERT(merged.size() >= size_t(k));
            std::partial_sort(merged.begin(), merged.begin() + k, merged.end());
            std::copy_n(merged.begin(), k, out + size_t(groups[g].members[i]) * size_t(k));
        }
    }
}

// Positions [begin, end) of one chunk against a group's queries: the panel kernel over steps of
// kStepPanels, each query offered the rows within its current k-th best.
void GroupedSearch::visit(const Group& group, TopK* tops, size_t begin, size_t end,
                          uint32_t* distances, uint16_t* masks) const {
    const size_t p_end = (end + kPanelRows - 1) / kPanelRows;
    for (size_t p0 = begin / kPanelRows; p0 < p_end; p0 += kStepPanels) {
        const size_t count = std::min(kStepPanels, p_end - p0), width = count * kPanelRows;
        for (size_t q0 = 0; q0 < group.size; q0 += kPanelQueries) {
            const size_t queries = std::min(kPanelQueries, group.size - q0);
            uint32_t limits[kPanelQueries] = {};
            // Ceilings are 32-bit distances.
            for (size_t i = 0; i < queries; ++i) limits[i] = uint32_t(tops[q0 + i].worst());
            kernels_.panel_distances(
                {&group.pixels[q0 * bytes_], &group.offsets[q0], limits, bytes_},
                &panels_[p0 * kPanelRows * bytes_], &norms_[p0 * kPanelRows], count, distances,
                masks);
            for (size_t i = 0; i < queries; ++i) {
                for (size_t p = 0; p < count; ++p) {
                    for (uint32_t m = masks[i * count + p]; m != 0; m &= m - 1) {
                        const size_t row = p * kPanelRows + size_t(std::countr_zero(m));
                        const size_t pos = p0 * kPanelRows + row;
                        if (pos < begin || pos >= end) continue;
                        tops[q0 + i].offer(distances[i * width + row], index_.order[pos]);
                    }
                }
            }
        }
    }
}

}  // namespace tessera::detail
