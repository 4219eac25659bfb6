#include "mosaic/flow_repair.hpp"

#include <algorithm>
#include <limits>
#include <queue>

#include "tessera/core/error.hpp"
#include "tessera/core/interrupt.hpp"

namespace tessera::capped {

namespace {

using Cost = int64_t;
constexpr Cost kUnreached = std::numeric_limits<Cost>::max();

// The residual graph of the placement: nodes are cells, then tiles, then the sink that every
// tile's uses flow to. Its arcs: cell -> tile for an arc the cell is not placed on (cost d),
// tile -> cell for a cell placed there (cost -d), tile -> sink where the tile has uses to spare,
// sink -> tile where it has uses (cost 0). Potentials phi: -u for a cell, v for a tile, 0 for the
// sink; the reduced cost of i -> j is cost + phi_i - phi_j.
class Residual {
  public:
    Residual(const CandidateTable& table, uint32_t max_uses, std::vector<uint32_t>& placed,
             std::vector<Cost>& u, std::vector<Cost>& v)
        : table_(table),
          max_uses_(max_uses),
          cells_(uint32_t(table.cells())),
          sink_(cells_ + table.tiles()),
          placed_(placed),
          holders_(table.tiles()),
          uses_(table.tiles(), 0),
          phi_(size_t(sink_) + 1, 0),
          reach_(size_t(sink_) + 1, kUnreached),
          via_(size_t(sink_) + 1, 0),
          done_(size_t(sink_) + 1, 0) {
        for (uint32_t c = 0; c < cells_; ++c) {
            holders_[placed[c]].push_back(c);
            ++uses_[placed[c]];
            phi_[c] = -u[c];
        }
        for (uint32_t t = 0; t < table.tiles(); ++t) phi_[cells_ + t] = v[t];
    }

    Cost reduced(uint32_t cell, const Neighbor& arc) const {
        return Cost(arc.distance) + phi_[cell] - phi_[cells_ + arc.id];
    }

    // `cell`, placed elsewhere, takes `arc` (its reduced cost negative): the unit the arc's tile
    // now holds beyond its share returns to the cell along a shortest path, which gives up one
    // of the cell's two tiles.
    void take(uint32_t cell, const Neighbor& arc) {
        holders_[arc.id].push_back(cell);  // the cell holds both tiles until the path ends
        const std::vector<uint32_t> path = shortest_path(cells_ + arc.id, cell);
        // The path alternates: a tile gives up a cell, which moves to the next tile (or the
        // tile keeps one more use, through the sink, and the sink takes it from the next tile).
        for (size_t i = 0; i + 1 < path.size(); ++i) {
            const uint32_t from = path[i], to = path[i + 1];
            if (from == sink_) {
                --uses_[to - cells_];
            } else if (to == sink_) {
                ++uses_[from - cells_];
            } else if (from >= cells_) {  // tile -> cell: the cell leaves the tile
                auto& held = holders_[from - cells_];
                held.erase(std::find(held.begin(), held.end(), to));
                if (to != cell) placed_[to] = kNoTile;
            } else {  // cell -> tile: the cell moves there
                placed_[from] = to - cells_;
                holders_[to - cells_].push_back(from);
            }
        }
        // The cell is on one of its two tiles now: the one still holding it.
        const auto& held = holders_[arc.id];
        placed_[cell] =
            std::find(held.begin(), held.end(), cell) != held.end() ? arc.id : placed_[cell];
    }

    void write(std::vector<Cost>& u, std::vector<Cost>& v) const {
        const Cost sink = phi_[sink_];
        for (uint32_t c = 0; c < cells_; ++c) u[c] = sink - phi_[c];
        for (uint32_t t = 0; t < table_.tiles(); ++t) {
            // A tile no cell is placed on may end above the sink; 0 is as feasible there.
            v[t] = std::min<Cost>(phi_[cells_ + t] - sink, 0);
        }
    }

  private:
    // Dijkstra over reduced costs from `source` until `target` is settled; moves the potentials
    // of the nodes settled before it by their distance less the target's (every reduced cost
    // stays non-negative, those along the path become 0), and returns the path.
    std::vector<uint32_t> shortest_path(uint32_t source, uint32_t target) {
        using Entry = std::pair<Cost, uint32_t>;
        std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
        std::vector<uint32_t> touched;
        auto relax = [&](uint32_t from, uint32_t to, Cost cost) {
            if (done_[to]) return;
            const Cost length = reach_[from] + cost + phi_[from] - phi_[to];
            TESSERA_ASSERT(cost + phi_[from] - phi_[to] >= 0);
            if (length < reach_[to]) {
                if (reach_[to] == kUnreached) touched.push_back(to);
                reach_[to] = length;
                via_[to] = from;
                queue.push({length, to});
            }
        };
        reach_[source] = 0;
        touched.push_back(source);
        queue.push({0, source});
        std::vector<uint32_t> settled;
        while (!queue.empty()) {
            // Named copies, not a structured binding: a lambda below captures node.
            const Cost length = queue.top().first;
            const uint32_t node = queue.top().second;
            queue.pop();
            if (done_[node] || length != reach_[node]) continue;
            done_[node] = 1;
            settled.push_back(node);
            if (node == target) break;
            if (node == sink_) {
                for (uint32_t t = 0; t < table_.tiles(); ++t) {
                    if (uses_[t] > 0) relax(sink_, cells_ + t, 0);
                }
            } else if (node >= cells_) {
                const uint32_t tile = node - cells_;
                for (uint32_t c : holders_[tile]) {
                    relax(node, c, -Cost(table_.arc_distance(c, tile)));
                }
                if (uses_[tile] < max_uses_) relax(node, sink_, 0);
            } else {
                table_.for_each_arc(node, [&](const Neighbor& n) {
                    const auto& held = holders_[n.id];
                    if (std::find(held.begin(), held.end(), node) == held.end()) {
                        relax(node, cells_ + n.id, Cost(n.distance));
                    }
                });
            }
        }
        TESSERA_ASSERT(done_[target]);  // the arc just taken leads back
        const Cost at_target = reach_[target];
        for (uint32_t node : settled) phi_[node] += reach_[node] - at_target;
        std::vector<uint32_t> path;
        for (uint32_t node = target;; node = via_[node]) {
            path.push_back(node);
            if (node == source) break;
        }
        std::reverse(path.begin(), path.end());
        for (uint32_t node : touched) {
            reach_[node] = kUnreached;
            done_[node] = 0;
        }
        return path;
    }

    const CandidateTable& table_;
    uint32_t max_uses_;
    uint32_t cells_, sink_;
    std::vector<uint32_t>& placed_;
    std::vector<std::vector<uint32_t>> holders_;  // per tile: the cells placed there
    std::vector<uint32_t> uses_;                  // per tile: its flow to the sink
    std::vector<Cost> phi_;                       // per node
    std::vector<Cost> reach_;                     // per node: Dijkstra's distance
    std::vector<uint32_t> via_;                   // per node: its predecessor on the path
    std::vector<uint8_t> done_;                   // per node: settled
};

}  // namespace

void join_and_repair(CandidateTable& table, uint32_t max_uses,
                     std::span<const std::pair<uint32_t, Neighbor>> joining,
                     std::vector<uint32_t>& placed, std::vector<int64_t>& u,
                     std::vector<int64_t>& v) {
    Residual residual(table, max_uses, placed, u, v);
    for (const auto& [cell, arc] : joining) {
        interruption_point();
        table.add_extra(cell, arc);
        if (residual.reduced(cell, arc) < 0) residual.take(cell, arc);
    }
    residual.write(u, v);
}

}  // namespace tessera::capped
