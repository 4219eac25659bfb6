// Exact nearest-patch search. Distances are squared L2 over uint8 pixels in integer arithmetic;
// the k nearest are reported nearest first, ties broken by the lowest patch id. Every
// implementation returns exactly what the brute-force oracle returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/library/library.hpp"

namespace tessera {

struct Neighbor {
    uint64_t distance = 0;
    uint32_t id = 0;
    bool operator==(const Neighbor&) const = default;
    // The search order: by distance, then by id.
    bool operator<(const Neighbor& other) const {
        return distance != other.distance ? distance < other.distance : id < other.id;
    }
};

// `count` queries, each window.width x window.height pixels of the library's channel count,
// tightly packed one after another. A window smaller than the tile compares the query with the
// top-left window of each patch (the visible part of an edge tile).
struct QueryBatch {
    const uint8_t* data = nullptr;
    size_t count = 0;
    Size window;
};

class Searcher {
  public:
    virtual ~Searcher() = default;
    // Writes the k nearest patches of query q to out[q * k .. q * k + k). Requires
    // 1 <= k <= library size and a window no larger than the tile.
    virtual void search(const QueryBatch& queries, int k, Neighbor* out) const = 0;
};

// The squared distances of one query at a time (window pixels, packed as in QueryBatch) to the
// top-left window of listed patches, exactly as every searcher measures them: for callers that
// price pairs a search did not list. Given limits, a pair only has to be measured where it may be
// within its limit: the per-channel mean and spread bound (search_index.hpp), from features of
// each patch's window computed on the first query of each window shape, rules most others out.
// Not for concurrent use (the features are kept).
class PatchDistances {
  public:
    explicit PatchDistances(const Library& library);  // which must outlive this
    ~PatchDistances();

    // Writes the distance of `query` to each patch in `ids` (all below the library size; the
    // window no larger than the tile). Given `limits` (one per id), a distance above limits[i]
    // may be written as any value above it.
    void measure(const uint8_t* query, Size window, std::span<const uint32_t> ids,
                 std::span<uint64_t> distances, std::span<const uint64_t> limits = {});

  private:
    struct WindowFeatures;
    const WindowFeatures& features(Size window);

    const Library& library_;
    std::vector<std::unique_ptr<WindowFeatures>> windows_;
};

// The instruction-set level of the exact search's kernels. One binary runs on any x86-64: the
// level is chosen at run time.
// avx512 means AVX-512 F, BW, VL and VNNI; amx means that and AMX-TILE and AMX-INT8, with the
// tile state granted by Linux (arch_prctl ARCH_REQ_XCOMP_PERM).
enum class SimdLevel { Scalar, Avx2, Avx512, Amx };

std::string_view simd_level_name(SimdLevel level);  // "scalar", "avx2", "avx512" or "amx"
bool simd_level_supported(SimdLevel level);         // by this CPU (and, for amx, its OS)
// The level make_exact_searcher uses by default: TESSERA_SIMD=scalar|avx2|avx512|amx when set, else
// the best the CPU supports. Throws Error when TESSERA_SIMD names no level or one the CPU lacks.
SimdLevel default_simd_level();
std::string_view simd_level();  // the name of default_simd_level()

// The oracle: one plain loop per query over every patch. Single-threaded and slow on purpose.
std::unique_ptr<Searcher> make_bruteforce_searcher(const Library& library);

// The fast exact search used by `tessera mosaic`. threads <= 0 means all cores. The second form
// forces a SIMD level (tests, benchmarks) and throws Error when the CPU does not support it.
std::unique_ptr<Searcher> make_exact_searcher(const Library& library, int threads = 0);
std::unique_ptr<Searcher> make_exact_searcher(const Library& library, int threads, SimdLevel level);

// Checks a batch against a library: channel layout, window size, k. Throws Error.
void check_queries(const Library& library, const QueryBatch& queries, int k);

}  // namespace tessera
