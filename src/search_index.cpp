#include "search_index.hpp"

#include <algorithm>
#include <cmath>

namespace tessera::detail {

uint64_t isqrt(uint64_t v) {
    auto r = uint64_t(std::sqrt(double(v)));
    // The double root can be off by one either way; settle it exactly.
    while (r > 0 && (r > UINT32_MAX || r * r > v)) --r;
    while ((r + 1) <= UINT32_MAX && (r + 1) * (r + 1) <= v) ++r;
    return r;
}

BlockGrid block_grid(const LibraryParams& params) {
    const Size tile = params.tile;
    const uint64_t D = params.patch_bytes();
    auto start = [](int side) { return side % 4 == 0 ? 4 : side % 2 == 0 ? 2 : 1; };
    BlockGrid g;
    g.cols = start(tile.width);
    g.rows = start(tile.height);
    auto fits = [&] {
        const uint64_t n = uint64_t(tile.width / g.cols) * (tile.height / g.rows);
        const uint64_t features = uint64_t(g.cols) * g.rows * params.channels();
        // Block bound: features * (255 n)^2, plus the tail term, at most n * D * 255^2.
        return n * 255 < (1u << 15) &&
               features * (255 * n) * (255 * n) + n * D * 65025 < (1u << 31);
    };
    while (!fits()) {
        const int bw = tile.width / g.cols, bh = tile.height / g.rows;
        if (bw % 2 == 0 && (bw >= bh || bh % 2 != 0)) {
            g.cols *= 2;
        } else if (bh % 2 == 0) {
            g.rows *= 2;
        } else {
            return BlockGrid{1, 1, 0, 0};
        }
    }
    g.block_bytes = (tile.width / g.cols) * (tile.height / g.rows);
    g.features = g.cols * g.rows * params.channels();
    // Beyond this many sums the bound costs about as much as the distance itself.
    if (size_t(g.features) * 4 > D) return BlockGrid{1, 1, 0, 0};
    return g;
}

PatchFeatures patch_features(const uint8_t* patch, const LibraryParams& params,
                             const BlockGrid& grid, uint16_t* blocks) {
    const int channels = params.channels();
    const int width = params.tile.width, height = params.tile.height;
    const size_t bytes = params.patch_bytes();
    uint64_t sum = 0, norm = 0;
    for (size_t i = 0; i < bytes; ++i) {
        sum += patch[i];
        norm += uint32_t(patch[i]) * patch[i];
    }
    PatchFeatures f;
    f.sum = uint32_t(sum);
    f.spread = uint32_t(isqrt(bytes * norm - sum * sum));
    if (grid.features == 0) return f;
    const int bw = width / grid.cols, bh = height / grid.rows;
    std::fill(blocks, blocks + 2 * grid.pairs(), 0);
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            for (int c = 0; c < channels; ++c) {
                blocks[((y / bh) * grid.cols + x / bw) * channels + c] +=
                    patch[(size_t(y) * width + x) * channels + c];
            }
        }
    }
    uint64_t block_energy = 0;
    for (int i = 0; i < grid.features; ++i) block_energy += uint64_t(blocks[i]) * blocks[i];
    f.tail = uint32_t(isqrt(uint64_t(grid.block_bytes) * norm - block_energy));
    return f;
}

}  // namespace tessera::detail
