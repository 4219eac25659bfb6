// The exact search's bounds and kernels under data built to stress them: patches with equal mean
// and spread that differ only in where their mass lies (mirror images, halves swapped), ties,
// all-equal libraries, tiny and odd tiles, colour, and edge-window
// indexes reused and evicted across calls. Every case is compared with the brute-force oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "search/kernels/kernels.hpp"
#include "search/search_index.hpp"
#include "search/simd.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/search.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::build_library;
using testing::random_image;
using testing::supported_levels;

// `count` queries of `window` cut from random places of `image` (one channel count with the
// library), with a few bytes nudged so most are near a patch but not equal to one.
std::vector<uint8_t> queries_from(const Image& image, Size window, size_t count,
                                  std::mt19937& rng) {
    const size_t row = size_t(window.width) * image.channels;
    std::vector<uint8_t> out;
    std::uniform_int_distribution<int> x(0, image.width - window.width);
    std::uniform_int_distribution<int> y(0, image.height - window.height);
    std::uniform_int_distribution<size_t> byte(0, row * window.height - 1);
    for (size_t q = 0; q < count; ++q) {
        const int x0 = x(rng), y0 = y(rng);
        const size_t at = out.size();
        for (int r = 0; r < window.height; ++r) {
            const uint8_t* src = image.view().row(y0 + r) + size_t(x0) * image.channels;
            out.insert(out.end(), src, src + row);
        }
        if (q % 3 != 0) out[at + byte(rng)] ^= uint8_t(1 + q % 7);
    }
    return out;
}

// The exact searcher at every level and 1 or 2 threads returns the oracle's lists.
void expect_oracle(const Library& lib, const std::vector<uint8_t>& queries, Size window, int k) {
    const size_t count =
        queries.size() / (size_t(window.width) * window.height * lib.params().channels());
    const QueryBatch batch{queries.data(), count, window};
    std::vector<Neighbor> want(count * size_t(k));
    make_bruteforce_searcher(lib)->search(batch, k, want.data());
    for (SimdLevel level : supported_levels()) {
        for (int threads : {1, 2}) {
            SCOPED_TRACE(std::string(simd_level_name(level)) + " threads=" +
                         std::to_string(threads) + " k=" + std::to_string(k) + " window " +
                         std::to_string(window.width) + "x" + std::to_string(window.height));
            std::vector<Neighbor> got(want.size());
            make_exact_searcher(lib, threads, level)->search(batch, k, got.data());
            ASSERT_EQ(got, want);
        }
    }
}

LibraryParams params_of(Size tile, Mode mode, std::vector<Transform> transforms) {
    LibraryParams p;
    p.tile = tile;
    p.stride = {1, 1};
    p.mode = mode;
    p.transforms = std::move(transforms);
    return p;
}

std::vector<Transform> all_transforms() {
    std::vector<Transform> t;
    for (int i = 0; i < kTransformCount; ++i) t.push_back(static_cast<Transform>(i));
    return t;
}

// The channel filter at every level against its scalar reference, with sums and spreads up to the
// largest a 128x128 colour tile gives, and positions equal to the query (bound zero).
// A patch's features against their definitions (search_index.hpp), pixel by pixel: random
// patches and the largest one (all 255) of every grid shape, gray and colour.
TEST(SearchBounds, PatchFeaturesMatchTheirDefinitions) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255);
    for (Size tile : {Size{16, 16}, Size{8, 8}, Size{6, 4}, Size{3, 2}, Size{5, 7}, Size{128, 128},
                      Size{12, 40}}) {
        for (int channels : {1, 3}) {
            LibraryParams params;
            params.tile = params.stride = tile;
            params.mode = channels == 3 ? Mode::Rgb : Mode::Gray;
            const detail::BlockGrid grid = detail::block_grid(params);
            const size_t bytes = params.patch_bytes();
            for (int pattern = 0; pattern < 3; ++pattern) {
                SCOPED_TRACE(std::to_string(tile.width) + "x" + std::to_string(tile.height) + "x" +
                             std::to_string(channels) + " pattern " + std::to_string(pattern));
                std::vector<uint8_t> patch(bytes);
                for (auto& v : patch) v = pattern == 0 ? 255 : uint8_t(byte(rng));
                std::vector<uint16_t> blocks(2 * grid.pairs() + 1, 0xabcd);
                const detail::PatchFeatures f =
                    detail::patch_features(patch.data(), params, grid, blocks.data());
                uint64_t sum = 0, norm = 0, sums[3] = {0, 0, 0};
                std::vector<uint64_t> want_blocks(size_t(grid.features), 0);
                const int bw = tile.width / grid.cols, bh = tile.height / grid.rows;
                for (int y = 0; y < tile.height; ++y) {
                    for (int x = 0; x < tile.width; ++x) {
                        for (int c = 0; c < channels; ++c) {
                            const uint64_t v = patch[(size_t(y) * tile.width + x) * channels + c];
                            sum += v;
                            norm += v * v;
                            sums[c] += v;
                            if (grid.features != 0) {
                                want_blocks[((y / bh) * grid.cols + x / bw) * channels + c] += v;
                            }
                        }
                    }
                }
                EXPECT_EQ(f.sum, sum);
                EXPECT_EQ(f.norm, norm);
                EXPECT_EQ(f.spread, detail::isqrt(bytes * norm - sum * sum));
                uint64_t energy = 0;
                for (int c = 0; c < channels; ++c) {
                    EXPECT_EQ(f.channel_sums[c], sums[c]);
                    energy += sums[c] * sums[c];
                }
                EXPECT_EQ(f.channel_spread,
                          detail::isqrt(uint64_t(tile.width) * tile.height * norm - energy));
                if (grid.features == 0) continue;
                uint64_t block_energy = 0;
                for (int i = 0; i < grid.features; ++i) {
                    EXPECT_EQ(blocks[size_t(i)], want_blocks[size_t(i)]) << "block " << i;
                    block_energy += want_blocks[size_t(i)] * want_blocks[size_t(i)];
                }
                if (grid.features % 2 != 0) {
                    EXPECT_EQ(blocks[size_t(grid.features)], 0);
                }
                EXPECT_EQ(blocks[2 * grid.pairs()], 0xabcd);  // nothing written past the pairs
                EXPECT_EQ(f.tail, detail::isqrt(grid.block_bytes * norm - block_energy));
            }
        }
    }
}

TEST(SearchBounds, ChannelFilterMatchesScalar) {
    std::mt19937 rng(4);
    const size_t groups = 6;
    for (int channels : {1, 3}) {
        for (uint32_t top : {4080u, 65280u, 4177920u}) {
            std::uniform_int_distribution<uint32_t> sum(0, top);
            std::uniform_int_distribution<uint32_t> spread(0, top == 4177920u ? 230000000u : top);
            const size_t stride = size_t(channels + 1) * 8;
            std::vector<uint32_t> lanes(groups * stride);
            for (size_t g = 0; g < groups; ++g) {
                for (size_t i = 0; i < stride; ++i) {
                    lanes[g * stride + i] = i < size_t(channels) * 8 ? sum(rng) : spread(rng);
                }
            }
            kernels::ChannelQuery q;
            q.channels = channels;
            for (int c = 0; c < channels; ++c) {
                q.sums[c] = int32_t(sum(rng));
                lanes[2 * stride + size_t(c) * 8 + 5] = uint32_t(q.sums[c]);
            }
            q.spread = int32_t(spread(rng));
            lanes[2 * stride + size_t(channels) * 8 + 5] = uint32_t(q.spread);
            for (int64_t limit : {int64_t(0), int64_t(1) << 20, int64_t(1) << 34, int64_t(1) << 46,
                                  int64_t(1) << 56, INT64_MAX}) {
                q.limit = limit;
                std::vector<uint8_t> want(groups);
                kernels::scalar_kernels().channel_filter(q, lanes.data(), groups, want.data());
                EXPECT_TRUE(want[2] & (1u << 5));
                if (limit == INT64_MAX) {
                    EXPECT_EQ(want[0], 0xff);
                }
                for (SimdLevel level : supported_levels()) {
                    const auto& k = detail::kernels_for(level);
                    SCOPED_TRACE(std::string(k.name) + " channels=" + std::to_string(channels) +
                                 " top=" + std::to_string(top) + " limit=" + std::to_string(limit));
                    std::vector<uint8_t> got(groups);
                    k.channel_filter(q, lanes.data(), groups, got.data());
                    EXPECT_EQ(got, want);
                }
            }
        }
    }
}

// Patches under all eight transforms share their mean and spread, and a smooth source makes many
// of them differ only in which half holds the bright side: the mean and spread bounds cannot
// separate them, only the blocks and the distance can. Symmetric patches tie with their images.
TEST(SearchBounds, EqualMeansDifferentHalves) {
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        const int channels = mode == Mode::Gray ? 1 : 3;
        Image source(24, 20, channels);
        for (int y = 0; y < source.height; ++y) {
            for (int x = 0; x < source.width; ++x) {
                for (int c = 0; c < channels; ++c) {
                    // Bright left, dark right, a step in the middle: halves differ strongly.
                    source.row(y)[x * channels + c] = uint8_t(x < 12 ? 200 - 3 * y + c : 40 + y);
                }
            }
        }
        for (Size tile : {Size{8, 8}, Size{16, 16}, Size{6, 6}}) {
            SCOPED_TRACE(std::string(mode_name(mode)) + " tile " + std::to_string(tile.width));
            const Library lib = build_library(params_of(tile, mode, all_transforms()), {&source});
            std::mt19937 rng(5);
            const auto queries = queries_from(source, tile, 40, rng);
            for (int k : {1, 4}) expect_oracle(lib, queries, tile, k);
        }
    }
}

TEST(SearchBounds, AllEqualLibraryTiesToTheLowestIds) {
    Image flat(20, 20, 1);
    std::fill(flat.pixels.begin(), flat.pixels.end(), uint8_t(77));
    const Size tile{8, 8};
    const Library lib = build_library(params_of(tile, Mode::Gray, {Transform::Rot0}), {&flat});
    std::mt19937 rng(3);
    std::vector<uint8_t> queries = queries_from(flat, tile, 5, rng);
    const Image noise = random_image(20, 20, 1, rng);
    const auto more = queries_from(noise, tile, 5, rng);
    queries.insert(queries.end(), more.begin(), more.end());
    for (int k : {1, 3}) expect_oracle(lib, queries, tile, k);
    // Edge windows: every patch has the same window total, so the scan cannot stop early.
    for (Size window : {Size{3, 8}, Size{8, 1}}) {
        for (int k : {1, 3}) expect_oracle(lib, queries_from(noise, window, 6, rng), window, k);
    }
}

// Tiles whose block grid is coarse or absent (odd sides, a single pixel) and byte counts that end
// between the early checks of the distance kernel.
TEST(SearchBounds, TinyAndOddTiles) {
    std::mt19937 rng(7);
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        const int channels = mode == Mode::Gray ? 1 : 3;
        const Image a = random_image(23, 19, channels, rng, 4);
        const Image b = random_image(23, 19, channels, rng);
        for (Size tile : {Size{1, 1}, Size{2, 3}, Size{3, 3}, Size{5, 7}, Size{12, 12}}) {
            SCOPED_TRACE(std::string(mode_name(mode)) + " tile " + std::to_string(tile.width) +
                         "x" + std::to_string(tile.height));
            const std::vector<Transform> transforms = tile.width == tile.height
                                                          ? all_transforms()
                                                          : std::vector<Transform>{Transform::Rot0};
            const Library lib = build_library(params_of(tile, mode, transforms), {&a, &b});
            const auto queries = queries_from(b, tile, 24, rng);
            for (int k : {1, 5}) expect_oracle(lib, queries, tile, k);
        }
    }
}

// One searcher asked for more edge-window shapes than it keeps, some of them twice: each answer
// is the oracle's whether the window index was built, reused or built again after eviction.
TEST(SearchBounds, EdgeWindowIndexesReusedAcrossCalls) {
    const Size tile{8, 8};
    const Size shapes[] = {{3, 8}, {8, 5}, {3, 5}, {3, 8}, {1, 1}, {7, 2}, {2, 7},
                           {4, 4}, {6, 1}, {8, 5}, {3, 5}, {1, 8}, {3, 8}};
    std::mt19937 rng(9);
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        // Mode's value is its channel count.
        const Image source = random_image(30, 26, static_cast<int>(mode), rng, 16);
        const Library lib = build_library(params_of(tile, mode, {Transform::Rot0}), {&source});
        const auto brute = make_bruteforce_searcher(lib);
        for (SimdLevel level : supported_levels()) {
            const auto exact = make_exact_searcher(lib, 2, level);
            for (Size window : shapes) {
                SCOPED_TRACE(std::string(simd_level_name(level)) + " " +
                             std::string(mode_name(mode)) + " window " +
                             std::to_string(window.width) + "x" + std::to_string(window.height));
                const auto queries = queries_from(source, window, 12, rng);
                const QueryBatch batch{queries.data(), 12, window};
                std::vector<Neighbor> want(24), got(24);
                brute->search(batch, 2, want.data());
                exact->search(batch, 2, got.data());
                ASSERT_EQ(got, want);
            }
        }
    }
}

// A colour library's channel section: a channel sum that disagrees with the patch's sum, or a
// channel spread larger than any patch can have (it would overflow the scalar filter), is refused
// on open. (Format 2 files, from before the section, ask for a rebuild: see HostileLibrary.)
TEST(SearchBounds, ChannelSectionIsChecked) {
    std::mt19937 rng(8);
    const Image source = random_image(20, 20, 3, rng);
    const Library lib = build_library(params_of({8, 8}, Mode::Rgb, {Transform::Rot0}), {&source});
    const testing::TempDir dir;
    const std::string path = dir.file("channels.tsr");
    lib.save(path);
    const std::vector<uint8_t> good = testing::read_file(path);
    auto open_error = [&](const std::vector<uint8_t>& bytes) {
        testing::write_file(path, bytes);
        return testing::error_of([&] { Library::open(path, exact_search_data()); });
    };
    EXPECT_EQ(open_error(good), "");

    // The channel section is the last; its (offset, bytes) pair ends 48 bytes before the header's
    // two checksums (format 4: the kind, fit, render size and writer come between). Its first
    // lane is position 0's red sum.
    uint32_t header_bytes;
    std::memcpy(&header_bytes, good.data() + 12, sizeof header_bytes);
    uint64_t offset;
    std::memcpy(&offset, good.data() + header_bytes - 64, sizeof offset);
    std::vector<uint8_t> bad = good;
    bad[offset] ^= 1;
    const std::string bad_error = open_error(bad);
    EXPECT_NE(bad_error.find("search index is corrupt"), std::string::npos) << bad_error;
    // Position 0's spread is lane 3 * 8 of its group (after 8 red, 8 green and 8 blue sums).
    std::vector<uint8_t> wide = good;
    const uint32_t spread = 1u << 30;
    std::memcpy(wide.data() + offset + 24 * sizeof(uint32_t), &spread, sizeof spread);
    const std::string wide_error = open_error(wide);
    EXPECT_NE(wide_error.find("search index is corrupt"), std::string::npos) << wide_error;
}

}  // namespace
}  // namespace tessera
