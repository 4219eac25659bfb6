// Compiled with -mavx2 (integer only, no FMA): only called after the CPU is known to support AVX2.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "search/kernels/distance.hpp"
#include "search/kernels/kernels.hpp"

namespace tessera::kernels {

namespace {

// The sum of the lanes modulo 2^32: callers' totals fit 32 bits.
uint32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return uint32_t(_mm_cvtsi128_si32(s));
}

// 16 bytes each widened to 16 bits (the loads fold into vpmovzxbw), subtracted, and squared
// pairwise by vpmaddwd: each int32 lane gains at most 2 * 255^2 per 16 bytes, so the two
// accumulators' lanes together stay below 2^31 for n < 2^31 / 65025 * 8 bytes (264,000;
// kMaxTileSide allows 49,152).
inline __m256i square_diff(__m128i x, __m128i y) {
    const __m256i d = _mm256_sub_epi16(_mm256_cvtepu8_epi16(x), _mm256_cvtepu8_epi16(y));
    return _mm256_madd_epi16(d, d);
}

inline __m128i load16(const uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

__m256i load(const uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// The accumulator of distance.hpp: 32 bytes a step, in two halves.
struct Sums {
    static constexpr size_t kStep = 32;
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();

    void add(const uint8_t* a, const uint8_t* b) {
        acc0 = _mm256_add_epi32(acc0, square_diff(load16(a), load16(b)));
        acc1 = _mm256_add_epi32(acc1, square_diff(load16(a + 16), load16(b + 16)));
    }

    uint32_t total() const { return hsum_epi32(_mm256_add_epi32(acc0, acc1)); }

    uint32_t finish(const uint8_t* a, const uint8_t* b, size_t i, size_t n) {
        if (i < n && n >= kStep) {
            // The tail as the last 32 bytes, with the bytes already counted zeroed in both.
            alignas(32) static constexpr uint8_t kKeep[64] = {
                0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
                0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
                0,    0,    0,    0,    0,    0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
            const __m256i keep = load(kKeep + (n - i));
            const __m256i x = _mm256_and_si256(load(a + n - 32), keep);
            const __m256i y = _mm256_and_si256(load(b + n - 32), keep);
            acc0 = _mm256_add_epi32(
                acc0, square_diff(_mm256_castsi256_si128(x), _mm256_castsi256_si128(y)));
            acc1 = _mm256_add_epi32(
                acc1, square_diff(_mm256_extracti128_si256(x, 1), _mm256_extracti128_si256(y, 1)));
            i = n;
        }
        uint32_t sum = total();
        for (; i < n; ++i) {
            const int d = int(a[i]) - int(b[i]);
            sum += uint32_t(d * d);
        }
        return sum;
    }
};

// Block sums are below 2^15, so their differences fit int16 and vpmaddwd squares two of them
// per lane; block_grid keeps the whole bound below 2^31. Pairs is the pair count when known at
// compile time (0: q.pair_count), so the common grids get a fully unrolled inner loop.
template <size_t Pairs>
void block_filter_n(const BlockQuery& q, const uint32_t* block_pairs, const uint32_t* tails,
                    size_t groups, uint8_t* masks) {
    const size_t pair_count = Pairs != 0 ? Pairs : q.pair_count;
    const __m256i limit = _mm256_set1_epi32(q.limit);
    const __m256i query_tail = _mm256_set1_epi32(q.tail);
    const __m256i one = _mm256_set1_epi32(1);
    for (size_t g = 0; g < groups; ++g) {
        const uint32_t* pairs = block_pairs + g * pair_count * 8;
        const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tails + g * 8));
        __m256i dt = _mm256_abs_epi32(_mm256_sub_epi32(t, query_tail));
        dt = _mm256_max_epi32(_mm256_sub_epi32(dt, one), _mm256_setzero_si256());
        __m256i bound = _mm256_mullo_epi32(dt, dt);
#pragma GCC unroll 24
        for (size_t j = 0; j < pair_count; ++j) {
            const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pairs + j * 8));
            const __m256i d = _mm256_sub_epi16(p, _mm256_set1_epi32(int32_t(q.pairs[j])));
            bound = _mm256_add_epi32(bound, _mm256_madd_epi16(d, d));
        }
        const __m256i pruned = _mm256_cmpgt_epi32(bound, limit);
        masks[g] = uint8_t(~_mm256_movemask_ps(_mm256_castsi256_ps(pruned)));
    }
}

// 8 and 24 pairs: the 4x4 grid of a gray or colour tile.
void block_filter(const BlockQuery& q, const uint32_t* block_pairs, const uint32_t* tails,
                  size_t groups, uint8_t* masks) {
    switch (q.pair_count) {
        case 8:
            return block_filter_n<8>(q, block_pairs, tails, groups, masks);
        case 24:
            return block_filter_n<24>(q, block_pairs, tails, groups, masks);
        default:
            return block_filter_n<0>(q, block_pairs, tails, groups, masks);
    }
}

// The squares of eight int32 differences (each below 2^31 in magnitude), as 64-bit lanes: even
// positions in `even`, odd ones in `odd`.
inline void add_squares(__m256i d, __m256i& even, __m256i& odd) {
    even = _mm256_add_epi64(even, _mm256_mul_epi32(d, d));
    const __m256i high = _mm256_srli_epi64(d, 32);
    odd = _mm256_add_epi64(odd, _mm256_mul_epi32(high, high));
}

// Bits 0..3 spread to bits 0, 2, 4, 6.
inline uint32_t spread_bits(uint32_t m) {
    m = (m | m << 2) & 0x33;
    return (m | m << 1) & 0x55;
}

// Channels is q.channels when known at compile time (0: read it), so colour gets an unrolled
// loop with the query's sums broadcast once.
template <int Channels>
void channel_filter_n(const ChannelQuery& q, const uint32_t* lanes, size_t groups, uint8_t* masks) {
    const int channels = Channels != 0 ? Channels : q.channels;
    const size_t stride = size_t(channels + 1) * 8;
    const __m256i limit = _mm256_set1_epi64x(q.limit);
    const __m256i spread = _mm256_set1_epi32(q.spread);
    const __m256i one = _mm256_set1_epi32(1);
    __m256i sums[3];
    for (int c = 0; c < channels; ++c) sums[c] = _mm256_set1_epi32(q.sums[c]);
    for (size_t g = 0; g < groups; ++g) {
        const uint32_t* v = lanes + g * stride;
        __m256i even = _mm256_setzero_si256(), odd = _mm256_setzero_si256();
        for (int c = 0; c < channels; ++c) {
            const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + c * 8));
            add_squares(_mm256_sub_epi32(s, sums[c]), even, odd);
        }
        const __m256i r =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + size_t(channels) * 8));
        __m256i dr = _mm256_abs_epi32(_mm256_sub_epi32(r, spread));
        dr = _mm256_max_epi32(_mm256_sub_epi32(dr, one), _mm256_setzero_si256());
        add_squares(dr, even, odd);
        const uint32_t pruned_even =
            uint32_t(_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(even, limit))));
        const uint32_t pruned_odd =
            uint32_t(_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(odd, limit))));
        masks[g] = uint8_t(~(spread_bits(pruned_even) | spread_bits(pruned_odd) << 1));
    }
}

void channel_filter(const ChannelQuery& q, const uint32_t* lanes, size_t groups, uint8_t* masks) {
    if (q.channels == 3) return channel_filter_n<3>(q, lanes, groups, masks);
    channel_filter_n<0>(q, lanes, groups, masks);
}

// 16 bytes of every window row at a time, read inside the tile row (row_stride >= 16) and masked
// to the window: 16-bit column sums (at most 128 rows of 255 each) and vpmaddwd squares per row,
// then the columns of each channel summed once per patch. The masks depend on the window alone,
// so each 16-byte column of the window is done for every patch before the next. Narrow edge
// windows gain most: a loop over their few bytes a row runs scalar.
void window_sums(const uint8_t* patches, size_t patch_bytes, size_t count, const WindowShape& w,
                 uint32_t* sums, uint32_t* norms) {
    if (w.row_stride < 16) {
        return scalar_kernels().window_sums(patches, patch_bytes, count, w, sums, norms);
    }
    // kEdge[16 - lo + i] is 0xff for i >= lo; kEdge[32 - hi + i] is 0xff for i < hi.
    alignas(16) static constexpr uint8_t kEdge[48] = {
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0};
    const int channels = w.channels;
    std::fill(sums, sums + count * size_t(channels), 0u);
    std::fill(norms, norms + count, 0u);
    for (size_t start = 0; start < w.row; start += 16) {
        const size_t base = std::min(start, w.row_stride - 16);
        const size_t lo = start - base, hi = std::min<size_t>(w.row - base, 16);
        const __m128i inside = _mm_and_si128(load16(kEdge + 16 - lo), load16(kEdge + 32 - hi));
        // Per channel, 1 in the 16-bit lanes of its columns.
        __m256i channel[3];
        for (int c = 0; c < channels; ++c) {
            alignas(32) int16_t m[16];
            for (size_t i = 0; i < 16; ++i) m[i] = (base + i) % size_t(channels) == size_t(c);
            channel[c] = load(reinterpret_cast<const uint8_t*>(m));
        }
        for (size_t p = 0; p < count; ++p) {
            const uint8_t* patch = patches + p * patch_bytes + base;
            __m256i columns = _mm256_setzero_si256(), squares = _mm256_setzero_si256();
            for (int y = 0; y < w.height; ++y) {
                const __m256i x = _mm256_cvtepu8_epi16(
                    _mm_and_si128(load16(patch + size_t(y) * w.row_stride), inside));
                columns = _mm256_add_epi16(columns, x);
                squares = _mm256_add_epi32(squares, _mm256_madd_epi16(x, x));
            }
            for (int c = 0; c < channels; ++c) {
                sums[p * size_t(channels) + c] +=
                    hsum_epi32(_mm256_madd_epi16(columns, channel[c]));
            }
            norms[p] += hsum_epi32(squares);
        }
    }
}

// The panel kernel without VNNI. vpmaddubsw saturates int16 on u8 x s8 pairs, so both sides go
// to 16 bits: in each 32-bit lane (four bytes of one row), the panel's bytes 0 and 2 sign-extended
// by shifts and bytes 1 and 3 by one shift, the query's four bytes broadcast and split the same
// way with a mask and a shift; two vpmaddwd then give the lane its row's four products, so lane
// order is row order. Each lane's dot product is at most bytes * 255 * 128 in magnitude, below
// 2^31 for every row length the grouped search takes (GroupedSearch::applies).
// Queries per pass over a panel: 4 queries x 2 vectors of 8 rows make 8 accumulators, which with
// the panel's 4 widened vectors and a query's 2 fit AVX2's 16 registers.
constexpr size_t kBlockQueries = 4;

// Queries [q0, q0 + kBlockQueries) against panel p.
void panel_block(const PanelQueries& q, const int8_t* panels, const uint32_t* norms, size_t count,
                 size_t p, size_t q0, uint32_t* distances, uint16_t* masks) {
    const int8_t* panel = panels + p * kPanelRows * q.bytes;
    const __m256i low_bytes = _mm256_set1_epi16(0xff);
    __m256i acc[kBlockQueries][2];
    for (auto& row : acc) row[0] = row[1] = _mm256_setzero_si256();
    for (size_t j = 0; j < q.bytes; j += 4) {
        __m256i even[2], odd[2];
        for (size_t h = 0; h < 2; ++h) {
            const __m256i x =
                load(reinterpret_cast<const uint8_t*>(panel + j * kPanelRows + h * 32));
            even[h] = _mm256_srai_epi16(_mm256_slli_epi16(x, 8), 8);
            odd[h] = _mm256_srai_epi16(x, 8);
        }
        for (size_t i = 0; i < kBlockQueries; ++i) {
            int32_t word;
            std::memcpy(&word, q.pixels + (q0 + i) * q.bytes + j, 4);
            const __m256i w = _mm256_set1_epi32(word);
            const __m256i w_even = _mm256_and_si256(w, low_bytes), w_odd = _mm256_srli_epi16(w, 8);
            for (size_t h = 0; h < 2; ++h) {
                acc[i][h] = _mm256_add_epi32(acc[i][h], _mm256_madd_epi16(even[h], w_even));
                acc[i][h] = _mm256_add_epi32(acc[i][h], _mm256_madd_epi16(odd[h], w_odd));
            }
        }
    }
    const size_t n = count * kPanelRows;
    for (size_t i = 0; i < kBlockQueries; ++i) {
        const __m256i offset = _mm256_set1_epi32(q.offsets[q0 + i]);
        const __m256i limit = _mm256_set1_epi32(int32_t(q.limits[q0 + i]));
        uint32_t mask = 0;
        for (size_t h = 0; h < 2; ++h) {
            const size_t row = p * kPanelRows + h * 8;
            const __m256i norm = load(reinterpret_cast<const uint8_t*>(norms + row));
            // Modulo 2^32: the distance itself fits.
            const __m256i d =
                _mm256_sub_epi32(_mm256_add_epi32(norm, offset), _mm256_slli_epi32(acc[i][h], 1));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(distances + (q0 + i) * n + row), d);
            // Unsigned d <= limit.
            const __m256i within = _mm256_cmpeq_epi32(_mm256_max_epu32(d, limit), limit);
            mask |= uint32_t(_mm256_movemask_ps(_mm256_castsi256_ps(within))) << (h * 8);
        }
        masks[(q0 + i) * count + p] = uint16_t(mask);
    }
}

void panel_distances(const PanelQueries& q, const int8_t* panels, const uint32_t* norms,
                     size_t count, uint32_t* distances, uint16_t* masks) {
    static_assert(kPanelRows == 16 && kPanelQueries % kBlockQueries == 0);
    for (size_t p = 0; p < count; ++p) {
        for (size_t q0 = 0; q0 < kPanelQueries; q0 += kBlockQueries) {
            panel_block(q, panels, norms, count, p, q0, distances, masks);
        }
    }
}

}  // namespace

const Kernels& avx2_kernels() {
    static const Kernels k{"avx2",         sqdist<Sums>, sqdist_within<Sums>, block_filter,
                           channel_filter, window_sums,  panel_distances};
    return k;
}

}  // namespace tessera::kernels
