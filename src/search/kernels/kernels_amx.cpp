// Compiled with -mamx-tile -mamx-int8 and the AVX-512 level's flags: only called after the CPU is
// known to have AMX-TILE, AMX-INT8 and the AVX-512 level, and Linux has granted the process the
// tile data state (backends.cpp). The tests also compile it with TESSERA_EMULATE_AMX, which takes
// the tile instructions from kernels_amx_emulation.hpp, so that this code runs on every CPU.
#ifdef TESSERA_EMULATE_AMX
#include "search/kernels/kernels_amx_emulation.hpp"
#else
#include <immintrin.h>
#endif

#include <cstddef>
#include <cstdint>

#include "search/kernels/kernels.hpp"

namespace tessera::kernels {

namespace {

// The tiles, by number (the intrinsics take them as literals): the queries' bytes (A, 8 rows),
// a panel's (B, 16 rows of 64 bytes, four bytes of each of its 16 patches a row: the panel
// layout is AMX's), the same two for the last bytes % 64, and the 32-bit dot products of the
// queries with up to kBlockPanels panels (C, 8 rows of 16 lanes).
//   0: A of 64 bytes    1: A of the tail    2: B of 64 bytes    3: B of the tail
//   4 to 7: C of panels 0 to 3 of a block
constexpr size_t kBlockPanels = 4;
constexpr size_t kStepBytes = 64;

// ldtilecfg's 64 bytes (palette 1).
struct alignas(64) TileConfig {
    uint8_t palette = 1;
    uint8_t start_row = 0;
    uint8_t reserved[14] = {};
    uint16_t column_bytes[16] = {};
    uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

#ifdef TESSERA_EMULATE_AMX
#define TESSERA_LOAD_TILE_CONFIG(config) _tile_loadconfig(&(config))
#else
// GCC 12's _tile_loadconfig declares a read of 8 bytes of the configuration, so the compiler may
// drop stores to the rest; this operand is all 64.
#define TESSERA_LOAD_TILE_CONFIG(config) asm volatile("ldtilecfg %0" ::"m"(config))
#endif

TileConfig tile_config(size_t tail_bytes) {
    TileConfig c;
    const auto set = [&c](int tile, size_t rows, size_t column_bytes) {
        c.rows[tile] = uint8_t(rows);
        c.column_bytes[tile] = uint16_t(column_bytes);
    };
    set(0, kPanelQueries, kStepBytes);
    set(2, kStepBytes / 4, kPanelRows * 4);
    if (tail_bytes != 0) {
        set(1, kPanelQueries, tail_bytes);
        set(3, tail_bytes / 4, kPanelRows * 4);
    }
    for (int t = 4; t < 8; ++t) set(t, kPanelQueries, kPanelRows * 4);
    return c;
}

// C tile 4 + p += A tile 0 times B tile 2 (64 bytes), or A tile 1 times B tile 3 (the tail).
void dot_step(size_t p) {
    switch (p) {
        case 0:
            _tile_dpbusd(4, 0, 2);
            break;
        case 1:
            _tile_dpbusd(5, 0, 2);
            break;
        case 2:
            _tile_dpbusd(6, 0, 2);
            break;
        default:
            _tile_dpbusd(7, 0, 2);
            break;
    }
}

void dot_tail(size_t p) {
    switch (p) {
        case 0:
            _tile_dpbusd(4, 1, 3);
            break;
        case 1:
            _tile_dpbusd(5, 1, 3);
            break;
        case 2:
            _tile_dpbusd(6, 1, 3);
            break;
        default:
            _tile_dpbusd(7, 1, 3);
            break;
    }
}

void zero_dots(size_t p) {
    switch (p) {
        case 0:
            _tile_zero(4);
            break;
        case 1:
            _tile_zero(5);
            break;
        case 2:
            _tile_zero(6);
            break;
        default:
            _tile_zero(7);
            break;
    }
}

void store_dots(size_t p, int32_t* dots) {
    constexpr size_t stride = kPanelRows * sizeof(int32_t);
    switch (p) {
        case 0:
            _tile_stored(4, dots, stride);
            break;
        case 1:
            _tile_stored(5, dots, stride);
            break;
        case 2:
            _tile_stored(6, dots, stride);
            break;
        default:
            _tile_stored(7, dots, stride);
            break;
    }
}

// Panels [p0, p0 + P) of kBlockPanels at most against the queries: their dot products
// accumulate in C tiles over the rows' bytes, 64 at a time, then the tail.
void panel_block(const PanelQueries& q, const int8_t* panels, const uint32_t* norms, size_t count,
                 size_t p0, size_t P, uint32_t* distances, uint16_t* masks) {
    const size_t stride = kPanelRows * q.bytes, main_bytes = q.bytes / kStepBytes * kStepBytes;
    const int8_t* base = panels + p0 * stride;
    for (size_t p = 0; p < P; ++p) zero_dots(p);
    for (size_t j = 0; j < main_bytes; j += kStepBytes) {
        _tile_loadd(0, q.pixels + j, q.bytes);
        for (size_t p = 0; p < P; ++p) {
            // Bytes j to j + 63 of a panel's 16 rows: 64 contiguous bytes from j * 16 on.
            _tile_loadd(2, base + p * stride + j * kPanelRows, kPanelRows * 4);
            dot_step(p);
        }
    }
    if (main_bytes < q.bytes) {
        _tile_loadd(1, q.pixels + main_bytes, q.bytes);
        for (size_t p = 0; p < P; ++p) {
            _tile_loadd(3, base + p * stride + main_bytes * kPanelRows, kPanelRows * 4);
            dot_tail(p);
        }
    }
    const size_t n = count * kPanelRows;
    for (size_t p = 0; p < P; ++p) {
        alignas(64) int32_t dots[kPanelQueries][kPanelRows];
        store_dots(p, &dots[0][0]);
        const uint32_t* norm = norms + (p0 + p) * kPanelRows;
        for (size_t i = 0; i < kPanelQueries; ++i) {
            uint32_t* d = distances + i * n + (p0 + p) * kPanelRows;
            uint16_t mask = 0;
            for (size_t l = 0; l < kPanelRows; ++l) {
                // Modulo 2^32: the distance itself fits.
                d[l] = norm[l] + uint32_t(q.offsets[i]) - 2 * uint32_t(dots[i][l]);
                mask = uint16_t(mask | uint32_t(d[l] <= q.limits[i]) << l);
            }
            masks[i * count + p0 + p] = mask;
        }
    }
}

void panel_distances(const PanelQueries& q, const int8_t* panels, const uint32_t* norms,
                     size_t count, uint32_t* distances, uint16_t* masks) {
    const TileConfig config = tile_config(q.bytes % kStepBytes);
    TESSERA_LOAD_TILE_CONFIG(config);
    for (size_t p = 0; p < count; p += kBlockPanels) {
        const size_t block = count - p < kBlockPanels ? count - p : kBlockPanels;
        panel_block(q, panels, norms, count, p, block, distances, masks);
    }
    // Back to the initial state: the kernel's callers use no tiles, and the kernel saves and
    // restores none of the 8 KB of tile data on a context switch while it is released.
    _tile_release();
}

}  // namespace

#ifdef TESSERA_EMULATE_AMX
const Kernels& emulated_amx_kernels() {
    // Every other kernel from the scalar set, so that the emulation runs on any x86-64.
    static const Kernels k = [] {
        Kernels set = scalar_kernels();
        set.name = "amx (emulated)";
        set.panel_distances = panel_distances;
        return set;
    }();
    return k;
}
#else
const Kernels& amx_kernels() {
    // The AVX-512 set, with AMX for the panel kernel alone: the per-query scan's kernels work on
    // one query at a time, which tiles do not speed up.
    static const Kernels k = [] {
        Kernels set = avx512_kernels();
        set.name = "amx";
        set.panel_distances = panel_distances;
        return set;
    }();
    return k;
}
#endif

}  // namespace tessera::kernels
