#include <algorithm>
#include <cstdlib>

#include "search/kernels/kernels.hpp"
#include "search/search_index.hpp"

namespace tessera::kernels {

namespace {

uint32_t sqdist_u8(const uint8_t* a, const uint8_t* b, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i < n; ++i) {
        const int d = int(a[i]) - int(b[i]);
        sum += uint32_t(d * d);
    }
    return sum;
}

// The reference: always the exact distance.
uint32_t sqdist_u8_within(const uint8_t* a, const uint8_t* b, size_t n, uint32_t) {
    return sqdist_u8(a, b, n);
}

void block_filter(const BlockQuery& q, const uint32_t* block_pairs, const uint32_t* tails,
                  size_t groups, uint8_t* masks) {
    constexpr size_t kGroup = 8;
    for (size_t g = 0; g < groups; ++g) {
        const uint32_t* pairs = block_pairs + g * q.pair_count * kGroup;
        uint8_t mask = 0;
        for (size_t l = 0; l < kGroup; ++l) {
            int32_t d = std::max(std::abs(int32_t(tails[g * kGroup + l]) - q.tail) - 1, 0);
            int32_t bound = d * d;
            for (size_t j = 0; j < q.pair_count; ++j) {
                const uint32_t p = pairs[j * kGroup + l];
                const int32_t d0 = int32_t(p & 0xffff) - int32_t(q.pairs[j] & 0xffff);
                const int32_t d1 = int32_t(p >> 16) - int32_t(q.pairs[j] >> 16);
                bound += d0 * d0 + d1 * d1;
            }
            if (bound <= q.limit) mask |= uint8_t(1u << l);
        }
        masks[g] = mask;
    }
}

void channel_filter(const ChannelQuery& q, const uint32_t* lanes, size_t groups, uint8_t* masks) {
    constexpr size_t kGroup = 8;
    const size_t stride = size_t(q.channels + 1) * kGroup;
    for (size_t g = 0; g < groups; ++g) {
        const uint32_t* v = lanes + g * stride;
        uint8_t mask = 0;
        for (size_t l = 0; l < kGroup; ++l) {
            const int64_t d =
                std::max<int64_t>(std::abs(int64_t(v[q.channels * kGroup + l]) - q.spread) - 1, 0);
            int64_t bound = d * d;
            for (int c = 0; c < q.channels; ++c) {
                const int64_t s = int64_t(v[c * kGroup + l]) - q.sums[c];
                bound += s * s;
            }
            if (bound <= q.limit) mask |= uint8_t(1u << l);
        }
        masks[g] = mask;
    }
}

// The reference: detail::window_channel_sums, which also gives the library's own features.
void window_sums(const uint8_t* patches, size_t patch_bytes, size_t count, const WindowShape& w,
                 uint32_t* sums, uint32_t* norms) {
    const Size window{int(w.row / size_t(w.channels)), w.height};
    for (size_t i = 0; i < count; ++i) {
        uint64_t s[3];
        detail::window_channel_sums(patches + i * patch_bytes, w.row_stride, window, w.channels, s,
                                    &norms[i]);
        for (int c = 0; c < w.channels; ++c) sums[i * size_t(w.channels) + c] = uint32_t(s[c]);
    }
}

// The reference of the panel layout (kernels.hpp), one multiply at a time.
void panel_distances(const PanelQueries& q, const int8_t* panels, const uint32_t* norms,
                     size_t count, uint32_t* distances, uint16_t* masks) {
    const size_t rows = count * kPanelRows;
    for (size_t i = 0; i < kPanelQueries; ++i) {
        const uint8_t* query = q.pixels + i * q.bytes;
        for (size_t p = 0; p < count; ++p) {
            const int8_t* panel = panels + p * kPanelRows * q.bytes;
            uint16_t mask = 0;
            for (size_t l = 0; l < kPanelRows; ++l) {
                int32_t dot = 0;
                for (size_t b = 0; b < q.bytes; ++b) {
                    dot += int32_t(query[b]) * panel[b / 4 * 64 + l * 4 + b % 4];
                }
                // Modulo 2^32: the distance itself fits.
                const uint32_t d =
                    norms[p * kPanelRows + l] + uint32_t(q.offsets[i]) - 2 * uint32_t(dot);
                distances[i * rows + p * kPanelRows + l] = d;
                if (d <= q.limits[i]) mask = uint16_t(mask | 1u << l);
            }
            masks[i * count + p] = mask;
        }
    }
}

}  // namespace

const Kernels& scalar_kernels() {
    static const Kernels k{"scalar",       sqdist_u8,   sqdist_u8_within, block_filter,
                           channel_filter, window_sums, panel_distances};
    return k;
}

}  // namespace tessera::kernels
