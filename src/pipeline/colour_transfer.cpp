#include "tessera/pipeline/colour_transfer.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "tessera/core/error.hpp"

namespace tessera::pipeline {

namespace {

// Sums of each channel and of its squares over some pixels.
struct Accumulator {
    double sum[3] = {0, 0, 0};
    double squares[3] = {0, 0, 0};
    size_t count = 0;
    void add(io::Lab v) {
        const double c[3] = {v.L, v.a, v.b};
        for (int i = 0; i < 3; ++i) {
            sum[i] += c[i];
            squares[i] += c[i] * c[i];
        }
        ++count;
    }
    ColourStats stats() const {
        ColourStats s;
        if (count == 0) return s;
        for (int i = 0; i < 3; ++i) {
            s.mean[i] = sum[i] / double(count);
            s.spread[i] =
                std::sqrt(std::max(0.0, squares[i] / double(count) - s.mean[i] * s.mean[i]));
        }
        return s;
    }
};

// A tile channel that spreads less than this is flat (a gray photo's a* and b*, up to the
// conversion's rounding): it is shifted to the cell's mean, not stretched by a ratio that would
// magnify that rounding.
constexpr double kFlat = 0.01;

uint8_t byte_of(double v) {
    return uint8_t(std::clamp<long>(std::lround(v), 0, 255));
}

}  // namespace

io::Lab pixel_colour(const uint8_t* pixel, int channels) {
    if (channels == 1) return {float(pixel[0]), 0, 0};
    return io::srgb_to_lab(pixel[0], pixel[1], pixel[2]);
}

std::vector<ColourStats> cell_stats(ImageView image, Size tile) {
    const std::vector<Tile> tiles = cover_with_tiles(image.size(), tile);
    std::vector<ColourStats> stats(tiles.size());
#pragma omp parallel for schedule(dynamic, 64)
    for (size_t i = 0; i < tiles.size(); ++i) {
        const Tile& t = tiles[i];
        Accumulator acc;
        for (int y = t.y; y < t.y + t.size.height; ++y) {
            const uint8_t* p = image.row(y) + size_t(t.x) * image.channels;
            for (int x = 0; x < t.size.width; ++x, p += image.channels) {
                acc.add(pixel_colour(p, image.channels));
            }
        }
        stats[i] = acc.stats();
    }
    return stats;
}

PasteFilter colour_transfer(std::vector<ColourStats> cells, int columns, double amount,
                            int channels) {
    TESSERA_ASSERT(amount > 0 && amount <= 1 && columns > 0);
    auto shared = std::make_shared<const std::vector<ColourStats>>(std::move(cells));
    return [shared, columns, amount, channels](const TileMatch& m, std::span<uint8_t> pixels) {
        const size_t cell = size_t(m.tile.row) * size_t(columns) + size_t(m.tile.col);
        TESSERA_ASSERT(cell < shared->size());
        const ColourStats& target = (*shared)[cell];
        const size_t count = pixels.size() / size_t(channels);
        std::vector<io::Lab> colours(count);
        Accumulator acc;
        for (size_t i = 0; i < count; ++i) {
            colours[i] = pixel_colour(&pixels[i * size_t(channels)], channels);
            acc.add(colours[i]);
        }
        const ColourStats tile = acc.stats();
        double scale[3];
        for (int c = 0; c < 3; ++c) {
            scale[c] = tile.spread[c] >= kFlat ? target.spread[c] / tile.spread[c] : 1.0;
        }
        const auto moved = [&](double v, int c) {
            return v + amount * ((v - tile.mean[c]) * scale[c] + target.mean[c] - v);
        };
        for (size_t i = 0; i < count; ++i) {
            uint8_t* p = &pixels[i * size_t(channels)];
            const io::Lab v = colours[i];
            if (channels == 1) {
                p[0] = byte_of(moved(v.L, 0));
            } else {
                io::lab_to_srgb({float(moved(v.L, 0)), float(moved(v.a, 1)), float(moved(v.b, 2))},
                                p);
            }
        }
    };
}

void blend_target(Image& output, ImageView target, double amount) {
    TESSERA_ASSERT(amount >= 0 && amount <= 1 && output.channels == target.channels);
    Image resized;
    if (target.size() != output.size()) {
        resized = io::resize_image(target, output.size());
        target = resized.view();
    }
    const size_t values = size_t(output.width) * size_t(output.channels);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < output.height; ++y) {
        uint8_t* out = output.row(y);
        const uint8_t* in = target.row(y);
        for (size_t i = 0; i < values; ++i) {
            out[i] = byte_of((1 - amount) * out[i] + amount * in[i]);
        }
    }
}

}  // namespace tessera::pipeline
