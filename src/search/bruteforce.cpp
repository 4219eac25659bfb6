#include "tessera/search/search.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "tessera/core/error.hpp"

namespace tessera {

void check_queries(const Library& library, const QueryBatch& queries, int k) {
    const Size tile = library.params().tile;
    if (queries.window.width < 1 || queries.window.height < 1 ||
        queries.window.width > tile.width || queries.window.height > tile.height) {
        throw Error("query window " + std::to_string(queries.window.width) + "x" +
                    std::to_string(queries.window.height) + " does not fit the library's tile " +
                    std::to_string(tile.width) + "x" + std::to_string(tile.height));
    }
    if (k < 1 || size_t(k) > library.patch_count()) {
        throw Error("k = " + std::to_string(k) + " is out of range: the library has " +
                    std::to_string(library.patch_count()) + " patches");
    }
    if (queries.count > 0 && queries.data == nullptr) throw Error("query data is missing");
}

namespace {

// Deliberately the most obvious code: every distance, then a sort. Fast paths are tested
// against it, so it must not share their machinery.
class BruteForceSearcher final : public Searcher {
  public:
    explicit BruteForceSearcher(const Library& library) : library_(library) {}

    void search(const QueryBatch& queries, int k, Neighbor* out) const override {
        check_queries(library_, queries, k);
        const int channels = library_.params().channels();
        const size_t row_bytes = size_t(queries.window.width) * channels;
        const size_t tile_row_bytes = size_t(library_.params().tile.width) * channels;
        const size_t query_bytes = row_bytes * queries.window.height;
        std::vector<Neighbor> all(library_.patch_count());
        for (size_t q = 0; q < queries.count; ++q) {
            const uint8_t* query = queries.data + q * query_bytes;
            for (size_t id = 0; id < library_.patch_count(); ++id) {
                const uint8_t* patch = library_.patch(id);
                uint64_t distance = 0;
                for (int y = 0; y < queries.window.height; ++y) {
                    for (size_t i = 0; i < row_bytes; ++i) {
                        int64_t d =
                            int64_t(query[y * row_bytes + i]) - patch[y * tile_row_bytes + i];
                        distance += uint64_t(d * d);
                    }
                }
                all[id] = {distance, uint32_t(id)};
            }
            std::partial_sort(all.begin(), all.begin() + k, all.end());
            std::copy(all.begin(), all.begin() + k, out + q * size_t(k));
        }
    }

  private:
    Library library_;
};

}  // namespace

std::unique_ptr<Searcher> make_bruteforce_searcher(const Library& library) {
    return std::make_unique<BruteForceSearcher>(library);
}

}  // namespace tessera
