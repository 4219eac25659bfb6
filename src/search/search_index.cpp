#include "search/search_index.hpp"

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

void window_channel_sums(const uint8_t* p, size_t row_stride, Size window, int channels,
                         uint64_t* sums, uint32_t* norm) {
    const size_t row = size_t(window.width) * channels;
    // Column sums first: contiguous loops the compiler vectorizes.
    uint32_t columns[kMaxTileSide * 3];
    std::fill_n(columns, row, 0u);  // only the window's: zeroing all costs as much as the sums
    uint32_t n = 0;
    for (int y = 0; y < window.height; ++y) {
        const uint8_t* r = p + y * row_stride;
        for (size_t i = 0; i < row; ++i) {
            columns[i] += r[i];
            n += uint32_t(r[i]) * r[i];
        }
    }
    std::fill(sums, sums + channels, 0);
    for (size_t i = 0; i < row; i += channels) {
        for (int c = 0; c < channels; ++c) sums[c] += columns[i + c];
    }
    *norm = n;
}

PatchFeatures patch_features(const uint8_t* patch, const LibraryParams& params,
                             const BlockGrid& grid, uint16_t* blocks) {
    const int channels = params.channels();
    const int width = params.tile.width, height = params.tile.height;
    const size_t bytes = params.patch_bytes();
    uint64_t sums[3];
    PatchFeatures f;
    if (grid.features == 0) {
        window_channel_sums(patch, size_t(width) * channels, params.tile, channels, sums, &f.norm);
    } else {
        // One pass over the pixels: the column sums of each row of blocks (16 bits: a block
        // sum fits 15, block_grid), which give the block sums, and the norm on the way. The
        // blocks cover the tile, so they give the channel sums too.
        const size_t row = size_t(width) * channels;
        const int bh = height / grid.rows;
        const size_t block_row = size_t(width / grid.cols) * channels;
        uint16_t columns[kMaxTileSide * 3];
        uint32_t norm = 0;
        std::fill(blocks, blocks + 2 * grid.pairs(), 0);
        for (int by = 0; by < grid.rows; ++by) {
            std::fill_n(columns, row, uint16_t(0));
            for (int y = by * bh; y < (by + 1) * bh; ++y) {
                const uint8_t* r = patch + size_t(y) * row;
                for (size_t i = 0; i < row; ++i) {
                    columns[i] = uint16_t(columns[i] + r[i]);
                    norm += uint32_t(r[i]) * r[i];
                }
            }
            uint16_t* b = blocks + size_t(by) * grid.cols * channels;
            for (int bx = 0; bx < grid.cols; ++bx, b += channels) {
                const uint16_t* col = columns + bx * block_row;
                for (size_t i = 0; i < block_row; i += channels) {
                    for (int c = 0; c < channels; ++c) b[c] = uint16_t(b[c] + col[i + c]);
                }
            }
        }
        f.norm = norm;
        std::fill(sums, sums + channels, 0);
        for (int i = 0; i < grid.features; ++i) sums[i % channels] += blocks[i];
    }
    uint64_t sum = 0, energy = 0;
    for (int c = 0; c < channels; ++c) {
        sum += sums[c];
        energy += sums[c] * sums[c];
        f.channel_sums[c] = uint32_t(sums[c]);
    }
    f.sum = uint32_t(sum);
    f.spread = uint32_t(isqrt(bytes * f.norm - sum * sum));
    f.channel_spread = uint32_t(isqrt(uint64_t(width) * height * f.norm - energy));
    if (grid.features == 0) return f;
    uint64_t block_energy = 0;
    for (int i = 0; i < grid.features; ++i) block_energy += uint64_t(blocks[i]) * blocks[i];
    f.tail = uint32_t(isqrt(uint64_t(grid.block_bytes) * f.norm - block_energy));
    return f;
}

}  // namespace tessera::detail
