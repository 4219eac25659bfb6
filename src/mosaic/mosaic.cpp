#include "tessera/mosaic/mosaic.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>

#include "tessera/core/error.hpp"

namespace tessera {

std::vector<TileMatch> match_tiles(const Library& library, const Searcher& searcher,
                                   ImageView target, const Progress& progress) {
    const int channels = library.params().channels();
    if (target.channels != channels) {
        throw Error("the target has " + std::to_string(target.channels) +
                    " channels but the library is " +
                    std::string(mode_name(library.params().mode)) + "; convert it first");
    }
    const std::vector<Tile> tiles = cover_with_tiles(target.size(), library.params().tile);
    std::vector<TileMatch> matches(tiles.size());

    // Tiles of one visible size share a batch: the interior, the right column, the bottom row
    // and the corner. Batches are cut into chunks so progress can be reported.
    std::map<std::pair<int, int>, std::vector<size_t>> groups;
    for (size_t i = 0; i < tiles.size(); ++i) {
        groups[{tiles[i].size.width, tiles[i].size.height}].push_back(i);
    }
    constexpr size_t kChunk = 4096;
    size_t done = 0;
    if (progress) progress(0, tiles.size());
    std::vector<uint8_t> queries;
    std::vector<Neighbor> found;
    for (const auto& [key, members] : groups) {
        const Size window{key.first, key.second};
        const size_t row_bytes = size_t(window.width) * channels;
        const size_t query_bytes = row_bytes * window.height;
        for (size_t begin = 0; begin < members.size(); begin += kChunk) {
            const size_t count = std::min(kChunk, members.size() - begin);
            queries.resize(count * query_bytes);
            for (size_t j = 0; j < count; ++j) {
                const Tile& t = tiles[members[begin + j]];
                for (int y = 0; y < window.height; ++y) {
                    std::memcpy(queries.data() + j * query_bytes + y * row_bytes,
                                target.row(t.y + y) + ptrdiff_t(t.x) * channels, row_bytes);
                }
            }
            found.resize(count);
            searcher.search({queries.data(), count, window}, 1, found.data());
            for (size_t j = 0; j < count; ++j) {
                const size_t i = members[begin + j];
                matches[i] = {tiles[i], found[j].id, found[j].distance};
            }
            done += count;
            if (progress) progress(done, tiles.size());
        }
    }
    return matches;
}

Image render(const Library& library, std::span<const TileMatch> matches, Size size) {
    const int channels = library.params().channels();
    const size_t tile_row_bytes = size_t(library.params().tile.width) * channels;
    Image out(size.width, size.height, channels);
    for (const TileMatch& m : matches) {
        const Tile& t = m.tile;
        TESSERA_ASSERT(m.patch < library.patch_count());
        TESSERA_ASSERT(t.x >= 0 && t.y >= 0 && t.x + t.size.width <= size.width &&
                       t.y + t.size.height <= size.height);
        const uint8_t* patch = library.patch(m.patch);
        for (int y = 0; y < t.size.height; ++y) {
            std::memcpy(out.row(t.y + y) + ptrdiff_t(t.x) * channels, patch + y * tile_row_bytes,
                        size_t(t.size.width) * channels);
        }
    }
    return out;
}

double psnr(ImageView a, ImageView b) {
    TESSERA_ASSERT(a.width == b.width && a.height == b.height && a.channels == b.channels);
    uint64_t sum = 0;
    for (int y = 0; y < a.height; ++y) {
        const uint8_t* p = a.row(y);
        const uint8_t* q = b.row(y);
        for (int i = 0; i < a.width * a.channels; ++i) {
            const int d = int(p[i]) - int(q[i]);
            sum += uint64_t(d * d);
        }
    }
    if (sum == 0) return std::numeric_limits<double>::infinity();
    const double mse = double(sum) / (double(a.width) * a.height * a.channels);
    return 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace tessera
