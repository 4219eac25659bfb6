#include "tessera/mosaic/spaced_assignment.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "tessera/core/error.hpp"

namespace tessera {

namespace {

// The cells of the largest square window in which no tile may repeat.
uint64_t window_cells(int rows, int columns, uint64_t min_distance) {
    return std::min<uint64_t>(min_distance + 1, uint64_t(rows)) *
           std::min<uint64_t>(min_distance + 1, uint64_t(columns));
}

// The most cells a tile takes in the periodic layout: one per (D + 1) x (D + 1) block.
uint64_t periodic_uses(int rows, int columns, uint32_t min_distance) {
    const uint64_t step = uint64_t(min_distance) + 1;
    return ((uint64_t(rows) + step - 1) / step) * ((uint64_t(columns) + step - 1) / step);
}

// Where each tile sits among the visited cells of the last D + 1 rows. Cells are added in
// row-major order, so a tile's older places drop off the front; its places left there are more
// than D apart, so there are few of them to compare.
class RecentPlaces {
  public:
    explicit RecentPlaces(uint32_t min_distance) : reach_(min_distance) {}

    // Whether `tile` was placed within the reach of (row, col) (which follows every place added).
    bool near(uint32_t tile, int row, int col) {
        const auto found = places_.find(tile);
        if (found == places_.end()) return false;
        Places& p = found->second;
        while (p.first < p.cells.size() && int64_t(p.cells[p.first].first) < row - reach_) {
            ++p.first;
        }
        if (p.first > 64 && p.first * 2 > p.cells.size()) {  // keeps memory to the live places
            p.cells.erase(p.cells.begin(), p.cells.begin() + ptrdiff_t(p.first));
            p.first = 0;
        }
        return std::any_of(p.cells.begin() + ptrdiff_t(p.first), p.cells.end(),
                           [&](const std::pair<int, int>& cell) {
                               return std::abs(int64_t(cell.second) - col) <= reach_;
                           });
    }

    void add(uint32_t tile, int row, int col) { places_[tile].cells.emplace_back(row, col); }

  private:
    struct Places {
        std::vector<std::pair<int, int>> cells;  // (row, col), row-major
        size_t first = 0;                        // the places before it are out of reach
    };
    int64_t reach_;
    std::unordered_map<uint32_t, Places> places_;
};

// The best layout that repeats each tile at steps of D + 1 across and down: the cells of a class
// (r mod (D + 1), c mod (D + 1)) share a tile, and classes take distinct tiles, chosen with the
// least total cost (assign_with_repeat_cap, one use each, on the classes' summed distances from
// every cell's full list). None when it places a tile more than `max_uses` times.
std::optional<std::vector<Neighbor>> periodic_layout(int rows, int columns, uint32_t tiles,
                                                     uint32_t max_uses, uint32_t min_distance,
                                                     const WidenCandidates& widen) {
    const uint64_t step = uint64_t(min_distance) + 1;
    const size_t class_rows = size_t(std::min<uint64_t>(step, uint64_t(rows)));
    const size_t class_columns = size_t(std::min<uint64_t>(step, uint64_t(columns)));
    const size_t classes = class_rows * class_columns;
    TESSERA_ASSERT(classes <= tiles);  // check_min_distance
    if (max_uses > 0 && periodic_uses(rows, columns, min_distance) > max_uses) return std::nullopt;
    const auto class_of = [&](size_t cell) {
        return (cell / size_t(columns)) % class_rows * class_columns +
               (cell % size_t(columns)) % class_columns;
    };
    // Every cell's full list, a band of cells at a time: summed per class, then read for the
    // chosen tiles' distances (two passes, so that memory stays a band's).
    const size_t cells = size_t(rows) * size_t(columns);
    const size_t band = std::max<size_t>(1, (size_t(1) << 20) / tiles);
    const auto each_full_list = [&](const auto& use) {
        std::vector<uint32_t> listed;
        for (size_t begin = 0; begin < cells; begin += band) {
            listed.clear();
            for (size_t c = begin; c < std::min(cells, begin + band); ++c) {
                listed.push_back(uint32_t(c));
            }
            const std::vector<Neighbor> found = widen(listed, int(tiles));
            for (size_t i = 0; i < listed.size(); ++i) {
                use(listed[i], std::span(found).subspan(i * tiles, tiles));
            }
        }
    };
    std::vector<uint64_t> class_cost(classes * tiles);
    each_full_list([&](size_t cell, std::span<const Neighbor> list) {
        for (const Neighbor& n : list) class_cost[class_of(cell) * tiles + n.id] += n.distance;
    });
    std::vector<Neighbor> lists;
    lists.reserve(classes * tiles);
    for (size_t k = 0; k < classes; ++k) {
        const size_t first = lists.size();
        for (uint32_t t = 0; t < tiles; ++t) lists.push_back({class_cost[k * tiles + t], t});
        std::sort(lists.begin() + ptrdiff_t(first), lists.end());
    }
    const WidenCandidates whole = [](std::span<const uint32_t>, int) -> std::vector<Neighbor> {
        TESSERA_ASSERT(false);  // every list is the whole library
        return {};
    };
    const CappedAssignment chosen = assign_with_repeat_cap(lists, classes, tiles, 1, whole);
    std::vector<Neighbor> layout(cells);
    each_full_list([&](size_t cell, std::span<const Neighbor> list) {
        const uint32_t tile = chosen.tiles[class_of(cell)];
        layout[cell] = *std::find_if(list.begin(), list.end(),
                                     [&](const Neighbor& n) { return n.id == tile; });
    });
    return layout;
}

// Under a cap, the repair found no tile for cell (row, col), and the periodic layout places a
// tile in `most_cells` cells, more than the cap: what to change.
[[noreturn]] void refuse_cell(uint32_t max_uses, uint32_t min_distance, uint64_t most_cells,
                              int row, int col) {
    throw Error("--min-distance " + std::to_string(min_distance) + " with --max-uses " +
                std::to_string(max_uses) + ": no tile is left for the tile in row " +
                std::to_string(row) + ", column " + std::to_string(col) + " (each is used " +
                std::to_string(max_uses) + " times or repeats within that distance), and a " +
                "layout repeating every " + std::to_string(uint64_t(min_distance) + 1) +
                " tiles uses a tile " + std::to_string(most_cells) + " times: use --max-uses " +
                std::to_string(most_cells) + " or more, a smaller --min-distance or a larger " +
                "library");
}

}  // namespace

void check_min_distance(int rows, int columns, uint32_t tiles, uint32_t min_distance) {
    TESSERA_ASSERT(rows > 0 && columns > 0 && min_distance > 0);
    const std::string asked = "--min-distance " + std::to_string(min_distance);
    const uint64_t window = window_cells(rows, columns, min_distance);
    if (window > tiles) {
        // The largest distance the library allows, for the message.
        uint64_t allowed = 0;
        while (window_cells(rows, columns, allowed + 1) <= tiles) ++allowed;
        const int height = int(std::min<uint64_t>(min_distance + 1, uint64_t(rows)));
        const int width = int(std::min<uint64_t>(min_distance + 1, uint64_t(columns)));
        throw Error(asked + " needs " + std::to_string(window) +
                    " distinct tiles (no tile twice in " + std::to_string(width) + "x" +
                    std::to_string(height) + " cells); the library has " + std::to_string(tiles) +
                    ": use " +
                    (allowed > 0 ? "--min-distance " + std::to_string(allowed) + " or less, or "
                                 : std::string()) +
                    "a library of at least " + std::to_string(window) + " tiles");
    }
}

SpacedAssignment space_repeats(int rows, int columns, std::span<const Neighbor> start,
                               uint32_t tiles, uint32_t max_uses, uint32_t min_distance,
                               const WidenCandidates& widen) {
    TESSERA_ASSERT(rows > 0 && columns > 0 && min_distance > 0 && tiles > 0);
    const size_t cells = size_t(rows) * size_t(columns);
    TESSERA_ASSERT(start.size() == cells);
    SpacedAssignment result;
    result.chosen.assign(start.begin(), start.end());
    for (const Neighbor& n : start) result.start_cost += n.distance;
    std::vector<uint32_t> uses(max_uses > 0 ? tiles : 0);
    for (const Neighbor& n : start) {
        TESSERA_ASSERT(n.id < tiles);
        if (max_uses == 0) continue;
        ++uses[n.id];
        TESSERA_ASSERT(uses[n.id] <= max_uses);
    }
    const int most_k = int(std::min<uint64_t>(tiles, INT_MAX));
    const int first_k = std::min(16, most_k);
    std::vector<std::vector<Neighbor>> lists(cells);  // each cell's widest list so far
    const auto fetch = [&](std::span<const uint32_t> listed, int k) {
        const std::vector<Neighbor> found = widen(listed, k);
        TESSERA_ASSERT(found.size() == listed.size() * size_t(k));
        for (size_t i = 0; i < listed.size(); ++i) {
            lists[listed[i]].assign(found.begin() + ptrdiff_t(i * size_t(k)),
                                    found.begin() + ptrdiff_t((i + 1) * size_t(k)));
        }
    };
    // The cells that repeat a tile of the start: most of those the repair changes, searched
    // together; the others it meets are searched one at a time.
    {
        RecentPlaces placed(min_distance);
        std::vector<uint32_t> repeating;
        for (int r = 0; r < rows; ++r) {
            for (int c = 0; c < columns; ++c) {
                const size_t cell = size_t(r) * size_t(columns) + size_t(c);
                if (placed.near(start[cell].id, r, c)) repeating.push_back(uint32_t(cell));
                placed.add(start[cell].id, r, c);
            }
        }
        if (!repeating.empty()) fetch(repeating, first_k);
    }
    // The repair; the row and column of the cell it finds no tile for, if any.
    const auto repair = [&]() -> std::optional<std::pair<int, int>> {
        RecentPlaces placed(min_distance);
        for (int r = 0; r < rows; ++r) {
            for (int c = 0; c < columns; ++c) {
                const size_t cell = size_t(r) * size_t(columns) + size_t(c);
                Neighbor& chosen = result.chosen[cell];
                if (placed.near(chosen.id, r, c)) {
                    if (max_uses > 0) --uses[chosen.id];
                    const auto free = [&](const Neighbor& n) {
                        return (max_uses == 0 || uses[n.id] < max_uses) && !placed.near(n.id, r, c);
                    };
                    std::vector<Neighbor>& list = lists[cell];
                    const uint32_t listed = uint32_t(cell);
                    if (list.empty()) fetch(std::span(&listed, 1), first_k);
                    auto found = std::find_if(list.begin(), list.end(), free);
                    while (found == list.end() && int(list.size()) < most_k) {
                        fetch(std::span(&listed, 1),
                              int(std::min<int64_t>(2 * int64_t(list.size()), most_k)));
                        found = std::find_if(list.begin(), list.end(), free);
                    }
                    if (found == list.end()) return std::pair(r, c);
                    chosen = *found;
                    if (max_uses > 0) ++uses[chosen.id];
                }
                placed.add(chosen.id, r, c);
            }
        }
        return std::nullopt;
    };
    if (const auto stuck = repair()) {
        auto layout = periodic_layout(rows, columns, tiles, max_uses, min_distance, widen);
        if (!layout) {
            refuse_cell(max_uses, min_distance, periodic_uses(rows, columns, min_distance),
                        stuck->first, stuck->second);
        }
        result.chosen = std::move(*layout);
    }
    for (size_t c = 0; c < cells; ++c) {
        result.total_cost += result.chosen[c].distance;
        result.changed += result.chosen[c].id != start[c].id;
    }
    return result;
}

}  // namespace tessera
