// Every kernel set the CPU supports against the scalar one, over lengths that exercise the
// vector tails and the largest values (overflow).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernel_checks.hpp"
#include "kernels/kernels.hpp"
#include "search_index.hpp"
#include "simd.hpp"
#include "tessera/error.hpp"
#include "tessera/search.hpp"
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

// Each level gives its own kernels where the CPU runs them and an error elsewhere (so that the
// test checks something on every CPU).
TEST(SearchKernels, UnsupportedLevelIsAnError) {
    for (SimdLevel l : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512}) {
        if (simd_level_supported(l)) {
            EXPECT_EQ(detail::kernels_for(l).name, simd_level_name(l));
        } else {
            EXPECT_THROW(detail::kernels_for(l), Error);
        }
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

TEST(SearchKernels, BlockFilterMatchesScalar) {
    std::mt19937 rng(2);
    const auto& scalar = kernels::scalar_kernels();
    for (size_t pairs : {1, 2, 8, 24, 33}) {
        const size_t groups = 5;
        // The largest values whose bounds still fit 31 bits, as block_grid guarantees: one
        // pair of sums up to 2^15 - 1 with small tails, or more pairs of smaller sums.
        std::uniform_int_distribution<uint32_t> sum(0, pairs == 1 ? 32767 : 4080);
        std::uniform_int_distribution<uint32_t> tail(0, pairs == 1 ? 100 : 8000);
        std::vector<uint32_t> lib(groups * 8 * pairs), tails(groups * 8), query(pairs);
        for (auto& v : lib) v = sum(rng) | sum(rng) << 16;
        for (auto& v : tails) v = tail(rng);
        for (auto& v : query) v = sum(rng) | sum(rng) << 16;
        // The query equal to one position makes its bound zero (or one tail unit below).
        for (size_t j = 0; j < pairs; ++j) lib[(2 * pairs + j) * 8 + 3] = query[j];
        for (int32_t limit : {0, 1000, 1 << 20, 1 << 26, INT32_MAX}) {
            kernels::BlockQuery q{query.data(), pairs, int32_t(tail(rng)), limit};
            tails[2 * 8 + 3] = uint32_t(q.tail);
            std::vector<uint8_t> want(groups);
            scalar.block_filter(q, lib.data(), tails.data(), groups, want.data());
            EXPECT_TRUE(want[2] & (1u << 3));
            if (limit == INT32_MAX) {
                EXPECT_EQ(want[0], 0xff);
            }
            for (SimdLevel level : supported_levels()) {
                const auto& k = detail::kernels_for(level);
                SCOPED_TRACE(std::string(k.name) + " pairs=" + std::to_string(pairs));
                std::vector<uint8_t> got(groups);
                k.block_filter(q, lib.data(), tails.data(), groups, got.data());
                EXPECT_EQ(got, want);
            }
        }
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
