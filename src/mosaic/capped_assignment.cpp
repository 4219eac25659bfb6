#include "tessera/mosaic/capped_assignment.hpp"

#include <lemon/network_simplex.h>
#include <lemon/static_graph.h>

#include <algorithm>
#include <limits>
#include <map>
#include <queue>
#include <string>
#include <utility>

#include "tessera/core/error.hpp"
#include "tessera/core/text.hpp"
#include "tessera/library/library.hpp"

namespace tessera {

namespace {

using Cost = int64_t;
constexpr uint32_t kElsewhere = std::numeric_limits<uint32_t>::max();

// Each cell's candidates, nearest first; a cell's list grows when it is widened.
class CandidateTable {
  public:
    // Distances must stay below distance_limit.
    CandidateTable(std::span<const Neighbor> lists, size_t cells, uint32_t tiles,
                   uint64_t distance_limit)
        : tiles_(tiles), distance_limit_(distance_limit), seen_(tiles, 0), was_active_(tiles, 0) {
        const size_t k = lists.size() / cells;
        begin_.resize(cells + 1);
        for (size_t c = 0; c <= cells; ++c) begin_[c] = c * k;
        entries_.assign(lists.begin(), lists.end());
        active_.assign(entries_.size(), 1);
        for (size_t c = 0; c < cells; ++c) check(of(uint32_t(c)));
    }

    size_t cells() const { return begin_.size() - 1; }
    size_t entries() const { return entries_.size(); }
    std::span<const Neighbor> of(uint32_t cell) const {
        return {entries_.data() + begin_[cell], entries_.data() + begin_[cell + 1]};
    }

    // Whether the i-th candidate of `cell` is an arc of the graph solved.
    bool active(uint32_t cell, size_t i) const { return active_[begin_[cell] + i] != 0; }
    void activate(uint32_t cell, size_t i) { active_[begin_[cell] + i] = 1; }

    // Replaces the lists of `cells` (ascending) with `lists`, k per cell; a tile stays active
    // where it was, the others start inactive.
    void replace(std::span<const uint32_t> cells, size_t k, std::span<const Neighbor> lists) {
        if (lists.size() != cells.size() * k) {
            throw Error("the widened candidate lists have " + std::to_string(lists.size()) +
                        " entries, not " + std::to_string(cells.size() * k));
        }
        std::vector<size_t> begin(begin_.size());
        std::vector<Neighbor> entries;
        std::vector<uint8_t> active;
        entries.reserve(entries_.size() + cells.size() * k);
        active.reserve(entries.capacity());
        size_t next = 0;  // the next replaced cell
        for (uint32_t c = 0; c < this->cells(); ++c) {
            begin[c] = entries.size();
            const auto old = of(c);
            if (next < cells.size() && cells[next] == c) {
                ++active_stamp_;
                for (size_t i = 0; i < old.size(); ++i) {
                    if (this->active(c, i)) was_active_[old[i].id] = active_stamp_;
                }
                const auto list = lists.subspan(next * k, k);
                check(list);
                entries.insert(entries.end(), list.begin(), list.end());
                for (const Neighbor& n : list) active.push_back(was_active_[n.id] == active_stamp_);
                ++next;
            } else {
                entries.insert(entries.end(), old.begin(), old.end());
                active.insert(active.end(), active_.begin() + ptrdiff_t(begin_[c]),
                              active_.begin() + ptrdiff_t(begin_[c + 1]));
            }
        }
        begin.back() = entries.size();
        begin_ = std::move(begin);
        entries_ = std::move(entries);
        active_ = std::move(active);
    }

  private:
    // A list must be distinct tiles of the library, nearest first: the certificate relies on it.
    void check(std::span<const Neighbor> list) {
        ++stamp_;
        for (size_t i = 0; i < list.size(); ++i) {
            const Neighbor& n = list[i];
            if (n.id >= tiles_) {
                throw Error("candidate tile " + std::to_string(n.id) + " is not in a library of " +
                            count_text(tiles_, "tile", "tiles"));
            }
            if (seen_[n.id] == stamp_) {
                throw Error("candidate tile " + std::to_string(n.id) +
                            " is listed twice for a cell");
            }
            if (n.distance >= distance_limit_) {
                throw Error("distance " + std::to_string(n.distance) +
                            " is too large for the assignment's exact integer costs");
            }
            if (i > 0 && n.distance < list[i - 1].distance) {
                throw Error("a cell's candidate tiles are not listed nearest first");
            }
            seen_[n.id] = stamp_;
        }
    }

    uint32_t tiles_;
    uint64_t distance_limit_;
    std::vector<size_t> begin_;  // cell c's list is entries_[begin_[c], begin_[c + 1])
    std::vector<Neighbor> entries_;
    std::vector<uint8_t> active_;  // per entry
    std::vector<uint64_t> seen_;   // the stamp of the list a tile was last seen in
    uint64_t stamp_ = 0;
    std::vector<uint64_t> was_active_;  // the stamp of the list a tile was last active in
    uint64_t active_stamp_ = 0;
};

struct Round {
    std::vector<uint32_t> tiles;  // per cell: a tile, or kElsewhere
    std::vector<Cost> u;          // per cell
    std::vector<Cost> v;          // per library tile
};

// Solves the problem on the candidate pairs: cells supply one unit each, tiles take at most
// max_uses. A cell whose list is not the whole library may also send its unit to the "elsewhere"
// node at a cost far above any distance, so that it does only where its list and its neighbours'
// lists hold too few tiles between them. Nodes: cells, then tiles, then elsewhere.
Round solve_round(const CandidateTable& table, uint32_t tiles, uint32_t max_uses,
                  Cost elsewhere_cost) {
    using Graph = lemon::StaticDigraph;
    const int cells = int(table.cells());
    const int elsewhere = cells + int(tiles);
    std::vector<std::pair<int, int>> arcs;  // by source, as StaticDigraph::build needs
    std::vector<Cost> costs;
    arcs.reserve(table.entries() + cells);
    costs.reserve(table.entries() + cells);
    for (int c = 0; c < cells; ++c) {
        const auto list = table.of(uint32_t(c));
        size_t active = 0;
        for (size_t i = 0; i < list.size(); ++i) {
            if (!table.active(uint32_t(c), i)) continue;
            arcs.emplace_back(c, cells + int(list[i].id));
            costs.push_back(Cost(list[i].distance));
            ++active;
        }
        if (active < tiles) {
            arcs.emplace_back(c, elsewhere);
            costs.push_back(elsewhere_cost);
        }
    }
    Graph graph;
    graph.build(elsewhere + 1, arcs.begin(), arcs.end());
    Graph::ArcMap<Cost> cost(graph);
    for (size_t a = 0; a < costs.size(); ++a) cost[graph.arc(int(a))] = costs[a];
    Graph::NodeMap<int> supply(graph);
    const int uses = int(std::min<uint64_t>(max_uses, uint64_t(cells)));  // no more is usable
    for (int n = 0; n < elsewhere; ++n) supply[graph.node(n)] = n < cells ? 1 : -uses;
    supply[graph.node(elsewhere)] = -cells;

    using Simplex = lemon::NetworkSimplex<Graph, int, Cost>;
    Simplex simplex(graph);
    simplex.costMap(cost).supplyMap(supply);  // GEQ: a node takes in at most minus its supply
    const Simplex::ProblemType outcome = simplex.run();
    TESSERA_ASSERT(outcome == Simplex::OPTIMAL);  // elsewhere, or whole lists, take every cell

    Round round;
    round.tiles.assign(size_t(cells), kElsewhere);
    for (size_t a = 0; a < arcs.size(); ++a) {
        if (simplex.flow(graph.arc(int(a))) == 0) continue;
        const auto [c, target] = arcs[a];
        if (target != elsewhere) round.tiles[size_t(c)] = uint32_t(target - cells);
    }
    round.u.resize(size_t(cells));
    for (int c = 0; c < cells; ++c) round.u[size_t(c)] = -simplex.potential(graph.node(c));
    round.v.resize(tiles);
    for (uint32_t t = 0; t < tiles; ++t) round.v[t] = simplex.potential(graph.node(cells + int(t)));
    return round;
}

// Replaces a round's potentials, optimal for the candidate graph, by the optimal ones with the
// lowest tile prices (p = -v): each price is the least that keeps every cell's placed tile among
// its cheapest candidates at distance plus price, and 0 where the tile has uses to spare. The
// lowest prices make every u_c = d(c, placed) + p(placed) as small as the candidate graph allows,
// and with it the certificate's demand on the k-th distance; a spanning-tree basis's potentials
// can be far higher. As p = p0 - q, the largest q under q_t <= p0_t and q_t <= q_a + (reduced
// cost of the arc from a cell placed at a to t) is a shortest path from a source that reaches each
// tile at p0_t, over non-negative lengths: Dijkstra. Needs every cell placed.
void lower_tile_prices(Round& round, const CandidateTable& table, uint32_t tiles) {
    const size_t cells = table.cells();
    std::vector<Cost> price(tiles);  // p0
    for (uint32_t t = 0; t < tiles; ++t) price[t] = -round.v[t];
    // Arcs from each placed tile to the other candidates of the cells placed there.
    std::vector<size_t> begin(size_t(tiles) + 1, 0);
    for (uint32_t c = 0; c < cells; ++c) begin[round.tiles[c] + 1] += table.of(c).size();
    // (inactive candidates are counted but left out: their slots stay unused)
    for (uint32_t t = 0; t < tiles; ++t) begin[t + 1] += begin[t];
    std::vector<std::pair<uint32_t, Cost>> arcs(begin.back());  // (to, reduced cost)
    std::vector<size_t> next(begin.begin(), begin.end() - 1);
    std::vector<Cost> placed_cost(cells);
    for (uint32_t c = 0; c < cells; ++c) {
        const uint32_t placed = round.tiles[c];
        for (const Neighbor& n : table.of(c)) {
            if (n.id == placed) placed_cost[c] = Cost(n.distance) + price[placed];
        }
        const auto list = table.of(c);
        for (size_t i = 0; i < list.size(); ++i) {
            if (!table.active(c, i)) continue;
            const Cost reduced = Cost(list[i].distance) + price[list[i].id] - placed_cost[c];
            TESSERA_ASSERT(reduced >= 0);  // the round's potentials are optimal
            arcs[next[placed]++] = {list[i].id, reduced};
        }
    }
    std::vector<Cost> q(price);
    using Entry = std::pair<Cost, uint32_t>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
    for (uint32_t t = 0; t < tiles; ++t) queue.push({q[t], t});
    while (!queue.empty()) {
        const auto [distance, tile] = queue.top();
        queue.pop();
        if (distance != q[tile]) continue;
        for (size_t a = begin[tile]; a < next[tile]; ++a) {
            const auto [to, length] = arcs[a];
            if (distance + length < q[to]) {
                q[to] = distance + length;
                queue.push({q[to], to});
            }
        }
    }
    for (uint32_t t = 0; t < tiles; ++t) round.v[t] = q[t] - price[t];
    for (uint32_t c = 0; c < cells; ++c) {
        round.u[c] = placed_cost[c] - price[round.tiles[c]] - round.v[round.tiles[c]];
    }
}

CappedAssignment finish(const Round& round, const CandidateTable& table, uint32_t tiles,
                        uint32_t max_uses, int64_t lower_bound, int rounds) {
    CappedAssignment result;
    result.tiles = round.tiles;
    result.lower_bound = lower_bound;
    result.rounds = rounds;
    std::vector<uint32_t> uses(tiles, 0);
    for (uint32_t c = 0; c < table.cells(); ++c) {
        const uint32_t tile = round.tiles[c];
        for (const Neighbor& n : table.of(c)) {
            if (n.id == tile) result.total_cost += n.distance;
        }
        if (uses[tile]++ == 0) ++result.distinct_tiles;
        result.most_uses = std::max(result.most_uses, uses[tile]);
    }
    result.certified = Cost(result.total_cost) == lower_bound;
    TESSERA_ASSERT(result.certified);  // strong duality, when no cell failed the certificate
    result.cell_potentials = round.u;
    result.tile_potentials = round.v;
    if (uint64_t(max_uses) * tiles == table.cells()) {
        // Every tile is full, so u + s, v - s is as good for any s: the one that makes the
        // largest v 0 keeps the numbers near the distances.
        const Cost shift = *std::max_element(round.v.begin(), round.v.end());
        for (Cost& u : result.cell_potentials) u += shift;
        for (Cost& v : result.tile_potentials) v -= shift;
    }
    return result;
}

}  // namespace

void check_repeat_cap(size_t cells, uint32_t tiles, uint32_t max_uses) {
    if (max_uses == 0) throw Error("--max-uses must be at least 1");
    if (uint64_t(max_uses) * tiles >= cells) return;
    const uint64_t uses_needed = (cells + tiles - 1) / std::max<uint32_t>(tiles, 1);
    const uint64_t tiles_needed = (cells + max_uses - 1) / max_uses;
    throw Error("--max-uses " + std::to_string(max_uses) + " with " +
                count_text(tiles, "tile", "tiles") + " places at most " +
                count_text(uint64_t(max_uses) * tiles, "cell", "cells") + "; the target has " +
                std::to_string(cells) + ": " +
                (tiles == 0 ? std::string()
                            : "use --max-uses " + std::to_string(uses_needed) + " or more, or ") +
                "a library of at least " + count_text(tiles_needed, "tile", "tiles"));
}

CappedAssignment assign_with_repeat_cap(std::span<const Neighbor> candidates, size_t cells,
                                        uint32_t tiles, uint32_t max_uses,
                                        const WidenCandidates& widen) {
    check_repeat_cap(cells, tiles, max_uses);
    if (cells == 0) {
        CappedAssignment empty;
        empty.certified = true;
        return empty;
    }
    const size_t k = candidates.size() / cells;
    if (k == 0 || k > tiles || k * cells != candidates.size()) {
        throw Error(std::to_string(candidates.size()) + " candidates for " +
                    count_text(cells, "cell", "cells") + " of a library of " +
                    count_text(tiles, "tile", "tiles") +
                    ": each cell needs the same number, from 1 to the library size");
    }
    if (cells >= uint64_t(std::numeric_limits<int>::max()) - tiles) {
        throw Error(count_text(cells, "cell", "cells") + " are too many for the assignment");
    }
    // The network simplex's artificial costs are about the largest cost, the elsewhere arcs',
    // times the node count.
    const Cost elsewhere_cost = std::numeric_limits<Cost>::max() / 4 / Cost(cells + tiles + 2);
    CandidateTable table(candidates, cells, tiles, uint64_t(elsewhere_cost));
    auto widen_cells = [&](const std::map<size_t, std::vector<uint32_t>>& by_k) {
        TESSERA_ASSERT(widen);
        for (const auto& [wider, cells_to_widen] : by_k) {
            table.replace(cells_to_widen, wider, widen(cells_to_widen, int(wider)));
        }
    };
    std::vector<uint32_t> uses(tiles);
    Round round;
    int rounds = 0;
    // The graph is solved again only when it gained arcs: lists widened for the certificate alone
    // are priced against the same potentials first.
    for (bool graph_changed = true;;) {
        if (graph_changed) {
            round = solve_round(table, tiles, max_uses, elsewhere_cost);
            ++rounds;
            // A cell sent elsewhere found no tile with uses to spare among its active candidates,
            // and its arc's cost, far above any distance, inflates the prices of every tile it
            // competes for. Until every cell is placed: activate the listed candidates whose tiles
            // have uses to spare, or where none is listed, widen every list.
            std::fill(uses.begin(), uses.end(), 0);
            bool unplaced = false;
            for (uint32_t c = 0; c < cells; ++c) {
                if (round.tiles[c] == kElsewhere) {
                    unplaced = true;
                } else {
                    ++uses[round.tiles[c]];
                }
            }
            if (unplaced) {
                bool activated = false;
                for (uint32_t c = 0; c < cells; ++c) {
                    const auto list = table.of(c);
                    for (size_t i = 0; i < list.size(); ++i) {
                        if (!table.active(c, i) && uses[list[i].id] < max_uses) {
                            table.activate(c, i);
                            activated = true;
                        }
                    }
                }
                if (!activated) {
                    // By the new k, cells ascending.
                    std::map<size_t, std::vector<uint32_t>> widened;
                    for (uint32_t c = 0; c < cells; ++c) {
                        const size_t k = table.of(c).size();
                        if (k < tiles) widened[std::min<size_t>(2 * k, tiles)].push_back(c);
                    }
                    widen_cells(widened);
                }
                continue;
            }
            lower_tile_prices(round, table, tiles);
        }
        // Column generation: listed candidates left out of the graph join it where their reduced
        // cost is negative, and the graph is solved again.
        bool priced_in = false;
        for (uint32_t c = 0; c < cells; ++c) {
            const auto list = table.of(c);
            for (size_t i = 0; i < list.size(); ++i) {
                if (!table.active(c, i) &&
                    Cost(list[i].distance) - round.u[c] - round.v[list[i].id] < 0) {
                    table.activate(c, i);
                    priced_in = true;
                }
            }
        }
        graph_changed = priced_in;
        if (priced_in) continue;
        const Cost max_v = *std::max_element(round.v.begin(), round.v.end());
        // The full dual's objective, each u lowered where needed to make the potentials feasible
        // for the pairs outside the lists; it equals the cost when none is lowered.
        __int128 lower_bound = 0;
        for (Cost v : round.v) lower_bound += __int128(max_uses) * v;
        std::map<size_t, std::vector<uint32_t>> widened;  // by the new k, cells ascending
        for (uint32_t c = 0; c < cells; ++c) {
            const auto list = table.of(c);
            const Cost u = round.u[c];
            if (list.size() == tiles) {
                lower_bound += u;
                continue;
            }
            const Cost last = Cost(list.back().distance);
            lower_bound += std::min(u, last - max_v);
            if (u + max_v > last) widened[std::min<size_t>(2 * list.size(), tiles)].push_back(c);
        }
        if (widened.empty())
            return finish(round, table, tiles, max_uses, int64_t(lower_bound), rounds);
        widen_cells(widened);
    }
}

}  // namespace tessera
