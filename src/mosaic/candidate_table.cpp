#include "mosaic/candidate_table.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "tessera/core/error.hpp"
#include "tessera/core/text.hpp"

namespace tessera::capped {

CandidateTable::CandidateTable(std::span<const Neighbor> lists, size_t cells, uint32_t tiles,
                               uint64_t distance_limit)
    : tiles_(tiles),
      distance_limit_(distance_limit),
      extras_(cells),
      seen_(tiles, 0),
      was_active_(tiles, 0) {
    const size_t k = lists.size() / cells;
    begin_.resize(cells + 1);
    for (size_t c = 0; c <= cells; ++c) begin_[c] = c * k;
    entries_.assign(lists.begin(), lists.end());
    active_.assign(entries_.size(), 1);
    for (size_t c = 0; c < cells; ++c) check(of(uint32_t(c)));
}

void CandidateTable::add_extra(uint32_t cell, Neighbor pair) {
    check_distance(pair.distance);
    extras_[cell].push_back(pair);
}

uint64_t CandidateTable::arc_distance(uint32_t cell, uint32_t tile) const {
    for (const Neighbor& n : of(cell)) {
        if (n.id == tile) return n.distance;
    }
    for (const Neighbor& n : extras_[cell]) {
        if (n.id == tile) return n.distance;
    }
    TESSERA_ASSERT(false);  // only arcs are asked for
    return 0;
}

void CandidateTable::widen(std::span<const uint32_t> cells, const WidenCandidates& widen) {
    TESSERA_ASSERT(widen);
    std::map<size_t, std::vector<uint32_t>> by_k;  // by the new k, cells ascending
    for (uint32_t c : cells) {
        const size_t k = of(c).size();
        if (k < tiles_) by_k[std::min<size_t>(2 * k, tiles_)].push_back(c);
    }
    for (const auto& [k, listed] : by_k) replace(listed, k, widen(listed, int(k)));
}

void CandidateTable::replace(std::span<const uint32_t> cells, size_t k,
                             std::span<const Neighbor> lists) {
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

void CandidateTable::check_distance(uint64_t distance) const {
    if (distance >= distance_limit_) {
        throw Error("distance " + std::to_string(distance) +
                    " is too large for the assignment's exact integer costs");
    }
}

void CandidateTable::check(std::span<const Neighbor> list) {
    ++stamp_;
    for (size_t i = 0; i < list.size(); ++i) {
        const Neighbor& n = list[i];
        if (n.id >= tiles_) {
            throw Error("candidate tile " + std::to_string(n.id) + " is not in a library of " +
                        count_text(tiles_, "tile", "tiles"));
        }
        if (seen_[n.id] == stamp_) {
            throw Error("candidate tile " + std::to_string(n.id) + " is listed twice for a cell");
        }
        check_distance(n.distance);
        if (i > 0 && n.distance < list[i - 1].distance) {
            throw Error("a cell's candidate tiles are not listed nearest first");
        }
        seen_[n.id] = stamp_;
    }
}

}  // namespace tessera::capped
