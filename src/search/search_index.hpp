// The exact search's lower bounds and the per-patch features they need, computed once at build
// time into the exact index (exact_index.hpp). Internal to the search layer.
//
// Every bound below is a squared distance to an orthogonal projection, so it never exceeds the
// true squared distance d = |q - p|^2 (D = patch bytes):
// - mean:   d >= (Sq - Sp)^2 / D, where S is the sum of the patch's bytes;
// - spread: d >= (Sq - Sp)^2 / D + (sqrt(Vq) - sqrt(Vp))^2 / D with V = D |p|^2 - S^2;
// - blocks: d >= sum_f (Bq_f - Bp_f)^2 / n + (sqrt(Tq) - sqrt(Tp))^2 / n, where B_f are the sums
//   over a grid of equal blocks of n bytes (per channel) and T = n |p|^2 - sum_f B_f^2.
// - channels (colour only): Dc d >= sum_c (Sq_c - Sp_c)^2 + (sqrt(Rq) - sqrt(Rp))^2, where S_c
//   is the sum of channel c, Dc the pixels per channel and R = Dc |p|^2 - sum_c S_c^2; the mean
//   and spread bound per channel, much tighter than the grey one on colour, checked before the
//   blocks (it rules out whole groups of 8 where the blocks would not).
// Square roots are stored as integer floors: sqrt(V) lies in [isqrt(V), isqrt(V) + 1), so
// max(0, |isqrt(Vq) - isqrt(Vp)| - 1) is an exact integer lower bound of |sqrt(Vq) - sqrt(Vp)|.
// Patches are indexed in the order (floor(S / D), isqrt(V), id): one bucket per mean grey level,
// sorted by spread inside it, so a query visits the buckets near its mean and, in each, only
// the spread interval the bound allows. Block sums are stored for groups of 8 positions, pairs
// of sums interleaved in 32-bit lanes (pair j of position 8 g + l at [(g * pairs + j) * 8 + l]),
// so one vpmaddwd squares and adds two differences for eight patches; the grid is chosen so
// the whole block bound n * d fits a signed 32-bit lane. Channel sums and isqrt(R) are stored
// per group of 8 too: sum c of position 8 g + l at [(g * (C + 1) + c) * 8 + l], isqrt(R) at
// c = C, for C = 3 channels (none for grey, where they would repeat sum and spread).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tessera/core/geometry.hpp"
#include "tessera/library/params.hpp"

namespace tessera::detail {

inline constexpr size_t kMeanBuckets = 256;
inline constexpr size_t kGroup = 8;  // positions per group of block sums

struct BlockGrid {
    int cols = 1, rows = 1;  // blocks across and down
    int block_bytes = 0;     // n: pixels per block (each channel is summed on its own)
    int features = 0;        // cols * rows * channels; 0 when no grid fits the limits
    size_t pairs() const { return size_t(features + 1) / 2; }
};

// A 4x4 grid where the tile divides into one (else 2 or 1 per axis), refined until a block sum
// fits 15 bits (a difference fits int16) and the largest block bound fits 31 bits.
BlockGrid block_grid(const LibraryParams& params);

inline size_t group_count(size_t patches) {
    return (patches + kGroup - 1) / kGroup;
}

struct PatchFeatures {
    uint32_t sum = 0;
    uint32_t norm = 0;    // |p|^2
    uint32_t spread = 0;  // isqrt(V)
    uint32_t tail = 0;    // isqrt(T)
    uint32_t channel_sums[3] = {0, 0, 0};
    uint32_t channel_spread = 0;  // isqrt(R)
};

// 32-bit values per group of 8 positions in the channel section: C + 1 for colour, 0 for grey.
inline size_t channel_lanes(int channels) {
    return channels > 1 ? size_t(channels + 1) * kGroup : 0;
}

// Sums per channel of the top-left window of a patch whose rows are row_stride bytes apart, and
// the window's squared norm (it fits 32 bits for any tile, kMaxTileSide).
void window_channel_sums(const uint8_t* p, size_t row_stride, Size window, int channels,
                         uint64_t* sums, uint32_t* norm);

// Computes a patch's features and writes its block sums to blocks[0 .. 2 * grid.pairs()), the
// last one zero when the feature count is odd.
PatchFeatures patch_features(const uint8_t* patch, const LibraryParams& params,
                             const BlockGrid& grid, uint16_t* blocks);

// Pair j of a position's block sums as stored in one 32-bit lane.
inline uint32_t block_pair(const uint16_t* blocks, size_t j) {
    return blocks[2 * j] | uint32_t(blocks[2 * j + 1]) << 16;
}

inline uint32_t mean_bucket(uint64_t sum, size_t patch_bytes) {
    return uint32_t(sum / patch_bytes);
}

uint64_t isqrt(uint64_t v);  // floor(sqrt(v)), exact

}  // namespace tessera::detail
