// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni: only called after the CPU is known
// to support all four.
#include <immintrin.h>

// GCC 12's AVX-512 headers trip its own -Wuninitialized on _mm512_undefined_* (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/kernels.hpp"

namespace tessera::kernels {

namespace {

// vpdpbusd multiplies unsigned by signed bytes, and |a - b| can reach 255, so square it as
// d * d = 2 * (d * (d >> 1)) + d * (d & 1): both right-hand factors fit a signed byte.
inline void accumulate_sq(__m512i x, __m512i y, __m512i& acc_half, __m512i& acc_odd) {
    const __m512i one = _mm512_set1_epi8(1);
    const __m512i d = _mm512_sub_epi8(_mm512_max_epu8(x, y), _mm512_min_epu8(x, y));
    // d >> 1 per byte: clear each byte's low bit, then shift the 16-bit words.
    const __m512i half = _mm512_srli_epi16(_mm512_andnot_si512(one, d), 1);
    acc_half = _mm512_dpbusd_epi32(acc_half, d, half);
    acc_odd = _mm512_dpbusd_epi32(acc_odd, d, _mm512_and_si512(d, one));
}

uint32_t sqdist_u8(const uint8_t* a, const uint8_t* b, size_t n) {
    __m512i acc_half = _mm512_setzero_si512();
    __m512i acc_odd = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        accumulate_sq(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i), acc_half, acc_odd);
    }
    if (i < n) {
        const __mmask64 m = (__mmask64(1) << (n - i)) - 1;
        accumulate_sq(_mm512_maskz_loadu_epi8(m, a + i), _mm512_maskz_loadu_epi8(m, b + i),
                      acc_half, acc_odd);
    }
    // Each lane of acc_half holds at most n/16 * 255 * 127 < 2^31 for n <= 49152.
    const __m512i total = _mm512_add_epi64(
        _mm512_slli_epi64(
            _mm512_add_epi64(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(acc_half)),
                             _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(acc_half, 1))),
            1),
        _mm512_add_epi64(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(acc_odd)),
                         _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(acc_odd, 1))));
    return uint32_t(_mm512_reduce_add_epi64(total));
}

// Exact: one 64-byte step covers a quarter of a 16x16 gray tile, too coarse to stop early.
uint32_t sqdist_u8_within(const uint8_t* a, const uint8_t* b, size_t n, uint32_t) {
    return sqdist_u8(a, b, n);
}

}  // namespace

const Kernels* avx512_kernels() {
    // The filters work on 8 positions at a time, which AVX2 already covers.
    static const Kernels k{"avx512", sqdist_u8, sqdist_u8_within, avx2_kernels()->block_filter,
                           avx2_kernels()->channel_filter};
    return &k;
}

}  // namespace tessera::kernels
