// The pruned exact search against the brute-force oracle: identical (distance, id) lists for
// k = 1 and k = 5, every SIMD level the CPU supports, 1 and 2 threads, tile shapes whose byte
// counts exercise the kernel tails, adversarial data (ties, constant, black, white, noise),
// real photographs, partial windows, and a library saved and reopened.
#include <gtest/gtest.h>

#include <algorithm>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "tessera/error.hpp"
#include "tessera/library.hpp"
#include "tessera/search.hpp"
#ifdef TESSERA_TESTS_HAVE_IO
#include "tessera/image_io.hpp"
#endif

namespace tessera {
namespace {

enum class Data { Noise, Constant, Black, White, Repeated, Smooth, Real };

const char* data_name(Data d) {
    switch (d) {
        case Data::Noise:
            return "noise";
        case Data::Constant:
            return "constant";
        case Data::Black:
            return "black";
        case Data::White:
            return "white";
        case Data::Repeated:
            return "repeated";
        case Data::Smooth:
            return "smooth";
        case Data::Real:
            return "real";
    }
    return "";
}

#ifdef TESSERA_TESTS_HAVE_IO
Image real_image(Mode mode, int width, int height, int seed) {
    static const bool started = (io::initialize("tessera_tests"), true);
    (void)started;
    const char* names[] = {"astronaut.png", "coffee.png", "rocket.jpg", "brick.png"};
    const std::string path = std::string(TESSERA_DATA_DIR) + "/" + names[seed % 4];
    const io::LoadedImage loaded = io::load_image(path, mode);
    const ImageView v = loaded.image.view();
    Image out(width, height, v.channels);
    const int x0 = (seed * 37) % (v.width - width), y0 = (seed * 53) % (v.height - height);
    for (int y = 0; y < height; ++y) {
        std::copy_n(v.row(y0 + y) + x0 * v.channels, width * v.channels, out.row(y));
    }
    return out;
}
#endif

Image make_image(Data data, Mode mode, int width, int height, int seed) {
    const int channels = tessera::channels(mode);
    Image image(width, height, channels);
    std::mt19937 rng{uint32_t(seed)};
    std::uniform_int_distribution<int> byte(0, 255), small(-6, 6);
    for (int y = 0; y < height; ++y) {
        uint8_t* row = image.row(y);
        for (int i = 0; i < width * channels; ++i) {
            const int x = i / channels, c = i % channels;
            int v = 0;
            switch (data) {
                case Data::Noise:
                    v = byte(rng);
                    break;
                case Data::Constant:
                    v = 77;
                    break;
                case Data::Black:
                    v = 0;
                    break;
                case Data::White:
                    v = 255;
                    break;
                // A 3x2 pattern repeated: windows fall on few distinct contents (ties).
                case Data::Repeated:
                    v = ((x % 3) * 70 + (y % 2) * 40 + c * 20 + seed) % 256;
                    break;
                case Data::Smooth:
                    v = std::clamp(128 + (x - width / 2) * 3 +
                                       (y - height / 2) * 2 * (seed % 3 - 1) + c * 10 + small(rng),
                                   0, 255);
                    break;
                case Data::Real:
                    break;
            }
            row[i] = uint8_t(v);
        }
    }
#ifdef TESSERA_TESTS_HAVE_IO
    if (data == Data::Real) return real_image(mode, width, height, seed);
#endif
    return image;
}

Library build(Size tile, Mode mode, const std::vector<Image>& images) {
    LibraryParams params;
    params.tile = tile;
    params.stride = {std::max(1, tile.width / 2), std::max(1, tile.height / 2)};
    params.mode = mode;
    params.transforms = tile.width == tile.height ? transforms_from({0, 90}, true)
                                                  : transforms_from({0, 180}, false);
    LibraryBuilder builder(params);
    for (size_t i = 0; i < images.size(); ++i) {
        builder.add_source({"image" + std::to_string(i)}, images[i].view());
    }
    return builder.finish();
}

// Queries of one window size cut from `image` on a grid, then copies of some library patches'
// top-left windows (exact matches, and ties where the library repeats itself).
std::vector<uint8_t> cut_queries(const Library& lib, const Image& image, Size window,
                                 size_t* count) {
    const int channels = lib.params().channels();
    const size_t row = size_t(window.width) * channels;
    std::vector<uint8_t> out;
    for (int y = 0; y + window.height <= image.height; y += std::max(1, window.height)) {
        for (int x = 0; x + window.width <= image.width; x += std::max(1, window.width)) {
            for (int r = 0; r < window.height; ++r) {
                const uint8_t* src = image.view().row(y + r) + x * channels;
                out.insert(out.end(), src, src + row);
            }
        }
    }
    const size_t tile_row = size_t(lib.params().tile.width) * channels;
    for (size_t id = 0; id < lib.size(); id += lib.size() / 7 + 1) {
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
    const auto oracle = make_bruteforce_searcher(lib);
    for (int k : {1, 5}) {
        if (size_t(k) > lib.size()) continue;
        const QueryBatch batch{data.data(), count, window};
        std::vector<Neighbor> want(count * k);
        oracle->search(batch, k, want.data());
        for (SimdLevel level : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512}) {
            if (!simd_level_supported(level)) continue;
            for (int threads : {1, 2}) {
                SCOPED_TRACE(what + " k=" + std::to_string(k) + " window " +
                             std::to_string(window.width) + "x" + std::to_string(window.height) +
                             " " + std::string(simd_level_name(level)) +
                             " threads=" + std::to_string(threads));
                const auto exact = make_exact_searcher(lib, threads, level);
                std::vector<Neighbor> got(count * k);
                exact->search(batch, k, got.data());
                ASSERT_EQ(got, want);
            }
        }
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
            {make_image(library_data, shape.mode, w, h, 1),
             make_image(library_data, shape.mode, w, h, 2),
             make_image(Data::Smooth, shape.mode, w / 2 + tile.width, h / 2 + tile.height, 3)});
        const Image query_image = make_image(query_data, shape.mode, w, h, 4);
        const std::string what = std::string("library ") + data_name(library_data) + ", queries " +
                                 data_name(query_data);
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

TEST(SearchExactFile, SavedAndReopenedLibrarySearchesTheSame) {
    const Library built = build({8, 8}, Mode::Gray,
                                {make_image(Data::Smooth, Mode::Gray, 40, 30, 1),
                                 make_image(Data::Noise, Mode::Gray, 40, 30, 2)});
    const std::string path =
        (std::filesystem::temp_directory_path() / "tessera_test_search_exact.tsr").string();
    built.save(path);
    const Library opened = Library::open(path);
    opened.verify();
    EXPECT_EQ(opened.format_version(), kLibraryFormatVersion);
    ASSERT_EQ(opened.index().order.size(), built.size());
    EXPECT_TRUE(std::equal(opened.index().order.begin(), opened.index().order.end(),
                           built.index().order.begin()));
    const Image image = make_image(Data::Smooth, Mode::Gray, 40, 30, 5);
    size_t count = 0;
    const std::vector<uint8_t> queries = cut_queries(opened, image, {8, 8}, &count);
    expect_same_as_oracle(opened, queries, count, {8, 8}, "reopened");
    std::filesystem::remove(path);
}

TEST(SearchExactFile, IndexIsAPermutationSortedByMeanBucket) {
    const Library lib = build({4, 4}, Mode::Rgb,
                              {make_image(Data::Noise, Mode::Rgb, 30, 20, 1),
                               make_image(Data::Repeated, Mode::Rgb, 30, 20, 2)});
    const SearchIndex& x = lib.index();
    std::vector<bool> seen(lib.size());
    EXPECT_EQ(x.buckets.front(), 0u);
    for (size_t b = 0; b + 1 < x.buckets.size(); ++b) {
        for (size_t i = x.buckets[b]; i < x.buckets[b + 1]; ++i) {
            ASSERT_LT(x.order[i], lib.size());
            EXPECT_FALSE(seen[x.order[i]]);
            seen[x.order[i]] = true;
            EXPECT_EQ(x.sums[i] / lib.patch_bytes(), b);
            if (i > x.buckets[b]) {
                EXPECT_LE(x.spreads[i - 1], x.spreads[i]);
            }
        }
    }
    EXPECT_EQ(x.buckets.back(), lib.size());
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(SearchExactFile, FormatOneLibraryAsksForARebuild) {
    const Library built =
        build({4, 4}, Mode::Gray, {make_image(Data::Noise, Mode::Gray, 20, 20, 1)});
    const std::string path =
        (std::filesystem::temp_directory_path() / "tessera_test_format1.tsr").string();
    built.save(path);
    {
        // Rewrite the version (offset 8) as 1, as a library from before the search index.
        std::FILE* f = std::fopen(path.c_str(), "r+b");
        ASSERT_NE(f, nullptr);
        const uint32_t one = 1;
        ASSERT_EQ(std::fseek(f, 8, SEEK_SET), 0);
        ASSERT_EQ(std::fwrite(&one, sizeof one, 1, f), 1u);
        std::fclose(f);
    }
    try {
        Library::open(path);
        ADD_FAILURE() << "a format 1 library opened";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("format 1"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("rebuild it with tessera build"), std::string::npos);
    }
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace tessera
