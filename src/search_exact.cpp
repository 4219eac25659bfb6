#include <omp.h>

#include <algorithm>
#include <vector>

#include "tessera/error.hpp"
#include "tessera/search.hpp"

namespace tessera {

namespace {

// Keeps the k best neighbours seen so far, sorted. Candidates arrive in ascending id order, so
// a candidate that only ties the worst kept one has a higher id and is rightly refused.
class TopK {
public:
    TopK(Neighbor* out, int k) : best_(out), k_(k) {
        std::fill(best_, best_ + k_, Neighbor{UINT64_MAX, UINT32_MAX});
    }
    uint64_t worst() const { return best_[k_ - 1].distance; }
    void offer(uint64_t distance, uint32_t id) {
        if (distance >= worst()) return;
        int i = k_ - 1;
        for (; i > 0 && best_[i - 1].distance > distance; --i) best_[i] = best_[i - 1];
        best_[i] = {distance, id};
    }

private:
    Neighbor* best_;
    int k_;
};

class ExactSearcher final : public Searcher {
public:
    ExactSearcher(const Library& library, int threads)
        : library_(library), threads_(threads > 0 ? threads : omp_get_num_procs()) {}

    std::string_view name() const override { return "exact"; }

    void search(const QueryBatch& queries, int k, Neighbor* out) const override {
        check_queries(library_, queries, k);
        const Size window = queries.window;
        const int channels = library_.params().channels();
        const size_t row_bytes = size_t(window.width) * channels;
        const size_t query_bytes = row_bytes * window.height;
        const bool full = window == library_.params().tile;
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads_)
        for (size_t q = 0; q < queries.count; ++q) {
            const uint8_t* query = queries.data + q * query_bytes;
            TopK top(out + q * size_t(k), k);
            if (full) {
                search_full(query, top);
            } else {
                search_window(query, window, row_bytes, top);
            }
        }
    }

private:
    // |q - p|^2 = |q|^2 + |p|^2 - 2 q.p with the patch norms precomputed at build time.
    void search_full(const uint8_t* query, TopK& top) const {
        const size_t n = library_.patch_bytes();
        uint64_t query_norm = 0;
        for (size_t i = 0; i < n; ++i) query_norm += uint32_t(query[i]) * query[i];
        const std::span<const uint32_t> norms = library_.norms();
        for (size_t id = 0; id < library_.size(); ++id) {
            const uint8_t* patch = library_.patch(id);
            uint32_t dot = 0;
            for (size_t i = 0; i < n; ++i) dot += uint32_t(query[i]) * patch[i];
            top.offer(query_norm + norms[id] - 2 * uint64_t(dot), uint32_t(id));
        }
    }

    // Edge tiles: compare the visible window with each patch's top-left window.
    void search_window(const uint8_t* query, Size window, size_t row_bytes, TopK& top) const {
        const size_t tile_row_bytes = size_t(library_.params().tile.width) * library_.params().channels();
        for (size_t id = 0; id < library_.size(); ++id) {
            const uint8_t* patch = library_.patch(id);
            uint32_t distance = 0;
            for (int y = 0; y < window.height; ++y) {
                const uint8_t* a = query + y * row_bytes;
                const uint8_t* b = patch + y * tile_row_bytes;
                for (size_t i = 0; i < row_bytes; ++i) {
                    int d = int(a[i]) - int(b[i]);
                    distance += uint32_t(d * d);
                }
            }
            top.offer(distance, uint32_t(id));
        }
    }

    Library library_;
    int threads_;
};

}  // namespace

std::unique_ptr<Searcher> make_exact_searcher(const Library& library, int threads) {
    return std::make_unique<ExactSearcher>(library, threads);
}

}  // namespace tessera
