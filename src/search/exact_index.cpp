// Building, sizing and validating the exact index as a library's search data.
#include "search/exact_index.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "search/search_index.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/interrupt.hpp"
#include "tessera/search/exact_search_data.hpp"

namespace tessera {

namespace {

// The search sections in file order.
enum Section { kNorms, kOrder, kSums, kSpreads, kBuckets, kTails, kBlocks, kChannelGroups };
static_assert(kChannelGroups + 1 == kSearchSectionCount);

// 32-bit values in each section.
std::array<size_t, kSearchSectionCount> section_values(const LibraryParams& params, size_t n) {
    const size_t padded = detail::group_count(n) * detail::kGroup;
    std::array<size_t, kSearchSectionCount> values{};
    for (Section s : {kNorms, kOrder, kSums, kSpreads}) values[s] = n;
    values[kBuckets] = detail::kMeanBuckets + 1;
    values[kTails] = padded;
    values[kBlocks] = padded * detail::block_grid(params).pairs();
    values[kChannelGroups] = padded / detail::kGroup * detail::channel_lanes(params.channels());
    return values;
}

ExactIndex index_view(const LibraryParams& params, size_t n, const SearchSections& sections) {
    const std::array<size_t, kSearchSectionCount> values = section_values(params, n);
    auto u32 = [&](Section s) {
        TESSERA_ASSERT(sections[s].size() == values[s] * sizeof(uint32_t));
        return std::span<const uint32_t>(reinterpret_cast<const uint32_t*>(sections[s].data()),
                                         values[s]);
    };
    return {u32(kNorms),        u32(kOrder), u32(kSums),   u32(kSpreads),
            u32(kBuckets),      u32(kTails), u32(kBlocks), detail::block_grid(params).pairs(),
            u32(kChannelGroups)};
}

using IndexBuffers = std::array<std::vector<uint32_t>, kSearchSectionCount>;

// Computes the patches' norms and the index (search_index.hpp) of n patches.
IndexBuffers build_index(const LibraryParams& params, const uint8_t* pixels, size_t n) {
    const size_t patch_bytes = params.patch_bytes();
    const detail::BlockGrid grid = detail::block_grid(params);
    const size_t pairs = grid.pairs();
    std::vector<detail::PatchFeatures> by_id(n);
    std::vector<uint16_t> blocks_by_id(n * 2 * pairs);
    // In blocks, with an interruption point between them (none may be inside a parallel loop).
    constexpr size_t kBlock = 65536;
    for (size_t first = 0; first < n; first += kBlock) {
        interruption_point();
        const size_t last = std::min(n, first + kBlock);
#pragma omp parallel for schedule(static)
        for (size_t id = first; id < last; ++id) {
            by_id[id] = detail::patch_features(pixels + id * patch_bytes, params, grid,
                                               blocks_by_id.data() + id * 2 * pairs);
        }
    }
    interruption_point();
    // Sort by (mean bucket, spread, id): the spread fits 32 bits (search_index.hpp).
    std::vector<std::pair<uint64_t, uint32_t>> keys(n);
    for (size_t id = 0; id < n; ++id) {
        const uint64_t bucket = detail::mean_bucket(by_id[id].sum, patch_bytes);
        keys[id] = {bucket << 32 | by_id[id].spread, uint32_t(id)};
    }
    std::sort(keys.begin(), keys.end());
    interruption_point();
    IndexBuffers b;
    const std::array<size_t, kSearchSectionCount> values = section_values(params, n);
    for (size_t s = 0; s < kSearchSectionCount; ++s) b[s].assign(values[s], 0);
    for (size_t id = 0; id < n; ++id) b[kNorms][id] = by_id[id].norm;
    const int channels = params.channels();
    const size_t lanes = detail::channel_lanes(channels);
    for (size_t i = 0; i < n; ++i) {
        if (i % 65536 == 0) interruption_point();
        const uint32_t id = keys[i].second;
        b[kOrder][i] = id;
        b[kSums][i] = by_id[id].sum;
        b[kSpreads][i] = by_id[id].spread;
        b[kTails][i] = by_id[id].tail;
        const uint16_t* blocks = blocks_by_id.data() + id * 2 * pairs;
        for (size_t j = 0; j < pairs; ++j) {
            b[kBlocks][((i / detail::kGroup) * pairs + j) * detail::kGroup + i % detail::kGroup] =
                detail::block_pair(blocks, j);
        }
        if (lanes != 0) {
            uint32_t* group = &b[kChannelGroups][i / detail::kGroup * lanes + i % detail::kGroup];
            for (int c = 0; c < channels; ++c)
                group[c * detail::kGroup] = by_id[id].channel_sums[c];
            group[channels * detail::kGroup] = by_id[id].channel_spread;
        }
        ++b[kBuckets][detail::mean_bucket(by_id[id].sum, patch_bytes) + 1];
    }
    for (size_t i = 1; i < b[kBuckets].size(); ++i) b[kBuckets][i] += b[kBuckets][i - 1];
    return b;
}

// The search reads pixels through the index, so a file whose index is not a permutation sorted
// as search_index.hpp says is refused (what the checksum alone would catch only on --verify).
// Features past what any patch can have are refused too: the filters' integer widths (and the
// SIMD levels' agreement) rest on those maxima.
void check_index(const ExactIndex& x, const LibraryParams& params) {
    auto require = [](bool holds) {
        if (!holds) throw Error("search index is corrupt; rebuild the library");
    };
    const size_t n = x.order.size();
    const size_t patch_bytes = params.patch_bytes();
    const int channels = params.channels();
    const detail::BlockGrid grid = detail::block_grid(params);
    const uint64_t max_norm = uint64_t(patch_bytes) * 255 * 255;
    const uint32_t max_block = 255u * uint32_t(grid.block_bytes);
    const uint64_t max_tail = detail::isqrt(uint64_t(grid.block_bytes) * max_norm);
    const uint64_t max_channel_spread = detail::isqrt(patch_bytes / size_t(channels) * max_norm);
    for (uint32_t tail : x.tails) require(tail <= max_tail);
    for (uint32_t pair : x.block_pairs) {
        require((pair & 0xffff) <= max_block && (pair >> 16) <= max_block);
    }
    require(x.buckets.front() == 0 && x.buckets.back() == n);
    std::vector<bool> seen(n);
    for (size_t b = 0; b < detail::kMeanBuckets; ++b) {
        require(x.buckets[b] <= x.buckets[b + 1]);
        for (size_t i = x.buckets[b]; i < x.buckets[b + 1]; ++i) {
            const uint32_t id = x.order[i];
            require(id < n && !seen[id] && detail::mean_bucket(x.sums[i], patch_bytes) == b &&
                    (i == x.buckets[b] || x.spreads[i - 1] <= x.spreads[i]));
            seen[id] = true;
        }
    }
    // The channel sums of a position add up to its sum.
    const size_t lanes = detail::channel_lanes(channels);
    for (size_t i = 0; lanes != 0 && i < n; ++i) {
        const uint32_t* group = &x.channel_groups[i / detail::kGroup * lanes + i % detail::kGroup];
        uint64_t sum = 0;
        for (int c = 0; c < channels; ++c) sum += group[c * detail::kGroup];
        require(sum == x.sums[i] && group[channels * detail::kGroup] <= max_channel_spread);
    }
}

// Whether the index's entries at position i (of patch `id`, or padding past the last patch)
// are those of features `f` and block sums `blocks`.
bool position_holds(const ExactIndex& x, size_t i, size_t lanes, int channels,
                    const detail::PatchFeatures& f, const uint16_t* blocks) {
    bool same = x.tails[i] == f.tail;
    for (size_t j = 0; j < x.pairs; ++j) {
        same &= x.block_pairs[((i / detail::kGroup) * x.pairs + j) * detail::kGroup +
                              i % detail::kGroup] == detail::block_pair(blocks, j);
    }
    if (lanes != 0) {
        const uint32_t* group = &x.channel_groups[i / detail::kGroup * lanes + i % detail::kGroup];
        for (int c = 0; c < channels; ++c) same &= group[c * detail::kGroup] == f.channel_sums[c];
        same &= group[channels * detail::kGroup] == f.channel_spread;
    }
    return same;
}

class ExactSearchData final : public SearchData {
  public:
    SearchSectionBytes section_bytes(const LibraryParams& params,
                                     uint64_t patch_count) const override {
        const std::array<size_t, kSearchSectionCount> values =
            section_values(params, size_t(patch_count));
        SearchSectionBytes bytes;
        for (size_t s = 0; s < kSearchSectionCount; ++s) bytes[s] = values[s] * sizeof(uint32_t);
        return bytes;
    }

    BuiltSearchSections build(const LibraryParams& params, const uint8_t* pixels,
                              size_t patch_count) const override {
        auto buffers =
            std::make_shared<const IndexBuffers>(build_index(params, pixels, patch_count));
        BuiltSearchSections built;
        for (size_t s = 0; s < kSearchSectionCount; ++s) {
            const std::vector<uint32_t>& v = (*buffers)[s];
            built.sections[s] = {reinterpret_cast<const uint8_t*>(v.data()),
                                 v.size() * sizeof(uint32_t)};
        }
        built.storage = std::move(buffers);
        return built;
    }

    void validate(const LibraryParams& params, size_t patch_count,
                  const SearchSections& sections) const override {
        check_index(index_view(params, patch_count, sections), params);
    }
};

}  // namespace

const SearchData& exact_search_data() {
    static const ExactSearchData instance;
    return instance;
}

void check_index_matches_patches(const Library& library, const ExactIndex& x, int threads) {
    const LibraryParams& params = library.params();
    const detail::BlockGrid grid = detail::block_grid(params);
    const size_t n = x.order.size();
    const int channels = params.channels();
    const size_t lanes = detail::channel_lanes(channels);
    const size_t prefetch_bytes = std::min<size_t>(params.patch_bytes(), 1024);
    constexpr size_t kCheckAhead = 8;
    bool agree = true;
#pragma omp parallel num_threads(threads) reduction(&& : agree)
    {
        std::vector<uint16_t> blocks(2 * x.pairs);
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; ++i) {
            // Index order visits the pixels out of order: fetch a few patches ahead.
            if (i + kCheckAhead < n) {
                const uint8_t* ahead = library.patch(x.order[i + kCheckAhead]);
                for (size_t at = 0; at < prefetch_bytes; at += 64) __builtin_prefetch(ahead + at);
            }
            const uint32_t id = x.order[i];
            const detail::PatchFeatures f =
                detail::patch_features(library.patch(id), params, grid, blocks.data());
            agree = agree && x.norms[id] == f.norm && x.sums[i] == f.sum &&
                    x.spreads[i] == f.spread &&
                    position_holds(x, i, lanes, channels, f, blocks.data());
        }
    }
    // Padding to a whole group holds zeros, as built.
    const std::vector<uint16_t> zeros(2 * x.pairs);
    for (size_t i = n; i < x.tails.size(); ++i) {
        agree = agree && position_holds(x, i, lanes, channels, {}, zeros.data());
    }
    if (!agree) {
        throw Error((library.path().empty() ? std::string("library") : library.path()) +
                    ": search index disagrees with its patches; rebuild the library");
    }
}

ExactIndex exact_index(const Library& library) {
    TESSERA_ASSERT(&library.search_data() == &exact_search_data());
    return index_view(library.params(), library.patch_count(), library.search_sections());
}

}  // namespace tessera
