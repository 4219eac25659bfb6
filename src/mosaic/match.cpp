#include "tessera/mosaic/match.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <utility>

#include "tessera/core/error.hpp"

namespace tessera {

namespace {

// The tiles of band `rows` of cover_with_tiles(target, tile): that grid over the band's pixel
// rows, moved down to them.
std::vector<Tile> band_tiles(Size target, Size tile, TileRows rows) {
    TESSERA_ASSERT(rows.first >= 0 && rows.count >= 0 &&
                   rows.first + rows.count <= tile_rows(target, tile));
    const int top = rows.first * tile.height;
    const int bottom = std::min(target.height, (rows.first + rows.count) * tile.height);
    std::vector<Tile> tiles = cover_with_tiles({target.width, std::max(0, bottom - top)}, tile);
    for (Tile& t : tiles) {
        t.row += rows.first;
        t.y += top;
    }
    return tiles;
}

// The visible pixels of `tile`, rows packed one after another, as a query.
void copy_tile(ImageView target, const Tile& tile, uint8_t* out) {
    const size_t row_bytes = size_t(tile.size.width) * target.channels;
    for (int y = 0; y < tile.size.height; ++y) {
        std::memcpy(out + y * row_bytes,
                    target.row(tile.y + y) + ptrdiff_t(tile.x) * target.channels, row_bytes);
    }
}

}  // namespace

int tile_rows(Size target, Size tile) {
    TESSERA_ASSERT(target.height >= 0 && tile.height > 0);
    return target.height / tile.height + (target.height % tile.height != 0);
}

std::span<const Neighbor> TileCandidates::of(size_t i) const {
    TESSERA_ASSERT(i < tiles.size());
    return {neighbors.data() + i * size_t(k), size_t(k)};
}

std::vector<Neighbor> match_listed_tiles(const Library& library, const Searcher& searcher,
                                         ImageView target, std::span<const Tile> tiles, int k,
                                         const Progress& progress) {
    const int channels = library.params().channels();
    if (target.channels != channels) {
        throw Error("the target has " + std::to_string(target.channels) +
                    " channels but the library is " +
                    std::string(mode_name(library.params().mode)) + "; convert it first");
    }
    // k's range, before anything is sized by it (a band may have no tile to search for).
    check_queries(library, {nullptr, 0, library.params().tile}, k);
    std::vector<Neighbor> neighbors(tiles.size() * size_t(k));

    // Tiles of one visible size share a batch: the interior, the right column, the bottom row
    // and the corner. Batches are cut into chunks so progress can be reported.
    std::map<std::pair<int, int>, std::vector<size_t>> groups;
    for (size_t i = 0; i < tiles.size(); ++i) {
        groups[{tiles[i].size.width, tiles[i].size.height}].push_back(i);
    }
    constexpr size_t kTilesPerBatch = 4096;
    size_t done = 0;
    if (progress) progress(0, tiles.size());
    std::vector<uint8_t> queries;
    std::vector<Neighbor> found;
    for (const auto& [key, members] : groups) {
        const Size window{key.first, key.second};
        const size_t query_bytes = size_t(window.width) * channels * window.height;
        for (size_t begin = 0; begin < members.size(); begin += kTilesPerBatch) {
            const size_t count = std::min(kTilesPerBatch, members.size() - begin);
            queries.resize(count * query_bytes);
            for (size_t j = 0; j < count; ++j) {
                copy_tile(target, tiles[members[begin + j]], queries.data() + j * query_bytes);
            }
            found.resize(count * size_t(k));
            searcher.search({queries.data(), count, window}, k, found.data());
            for (size_t j = 0; j < count; ++j) {
                std::copy_n(found.begin() + ptrdiff_t(j * size_t(k)), k,
                            neighbors.begin() + ptrdiff_t(members[begin + j] * size_t(k)));
            }
            done += count;
            if (progress) progress(done, tiles.size());
        }
    }
    return neighbors;
}

void tile_distances(PatchDistances& measure, ImageView target, const Tile& tile,
                    std::span<const uint32_t> ids, std::span<uint64_t> distances,
                    std::span<const uint64_t> limits) {
    std::vector<uint8_t> query(size_t(tile.size.width) * tile.size.height * target.channels);
    copy_tile(target, tile, query.data());
    measure.measure(query.data(), tile.size, ids, distances, limits);
}

TileCandidates match_tiles(const Library& library, const Searcher& searcher, ImageView target,
                           TileRows rows, int k, const Progress& progress) {
    TileCandidates candidates;
    candidates.tiles = band_tiles(target.size(), library.params().tile, rows);
    candidates.k = k;
    candidates.neighbors =
        match_listed_tiles(library, searcher, target, candidates.tiles, k, progress);
    return candidates;
}

}  // namespace tessera
