// The distance kernels of one kernel set against the scalar reference, over lengths that exercise
// the vector tails, the largest values (overflow) and the early stop. Shared by the tests of the
// levels this CPU runs and by the test of the AVX-512 kernels under emulation.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "search/kernels/kernels.hpp"

namespace tessera::testing {

inline void expect_distance_matches_scalar(const kernels::Kernels& k) {
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> byte(0, 255);
    const auto& scalar = kernels::scalar_kernels();
    for (size_t n : {1,   3,   15,  16,  17,  31,  32,  33,  63,  64,   65,
                     127, 128, 129, 191, 192, 255, 256, 257, 768, 49152}) {
        SCOPED_TRACE(std::string(k.name) + " n=" + std::to_string(n));
        std::vector<uint8_t> a(n), b(n), zeros(n, 0), full(n, 255);
        for (size_t i = 0; i < n; ++i) a[i] = uint8_t(byte(rng)), b[i] = uint8_t(byte(rng));
        // 0 against 255 everywhere is the largest distance: n * 255^2 < 2^32 for n <= 49152.
        const uint64_t largest = uint64_t(n) * 255 * 255;
        ASSERT_EQ(scalar.sqdist_u8(zeros.data(), full.data(), n), largest);
        EXPECT_EQ(k.sqdist_u8(a.data(), b.data(), n), scalar.sqdist_u8(a.data(), b.data(), n));
        EXPECT_EQ(k.sqdist_u8(zeros.data(), full.data(), n), largest);
        EXPECT_EQ(k.sqdist_u8(full.data(), zeros.data(), n), largest);
        EXPECT_EQ(k.sqdist_u8(a.data(), a.data(), n), 0u);
    }
}

// sqdist_u8_within is exact up to the limit and above the limit past it.
inline void expect_distance_within_limit(const kernels::Kernels& k) {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> byte(0, 255);
    for (size_t n :
         {1, 3, 16, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 768, 769, 3072}) {
        std::vector<uint8_t> a(n), b(n);
        for (int pattern = 0; pattern < 3; ++pattern) {
            for (size_t i = 0; i < n; ++i) {
                // Random, then the largest distance (0 against 255), then mass in the second
                // half only, which no early check sees before the end.
                a[i] = pattern == 0 ? uint8_t(byte(rng)) : 0;
                b[i] = pattern == 0 ? uint8_t(byte(rng)) : pattern == 1 || i >= n / 2 ? 255 : 0;
            }
            const uint32_t exact = kernels::scalar_kernels().sqdist_u8(a.data(), b.data(), n);
            for (uint32_t limit :
                 {0u, exact / 2, exact > 0 ? exact - 1 : 0u, exact, exact + 1, UINT32_MAX}) {
                SCOPED_TRACE(std::string(k.name) + " n=" + std::to_string(n) + " pattern " +
                             std::to_string(pattern) + " limit " + std::to_string(limit));
                const uint32_t got = k.sqdist_u8_within(a.data(), b.data(), n, limit);
                if (exact <= limit) {
                    EXPECT_EQ(got, exact);
                } else {
                    EXPECT_GT(got, limit);
                }
            }
        }
    }
}

// The block filter against the scalar one, for group counts odd and even (kernels that take two
// groups at a time), at limits from none to all.
inline void expect_block_filter_matches_scalar(const kernels::Kernels& k) {
    std::mt19937 rng(2);
    const auto& scalar = kernels::scalar_kernels();
    for (size_t pairs : {1, 2, 8, 24, 33}) {
        for (size_t groups : {1, 2, 5, 9}) {
            // The largest values whose bounds still fit 31 bits, as block_grid guarantees: one
            // pair of sums up to 2^15 - 1 with small tails, or more pairs of smaller sums.
            std::uniform_int_distribution<uint32_t> sum(0, pairs == 1 ? 32767 : 4080);
            std::uniform_int_distribution<uint32_t> tail(0, pairs == 1 ? 100 : 8000);
            std::vector<uint32_t> lib(groups * 8 * pairs), tails(groups * 8), query(pairs);
            for (auto& v : lib) v = sum(rng) | sum(rng) << 16;
            for (auto& v : tails) v = tail(rng);
            for (auto& v : query) v = sum(rng) | sum(rng) << 16;
            // The query equal to one position of the last group makes its bound zero (or one
            // tail unit below).
            const size_t last = groups - 1;
            for (size_t j = 0; j < pairs; ++j) lib[(last * pairs + j) * 8 + 3] = query[j];
            for (int32_t limit : {0, 1000, 1 << 20, 1 << 26, INT32_MAX}) {
                kernels::BlockQuery q{query.data(), pairs, int32_t(tail(rng)), limit};
                tails[last * 8 + 3] = uint32_t(q.tail);
                std::vector<uint8_t> want(groups);
                scalar.block_filter(q, lib.data(), tails.data(), groups, want.data());
                EXPECT_TRUE(want[last] & (1u << 3));
                if (limit == INT32_MAX) {
                    EXPECT_EQ(want[0], 0xff);
                }
                SCOPED_TRACE(std::string(k.name) + " pairs=" + std::to_string(pairs) +
                             " groups=" + std::to_string(groups));
                std::vector<uint8_t> got(groups);
                k.block_filter(q, lib.data(), tails.data(), groups, got.data());
                EXPECT_EQ(got, want);
            }
        }
    }
}

}  // namespace tessera::testing
