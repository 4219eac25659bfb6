// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni: only called after the CPU is known
// to support all four. The tests also compile it with TESSERA_EMULATE_AVX512, which takes the same
// intrinsics from SIMDe's portable versions, so that this code is checked on CPUs without AVX-512.
#ifdef TESSERA_EMULATE_AVX512
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#else
#include <immintrin.h>
#endif

#include <cstring>

// GCC 12's AVX-512 headers trip its own -Wuninitialized on _mm512_undefined_* (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "search/kernels/distance.hpp"
#include "search/kernels/kernels.hpp"

namespace tessera::kernels {

namespace {

// vpdpbusd multiplies unsigned by signed bytes, and |a - b| can reach 255, so square it as
// d * d = 2 * (d * (d >> 1)) + d * (d & 1): both right-hand factors fit a signed byte. Each
// lane of acc_half gains at most 4 * 255 * 127 per 64 bytes: below 2^31 for n <= 49152.
inline void accumulate_sq(__m512i x, __m512i y, __m512i& acc_half, __m512i& acc_odd) {
    const __m512i one = _mm512_set1_epi8(1);
    const __m512i d = _mm512_sub_epi8(_mm512_max_epu8(x, y), _mm512_min_epu8(x, y));
    // d >> 1 per byte: clear each byte's low bit, then shift the 16-bit words.
    const __m512i half = _mm512_srli_epi16(_mm512_andnot_si512(one, d), 1);
    acc_half = _mm512_dpbusd_epi32(acc_half, d, half);
    acc_odd = _mm512_dpbusd_epi32(acc_odd, d, _mm512_and_si512(d, one));
}

// The accumulator of distance.hpp: 64 bytes a step.
struct Sums {
    static constexpr size_t kStep = 64;
    __m512i acc_half = _mm512_setzero_si512(), acc_odd = _mm512_setzero_si512();

    void add(const uint8_t* a, const uint8_t* b) {
        accumulate_sq(_mm512_loadu_si512(a), _mm512_loadu_si512(b), acc_half, acc_odd);
    }

    // 2 * acc_half + acc_odd summed over the lanes modulo 2^32: callers' totals fit 32 bits.
    uint32_t total() const {
        const __m512i t = _mm512_add_epi32(_mm512_slli_epi32(acc_half, 1), acc_odd);
        const __m256i t8 =
            _mm256_add_epi32(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
        __m128i t4 = _mm_add_epi32(_mm256_castsi256_si128(t8), _mm256_extracti128_si256(t8, 1));
        t4 = _mm_add_epi32(t4, _mm_unpackhi_epi64(t4, t4));
        return uint32_t(_mm_cvtsi128_si32(_mm_add_epi32(t4, _mm_shuffle_epi32(t4, 1))));
    }

    // The last n - i bytes zero-padded in both inputs (the common tiles, 8x8 and 16x16 in gray
    // or colour, have no such tail).
    uint32_t finish(const uint8_t* a, const uint8_t* b, size_t i, size_t n) {
        if (i < n) {
            alignas(64) uint8_t x[64] = {}, y[64] = {};
            std::memcpy(x, a + i, n - i);
            std::memcpy(y, b + i, n - i);
            accumulate_sq(_mm512_load_si512(x), _mm512_load_si512(y), acc_half, acc_odd);
        }
        return total();
    }
};

// acc + the four products of unsigned a and signed b bytes in each 32-bit lane.
inline __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
#ifdef TESSERA_EMULATE_AVX512
    return _mm512_dpbusd_epi32(acc, a, b);
#else
    // GCC 12 copies the accumulator to and from a spare register around the intrinsic, twice
    // as many instructions as the work; tying the operand keeps it in place.
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
#endif
}

// Panels [p0, p0 + P) against the kPanelQueries queries: kPanelQueries x P accumulators of 16
// rows each stay in registers while the rows stream past, one vpdpbusd per query, panel and
// four bytes.
template <size_t P>
void panel_block(const PanelQueries& q, const int8_t* panels, const uint32_t* norms, size_t count,
                 size_t p0, uint32_t* distances, uint16_t* masks) {
    const size_t stride = kPanelRows * q.bytes;
    const int8_t* base = panels + p0 * stride;
    __m512i acc[kPanelQueries][P];
    for (auto& row : acc) {
        for (auto& a : row) a = _mm512_setzero_si512();
    }
    for (size_t j = 0; j < q.bytes; j += 4) {
        __m512i rows[P];
        for (size_t p = 0; p < P; ++p) rows[p] = _mm512_loadu_si512(base + p * stride + j * 16);
        for (size_t i = 0; i < kPanelQueries; ++i) {
            int32_t word;
            std::memcpy(&word, q.pixels + i * q.bytes + j, 4);
            const __m512i b = _mm512_set1_epi32(word);
            for (size_t p = 0; p < P; ++p) acc[i][p] = dpbusd(acc[i][p], b, rows[p]);
        }
    }
    const size_t n = count * kPanelRows;
    for (size_t p = 0; p < P; ++p) {
        const __m512i norm = _mm512_loadu_si512(norms + (p0 + p) * kPanelRows);
        for (size_t i = 0; i < kPanelQueries; ++i) {
            // Modulo 2^32: the distance itself fits.
            const __m512i d =
                _mm512_sub_epi32(_mm512_add_epi32(norm, _mm512_set1_epi32(q.offsets[i])),
                                 _mm512_slli_epi32(acc[i][p], 1));
            _mm512_storeu_si512(distances + i * n + (p0 + p) * kPanelRows, d);
            masks[i * count + p0 + p] =
                _mm512_cmple_epu32_mask(d, _mm512_set1_epi32(int32_t(q.limits[i])));
        }
    }
}

void panel_distances(const PanelQueries& q, const int8_t* panels, const uint32_t* norms,
                     size_t count, uint32_t* distances, uint16_t* masks) {
    size_t p = 0;
    for (; p + 3 <= count; p += 3) panel_block<3>(q, panels, norms, count, p, distances, masks);
    if (count - p == 2) panel_block<2>(q, panels, norms, count, p, distances, masks);
    if (count - p == 1) panel_block<1>(q, panels, norms, count, p, distances, masks);
}

// Two 8-lane halves as one vector: the low half from a, the high half from b.
inline __m512i load_halves(const uint32_t* a, const uint32_t* b) {
    return _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)), 1);
}

// The block bound of two groups of 8 positions at once, one in each half of a vector (an odd
// last group fills both). Differences fit int16 (block sums are below 2^15) and vpdpwssd squares
// and adds two of them per lane; block_grid keeps the whole bound below 2^31. Pairs as in the
// AVX2 kernel: the pair count when known at compile time.
template <size_t Pairs>
void block_filter_n(const BlockQuery& q, const uint32_t* block_pairs, const uint32_t* tails,
                    size_t groups, uint8_t* masks) {
    const size_t pair_count = Pairs != 0 ? Pairs : q.pair_count;
    const size_t group_stride = pair_count * 8;
    const __m512i limit = _mm512_set1_epi32(q.limit);
    const __m512i query_tail = _mm512_set1_epi32(q.tail);
    const __m512i one = _mm512_set1_epi32(1);
    for (size_t g = 0; g < groups; g += 2) {
        const size_t next = g + 1 < groups ? g + 1 : g;
        const uint32_t* low = block_pairs + g * group_stride;
        const uint32_t* high = block_pairs + next * group_stride;
        const __m512i t = load_halves(tails + g * 8, tails + next * 8);
        __m512i dt = _mm512_abs_epi32(_mm512_sub_epi32(t, query_tail));
        dt = _mm512_max_epi32(_mm512_sub_epi32(dt, one), _mm512_setzero_si512());
        __m512i bound = _mm512_mullo_epi32(dt, dt);
#pragma GCC unroll 24
        for (size_t j = 0; j < pair_count; ++j) {
            const __m512i d = _mm512_sub_epi16(load_halves(low + j * 8, high + j * 8),
                                               _mm512_set1_epi32(int32_t(q.pairs[j])));
            bound = _mm512_dpwssd_epi32(bound, d, d);
        }
        const auto kept = uint16_t(_mm512_cmple_epi32_mask(bound, limit));
        masks[g] = uint8_t(kept);
        if (next != g) masks[next] = uint8_t(kept >> 8);
    }
}

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

}  // namespace

const Kernels& avx512_kernels() {
    // The channel filter works on 8 positions at a time, and the window sums on 16-byte rows,
    // which AVX2 already covers.
    static const Kernels k{"avx512",
                           sqdist<Sums>,
                           sqdist_within<Sums>,
                           block_filter,
                           avx2_kernels().channel_filter,
                           avx2_kernels().window_sums,
                           panel_distances};
    return k;
}

}  // namespace tessera::kernels
