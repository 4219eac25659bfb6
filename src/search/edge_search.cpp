#include "search/edge_search.hpp"

#include <omp.h>

#include <algorithm>

#include "search/search_index.hpp"
#include "search/top_k.hpp"

namespace tessera::detail {

namespace {

using u128 = unsigned __int128;

uint64_t gap(uint64_t a, uint64_t b) {
    return a > b ? a - b : b - a;
}

// max(0, |a - b| - 1): the least |sqrt(x) - sqrt(y)| when isqrt(x) = a and isqrt(y) = b.
uint64_t root_gap(uint64_t a, uint64_t b) {
    const uint64_t g = gap(a, b);
    return g > 0 ? g - 1 : 0;
}

// The window's spread from its sums per channel and its squared norm; `total` gets the sum over
// the channels.
uint32_t window_spread(const uint32_t* sums, int channels, Size window, uint32_t norm,
                       uint64_t* total) {
    uint64_t energy = 0;
    *total = 0;
    for (int c = 0; c < channels; ++c) {
        *total += sums[c];
        energy += uint64_t(sums[c]) * sums[c];
    }
    const uint64_t dc = uint64_t(window.width) * window.height;
    return uint32_t(isqrt(dc * norm - energy));
}

}  // namespace

uint64_t window_distance(const Library& library, const kernels::Kernels& kernels,
                         const uint8_t* query, Size window, uint32_t id, uint64_t limit) {
    const size_t tile_row = size_t(library.params().tile.width) * library.params().channels();
    const size_t row = size_t(window.width) * library.params().channels();
    const uint8_t* patch = library.patch(id);
    if (row == tile_row) {
        // Distances fit 32 bits (kMaxTileSide).
        return kernels.sqdist_u8_within(query, patch, row * window.height,
                                        uint32_t(std::min<uint64_t>(limit, UINT32_MAX)));
    }
    uint64_t d = 0;
    for (int y = 0; y < window.height; ++y) {
        d += kernels.sqdist_u8(query + y * row, patch + y * tile_row, row);
        if (d > limit) break;
    }
    return d;
}

EdgeSearch::WindowIndex EdgeSearch::build_index(Size window) const {
    const int channels = library_.params().channels();
    const size_t tile_row = size_t(library_.params().tile.width) * channels;
    const size_t n = library_.patch_count();
    std::vector<uint32_t> sums(n * channels), spreads(n);
    std::vector<std::pair<uint32_t, uint32_t>> keys(n);  // (total, id)
    const kernels::WindowShape shape{tile_row, size_t(window.width) * channels, window.height,
                                     channels};
    constexpr size_t kBatch = 1024;
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (size_t first = 0; first < n; first += kBatch) {
        const size_t count = std::min(kBatch, n - first);
        // The norms go into spreads, then each becomes its spread.
        kernels_.window_sums(library_.patch(first), library_.patch_bytes(), count, shape,
                             &sums[first * channels], &spreads[first]);
        for (size_t id = first; id < first + count; ++id) {
            uint64_t total;
            spreads[id] =
                window_spread(&sums[id * channels], channels, window, spreads[id], &total);
            keys[id] = {uint32_t(total), uint32_t(id)};
        }
    }
    std::sort(keys.begin(), keys.end());
    WindowIndex w;
    w.ids.resize(n);
    w.totals.resize(n);
    w.sums.resize(n * channels);
    w.spreads.resize(n);
    for (size_t i = 0; i < n; ++i) {
        const uint32_t id = keys[i].second;
        w.ids[i] = id;
        w.totals[i] = keys[i].first;
        std::copy_n(&sums[id * channels], channels, &w.sums[i * channels]);
        w.spreads[i] = spreads[id];
    }
    return w;
}

std::shared_ptr<const EdgeSearch::WindowIndex> EdgeSearch::index(Size window) const {
    std::lock_guard lock(windows_mutex_);
    for (const auto& [shape, index] : windows_) {
        if (shape == window) return index;
    }
    auto index = std::make_shared<const WindowIndex>(build_index(window));
    if (windows_.size() == kCachedWindows) windows_.erase(windows_.begin());
    windows_.emplace_back(window, index);
    return index;
}

void EdgeSearch::search(const uint8_t* query, Size window, const WindowIndex& w, TopK& top) const {
    const int channels = library_.params().channels();
    const uint64_t dc = uint64_t(window.width) * window.height;
    const size_t row = size_t(window.width) * channels;
    uint32_t sums[3], norm;
    kernels_.window_sums(query, row * window.height, 1, {row, row, window.height, channels}, sums,
                         &norm);
    uint64_t total;
    const uint32_t spread = window_spread(sums, channels, window, norm, &total);
    // Every term fits 64 bits: sums and spreads are below 2^23 for the largest tile.
    auto limit_of = [dc](uint64_t tau) { return tau == UINT64_MAX ? UINT64_MAX : dc * tau; };
    uint64_t limit = limit_of(top.worst());
    auto open = [&](size_t i) {
        const uint64_t g = gap(w.totals[i], total);
        return u128(g) * g <= u128(channels) * limit;
    };
    const size_t n = w.ids.size();
    const size_t start =
        std::lower_bound(w.totals.begin(), w.totals.end(), total) - w.totals.begin();
    size_t down = start, up = start;  // next positions: down - 1 and up
    bool down_open = true, up_open = true;
    while (true) {
        down_open = down_open && down > 0 && open(down - 1);
        up_open = up_open && up < n && open(up);
        if (!down_open && !up_open) break;
        const size_t i =
            down_open && (!up_open || total - w.totals[down - 1] <= w.totals[up] - total) ? --down
                                                                                          : up++;
        const uint64_t dv = root_gap(w.spreads[i], spread);
        uint64_t bound = dv * dv;
        for (int c = 0; c < channels; ++c) {
            const uint64_t ds = gap(w.sums[i * channels + c], sums[c]);
            bound += ds * ds;
        }
        if (bound > limit) continue;
        const uint32_t id = w.ids[i];
        if (top.offer(window_distance(library_, kernels_, query, window, id, top.worst()), id)) {
            limit = limit_of(top.worst());
        }
    }
}

}  // namespace tessera::detail
