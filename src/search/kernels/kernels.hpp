// The distance kernels behind the exact search, one set per instruction-set level, each compiled
// in its own translation unit with that level's flags (FAISS's and simdjson's dispatch design):
// the searcher picks one set once and calls through it. Internal to tessera_core.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera::kernels {

struct BlockQuery {
    const uint32_t* pairs = nullptr;  // the query's block sums, two per lane like the library's
    size_t pair_count = 0;
    int32_t tail = 0;
    int32_t limit = 0;  // n times the k-th best distance, capped at INT32_MAX
};

struct ChannelQuery {
    int32_t sums[3] = {0, 0, 0};  // the query's sum per channel
    int channels = 3;
    int32_t spread = 0;  // isqrt(R)
    int64_t limit = 0;   // Dc times the k-th best distance, capped at INT64_MAX
};

// The top-left window of patches whose rows are row_stride bytes apart.
struct WindowShape {
    size_t row_stride = 0;  // the tile's bytes per row
    size_t row = 0;         // the window's bytes per row (width times channels)
    int height = 0;
    int channels = 1;
};

// The grouped search's rows (grouped_search.hpp): patches in panels of kPanelRows, each byte
// XOR 0x80 (a signed byte), interleaved four bytes at a time so that one 32-bit lane holds four
// bytes of one row: byte b of row l of a panel lies at (b / 4) * 64 + l * 4 + b % 4. Rows are
// padded with zero bytes to `bytes`, a multiple of 4.
inline constexpr size_t kPanelRows = 16;

// Queries for panel_distances: kPanelQueries of them, each `bytes` long (zero-padded), with
// offsets[i] = |q|^2 - 256 * sum(q), so that |p - q|^2 = |p|^2 + offset - 2 <q, p XOR 0x80>,
// exact in 32 bits while bytes * 255^2 < 2^31.
inline constexpr size_t kPanelQueries = 8;
struct PanelQueries {
    const uint8_t* pixels = nullptr;
    const int32_t* offsets = nullptr;
    const uint32_t* limits = nullptr;  // per query: bit set in masks when distance <= limit
    size_t bytes = 0;
};

struct Kernels {
    const char* name;
    // Squared L2 distance of two byte vectors of length n. Exact for n * 255^2 < 2^32, which
    // kMaxTileSide guarantees (128 x 128 x 3 bytes at most).
    uint32_t (*sqdist_u8)(const uint8_t* a, const uint8_t* b, size_t n);
    // The same distance when it is <= limit; otherwise any value > limit (a partial sum may stop
    // early). Exact for every limit is a valid implementation.
    uint32_t (*sqdist_u8_within)(const uint8_t* a, const uint8_t* b, size_t n, uint32_t limit);
    // The block bound of search_index.hpp for `groups` groups of 8 positions: sets bit l of
    // masks[g] when position 8 g + l has a bound <= q.limit (it may be a neighbour).
    void (*block_filter)(const BlockQuery& q, const uint32_t* block_pairs, const uint32_t* tails,
                         size_t groups, uint8_t* masks);
    // The channel bound of search_index.hpp for `groups` groups of 8 positions (q.channels + 1
    // lanes of 8 each): sets bit l of masks[g] when position 8 g + l has a bound <= q.limit.
    // Sums are below 2^23 and spreads below 2^28 (kMaxTileSide), so the bound fits 63 bits.
    void (*channel_filter)(const ChannelQuery& q, const uint32_t* lanes, size_t groups,
                           uint8_t* masks);
    // For `count` patches patch_bytes apart, the sums per channel of the window
    // (sums[i * channels + c]) and its squared norm (norms[i]); both fit 32 bits (kMaxTileSide).
    void (*window_sums)(const uint8_t* patches, size_t patch_bytes, size_t count,
                        const WindowShape& w, uint32_t* sums, uint32_t* norms);
    // Squared distances of kPanelQueries queries to the rows of `count` panels whose squared
    // norms are norms[0 .. count * kPanelRows): distances[q * count * kPanelRows + r], and bit
    // l of masks[q * count + p] set when row p * kPanelRows + l is within limits[q]. Null where
    // the grouped search does not run on this level.
    void (*panel_distances)(const PanelQueries& q, const int8_t* panels, const uint32_t* norms,
                            size_t count, uint32_t* distances, uint16_t* masks);
};

// Call the AVX2, AVX-512 and AMX sets only where the CPU has those instructions (backends.hpp;
// for AMX, only once Linux has granted the tile state there).
const Kernels& scalar_kernels();
const Kernels& avx2_kernels();
const Kernels& avx512_kernels();
const Kernels& amx_kernels();  // the AVX-512 set with an AMX panel kernel

}  // namespace tessera::kernels
