#include <algorithm>

#include "search/edge_search.hpp"
#include "search/search_index.hpp"
#include "search/simd.hpp"
#include "tessera/core/error.hpp"
#include "tessera/search/search.hpp"

namespace tessera {

namespace {

// What the per-channel mean and spread bound needs of a window: its channel sums S_c (0 past the
// channel count) and isqrt(R), R = Dc |w|^2 - sum_c S_c^2, with Dc the window's pixels
// (search_index.hpp). Each fits 32 bits for any tile (kMaxTileSide).
struct Summary {
    uint32_t sums[3] = {0, 0, 0};
    uint32_t spread = 0;
};

Summary summarize(const uint8_t* pixels, size_t row_stride, Size window, int channels) {
    uint64_t sums[3] = {0, 0, 0};
    uint32_t norm = 0;
    detail::window_channel_sums(pixels, row_stride, window, channels, sums, &norm);
    uint64_t sum_squares = 0;
    Summary s;
    for (int c = 0; c < channels; ++c) {
        sum_squares += sums[c] * sums[c];
        s.sums[c] = uint32_t(sums[c]);
    }
    s.spread = uint32_t(detail::isqrt(uint64_t(window.width) * window.height * norm - sum_squares));
    return s;
}

int64_t squared_gap(uint32_t a, uint32_t b) {
    const int64_t gap = int64_t(a) - int64_t(b);
    return gap * gap;
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
    const uint64_t pixels = uint64_t(window.width) * window.height;
    const uint64_t largest_ruled = UINT64_MAX / pixels;  // a larger limit rules nothing out
    for (size_t i = 0; i < ids.size(); ++i) {
        TESSERA_ASSERT(ids[i] < library_.patch_count());
        if (patches && limits[i] <= largest_ruled) {
            // Dc d >= sum_c (Sq_c - Sp_c)^2 + (sqrt(Rq) - sqrt(Rp))^2, the roots' gap less one as
            // they are floors.
            const Summary& p = patches[ids[i]];
            const int64_t spread_gap =
                std::max<int64_t>(std::abs(int64_t(q.spread) - int64_t(p.spread)) - 1, 0);
            const auto bound =
                uint64_t(squared_gap(q.sums[0], p.sums[0]) + squared_gap(q.sums[1], p.sums[1]) +
                         squared_gap(q.sums[2], p.sums[2]) + spread_gap * spread_gap);
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
