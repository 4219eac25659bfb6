// The k best neighbours of one query while a search runs (internal to the search layer).
#pragma once

#include <algorithm>
#include <cstdint>

#include "tessera/core/error.hpp"
#include "tessera/search/search.hpp"

namespace tessera::detail {

// A max-heap on (distance, id) in the caller's k slots, O(log k) a candidate, until sort() puts
// them in order. Before the heap is full, worst() is held to a ceiling known in advance (at
// least the k-th best distance); only candidates within both are taken, so a value that an
// early-stopping kernel returned past the limit never enters. Callers offer each patch once.
class TopK {
  public:
    TopK(Neighbor* out, int k) : best_(out), k_(k) {
        std::fill(best_, best_ + k_, Neighbor{UINT64_MAX, UINT32_MAX});
    }
    uint64_t worst() const { return std::min(best_[0].distance, ceiling_); }
    // `distance` is at least the k-th best: it is the largest of k patches' distances.
    void set_ceiling(uint64_t distance) { ceiling_ = distance; }
    // Returns true when the candidate entered the top k.
    bool offer(uint64_t distance, uint32_t id) {
        const Neighbor n{distance, id};
        if (distance > ceiling_ || !(n < best_[0])) return false;
        std::pop_heap(best_, best_ + k_);
        best_[k_ - 1] = n;
        std::push_heap(best_, best_ + k_);
        return true;
    }
    // Returns false when fewer than k patches came within the ceiling, which an index that
    // agrees with its pixels rules out (the scan offers every patch that can be within it).
    bool sort() {
        std::sort_heap(best_, best_ + k_);
        return best_[k_ - 1].id != UINT32_MAX;
    }

  private:
    Neighbor* best_;
    int k_;
    uint64_t ceiling_ = UINT64_MAX;
};

}  // namespace tessera::detail
