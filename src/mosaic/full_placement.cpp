#include "mosaic/full_placement.hpp"

#include <algorithm>

#include "tessera/core/error.hpp"

namespace tessera::capped {

namespace {

// Extra arcs a stuck cell gets: its nearest tiles with uses to spare. More than one, so that
// stuck neighbours need not share a single tile.
constexpr size_t kSpareArcs = 8;

// A placement of cells on tiles along the table's arcs, grown by augmenting paths.
class Placement {
  public:
    Placement(const CandidateTable& table, uint32_t max_uses, std::vector<uint32_t>& placed)
        : table_(table),
          max_uses_(max_uses),
          placed_(placed),
          uses_(table.tiles(), 0),
          holders_(table.tiles()),
          parent_(table.cells()),
          cell_seen_(table.cells(), 0),
          tile_seen_(table.tiles(), 0) {
        for (uint32_t c = 0; c < table.cells(); ++c) {
            if (placed_[c] == kNoTile) continue;
            ++uses_[placed_[c]];
            holders_[placed_[c]].push_back(c);
        }
    }

    bool spare(uint32_t tile) const { return uses_[tile] < max_uses_; }

    // Places `cell` on its first arc with uses to spare; false if it has none.
    bool place_directly(uint32_t cell) {
        uint32_t found = kNoTile;
        table_.for_each_arc(cell, [&](const Neighbor& n) {
            if (found == kNoTile && spare(n.id)) found = n.id;
        });
        if (found != kNoTile) move(cell, found);
        return found != kNoTile;
    }

    // Searches of one phase share their marks: a node another search of the phase reached is
    // not searched again (a failed search's nodes lead to no tile with uses to spare).
    void begin_phase() { ++stamp_; }

    // Places the unplaced `root` along a shortest augmenting path through nodes no earlier
    // search of the phase reached (breadth first: a cell that gives up its tile moves to another
    // of its arcs); false if there is none.
    bool augment(uint32_t root) {
        if (cell_seen_[root] == stamp_) return false;
        queue_.assign(1, root);
        cell_seen_[root] = stamp_;
        for (size_t head = 0; head < queue_.size(); ++head) {
            const uint32_t cell = queue_[head];
            uint32_t found = kNoTile;
            table_.for_each_arc(cell, [&](const Neighbor& n) {
                if (found != kNoTile || n.id == placed_[cell]) return;
                if (spare(n.id)) {
                    found = n.id;
                    return;
                }
                if (tile_seen_[n.id] == stamp_) return;
                tile_seen_[n.id] = stamp_;
                for (uint32_t holder : holders_[n.id]) {
                    if (cell_seen_[holder] == stamp_) continue;
                    cell_seen_[holder] = stamp_;
                    parent_[holder] = cell;
                    queue_.push_back(holder);
                }
            });
            if (found == kNoTile) continue;
            // Each cell on the path takes the tile its successor gave up.
            for (uint32_t at = cell, tile = found;;) {
                const uint32_t given_up = placed_[at];
                move(at, tile);
                if (at == root) break;
                tile = given_up;
                at = parent_[at];
            }
            return true;
        }
        return false;
    }

  private:
    void move(uint32_t cell, uint32_t tile) {
        const uint32_t old = placed_[cell];
        if (old != kNoTile) {
            --uses_[old];
            auto& held = holders_[old];
            held.erase(std::find(held.begin(), held.end(), cell));
        }
        placed_[cell] = tile;
        ++uses_[tile];
        holders_[tile].push_back(cell);
    }

    const CandidateTable& table_;
    uint32_t max_uses_;
    std::vector<uint32_t>& placed_;
    std::vector<uint32_t> uses_;                   // per tile
    std::vector<std::vector<uint32_t>> holders_;   // per tile: the cells placed there
    std::vector<uint32_t> parent_;                 // per cell: who takes its tile on the path
    std::vector<uint64_t> cell_seen_, tile_seen_;  // the stamp of the search that reached them
    uint64_t stamp_ = 0;
    std::vector<uint32_t> queue_;
};

}  // namespace

void make_placeable(CandidateTable& table, uint32_t max_uses, std::vector<uint32_t>& placed,
                    const PairDistances& distances, const WidenCandidates& widen) {
    const auto cells = uint32_t(table.cells());
    for (;;) {
        Placement placement(table, max_uses, placed);
        std::vector<uint32_t> stuck;
        for (uint32_t c = 0; c < cells; ++c) {
            if (placed[c] == kNoTile && !placement.place_directly(c)) stuck.push_back(c);
        }
        // Phases until one places nobody: then every search failed, its marks are sound, and a
        // cell no augmenting path places stays so while arcs are not added.
        for (size_t before = 0; before != stuck.size();) {
            before = stuck.size();
            placement.begin_phase();
            std::erase_if(stuck, [&](uint32_t c) { return placement.augment(c); });
        }
        if (stuck.empty()) return;
        if (distances) {
            std::vector<uint32_t> spare;
            for (uint32_t t = 0; t < table.tiles(); ++t) {
                if (placement.spare(t)) spare.push_back(t);
            }
            TESSERA_ASSERT(!spare.empty());  // max_uses * tiles >= cells
            std::vector<uint64_t> spare_distance(spare.size());
            std::vector<Neighbor> nearest(spare.size());
            for (uint32_t c : stuck) {
                distances(c, spare, {}, spare_distance);
                for (size_t i = 0; i < spare.size(); ++i)
                    nearest[i] = {spare_distance[i], spare[i]};
                const size_t count = std::min(kSpareArcs, nearest.size());
                std::partial_sort(nearest.begin(), nearest.begin() + ptrdiff_t(count),
                                  nearest.end());
                for (size_t i = 0; i < count; ++i) table.add_extra(c, nearest[i]);
                if (placement.place_directly(c)) continue;
                // Alike stuck cells share their nearest spare tiles, which the ones before took:
                // the nearest with a use left becomes an arc, so that one pass places them all.
                const auto left =
                    std::min_element(nearest.begin() + ptrdiff_t(count), nearest.end(),
                                     [&](const Neighbor& a, const Neighbor& b) {
                                         return std::pair(!placement.spare(a.id), a) <
                                                std::pair(!placement.spare(b.id), b);
                                     });
                TESSERA_ASSERT(left != nearest.end() && placement.spare(left->id));
                table.add_extra(c, *left);
                placement.place_directly(c);
            }
            continue;
        }
        bool activated = false;
        auto activate_spare = [&](uint32_t c) {
            const auto list = table.of(c);
            for (size_t i = 0; i < list.size(); ++i) {
                if (!table.active(c, i) && placement.spare(list[i].id)) {
                    table.activate(c, i);
                    activated = true;
                }
            }
        };
        for (uint32_t c = 0; c < cells; ++c) activate_spare(c);
        if (activated) continue;
        table.widen(stuck, widen);
        for (uint32_t c : stuck) activate_spare(c);
    }
}

}  // namespace tessera::capped
