#include "tessera/mosaic/assign.hpp"

namespace tessera {

std::vector<TileMatch> assign_nearest(const TileCandidates& candidates) {
    std::vector<TileMatch> matches(candidates.tiles.size());
    for (size_t i = 0; i < matches.size(); ++i) {
        const Neighbor& nearest = candidates.of(i).front();
        matches[i] = {candidates.tiles[i], nearest.id, nearest.distance};
    }
    return matches;
}

}  // namespace tessera
