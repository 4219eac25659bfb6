// The grouped, chunk-major exact search (src/search/grouped_search.hpp) against the brute-force
// oracle: identical (distance, id) lists with every group forced onto the grouped path, on the
// reference panel kernel, the AMX one emulated, and the AVX2, AVX-512 and AMX ones where the CPU
// has them, for gray and colour tiles whose byte counts exercise the row padding, k > 1, ties,
// all-equal patches, real photographs, thread counts, and batches mixing grouped and per-query
// groups.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "panel_checks.hpp"
#include "search/backends.hpp"
#include "search/grouped_search.hpp"
#include "search/kernels/kernels_amx_emulation.hpp"
#include "search/simd.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::pattern_image;
using testing::pattern_name;
using Data = testing::Pattern;

Library build(Size tile, Mode mode, const std::vector<Image>& images, Size stride) {
    LibraryParams params;
    params.tile = tile;
    params.stride = stride;
    params.mode = mode;
    params.transforms = tile.width == tile.height ? transforms_from({0, 90}, true)
                                                  : transforms_from({0, 180}, false);
    std::vector<const Image*> sources;
    for (const Image& image : images) sources.push_back(&image);
    return testing::build_library(params, sources);
}

// The kernel sets with a panel kernel that this CPU runs, and the AMX one emulated.
std::vector<const kernels::Kernels*> panel_kernel_sets() {
    std::vector<const kernels::Kernels*> sets{&kernels::scalar_kernels(),
                                              &kernels::emulated_amx_kernels()};
    if (simd_level_supported(SimdLevel::Avx2)) sets.push_back(&kernels::avx2_kernels());
    if (simd_level_supported(SimdLevel::Avx512)) sets.push_back(&kernels::avx512_kernels());
    if (simd_level_supported(SimdLevel::Amx)) sets.push_back(&kernels::amx_kernels());
    return sets;
}

// Queries cut from `image` on a grid, then copies of some library patches (exact matches and,
// where the library repeats itself, ties).
std::vector<uint8_t> queries_for(const Library& lib, const Image& image, size_t* count) {
    std::vector<uint8_t> out = testing::grid_queries(image, lib.params().tile);
    for (size_t id = 0; id < lib.patch_count(); id += lib.patch_count() / 9 + 1) {
        out.insert(out.end(), lib.patch(id), lib.patch(id) + lib.patch_bytes());
    }
    *count = out.size() / lib.patch_bytes();
    return out;
}

// Every group on the grouped path (min_candidates 0), and a threshold that splits the batch
// between both paths, at 1 and 3 threads, against the oracle.
void expect_grouped_as_oracle(const Library& lib, const std::vector<uint8_t>& data, size_t count,
                              const std::string& what) {
    const QueryBatch batch{data.data(), count, lib.params().tile};
    ASSERT_TRUE(detail::GroupedSearch::applies(lib)) << what;
    for (int k : {1, 2, 7}) {
        if (size_t(k) > lib.patch_count()) continue;
        std::vector<Neighbor> want(count * size_t(k)), got(want.size());
        make_bruteforce_searcher(lib)->search(batch, k, want.data());
        for (const kernels::Kernels* set : panel_kernel_sets()) {
            for (size_t min_candidates : {size_t(0), lib.patch_count() / 3}) {
                for (int threads : {1, 3}) {
                    detail::exact_searcher_on(lib, threads, *set, min_candidates)
                        ->search(batch, k, got.data());
                    EXPECT_EQ(got, want)
                        << what << " k " << k << " " << set->name << " min_candidates "
                        << min_candidates << " threads " << threads;
                }
            }
        }
    }
}

TEST(GroupedSearch, PanelKernelsAreExact) {
    for (const kernels::Kernels* set : panel_kernel_sets()) {
        testing::expect_panel_distances_exact(*set);
    }
}

// The vector kernels this CPU runs against the scalar one on random, all-equal and extreme
// bytes, every row-length tail (the emulated AMX kernel: test_amx.cpp; the AVX-512 one under
// emulation: emulated_avx512.cpp).
TEST(GroupedSearch, VectorPanelKernelsMatchTheReference) {
    for (SimdLevel level : {SimdLevel::Avx2, SimdLevel::Avx512}) {
        if (simd_level_supported(level))
            testing::expect_panel_kernel_exact(detail::kernels_for(level));
    }
}

TEST(GroupedSearch, PanelKernelOfEachLevel) {
    EXPECT_NE(kernels::scalar_kernels().panel_distances, nullptr);  // the reference
    EXPECT_NE(kernels::avx2_kernels().panel_distances, nullptr);
    EXPECT_NE(kernels::avx512_kernels().panel_distances, nullptr);
}

TEST(GroupedSearch, AppliesWhileThe32BitDistanceIsExact) {
    // Exact while D * 255^2 < 2^31 (D <= 33025): a 128x128 gray tile is, a colour one is not.
    LibraryParams params;
    params.mode = Mode::Gray;
    params.tile = {128, 128};
    params.stride = {128, 128};
    const Image image = testing::flat_image(128, 128, 1, 3);
    EXPECT_TRUE(detail::GroupedSearch::applies(testing::build_library(params, {&image})));
    params.mode = Mode::Rgb;
    const Image colour = testing::flat_image(128, 128, 3, 3);
    EXPECT_FALSE(detail::GroupedSearch::applies(testing::build_library(params, {&colour})));
}

TEST(GroupedSearch, SameAsOracleOnRandomAndAdversarialData) {
    // Byte counts 15 (padded to 16), 64, 75 (padded), 192 and 256; gray and colour.
    const struct {
        Size tile;
        Mode mode;
    } shapes[] = {{{5, 3}, Mode::Gray},
                  {{8, 8}, Mode::Gray},
                  {{5, 5}, Mode::Rgb},
                  {{8, 8}, Mode::Rgb},
                  {{16, 16}, Mode::Gray}};
    for (const auto& shape : shapes) {
        for (Data data : {Data::Noise, Data::Smooth, Data::Repeated, Data::Constant}) {
            const int c = channels(shape.mode);
            const std::string what = std::string(pattern_name(data)) + " tile " +
                                     std::to_string(shape.tile.width) + "x" +
                                     std::to_string(shape.tile.height) + "x" + std::to_string(c);
            std::vector<Image> images{pattern_image(data, shape.mode, 70, 50, 1),
                                      pattern_image(Data::Noise, shape.mode, 40, 40, 2)};
            if (data == Data::Constant) images.pop_back();  // every patch equal: all ties
            const Library lib =
                build(shape.tile, shape.mode, images, {std::max(1, shape.tile.width / 2), 2});
            const Image target = pattern_image(data, shape.mode, 64, 48, 3);
            size_t count;
            const std::vector<uint8_t> queries = queries_for(lib, target, &count);
            expect_grouped_as_oracle(lib, queries, count, what);
        }
    }
}

// A batch of one query is a group of one: its admitted ranges are that query's own intervals,
// with no other query's to widen them, so a bound cut too tight shows here.
TEST(GroupedSearch, SameAsOracleOneQueryAtATime) {
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        for (Data data : {Data::Noise, Data::Smooth}) {
            const Image source = pattern_image(data, mode, 80, 60, 6);
            const Library lib = build({8, 8}, mode, {source}, {2, 2});
            const Image target = pattern_image(data, mode, 64, 48, 8);
            size_t count;
            const std::vector<uint8_t> queries = queries_for(lib, target, &count);
            const int k = 3;
            std::vector<Neighbor> want(count * k), got(k);
            make_bruteforce_searcher(lib)->search({queries.data(), count, lib.params().tile}, k,
                                                  want.data());
            for (const kernels::Kernels* set : panel_kernel_sets()) {
                const auto searcher = detail::exact_searcher_on(lib, 1, *set, 0);
                for (size_t q = 0; q < count; ++q) {
                    searcher->search({&queries[q * lib.patch_bytes()], 1, lib.params().tile}, k,
                                     got.data());
                    ASSERT_EQ(got, std::vector<Neighbor>(&want[q * k], &want[q * k + k]))
                        << pattern_name(data) << " channels " << channels(mode) << " " << set->name
                        << " query " << q;
                }
            }
        }
    }
}

#ifdef TESSERA_TESTS_HAVE_IO
TEST(GroupedSearch, SameAsOracleOnRealPhotographs) {
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        std::vector<Image> images;
        for (int seed : {0, 1, 2}) images.push_back(pattern_image(Data::Real, mode, 96, 80, seed));
        const Library lib = build({8, 8}, mode, images, {3, 3});
        const Image target = pattern_image(Data::Real, mode, 96, 64, 7);
        size_t count;
        const std::vector<uint8_t> queries = queries_for(lib, target, &count);
        expect_grouped_as_oracle(lib, queries, count, mode == Mode::Gray ? "gray" : "rgb");
    }
}
#endif

// More positions than two chunks, so the work spans chunks and threads, and a batch of several
// groups with a partial last one.
TEST(GroupedSearch, SameAsOracleAcrossChunks) {
    const Image source = pattern_image(Data::Smooth, Mode::Gray, 200, 120, 4);
    const Library lib = build({8, 8}, Mode::Gray, {source}, {2, 2});
    ASSERT_GT(lib.patch_count(), 2 * detail::kChunkRows);
    const Image target = pattern_image(Data::Noise, Mode::Gray, 104, 64, 5);
    size_t count;
    const std::vector<uint8_t> queries = queries_for(lib, target, &count);
    ASSERT_GT(count, 3 * detail::kGroupQueries);
    expect_grouped_as_oracle(lib, queries, count, "chunks");
}

}  // namespace
}  // namespace tessera
