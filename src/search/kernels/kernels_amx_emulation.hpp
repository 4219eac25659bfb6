// A scalar emulation of the AMX tile instructions kernels_amx.cpp uses, under the intrinsics'
// own names, so that the same kernel source runs on CPUs without AMX: the tests compile
// kernels_amx.cpp with TESSERA_EMULATE_AMX (as they compile the AVX-512 kernels against SIMDe).
// Each thread has its own 8 tiles of up to 16 rows of 64 bytes and its own configuration, as on
// the hardware. What the hardware faults on (an unconfigured tile, shapes that do not fit
// tdpbusd, a bad configuration) fails a TESSERA_ASSERT here, so a kernel that passes under
// emulation uses the tiles as Intel's pseudocode allows (SDM vol. 2, LDTILECFG, TILELOADD,
// TDPBUSD, TILESTORED, TILEZERO, TILERELEASE). Internal to the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "search/kernels/kernels.hpp"
#include "tessera/core/error.hpp"

namespace tessera::kernels {

// The kernels_amx.cpp set with the tile instructions emulated and every other kernel the
// scalar set's (so it runs on any x86-64).
const Kernels& emulated_amx_kernels();

namespace amx_emulation {

inline constexpr int kTiles = 8;
inline constexpr int kMaxRows = 16;
inline constexpr int kMaxColumnBytes = 64;

struct TileState {
    bool configured = false;
    uint8_t rows[kTiles] = {};
    uint16_t column_bytes[kTiles] = {};
    uint8_t data[kTiles][kMaxRows][kMaxColumnBytes] = {};
};

inline thread_local TileState tiles;

// The 64-byte configuration of palette 1: byte 0 the palette, byte 1 the start row, bytes 16 to
// 47 the column bytes of tiles 0 to 15, bytes 48 to 63 their rows.
inline void load_config(const void* config) {
    uint8_t c[64];
    std::memcpy(c, config, 64);
    TESSERA_ASSERT(c[0] == 1);  // palette 0 would release the tiles: not used here
    for (int i = 1; i < 16; ++i) TESSERA_ASSERT(c[i] == 0);  // start row and reserved bytes
    TileState& s = tiles;
    for (int t = 0; t < 16; ++t) {
        uint16_t column_bytes;
        std::memcpy(&column_bytes, c + 16 + 2 * t, 2);
        const uint8_t rows = c[48 + t];
        if (t >= kTiles) {
            TESSERA_ASSERT(column_bytes == 0 && rows == 0);
            continue;
        }
        TESSERA_ASSERT(rows <= kMaxRows && column_bytes <= kMaxColumnBytes);
        TESSERA_ASSERT((rows == 0) == (column_bytes == 0));
        s.rows[t] = rows;
        s.column_bytes[t] = column_bytes;
    }
    std::memset(s.data, 0, sizeof s.data);
    s.configured = true;
}

inline void release() {
    tiles = TileState{};
}

inline void check_usable(int t) {
    TESSERA_ASSERT(tiles.configured && t >= 0 && t < kTiles && tiles.rows[t] != 0);
}

// Rows past the configured ones and bytes past the configured width read as zero.
inline void zero(int t) {
    check_usable(t);
    std::memset(tiles.data[t], 0, sizeof tiles.data[t]);
}

inline void load(int t, const void* base, size_t stride) {
    check_usable(t);
    zero(t);
    for (int r = 0; r < tiles.rows[t]; ++r) {
        std::memcpy(tiles.data[t][r], static_cast<const uint8_t*>(base) + size_t(r) * stride,
                    tiles.column_bytes[t]);
    }
}

inline void store(int t, void* base, size_t stride) {
    check_usable(t);
    for (int r = 0; r < tiles.rows[t]; ++r) {
        std::memcpy(static_cast<uint8_t*>(base) + size_t(r) * stride, tiles.data[t][r],
                    tiles.column_bytes[t]);
    }
}

// tdpbusd: dst (int32) += a (unsigned bytes, M x 4K) times b (signed bytes, K x 4N), four
// products a 32-bit lane, modulo 2^32.
inline void dpbusd(int dst, int a, int b) {
    check_usable(dst);
    check_usable(a);
    check_usable(b);
    TileState& s = tiles;
    TESSERA_ASSERT(dst != a && dst != b && a != b);
    TESSERA_ASSERT(s.column_bytes[dst] % 4 == 0 && s.column_bytes[a] % 4 == 0 &&
                   s.column_bytes[b] % 4 == 0);
    TESSERA_ASSERT(s.column_bytes[a] / 4 == s.rows[b]);
    TESSERA_ASSERT(s.column_bytes[dst] == s.column_bytes[b]);
    TESSERA_ASSERT(s.rows[dst] == s.rows[a]);
    const int lanes = s.column_bytes[dst] / 4;
    for (int m = 0; m < s.rows[dst]; ++m) {
        uint32_t acc[kMaxColumnBytes / 4];
        std::memcpy(acc, s.data[dst][m], sizeof acc);
        for (int k = 0; k < s.rows[b]; ++k) {
            const uint8_t* x = &s.data[a][m][4 * k];
            const auto* y = reinterpret_cast<const int8_t*>(s.data[b][k]);
            for (int n = 0; n < lanes; ++n) {
                acc[n] += uint32_t(x[0] * y[4 * n] + x[1] * y[4 * n + 1] + x[2] * y[4 * n + 2] +
                                   x[3] * y[4 * n + 3]);
            }
        }
        std::memcpy(s.data[dst][m], acc, 4 * size_t(lanes));
    }
}

}  // namespace amx_emulation
}  // namespace tessera::kernels

// The intrinsics of <immintrin.h>, which take tile numbers as literals.
#define _tile_loadconfig(config) ::tessera::kernels::amx_emulation::load_config(config)
#define _tile_release() ::tessera::kernels::amx_emulation::release()
#define _tile_zero(t) ::tessera::kernels::amx_emulation::zero(t)
#define _tile_loadd(t, base, stride) \
    ::tessera::kernels::amx_emulation::load(t, base, size_t(stride))
#define _tile_stored(t, base, stride) \
    ::tessera::kernels::amx_emulation::store(t, base, size_t(stride))
#define _tile_dpbusd(dst, a, b) ::tessera::kernels::amx_emulation::dpbusd(dst, a, b)
