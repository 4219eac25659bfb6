// Every kernel set the CPU supports against the scalar one, over lengths that exercise the
// vector tails and the largest values (overflow).
#include <gtest/gtest.h>

#include <cstdlib>

#include <random>
#include <vector>

#include "kernel_checks.hpp"
#include "search/backends.hpp"
#include "search/kernels/kernels.hpp"
#include "search/search_index.hpp"
#include "search/simd.hpp"
#include "tessera/core/error.hpp"
#include "tessera/search/search.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::supported_levels;

TEST(SearchKernels, ScalarIsAlwaysSupportedAndNamed) {
    EXPECT_TRUE(simd_level_supported(SimdLevel::Scalar));
    EXPECT_EQ(simd_level_name(SimdLevel::Avx2), "avx2");
    EXPECT_EQ(detail::kernels_for(SimdLevel::Scalar).name, std::string("scalar"));
    EXPECT_TRUE(simd_level_supported(default_simd_level()));
}

// Unless TESSERA_SIMD names it, the level is the first supported row that is not opt-in (amx).
TEST(SearchBackends, DefaultLevelIsTheBestThatIsNotOptIn) {
    const char* forced = std::getenv("TESSERA_SIMD");
    if (forced != nullptr && *forced != '\0') GTEST_SKIP() << "TESSERA_SIMD=" << forced;
    const detail::Backend* best = nullptr;
    for (const detail::Backend& row : detail::backends()) {
        if (best == nullptr && !row.opt_in && row.supported()) best = &row;
    }
    ASSERT_NE(best, nullptr);
    EXPECT_EQ(default_simd_level(), best->level);
    EXPECT_TRUE(detail::backend(SimdLevel::Amx).opt_in);
    EXPECT_NE(default_simd_level(), SimdLevel::Amx);
}

// Each level gives its own kernels where the CPU runs them and an error elsewhere (so that the
// test checks something on every CPU).
TEST(SearchKernels, UnsupportedLevelIsAnError) {
    for (SimdLevel l : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512, SimdLevel::Amx}) {
        if (simd_level_supported(l)) {
            EXPECT_EQ(detail::kernels_for(l).name, simd_level_name(l));
        } else {
            EXPECT_THROW(detail::kernels_for(l), Error);
        }
    }
}

// The table is best first and ends with scalar, which every CPU runs; each level has one row,
// whose name, support, kernels and searcher the public functions report.
TEST(SearchBackends, OneRowPerLevelBestFirst) {
    const auto rows = detail::backends();
    ASSERT_FALSE(rows.empty());
    EXPECT_EQ(rows.back().level, SimdLevel::Scalar);
    EXPECT_TRUE(rows.back().supported());
    EXPECT_EQ(rows.front().level, SimdLevel::Amx);
    std::mt19937 rng(5);
    const Image source = testing::random_image(12, 10, 3, rng);
    LibraryParams p;
    p.tile = p.stride = {3, 2};
    const Library lib = testing::build_library(p, {&source});
    const std::vector<uint8_t> query(lib.patch(4), lib.patch(4) + lib.patch_bytes());
    for (size_t i = 0; i < rows.size(); ++i) {
        const detail::Backend& row = rows[i];
        for (size_t j = i + 1; j < rows.size(); ++j) EXPECT_NE(rows[j].level, row.level);
        EXPECT_EQ(&detail::backend(row.level), &row);
        EXPECT_EQ(simd_level_name(row.level), row.name);
        EXPECT_EQ(simd_level_supported(row.level), row.supported());
        if (!row.supported()) continue;
        EXPECT_EQ(row.kernels().name, row.name);
        Neighbor found;
        row.make(lib, 1)->search({query.data(), 1, p.tile}, 1, &found);
        EXPECT_EQ(found, (Neighbor{0, 4})) << row.name;
    }
}

TEST(SearchKernels, SquaredDistanceMatchesScalar) {
    for (SimdLevel level : supported_levels()) {
        testing::expect_distance_matches_scalar(detail::kernels_for(level));
    }
}

TEST(SearchKernels, DistanceWithinLimitIsExactUpToTheLimit) {
    for (SimdLevel level : supported_levels()) {
        testing::expect_distance_within_limit(detail::kernels_for(level));
    }
}

// Window sums of several patches at every level against the scalar reference: tile rows below
// and above the 16 bytes the vector kernel reads, windows from one byte to the whole tile row
// (several 16-byte steps, the last one overlapping), up to 128 rows of 255 (the 16-bit column
// sums at their largest), gray and colour.
TEST(SearchKernels, WindowSumsMatchScalar) {
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> byte(0, 255);
    const auto& scalar = kernels::scalar_kernels();
    for (int channels : {1, 3}) {
        for (int tile_width : {3, 5, 6, 16, 17, 40, 128}) {
            for (int tile_height : {1, 7, 128}) {
                const size_t row_stride = size_t(tile_width) * channels;
                const size_t patch_bytes = row_stride * tile_height;
                const size_t count = 5;
                std::vector<uint8_t> patches(count * patch_bytes);
                for (auto& v : patches) v = uint8_t(byte(rng));
                std::fill(patches.begin(), patches.begin() + patch_bytes, 255);  // the largest
                for (int width : {1, 2, tile_width / 2 + 1, tile_width - 1, tile_width}) {
                    for (int height : {1, tile_height}) {
                        if (width < 1 || width > tile_width) continue;
                        const kernels::WindowShape shape{row_stride, size_t(width) * channels,
                                                         height, channels};
                        std::vector<uint32_t> want_sums(count * channels), want_norms(count);
                        scalar.window_sums(patches.data(), patch_bytes, count, shape,
                                           want_sums.data(), want_norms.data());
                        ASSERT_EQ(want_norms[0], uint32_t(width) * height * channels * 65025);
                        for (SimdLevel level : supported_levels()) {
                            const auto& k = detail::kernels_for(level);
                            SCOPED_TRACE(std::string(k.name) + " tile " +
                                         std::to_string(tile_width) + "x" +
                                         std::to_string(tile_height) + " window " +
                                         std::to_string(width) + "x" + std::to_string(height) +
                                         " channels " + std::to_string(channels));
                            std::vector<uint32_t> sums(count * channels), norms(count);
                            k.window_sums(patches.data(), patch_bytes, count, shape, sums.data(),
                                          norms.data());
                            EXPECT_EQ(sums, want_sums);
                            EXPECT_EQ(norms, want_norms);
                        }
                    }
                }
            }
        }
    }
}

TEST(SearchKernels, BlockFilterMatchesScalar) {
    for (SimdLevel level : supported_levels()) {
        testing::expect_block_filter_matches_scalar(detail::kernels_for(level));
    }
}

TEST(SearchKernels, ExactIntegerSquareRoot) {
    for (uint64_t r : {0ull, 1ull, 2ull, 3ull, 1000ull, 65535ull, 65536ull, 4294967295ull}) {
        EXPECT_EQ(detail::isqrt(r * r), r);
        if (r > 0) {
            EXPECT_EQ(detail::isqrt(r * r - 1), r - 1);
        }
        if (r < 4294967295ull) {
            EXPECT_EQ(detail::isqrt(r * r + 2 * r), r);
        }
    }
    EXPECT_EQ(detail::isqrt(UINT64_MAX), 4294967295ull);
}

}  // namespace
}  // namespace tessera
