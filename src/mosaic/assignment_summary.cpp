#include "tessera/mosaic/assignment_summary.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

namespace tessera {

namespace {

// The closest pair under the Chebyshev distance among `tiles` sorted by row: a sweep keeping,
// ordered by column, the tiles of the rows within the best distance so far.
int closest_pair(std::span<const Tile* const> tiles, int best) {
    std::set<std::pair<int, int>> window;  // (col, row)
    size_t oldest = 0;
    for (const Tile* tile : tiles) {
        while (tiles[oldest]->row < int64_t(tile->row) - best) {
            window.erase({tiles[oldest]->col, tiles[oldest]->row});
            ++oldest;
        }
        const int64_t reach = best;  // best may be the largest int until a pair is found
        for (auto it =
                 window.lower_bound({int(std::max<int64_t>(tile->col - reach, INT_MIN)), INT_MIN});
             it != window.end() && it->first <= tile->col + reach; ++it) {
            best = std::min(
                best, std::max(std::abs(tile->row - it->second), std::abs(tile->col - it->first)));
        }
        window.insert({tile->col, tile->row});
    }
    return best;
}

}  // namespace

AssignmentSummary summarize_matches(std::span<const TileMatch> matches) {
    AssignmentSummary summary;
    std::vector<size_t> order(matches.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const TileMatch &x = matches[a], &y = matches[b];
        return std::tie(x.patch, x.tile.row, x.tile.col) <
               std::tie(y.patch, y.tile.row, y.tile.col);
    });
    int best = std::numeric_limits<int>::max();
    std::vector<const Tile*> group;
    for (size_t begin = 0, end = 0; begin < order.size(); begin = end) {
        group.clear();
        for (end = begin;
             end < order.size() && matches[order[end]].patch == matches[order[begin]].patch;
             ++end) {
            group.push_back(&matches[order[end]].tile);
            summary.total_cost += matches[order[end]].distance;
        }
        ++summary.distinct_patches;
        summary.most_uses = std::max(summary.most_uses, uint32_t(end - begin));
        if (group.size() > 1) best = closest_pair(group, best);
    }
    if (best != std::numeric_limits<int>::max()) summary.smallest_repeat_distance = best;
    return summary;
}

}  // namespace tessera
