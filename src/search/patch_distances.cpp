#include <algorithm>

#include "search/edge_search.hpp"
#include "search/search_index.hpp"
#include "search/simd.hpp"
#include "tessera/core/error.hpp"
#include "tessera/search/search.hpp"

namespace tessera {

namespace {

// What the per-channel mean and spread bound needs of a window: its channel sums S_c and
// isqrt(R), R = Dc |w|^2 - sum_c S_c^2, with Dc the window's pixels (search_index.hpp).
struct Summary {
    uint64_t sums[3] = {0, 0, 0};
    uint64_t spread = 0;
};

Summary summarize(const uint8_t* pixels, size_t row_stride, Size window, int channels) {
    Summary s;
    uint32_t norm = 0;
    detail::window_channel_sums(pixels, row_stride, window, channels, s.sums, &norm);
    uint64_t sum_squares = 0;
    for (int c = 0; c < channels; ++c) sum_squares += s.sums[c] * s.sums[c];
    s.spread = detail::isqrt(uint64_t(window.width) * window.height * norm - sum_squares);
    return s;
}

}  // namespace

struct PatchDistances::WindowFeatures {
    Size window;
    std::vector<Summary> patches;  // by id
};

PatchDistances::PatchDistances(const Library& library) : library_(library) {}

PatchDistances::~PatchDistances() = default;

const PatchDistances::WindowFeatures& PatchDistances::features(Size window) {
    for (const auto& w : windows_) {
        if (w->window == window) return *w;
    }
    auto w = std::make_unique<WindowFeatures>();
    w->window = window;
    const int channels = library_.params().channels();
    const size_t tile_row = size_t(library_.params().tile.width) * channels;
    w->patches.resize(library_.patch_count());
    for (uint32_t id = 0; id < library_.patch_count(); ++id) {
        w->patches[id] = summarize(library_.patch(id), tile_row, window, channels);
    }
    windows_.push_back(std::move(w));
    return *windows_.back();
}

void PatchDistances::measure(const uint8_t* query, Size window, std::span<const uint32_t> ids,
                             std::span<uint64_t> distances, std::span<const uint64_t> limits) {
    TESSERA_ASSERT(ids.size() == distances.size());
    TESSERA_ASSERT(limits.empty() || limits.size() == ids.size());
    TESSERA_ASSERT(window.width <= library_.params().tile.width &&
                   window.height <= library_.params().tile.height);
    const kernels::Kernels& kernels = detail::kernels_for(default_simd_level());
    const int channels = library_.params().channels();
    const Summary* patches = limits.empty() ? nullptr : features(window).patches.data();
    const Summary q = summarize(query, size_t(window.width) * channels, window, channels);
    using Wide = unsigned __int128;
    const Wide pixels = Wide(window.width) * window.height;
    for (size_t i = 0; i < ids.size(); ++i) {
        TESSERA_ASSERT(ids[i] < library_.patch_count());
        if (patches) {
            // Dc d >= sum_c (Sq_c - Sp_c)^2 + (sqrt(Rq) - sqrt(Rp))^2.
            const Summary& p = patches[ids[i]];
            uint64_t bound = 0;
            for (int c = 0; c < channels; ++c) {
                const uint64_t gap =
                    q.sums[c] > p.sums[c] ? q.sums[c] - p.sums[c] : p.sums[c] - q.sums[c];
                bound += gap * gap;
            }
            const uint64_t spread_gap =
                q.spread > p.spread ? q.spread - p.spread : p.spread - q.spread;
            if (spread_gap > 1) bound += (spread_gap - 1) * (spread_gap - 1);
            if (bound > pixels * limits[i]) {
                distances[i] = limits[i] + 1;
                continue;
            }
        }
        distances[i] = detail::window_distance(library_, kernels, query, window, ids[i],
                                               limits.empty() ? UINT64_MAX : limits[i]);
    }
}

}  // namespace tessera
