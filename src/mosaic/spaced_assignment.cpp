#include "tessera/mosaic/spaced_assignment.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
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

// The most cells visited before a cell (row-major) that lie within `d` of it: d rows above it,
// 2d + 1 wide, and d to its left, clipped to the grid. A library with more tiles always leaves
// one free for the repair without a cap.
uint64_t most_visited_within(int rows, int columns, uint64_t d) {
    return std::min<uint64_t>(d, uint64_t(rows - 1)) *
               std::min<uint64_t>(2 * d + 1, uint64_t(columns)) +
           std::min<uint64_t>(d, uint64_t(columns - 1));
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

// The repair found no tile for cell (row, col): what to change.
[[noreturn]] void refuse_cell(int rows, int columns, uint32_t tiles, uint32_t max_uses,
                              uint32_t min_distance, int row, int col) {
    const std::string asked = "--min-distance " + std::to_string(min_distance);
    const std::string where =
        "the tile in row " + std::to_string(row) + ", column " + std::to_string(col);
    if (max_uses == 0) {
        throw Error(asked + ": every tile of the library's " + std::to_string(tiles) +
                    " repeats within that distance of " + where +
                    "; the repair needs a library of more than " +
                    std::to_string(most_visited_within(rows, columns, min_distance)) +
                    " tiles, or a smaller --min-distance");
    }
    throw Error(asked + " with --max-uses " + std::to_string(max_uses) + ": no tile is left for " +
                where + " (each is used " + std::to_string(max_uses) +
                " times or repeats within that distance): use a larger --max-uses, a smaller "
                "--min-distance or a larger library");
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
                if (found == list.end()) {
                    refuse_cell(rows, columns, tiles, max_uses, min_distance, r, c);
                }
                chosen = *found;
                if (max_uses > 0) ++uses[chosen.id];
                ++result.changed;
            }
            placed.add(chosen.id, r, c);
            result.total_cost += chosen.distance;
        }
    }
    return result;
}

}  // namespace tessera
