// The most negative pairs of each tile found in a round of pricing (capped_assignment.cpp), kept
// as they are offered: a few per tile, in a fixed array.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/search/search.hpp"

namespace tessera::capped {

// Per tile, the most negative pairs offered, (reduced cost, cell) ascending.
class TileBest {
  public:
    struct Pair {
        int64_t reduced;
        uint32_t cell;
        uint64_t distance;
    };

    TileBest(uint32_t tiles, size_t per_tile)
        : per_tile_(per_tile), pairs_(size_t(tiles) * per_tile), count_(tiles, 0) {
        TESSERA_ASSERT(per_tile > 0 && per_tile <= UINT8_MAX);
    }

    void offer(uint32_t tile, Pair pair) {
        Pair* best = pairs_.data() + size_t(tile) * per_tile_;
        uint8_t& n = count_[tile];
        const auto less = [](const Pair& a, const Pair& b) {
            return std::pair(a.reduced, a.cell) < std::pair(b.reduced, b.cell);
        };
        if (n == per_tile_ && !less(pair, best[n - 1])) return;
        size_t i = n < per_tile_ ? n++ : n - 1;
        for (; i > 0 && less(pair, best[i - 1]); --i) best[i] = best[i - 1];
        best[i] = pair;
    }

    // Appends the kept pairs as (cell, pair), by tile.
    void append_to(std::vector<std::pair<uint32_t, Neighbor>>& joining) const {
        for (uint32_t t = 0; t < count_.size(); ++t) {
            for (size_t i = 0; i < count_[t]; ++i) {
                const Pair& p = pairs_[size_t(t) * per_tile_ + i];
                joining.push_back({p.cell, {p.distance, t}});
            }
        }
    }

  private:
    size_t per_tile_;
    std::vector<Pair> pairs_;  // per_tile_ slots per tile
    std::vector<uint8_t> count_;
};

}  // namespace tessera::capped
