// The figures of an assignment a report shows: its total cost, how close to the best possible it
// is proven to be, and how much it repeats patches (how many distinct, the most uses of one, and
// how close on the grid two tiles of one patch come).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "tessera/mosaic/assign.hpp"

namespace tessera {

struct AssignmentSummary {
    uint64_t total_cost = 0;  // the sum of the matches' squared distances
    // No assignment under the same constraints costs less; certified: lower_bound == total_cost.
    int64_t lower_bound = 0;
    bool certified = false;
    uint32_t distinct_patches = 0;  // patches placed at least once
    uint32_t most_uses = 0;         // the largest number of tiles one patch is placed in
    // The smallest Chebyshev distance on the tile grid between two tiles of one patch (1: side by
    // side or diagonal); none when no patch is placed twice.
    std::optional<int> smallest_repeat_distance;
};

// The summary of `matches` (one per tile); the bound is left at 0, uncertified, for the caller
// who knows it (each tile's nearest patch: the total cost itself).
AssignmentSummary summarize_matches(std::span<const TileMatch> matches);

}  // namespace tessera
