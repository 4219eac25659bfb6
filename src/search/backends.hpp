// The search backends: one row per way the exact search can run, best first. TESSERA_SIMD, the
// default level, `tessera info` and make_exact_searcher all read this table (internal to
// tessera_core).
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "search/kernels/kernels.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/search.hpp"

namespace tessera::detail {

struct Backend {
    SimdLevel level;
    std::string_view name;  // as TESSERA_SIMD takes it and `tessera info` prints it
    bool (*supported)();    // by this CPU
    // The distance kernels its search calls (tests and benchmarks check them on their own).
    const kernels::Kernels& (*kernels)();
    std::unique_ptr<Searcher> (*make)(const Library& library, int threads);
    // Taken only when TESSERA_SIMD names it, never by default: a row not yet measured faster.
    bool opt_in = false;
};

// Best first: without TESSERA_SIMD the first supported row is used. The scalar row is last and
// always supported.
std::span<const Backend> backends();
const Backend& backend(SimdLevel level);

// The exact search (search_exact.cpp) on one kernel set. threads <= 0 means all cores. Full
// tiles go to the grouped search (grouped_search.hpp) in groups that admit at least
// grouped_min_candidates positions, where the kernel set has panel_distances; kGroupedNever
// keeps them all on the per-query scan.
std::unique_ptr<Searcher> exact_searcher_on(const Library& library, int threads,
                                            const kernels::Kernels& kernels,
                                            size_t grouped_min_candidates);

}  // namespace tessera::detail
