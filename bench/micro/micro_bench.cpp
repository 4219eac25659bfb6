// Run: build/bench/micro/tessera_micro_bench [--benchmark_filter=...]
// Levels the CPU lacks are reported as skipped.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "search/kernels/kernels.hpp"
#include "search/simd.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "tessera/search/search.hpp"

namespace tessera {
namespace {

constexpr SimdLevel kLevels[] = {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512};

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng{seed};
    std::uniform_int_distribution<int> byte(0, 255);
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = uint8_t(byte(rng));
    return v;
}

// One full distance between two L1-resident vectors of range(1) bytes.
void BM_SquaredDistance(benchmark::State& state) {
    const SimdLevel level = kLevels[state.range(0)];
    if (!simd_level_supported(level)) return state.SkipWithError("not supported by this CPU");
    const auto& k = detail::kernels_for(level);
    const size_t n = size_t(state.range(1));
    const auto a = random_bytes(n, 1), b = random_bytes(n, 2);
    for (auto _ : state) benchmark::DoNotOptimize(k.sqdist_u8(a.data(), b.data(), n));
    state.SetBytesProcessed(int64_t(state.iterations() * n));
    state.SetLabel(k.name);
}
BENCHMARK(BM_SquaredDistance)->ArgsProduct({{0, 1, 2}, {1, 3, 16, 17, 64, 255, 256, 768, 3072}});

// The block bound for 64 groups of 8 positions with range(1) block-sum pairs per position.
void BM_BlockFilter(benchmark::State& state) {
    const SimdLevel level = kLevels[state.range(0)];
    if (!simd_level_supported(level)) return state.SkipWithError("not supported by this CPU");
    const auto& k = detail::kernels_for(level);
    const size_t pairs = size_t(state.range(1)), groups = 64;
    std::mt19937 rng{3};
    std::uniform_int_distribution<uint32_t> sum(0, 4080);
    std::vector<uint32_t> lib(groups * 8 * pairs), tails(groups * 8), query(pairs);
    for (auto& v : lib) v = sum(rng) | sum(rng) << 16;
    for (auto& v : tails) v = sum(rng);
    for (auto& v : query) v = sum(rng) | sum(rng) << 16;
    const kernels::BlockQuery q{query.data(), pairs, 2000, 1 << 24};
    std::vector<uint8_t> masks(groups);
    for (auto _ : state) {
        k.block_filter(q, lib.data(), tails.data(), groups, masks.data());
        benchmark::DoNotOptimize(masks.data());
    }
    state.SetItemsProcessed(int64_t(state.iterations() * groups * 8));  // positions
    state.SetLabel(k.name);
}
BENCHMARK(BM_BlockFilter)->ArgsProduct({{0, 1, 2}, {8, 24}});

// A smooth-plus-noise image: enough structure for the bounds to work as on photographs.
Image synthetic_image(int width, int height, uint32_t seed) {
    Image image(width, height, 1);
    std::mt19937 rng{seed};
    std::normal_distribution<double> noise(0, 12);
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            const double v =
                128 + 90 * std::sin(x * 0.031 + seed) * std::cos(y * 0.017 * seed) + noise(rng);
            image.row(y)[x] = uint8_t(std::clamp(v, 0.0, 255.0));
        }
    }
    return image;
}

// The exact search: 16x16 gray, ~60k patches, 256 queries, one thread.
void BM_ExactSearch(benchmark::State& state) {
    const SimdLevel level = kLevels[state.range(0)];
    if (!simd_level_supported(level)) return state.SkipWithError("not supported by this CPU");
    static const Library lib = [] {
        LibraryParams params;
        params.tile = {16, 16};
        params.stride = {4, 4};
        params.mode = Mode::Gray;
        params.transforms = transforms_from({0, 90, 180, 270}, false);
        LibraryBuilder builder(params, exact_search_data());
        for (uint32_t s = 1; s <= 4; ++s)
            builder.add_source({"synthetic"}, synthetic_image(256, 256, s).view());
        return builder.finish();
    }();
    const Image target = synthetic_image(256, 256, 9);
    std::vector<uint8_t> queries;
    for (int ty = 0; ty < 16; ++ty) {
        for (int tx = 0; tx < 16; ++tx) {
            for (int y = 0; y < 16; ++y) {
                const uint8_t* row = target.view().row(ty * 16 + y) + tx * 16;
                queries.insert(queries.end(), row, row + 16);
            }
        }
    }
    const auto searcher = make_exact_searcher(lib, 1, level);
    std::vector<Neighbor> out(256);
    for (auto _ : state) {
        searcher->search({queries.data(), 256, {16, 16}}, 1, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(int64_t(state.iterations() * 256));  // queries
    state.SetLabel(std::string(simd_level_name(level)) + ", " + std::to_string(lib.patch_count()) +
                   " patches");
}
BENCHMARK(BM_ExactSearch)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tessera

BENCHMARK_MAIN();
