// The pruned exact search against the brute-force oracle: identical (distance, id) lists for
// k = 1 and k = 5 (and up to the whole library), every SIMD level the CPU supports, 1 and 2
// threads, tile shapes whose byte counts exercise the kernel tails, adversarial data (ties,
// constant, black, white, noise), real photographs, partial windows, and a library saved and
// reopened.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "search/exact_index.hpp"
#include "tessera/core/error.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/search.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::pattern_image;
using testing::pattern_name;
using Data = testing::Pattern;

// Stride half the tile; two transforms, with flips only for a square tile.
Library build(Size tile, Mode mode, const std::vector<Image>& images) {
    LibraryParams params;
    params.tile = tile;
    params.stride = {std::max(1, tile.width / 2), std::max(1, tile.height / 2)};
    params.mode = mode;
    params.transforms = tile.width == tile.height ? transforms_from({0, 90}, true)
                                                  : transforms_from({0, 180}, false);
    std::vector<const Image*> sources;
    for (const Image& image : images) sources.push_back(&image);
    return testing::build_library(params, sources);
}

// Queries of one window size cut from `image` on a grid, then copies of some library patches'
// top-left windows (exact matches, and ties where the library repeats itself).
std::vector<uint8_t> cut_queries(const Library& lib, const Image& image, Size window,
                                 size_t* count) {
    std::vector<uint8_t> out = testing::grid_queries(image, window);
    const size_t row = size_t(window.width) * lib.params().channels();
    const size_t tile_row = size_t(lib.params().tile.width) * lib.params().channels();
    for (size_t id = 0; id < lib.patch_count(); id += lib.patch_count() / 7 + 1) {
        for (int r = 0; r < window.height; ++r) {
            const uint8_t* src = lib.patch(id) + r * tile_row;
            out.insert(out.end(), src, src + row);
        }
    }
    *count = out.size() / (row * window.height);
    return out;
}

void expect_same_as_oracle(const Library& lib, const std::vector<uint8_t>& data, size_t count,
                           Size window, const std::string& what) {
    for (int k : {1, 5}) {
        if (size_t(k) > lib.patch_count()) continue;
        testing::expect_k_nearest_as_oracle(lib, {data.data(), count, window}, k, what);
    }
}

struct Shape {
    Size tile;
    Mode mode;
};

class SearchExact : public ::testing::TestWithParam<Shape> {};

// Library and queries from every pairing of data kinds that makes a hard case.
TEST_P(SearchExact, MatchesBruteForce) {
    const Shape shape = GetParam();
    const Size tile = shape.tile;
    const int w = std::max(24, tile.width * 3), h = std::max(20, tile.height * 3);
    const std::vector<std::pair<Data, Data>> pairings = {
        {Data::Noise, Data::Noise},  {Data::Constant, Data::Noise},    {Data::Black, Data::White},
        {Data::White, Data::Smooth}, {Data::Repeated, Data::Repeated}, {Data::Smooth, Data::Smooth},
#ifdef TESSERA_TESTS_HAVE_IO
        {Data::Real, Data::Real},
#endif
    };
    for (const auto& [library_data, query_data] : pairings) {
        // Mixed libraries put equal-sum patches of different content side by side.
        const Library lib = build(
            tile, shape.mode,
            {pattern_image(library_data, shape.mode, w, h, 1),
             pattern_image(library_data, shape.mode, w, h, 2),
             pattern_image(Data::Smooth, shape.mode, w / 2 + tile.width, h / 2 + tile.height, 3)});
        const Image query_image = pattern_image(query_data, shape.mode, w, h, 4);
        const std::string what = std::string("library ") + pattern_name(library_data) +
                                 ", queries " + pattern_name(query_data);
        for (Size window :
             {tile, Size{std::max(1, tile.width / 2), std::max(1, tile.height - 1)}}) {
            size_t count = 0;
            const std::vector<uint8_t> queries = cut_queries(lib, query_image, window, &count);
            expect_same_as_oracle(lib, queries, count, window, what);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(TileShapes, SearchExact,
                         ::testing::Values(Shape{{1, 1}, Mode::Gray}, Shape{{1, 1}, Mode::Rgb},
                                           Shape{{15, 1}, Mode::Gray}, Shape{{4, 4}, Mode::Gray},
                                           Shape{{17, 1}, Mode::Gray}, Shape{{8, 8}, Mode::Gray},
                                           Shape{{17, 15}, Mode::Gray}, Shape{{16, 16}, Mode::Gray},
                                           Shape{{16, 16}, Mode::Rgb}),
                         [](const ::testing::TestParamInfo<Shape>& info) {
                             return std::to_string(info.param.tile.width) + "x" +
                                    std::to_string(info.param.tile.height) +
                                    (info.param.mode == Mode::Gray ? "gray" : "rgb");
                         });

// k up to the whole library: many ties at the k-th place (repeated and constant patches), and
// the top-k heap at every size.
TEST(SearchExactLargeK, MatchesBruteForce) {
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        const Size tile{4, 4};
        const Library lib = build(tile, mode,
                                  {pattern_image(Data::Repeated, mode, 24, 20, 1),
                                   pattern_image(Data::Constant, mode, 12, 8, 2),
                                   pattern_image(Data::Noise, mode, 24, 20, 3)});
        const Image query_image = pattern_image(Data::Smooth, mode, 24, 20, 4);
        for (Size window : {tile, Size{3, 2}}) {
            const std::vector<uint8_t> queries = testing::grid_queries(query_image, window, 12);
            const size_t count = queries.size() / (size_t(window.width) * window.height *
                                                   size_t(lib.params().channels()));
            for (int k : {64, int(lib.patch_count())}) {
                testing::expect_k_nearest_as_oracle(lib, {queries.data(), count, window}, k,
                                                    "large k " + std::string(mode_name(mode)));
            }
        }
    }
}

TEST(SearchExactFile, SavedAndReopenedLibrarySearchesTheSame) {
    const Library built = build({8, 8}, Mode::Gray,
                                {pattern_image(Data::Smooth, Mode::Gray, 40, 30, 1),
                                 pattern_image(Data::Noise, Mode::Gray, 40, 30, 2)});
    const testing::TempDir dir;
    const std::string path = dir.file("lib.tsr");
    built.save(path);
    const Library opened = Library::open(path, exact_search_data());
    opened.verify();
    EXPECT_EQ(opened.format_version(), kLibraryFormatVersion);
    const ExactIndex opened_index = exact_index(opened), built_index = exact_index(built);
    ASSERT_EQ(opened_index.order.size(), built.patch_count());
    EXPECT_TRUE(std::equal(opened_index.order.begin(), opened_index.order.end(),
                           built_index.order.begin()));
    const Image image = pattern_image(Data::Smooth, Mode::Gray, 40, 30, 5);
    size_t count = 0;
    const std::vector<uint8_t> queries = cut_queries(opened, image, {8, 8}, &count);
    expect_same_as_oracle(opened, queries, count, {8, 8}, "reopened");
}

TEST(SearchExactFile, IndexIsAPermutationSortedByMeanBucket) {
    const Library lib = build({4, 4}, Mode::Rgb,
                              {pattern_image(Data::Noise, Mode::Rgb, 30, 20, 1),
                               pattern_image(Data::Repeated, Mode::Rgb, 30, 20, 2)});
    const ExactIndex x = exact_index(lib);
    std::vector<bool> seen(lib.patch_count());
    EXPECT_EQ(x.buckets.front(), 0u);
    for (size_t b = 0; b + 1 < x.buckets.size(); ++b) {
        for (size_t i = x.buckets[b]; i < x.buckets[b + 1]; ++i) {
            ASSERT_LT(x.order[i], lib.patch_count());
            EXPECT_FALSE(seen[x.order[i]]);
            seen[x.order[i]] = true;
            EXPECT_EQ(x.sums[i] / lib.patch_bytes(), b);
            if (i > x.buckets[b]) {
                EXPECT_LE(x.spreads[i - 1], x.spreads[i]);
            }
        }
    }
    EXPECT_EQ(x.buckets.back(), lib.patch_count());
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
}

}  // namespace
}  // namespace tessera
