// Repeats kept apart (--min-distance): the repair equals a naive run of its documented rule (full
// sorted lists, neighbourhoods scanned cell by cell), its output keeps every repeat more than D
// apart on random grids with edge cells and tiny libraries, under a cap too, and what cannot be
// met is refused: before any work when no assignment exists, after the repair when it finds no
// tile for a cell.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/mosaic/capped_assignment.hpp"
#include "tessera/mosaic/spaced_assignment.hpp"

namespace tessera {
namespace {

// A grid of cells and the distance of every cell to every tile.
struct Grid {
    int rows = 0, columns = 0;
    uint32_t tiles = 0;
    std::vector<uint64_t> distance;  // [cell * tiles + tile]
    size_t cells() const { return size_t(rows) * size_t(columns); }
    uint64_t d(size_t cell, uint32_t tile) const { return distance[cell * tiles + tile]; }
};

// Small random distances: many ties, so the order by id matters.
Grid random_grid(int rows, int columns, uint32_t tiles, std::mt19937& rng) {
    Grid g{rows, columns, tiles, {}};
    std::uniform_int_distribution<uint64_t> value(0, 20);
    g.distance.resize(g.cells() * tiles);
    for (uint64_t& d : g.distance) d = value(rng);
    return g;
}

// A cell's k nearest tiles in the exact search's order: by distance, then by id.
std::vector<Neighbor> nearest(const Grid& g, size_t cell, int k) {
    std::vector<Neighbor> all(g.tiles);
    for (uint32_t t = 0; t < g.tiles; ++t) all[t] = {g.d(cell, t), t};
    std::sort(all.begin(), all.end());
    all.resize(size_t(k));
    return all;
}

WidenCandidates widen_from(const Grid& g) {
    return [&g](std::span<const uint32_t> cells, int k) {
        EXPECT_GE(k, 1);
        EXPECT_LE(uint32_t(k), g.tiles);
        std::vector<Neighbor> lists;
        for (uint32_t c : cells) {
            const auto list = nearest(g, c, k);
            lists.insert(lists.end(), list.begin(), list.end());
        }
        return lists;
    };
}

int chebyshev(const Grid& g, size_t a, size_t b) {
    const int ra = int(a) / g.columns, ca = int(a) % g.columns;
    const int rb = int(b) / g.columns, cb = int(b) % g.columns;
    return std::max(std::abs(ra - rb), std::abs(ca - cb));
}

// The documented rule, naively: row-major, a cell whose tile appears within D among the cells
// before it takes the first tile of its full sorted list that appears within D of none of them
// and has uses left. None when a cell finds no tile.
std::optional<std::vector<uint32_t>> naive_repair(const Grid& g, std::vector<uint32_t> chosen,
                                                  uint32_t max_uses, int min_distance) {
    std::vector<uint32_t> uses(g.tiles);
    for (uint32_t t : chosen) ++uses[t];
    for (size_t cell = 0; cell < g.cells(); ++cell) {
        const auto near = [&](uint32_t tile) {
            for (size_t before = 0; before < cell; ++before) {
                if (chosen[before] == tile && chebyshev(g, before, cell) <= min_distance)
                    return true;
            }
            return false;
        };
        if (!near(chosen[cell])) continue;
        --uses[chosen[cell]];
        std::optional<uint32_t> taken;
        for (const Neighbor& n : nearest(g, cell, int(g.tiles))) {
            if ((max_uses == 0 || uses[n.id] < max_uses) && !near(n.id)) {
                taken = n.id;
                break;
            }
        }
        if (!taken) return std::nullopt;
        chosen[cell] = *taken;
        ++uses[*taken];
    }
    return chosen;
}

// The cells of the periodic layout's class of `cell`: (row mod (D + 1), column mod (D + 1)).
size_t class_of(const Grid& g, size_t cell, int min_distance) {
    const int step = min_distance + 1;
    const int r = int(cell) / g.columns, c = int(cell) % g.columns;
    return size_t(r % step * std::min(step, g.columns) + c % step);
}

// The least total cost of a periodic layout, by trying every choice of distinct tiles for the
// classes (small cases only).
uint64_t best_periodic_cost(const Grid& g, int min_distance) {
    const int step = min_distance + 1;
    const size_t classes = size_t(std::min(step, g.rows) * std::min(step, g.columns));
    std::vector<uint64_t> cost(classes * g.tiles);
    for (size_t c = 0; c < g.cells(); ++c) {
        for (uint32_t t = 0; t < g.tiles; ++t)
            cost[class_of(g, c, min_distance) * g.tiles + t] += g.d(c, t);
    }
    uint64_t best = UINT64_MAX;
    std::vector<uint32_t> taken;
    std::vector<bool> used(g.tiles);
    const auto search = [&](const auto& self, uint64_t sum) -> void {
        if (taken.size() == classes) {
            best = std::min(best, sum);
            return;
        }
        for (uint32_t t = 0; t < g.tiles; ++t) {
            if (used[t]) continue;
            used[t] = true;
            taken.push_back(t);
            self(self, sum + cost[(taken.size() - 1) * g.tiles + t]);
            taken.pop_back();
            used[t] = false;
        }
    };
    search(search, 0);
    return best;
}

enum class Outcome { repaired, periodic, refused };

// Checks space_repeats against the naive rule, or where the rule finds no tile, against the
// periodic layout (its optimality by brute force where small), and the constraint itself.
Outcome check_repair(const Grid& g, const std::vector<Neighbor>& start, uint32_t max_uses,
                     int min_distance) {
    std::vector<uint32_t> start_ids;
    for (const Neighbor& n : start) start_ids.push_back(n.id);
    const auto expected = naive_repair(g, start_ids, max_uses, min_distance);
    const int step = min_distance + 1;
    const uint32_t periodic_uses =
        uint32_t(((g.rows + step - 1) / step) * ((g.columns + step - 1) / step));
    std::optional<SpacedAssignment> spaced;
    try {
        spaced = space_repeats(g.rows, g.columns, start, g.tiles, max_uses, uint32_t(min_distance),
                               widen_from(g));
    } catch (const Error& e) {
        EXPECT_FALSE(expected.has_value()) << e.what();
        EXPECT_GT(max_uses, 0u) << e.what();
        EXPECT_GT(periodic_uses, max_uses) << e.what();
        EXPECT_NE(std::string(e.what()).find("use --max-uses " + std::to_string(periodic_uses) +
                                             " or more"),
                  std::string::npos)
            << e.what();
        return Outcome::refused;
    }
    uint64_t total = 0, start_total = 0;
    size_t changed = 0;
    std::vector<uint32_t> uses(g.tiles);
    for (size_t c = 0; c < g.cells(); ++c) {
        const Neighbor& n = spaced->chosen[c];
        if (expected) {
            EXPECT_EQ(n.id, (*expected)[c]) << c;
        }
        EXPECT_EQ(n.distance, g.d(c, n.id)) << c;
        total += n.distance;
        start_total += start[c].distance;
        changed += n.id != start[c].id;
        if (max_uses > 0) {
            EXPECT_LE(++uses[n.id], max_uses) << n.id;
        }
        for (size_t other = 0; other < c; ++other) {
            const bool same_class =
                class_of(g, other, min_distance) == class_of(g, c, min_distance);
            if (!expected) {
                EXPECT_EQ(spaced->chosen[other].id == n.id, same_class) << other << " " << c;
            }
            if (spaced->chosen[other].id == n.id) {
                EXPECT_GT(chebyshev(g, other, c), min_distance) << other << " " << c;
            }
        }
    }
    EXPECT_EQ(spaced->total_cost, total);
    EXPECT_EQ(spaced->start_cost, start_total);
    EXPECT_EQ(spaced->changed, changed);
    EXPECT_GE(total, start_total);  // the start is optimal without the distance limit
    if (expected) return Outcome::repaired;
    if (g.tiles <= 8 && step * step <= 4) {
        EXPECT_EQ(total, best_periodic_cost(g, min_distance));
    }
    return Outcome::periodic;
}

std::vector<Neighbor> nearest_start(const Grid& g) {
    std::vector<Neighbor> start;
    for (size_t c = 0; c < g.cells(); ++c) start.push_back(nearest(g, c, 1)[0]);
    return start;
}

TEST(SpacedAssignment, EqualsTheRuleAndKeepsRepeatsApart) {
    std::mt19937 rng(15);
    int outcomes[3] = {0, 0, 0};
    for (int trial = 0; trial < 300; ++trial) {
        const int rows = std::uniform_int_distribution<int>(1, 9)(rng);
        const int columns = std::uniform_int_distribution<int>(1, 9)(rng);
        const int min_distance = std::uniform_int_distribution<int>(1, 3)(rng);
        const uint32_t window =
            uint32_t(std::min(min_distance + 1, rows) * std::min(min_distance + 1, columns));
        // From the fewest tiles possible (tiny libraries) to more than any neighbourhood.
        const uint32_t tiles = std::uniform_int_distribution<uint32_t>(window, window + 30)(rng);
        const Grid g = random_grid(rows, columns, tiles, rng);
        check_min_distance(rows, columns, tiles, uint32_t(min_distance));
        const Outcome outcome = check_repair(g, nearest_start(g), 0, min_distance);
        // More tiles than the cells before one within D: the rule always finds one.
        const uint32_t before =
            uint32_t(std::min(min_distance, rows - 1) * std::min(2 * min_distance + 1, columns) +
                     std::min(min_distance, columns - 1));
        if (tiles > before) {
            EXPECT_EQ(outcome, Outcome::repaired) << rows << "x" << columns << " " << tiles;
        }
        ++outcomes[int(outcome)];
    }
    EXPECT_GT(outcomes[int(Outcome::repaired)], 200);
    EXPECT_GT(outcomes[int(Outcome::periodic)], 0);  // tight libraries where the rule runs out
    EXPECT_EQ(outcomes[int(Outcome::refused)], 0);   // never without a cap
}

TEST(SpacedAssignment, UnderACapFromTheCappedOptimum) {
    std::mt19937 rng(16);
    int repaired = 0;
    for (int trial = 0; trial < 150; ++trial) {
        const int rows = std::uniform_int_distribution<int>(1, 8)(rng);
        const int columns = std::uniform_int_distribution<int>(1, 8)(rng);
        const int min_distance = std::uniform_int_distribution<int>(1, 2)(rng);
        const uint32_t max_uses = std::uniform_int_distribution<uint32_t>(1, 3)(rng);
        const uint32_t needed = uint32_t((rows * columns + int(max_uses) - 1) / int(max_uses));
        const uint32_t window =
            uint32_t(std::min(min_distance + 1, rows) * std::min(min_distance + 1, columns));
        const uint32_t tiles =
            std::uniform_int_distribution<uint32_t>(std::max(needed, window), needed + 25)(rng);
        const Grid g = random_grid(rows, columns, tiles, rng);
        check_min_distance(rows, columns, tiles, uint32_t(min_distance));
        const int k = int(std::min<uint32_t>(4, tiles));
        std::vector<Neighbor> lists;
        for (size_t c = 0; c < g.cells(); ++c) {
            const auto list = nearest(g, c, k);
            lists.insert(lists.end(), list.begin(), list.end());
        }
        const CappedAssignment capped =
            assign_with_repeat_cap(lists, g.cells(), tiles, max_uses, widen_from(g));
        std::vector<Neighbor> start;
        for (size_t c = 0; c < g.cells(); ++c)
            start.push_back({g.d(c, capped.tiles[c]), capped.tiles[c]});
        repaired += check_repair(g, start, max_uses, min_distance) == Outcome::repaired;
    }
    EXPECT_GT(repaired, 100);
}

TEST(SpacedAssignment, RefusesWhatNoAssignmentMeets) {
    // 3x3 cells with no repeat: 9 tiles at distance 2 on a grid of at least 3x3.
    EXPECT_NO_THROW(check_min_distance(5, 7, 9, 2));
    try {
        check_min_distance(5, 7, 8, 2);
        ADD_FAILURE() << "8 tiles accepted";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "--min-distance 2 needs 9 distinct tiles (no tile twice in 3x3 cells); the "
                  "library has 8: use --min-distance 1 or less, or a library of at least 9 tiles");
    }
    // Edge grids: one row needs D + 1 tiles, and a grid smaller than the window all of its cells.
    EXPECT_NO_THROW(check_min_distance(1, 50, 4, 3));
    EXPECT_THROW(check_min_distance(1, 50, 3, 3), Error);
    EXPECT_NO_THROW(check_min_distance(2, 3, 6, 10));
    EXPECT_THROW(check_min_distance(2, 3, 5, 10), Error);
}

// 3x3 cells, distance 1: the first row takes tiles 0, 1, 2 and the second row's first cell
// tile 3, so the centre cell, which wants tile 0, finds those four next to it.
Grid stuck_centre(uint32_t tiles) {
    Grid g{3, 3, tiles, {}};
    const uint32_t wanted[9] = {0, 1, 2, 3, 0, 4 % tiles, 4 % tiles, 1, 2};
    for (size_t c = 0; c < 9; ++c) {
        for (uint32_t t = 0; t < tiles; ++t) g.distance.push_back(t == wanted[c] ? 0 : 10 + t);
    }
    return g;
}

TEST(SpacedAssignment, FallsBackToTheBestPeriodicLayout) {
    // 4 tiles, enough for a 2x2 window: the rule runs out at the centre, the layout does not.
    const Grid g = stuck_centre(4);
    check_min_distance(3, 3, 4, 1);
    ASSERT_FALSE(naive_repair(g, {0, 1, 2, 3, 0, 0, 0, 1, 2}, 0, 1).has_value());
    EXPECT_EQ(check_repair(g, nearest_start(g), 0, 1), Outcome::periodic);
    // One tile more, and the rule finds the centre a tile.
    const Grid more = stuck_centre(5);
    EXPECT_EQ(check_repair(more, nearest_start(more), 0, 1), Outcome::repaired);
    // Under a cap of 2 the layout, 4 cells a tile, is too many: refused, saying what is needed.
    try {
        space_repeats(3, 3, nearest_start(more), 5, 2, 1, widen_from(more));
        ADD_FAILURE() << "no refusal";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "--min-distance 1 with --max-uses 2: no tile is left for the tile in row 1, "
                  "column 1 (each is used 2 times or repeats within that distance), and a "
                  "layout repeating every 2 tiles uses a tile 4 times: use --max-uses 4 or "
                  "more, a smaller --min-distance or a larger library");
    }
    EXPECT_EQ(check_repair(more, nearest_start(more), 4, 1), Outcome::repaired);
}

}  // namespace
}  // namespace tessera
