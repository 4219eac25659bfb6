// The AVX-512 distance kernels on any x86-64 CPU: this binary compiles
// src/kernels/kernels_avx512.cpp with TESSERA_EMULATE_AVX512, which takes its intrinsics from
// SIMDe's portable versions. The development and CI machines have no AVX-512, so without this the
// kernels would never run in a test; on a CPU with AVX-512 the main test binary also checks the
// real instructions.
#include <gtest/gtest.h>

#include "kernel_checks.hpp"
#include "panel_checks.hpp"
#include "search/kernels/kernels.hpp"

namespace tessera {
namespace {

TEST(EmulatedAvx512, SquaredDistanceMatchesScalar) {
    testing::expect_distance_matches_scalar(kernels::avx512_kernels());
}

TEST(EmulatedAvx512, DistanceWithinLimitIsExactUpToTheLimit) {
    testing::expect_distance_within_limit(kernels::avx512_kernels());
}

TEST(EmulatedAvx512, BlockFilterMatchesScalar) {
    testing::expect_block_filter_matches_scalar(kernels::avx512_kernels());
}

TEST(EmulatedAvx512, PanelDistancesAreExact) {
    testing::expect_panel_distances_exact(kernels::avx512_kernels());
}

}  // namespace
}  // namespace tessera
