#include "search/edge_search.hpp"
#include "search/simd.hpp"
#include "tessera/core/error.hpp"
#include "tessera/search/search.hpp"

namespace tessera {

void patch_distances(const Library& library, const uint8_t* query, Size window,
                     std::span<const uint32_t> ids, std::span<uint64_t> distances) {
    TESSERA_ASSERT(ids.size() == distances.size());
    TESSERA_ASSERT(window.width <= library.params().tile.width &&
                   window.height <= library.params().tile.height);
    const kernels::Kernels& kernels = detail::kernels_for(default_simd_level());
    for (size_t i = 0; i < ids.size(); ++i) {
        TESSERA_ASSERT(ids[i] < library.patch_count());
        distances[i] = detail::window_distance(library, kernels, query, window, ids[i]);
    }
}

}  // namespace tessera
