// The AMX panel kernel (src/search/kernels/kernels_amx.cpp): under the scalar emulation of its
// tile instructions (kernels_amx_emulation.hpp) on every CPU, and as real instructions where the
// CPU has AMX and Linux grants the tile state; both against the scalar reference. The emulation
// itself is checked against a plain matrix product, and it faults where the hardware would. The
// grouped search on these kernels against the oracle: test_grouped_search.cpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "panel_checks.hpp"
#include "search/kernels/kernels.hpp"
#include "search/kernels/kernels_amx_emulation.hpp"
#include "tessera/search/search.hpp"

namespace tessera {
namespace {

// ldtilecfg's 64 bytes with tile t of rows[t] rows of column_bytes[t] bytes.
std::vector<uint8_t> tile_config(const std::vector<std::pair<int, int>>& shapes) {
    std::vector<uint8_t> config(64, 0);
    config[0] = 1;
    for (size_t t = 0; t < shapes.size(); ++t) {
        config[16 + 2 * t] = uint8_t(shapes[t].second);
        config[48 + t] = uint8_t(shapes[t].first);
    }
    return config;
}

TEST(EmulatedAmx, TileDotProductIsAMatrixProduct) {
    // C (5 x 5 lanes) += A (5 x 12 unsigned bytes) times B (3 x 20 signed bytes), twice, with
    // C starting from stored values: every shape a different size, and the extreme bytes.
    const int M = 5, K = 3, N = 5;
    std::mt19937 rng(11);
    std::vector<uint8_t> a(M * 4 * K), b(K * 4 * N);
    for (size_t i = 0; i < a.size(); ++i) a[i] = i % 7 == 0 ? 255 : uint8_t(rng());
    for (size_t i = 0; i < b.size(); ++i) b[i] = i % 5 == 0 ? 0x80 : uint8_t(rng());
    std::vector<int32_t> c(M * N), want(M * N);
    for (size_t i = 0; i < c.size(); ++i) want[i] = c[i] = int32_t(rng());
    for (int m = 0; m < M; ++m) {
        for (int n = 0; n < N; ++n) {
            for (int k = 0; k < 4 * K; ++k) {
                want[m * N + n] +=
                    2 * int32_t(a[m * 4 * K + k]) * int8_t(b[(k / 4) * 4 * N + n * 4 + k % 4]);
            }
        }
    }
    const std::vector<uint8_t> config = tile_config({{M, 4 * N}, {M, 4 * K}, {K, 4 * N}});
    _tile_loadconfig(config.data());
    _tile_loadd(0, c.data(), 4 * N);
    _tile_loadd(1, a.data(), 4 * K);
    _tile_loadd(2, b.data(), 4 * N);
    _tile_dpbusd(0, 1, 2);
    _tile_dpbusd(0, 1, 2);
    std::vector<int32_t> got(M * N, 0);
    _tile_stored(0, got.data(), 4 * N);
    EXPECT_EQ(got, want);
    _tile_zero(0);
    _tile_stored(0, got.data(), 4 * N);
    EXPECT_EQ(got, std::vector<int32_t>(M * N, 0));
    _tile_release();
}

TEST(EmulatedAmxDeathTest, MisusedTilesFault) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const std::vector<uint8_t> config = tile_config({{8, 64}, {8, 64}, {15, 64}});
    uint8_t memory[16 * 64] = {};
    // A's 64 bytes need 16 rows of B, not 15; tile 3 is not configured; after tilerelease none is.
    EXPECT_DEATH(
        {
            _tile_loadconfig(config.data());
            _tile_dpbusd(0, 1, 2);
        },
        "internal error");
    EXPECT_DEATH(
        {
            _tile_loadconfig(config.data());
            _tile_loadd(3, memory, 64);
        },
        "internal error");
    EXPECT_DEATH(
        {
            _tile_loadconfig(config.data());
            _tile_release();
            _tile_stored(0, memory, 64);
        },
        "internal error");
}

TEST(EmulatedAmx, PanelDistancesAreExact) {
    testing::expect_panel_kernel_exact(kernels::emulated_amx_kernels());
}

TEST(Amx, PanelDistancesAreExact) {
    if (!simd_level_supported(SimdLevel::Amx)) {
        GTEST_SKIP() << "no AMX here (CPU or Linux): the real AMX kernel is not run, the "
                        "emulated one is (EmulatedAmx.*)";
    }
    testing::expect_panel_kernel_exact(kernels::amx_kernels());
}

// The AMX set borrows every other kernel: from the AVX-512 set, or from the scalar set under
// emulation.
TEST(Amx, BorrowsEveryKernelButThePanelOne) {
    const kernels::Kernels& emulated = kernels::emulated_amx_kernels();
    EXPECT_EQ(emulated.sqdist_u8, kernels::scalar_kernels().sqdist_u8);
    EXPECT_EQ(emulated.window_sums, kernels::scalar_kernels().window_sums);
    EXPECT_NE(emulated.panel_distances, kernels::scalar_kernels().panel_distances);
    EXPECT_EQ(simd_level_name(SimdLevel::Amx), "amx");
    if (!simd_level_supported(SimdLevel::Amx)) return;
    EXPECT_TRUE(simd_level_supported(SimdLevel::Avx512));
    const kernels::Kernels& amx = kernels::amx_kernels();
    EXPECT_EQ(amx.sqdist_u8_within, kernels::avx512_kernels().sqdist_u8_within);
    EXPECT_EQ(amx.block_filter, kernels::avx512_kernels().block_filter);
    EXPECT_NE(amx.panel_distances, kernels::avx512_kernels().panel_distances);
}

}  // namespace
}  // namespace tessera
