// The candidate pairs of the assignment under a repeat cap (capped_assignment.cpp): each cell's
// k nearest tiles, nearest first (its list, which grows when it is widened), whether each is an
// arc of the graph solved, and the cell's extra arcs: pairs outside its list that joined the graph
// when priced with their real distances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tessera/mosaic/capped_assignment.hpp"
#include "tessera/search/search.hpp"

namespace tessera::capped {

constexpr uint32_t kNoTile = UINT32_MAX;  // a cell not placed

class CandidateTable {
  public:
    // Distances must stay below distance_limit.
    CandidateTable(std::span<const Neighbor> lists, size_t cells, uint32_t tiles,
                   uint64_t distance_limit);

    size_t cells() const { return begin_.size() - 1; }
    uint32_t tiles() const { return tiles_; }
    size_t entries() const { return entries_.size(); }
    std::span<const Neighbor> of(uint32_t cell) const {
        return {entries_.data() + begin_[cell], entries_.data() + begin_[cell + 1]};
    }

    // Whether the i-th candidate of `cell` is an arc of the graph solved.
    bool active(uint32_t cell, size_t i) const { return active_[begin_[cell] + i] != 0; }
    void activate(uint32_t cell, size_t i) { active_[begin_[cell] + i] = 1; }

    // A pair outside the cell's list, an arc from now on.
    void add_extra(uint32_t cell, Neighbor pair);
    std::span<const Neighbor> extras(uint32_t cell) const { return extras_[cell]; }

    // Calls f(neighbor) for every arc of `cell`: its active candidates, then its extra arcs.
    template <class F>
    void for_each_arc(uint32_t cell, F&& f) const {
        const auto list = of(cell);
        for (size_t i = 0; i < list.size(); ++i) {
            if (active(cell, i)) f(list[i]);
        }
        for (const Neighbor& n : extras_[cell]) f(n);
    }

    // The distance of a pair that is an arc.
    uint64_t arc_distance(uint32_t cell, uint32_t tile) const;

    // Gives each of `cells` (ascending) twice its candidates, at most the library, from `widen`;
    // a tile stays active where it was, the others start inactive.
    void widen(std::span<const uint32_t> cells, const WidenCandidates& widen);

    // Throws Error unless `distance` can be an exact integer cost.
    void check_distance(uint64_t distance) const;

  private:
    // Replaces the lists of `cells` (ascending) with `lists`, k per cell.
    void replace(std::span<const uint32_t> cells, size_t k, std::span<const Neighbor> lists);

    // A list must be distinct tiles of the library, nearest first: the certificate relies on it.
    void check(std::span<const Neighbor> list);

    uint32_t tiles_;
    uint64_t distance_limit_;
    std::vector<size_t> begin_;  // cell c's list is entries_[begin_[c], begin_[c + 1])
    std::vector<Neighbor> entries_;
    std::vector<uint8_t> active_;                // per entry
    std::vector<std::vector<Neighbor>> extras_;  // per cell
    std::vector<uint64_t> seen_;                 // the stamp of the list a tile was last seen in
    uint64_t stamp_ = 0;
    std::vector<uint64_t> was_active_;  // the stamp of the list a tile was last active in
    uint64_t active_stamp_ = 0;
};

}  // namespace tessera::capped
