#include "tessera/mosaic/capped_assignment.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <queue>
#include <string>
#include <utility>

#include "mosaic/candidate_table.hpp"
#include "mosaic/flow_repair.hpp"
#include "mosaic/full_placement.hpp"
#include "mosaic/min_cost_flow.hpp"
#include "mosaic/tile_best.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/interrupt.hpp"
#include "tessera/core/text.hpp"

namespace tessera {

namespace {

using capped::CandidateTable;
using capped::kNoTile;
using Cost = int64_t;

// Pairs outside a cell's list that join the graph in one round of pricing: those with the most
// negative reduced costs. (All of them would multiply the graph: most are far tiles whose prices
// fall as soon as nearer pairs join.)
constexpr size_t kPricedArcs = 64;

// Pairs that join for each tile in a round of pricing, besides the cells' own: the tile's most
// negative pairs not already joining. Alike cells (a sky) share their most negative tiles, so
// without these each round would bring in only those few and the next ones a solve later. At
// most this many per tile, and on average per cell (so that a library of millions of patches
// keeps one or two per tile).
constexpr size_t kPricedCells = 16;

// Up to this many joining pairs, or a 64th of the cells, the optimum is repaired rather than
// solved again (a shortest path each, against a solve of the whole graph).
constexpr size_t kLeastRepaired = 16;

struct Round {
    std::vector<uint32_t> tiles;  // per cell
    std::vector<Cost> u;          // per cell
    std::vector<Cost> v;          // per library tile
};

// Solves the problem on the table's arcs, which can place every cell (make_placeable): cells
// supply one unit each, tiles take at most max_uses. Nodes: cells, then tiles.
Round solve_round(const CandidateTable& table, uint32_t max_uses) {
    const int cells = int(table.cells());
    const uint32_t tiles = table.tiles();
    capped::FlowProblem problem;
    problem.nodes = cells + int(tiles);
    problem.arcs.reserve(table.entries());
    problem.costs.reserve(table.entries());
    for (int c = 0; c < cells; ++c) {
        table.for_each_arc(uint32_t(c), [&](const Neighbor& n) {
            problem.arcs.emplace_back(c, cells + int(n.id));
            problem.costs.push_back(Cost(n.distance));
        });
    }
    const int uses = int(std::min<uint64_t>(max_uses, uint64_t(cells)));  // no more is usable
    problem.supply.assign(size_t(problem.nodes), -uses);
    std::fill(problem.supply.begin(), problem.supply.begin() + cells, 1);
    const capped::FlowSolution solution = capped::solve_min_cost_flow(problem);

    Round round;
    round.tiles.assign(size_t(cells), kNoTile);
    for (size_t a = 0; a < problem.arcs.size(); ++a) {
        if (solution.flow[a] == 0) continue;
        const auto [c, target] = problem.arcs[a];
        round.tiles[size_t(c)] = uint32_t(target - cells);
    }
    round.u.resize(size_t(cells));
    for (int c = 0; c < cells; ++c) {
        TESSERA_ASSERT(round.tiles[size_t(c)] != kNoTile);  // the arcs place every cell
        round.u[size_t(c)] = -solution.potentials[size_t(c)];
    }
    round.v.assign(solution.potentials.begin() + cells, solution.potentials.end());
    return round;
}

// Replaces a round's potentials, optimal for the candidate graph, by the optimal ones with the
// lowest tile prices (p = -v): each price is the least that keeps every cell's placed tile among
// its cheapest arcs at distance plus price, and 0 where the tile has uses to spare. The lowest
// prices make every u_c = d(c, placed) + p(placed) as small as the candidate graph allows, and
// with it the certificate's demand on the k-th distance; a spanning-tree basis's potentials can be
// far higher. As p = p0 - q, the largest q under q_t <= p0_t and q_t <= q_a + (reduced cost of the
// arc from a cell placed at a to t) is a shortest path from a source that reaches each tile at
// p0_t, over non-negative lengths: Dijkstra.
void lower_tile_prices(Round& round, const CandidateTable& table) {
    const size_t cells = table.cells();
    const uint32_t tiles = table.tiles();
    std::vector<Cost> price(tiles);  // p0
    for (uint32_t t = 0; t < tiles; ++t) price[t] = -round.v[t];
    // Arcs from each placed tile to the other arcs of the cells placed there.
    std::vector<size_t> begin(size_t(tiles) + 1, 0);
    for (uint32_t c = 0; c < cells; ++c) {
        begin[round.tiles[c] + 1] += table.of(c).size() + table.extras(c).size();
    }
    // (inactive candidates are counted but left out: their slots stay unused)
    for (uint32_t t = 0; t < tiles; ++t) begin[t + 1] += begin[t];
    std::vector<std::pair<uint32_t, Cost>> arcs(begin.back());  // (to, reduced cost)
    std::vector<size_t> next(begin.begin(), begin.end() - 1);
    std::vector<Cost> placed_cost(cells);
    for (uint32_t c = 0; c < cells; ++c) {
        const uint32_t placed = round.tiles[c];
        placed_cost[c] = Cost(table.arc_distance(c, placed)) + price[placed];
        table.for_each_arc(c, [&](const Neighbor& n) {
            const Cost reduced = Cost(n.distance) + price[n.id] - placed_cost[c];
            TESSERA_ASSERT(reduced >= 0);  // the round's potentials are optimal
            arcs[next[placed]++] = {n.id, reduced};
        });
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

// Listed candidates left out of the graph whose reduced cost is negative, to join it (column
// generation): (cell, index in its list).
std::vector<std::pair<uint32_t, size_t>> price_listed(const Round& round,
                                                      const CandidateTable& table) {
    std::vector<std::pair<uint32_t, size_t>> joining;
    for (uint32_t c = 0; c < table.cells(); ++c) {
        const auto list = table.of(c);
        for (size_t i = 0; i < list.size(); ++i) {
            if (!table.active(c, i) &&
                Cost(list[i].distance) - round.u[c] - round.v[list[i].id] < 0) {
                joining.push_back({c, i});
            }
        }
    }
    return joining;
}

// The certificate's verdict on a round: the full dual's objective with each u_c lowered where
// needed to make the potentials feasible for the pairs outside the lists (it equals the cost when
// none is lowered), and what is to be done where it fails.
struct Verdict {
    __int128 lower_bound = 0;
    std::vector<uint32_t> to_widen;                      // cells ascending
    std::vector<std::pair<uint32_t, Neighbor>> joining;  // (cell, pair) outside the lists
};

__int128 tile_part(const Round& round, uint32_t max_uses) {
    __int128 sum = 0;
    for (Cost v : round.v) sum += __int128(max_uses) * v;
    return sum;
}

// From the k-th distances alone: every tile outside cell c's list is at least d_k(c) away.
Verdict judge_by_kth_distance(const Round& round, const CandidateTable& table, uint32_t max_uses) {
    Verdict verdict;
    verdict.lower_bound = tile_part(round, max_uses);
    const Cost max_v = *std::max_element(round.v.begin(), round.v.end());
    for (uint32_t c = 0; c < table.cells(); ++c) {
        const auto list = table.of(c);
        const Cost u = round.u[c];
        if (list.size() == table.tiles()) {
            verdict.lower_bound += u;
            continue;
        }
        const Cost last = Cost(list.back().distance);
        verdict.lower_bound += std::min(u, last - max_v);
        if (u + max_v > last) verdict.to_widen.push_back(c);
    }
    return verdict;
}

// With real distances: a tile t outside cell c's list has d(c,t) >= d_k(c), so its reduced cost
// d(c,t) + p_t - u_c can be negative only where p_t < u_c - d_k(c); those tiles, cheapest first,
// are priced, each only as far as telling whether d(c,t) < u_c - p_t, and the most negative
// pairs of each cell and of each tile are to join the graph.
Verdict judge_by_pricing(const Round& round, const CandidateTable& table, uint32_t max_uses,
                         const PairDistances& distances) {
    Verdict verdict;
    verdict.lower_bound = tile_part(round, max_uses);
    const uint32_t tiles = table.tiles();
    std::vector<uint32_t> by_price(tiles);
    std::iota(by_price.begin(), by_price.end(), 0u);
    std::sort(by_price.begin(), by_price.end(), [&](uint32_t a, uint32_t b) {
        return std::pair(-round.v[a], a) < std::pair(-round.v[b], b);
    });
    std::vector<Cost> sorted_price(tiles);
    for (uint32_t i = 0; i < tiles; ++i) sorted_price[i] = -round.v[by_price[i]];
    std::vector<uint64_t> distance, limit;
    std::vector<std::pair<Cost, uint32_t>> negative;  // (reduced cost, index in by_price)
    capped::TileBest tile_best(
        tiles, std::clamp<size_t>(kPricedCells * table.cells() / tiles, 1, kPricedCells));
    for (uint32_t c = 0; c < table.cells(); ++c) {
        if (c % 256 == 0) interruption_point();  // a cell may price thousands of tiles
        const auto list = table.of(c);
        const Cost u = round.u[c];
        const Cost below = list.size() == tiles ? 0 : u - Cost(list.back().distance);
        const size_t count =
            size_t(std::lower_bound(sorted_price.begin(), sorted_price.end(), below) -
                   sorted_price.begin());
        Cost least = u;  // the least of d(c,t) + p_t over the tiles outside the list
        if (count > 0) {
            const std::span<const uint32_t> priced(by_price.data(), count);
            // Only pairs below u_c matter (d + p_t < u_c): the measure may stop above that.
            limit.resize(count);
            for (size_t i = 0; i < count; ++i) limit[i] = uint64_t(u - sorted_price[i] - 1);
            distance.resize(count);
            distances(c, priced, limit, distance);
            negative.clear();
            for (size_t i = 0; i < count; ++i) {
                if (distance[i] > limit[i]) continue;
                table.check_distance(distance[i]);
                const Cost reduced = Cost(distance[i]) + sorted_price[i] - u;
                negative.push_back({reduced, uint32_t(i)});
                least = std::min(least, Cost(distance[i]) + sorted_price[i]);
            }
            const size_t joining = std::min(kPricedArcs, negative.size());
            std::partial_sort(negative.begin(), negative.begin() + ptrdiff_t(joining),
                              negative.end());
            for (size_t j = 0; j < joining; ++j) {
                const uint32_t i = negative[j].second;
                verdict.joining.push_back({c, {distance[i], priced[i]}});
            }
            for (size_t j = joining; j < negative.size(); ++j) {
                const auto [reduced, i] = negative[j];
                tile_best.offer(priced[i], {reduced, c, distance[i]});
            }
        }
        verdict.lower_bound += least;
    }
    tile_best.append_to(verdict.joining);
    // By cell, as the graph's arcs are laid out.
    std::sort(verdict.joining.begin(), verdict.joining.end(), [](const auto& a, const auto& b) {
        return std::pair(a.first, a.second.id) < std::pair(b.first, b.second.id);
    });
    return verdict;
}

CappedAssignment finish(const Round& round, const CandidateTable& table, uint32_t max_uses,
                        int64_t lower_bound, int rounds) {
    const uint32_t tiles = table.tiles();
    CappedAssignment result;
    result.tiles = round.tiles;
    result.lower_bound = lower_bound;
    result.rounds = rounds;
    std::vector<uint32_t> uses(tiles, 0);
    for (uint32_t c = 0; c < table.cells(); ++c) {
        const uint32_t tile = round.tiles[c];
        result.total_cost += table.arc_distance(c, tile);
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
                                        const WidenCandidates& widen,
                                        const PairDistances& distances) {
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
    // The network simplex's artificial costs are about the largest cost times the node count.
    const Cost cost_limit = std::numeric_limits<Cost>::max() / 4 / Cost(cells + tiles + 2);
    CandidateTable table(candidates, cells, tiles, uint64_t(cost_limit));
    std::vector<uint32_t> placed(cells, kNoTile);
    capped::make_placeable(table, max_uses, placed, distances, widen);
    Round round;
    int rounds = 0;
    // The graph is solved again only when many arcs joined it: lists widened for the certificate
    // alone are priced against the same potentials first.
    for (bool graph_changed = true;;) {
        interruption_point();  // between rounds: a solve itself runs to its end
        if (graph_changed) {
            round = solve_round(table, max_uses);
            ++rounds;
            lower_tile_prices(round, table);
            graph_changed = false;
        }
        // A few pairs join: the optimum moves along shortest paths, with no new solve; more
        // join and the graph is solved again.
        const size_t repaired = std::max(kLeastRepaired, cells / 64);
        const auto listed = price_listed(round, table);
        if (listed.size() > repaired) {
            for (const auto& [cell, i] : listed) table.activate(cell, i);
            graph_changed = true;
            continue;
        }
        if (!listed.empty()) {
            std::vector<std::pair<uint32_t, Neighbor>> joining;
            for (const auto& [cell, i] : listed) joining.push_back({cell, table.of(cell)[i]});
            capped::join_and_repair(table, max_uses, joining, round.tiles, round.u, round.v);
            lower_tile_prices(round, table);
            continue;
        }
        Verdict verdict = distances ? judge_by_pricing(round, table, max_uses, distances)
                                    : judge_by_kth_distance(round, table, max_uses);
        if (verdict.joining.size() > repaired) {
            for (const auto& [cell, pair] : verdict.joining) table.add_extra(cell, pair);
            graph_changed = true;
        } else if (!verdict.joining.empty()) {
            capped::join_and_repair(table, max_uses, verdict.joining, round.tiles, round.u,
                                    round.v);
            lower_tile_prices(round, table);
        } else if (!verdict.to_widen.empty()) {
            table.widen(verdict.to_widen, widen);
        } else {
            return finish(round, table, max_uses, int64_t(verdict.lower_bound), rounds);
        }
    }
}

}  // namespace tessera
