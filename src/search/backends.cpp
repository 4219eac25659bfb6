#include "search/backends.hpp"

#include "search/grouped_search.hpp"
#include "tessera/core/error.hpp"

namespace tessera::detail {

namespace {

// No row takes the grouped search (grouped_search.hpp) yet: on the AVX-512 VNNI machine it was
// measured on (AMD Zen 5) the per-query scan was faster at every threshold, and the scalar panel
// kernel is only the reference. Tests reach it through exact_searcher_on.
template <const kernels::Kernels& (*kernels)()>
std::unique_ptr<Searcher> exact_searcher(const Library& library, int threads) {
    return exact_searcher_on(library, threads, kernels(), kGroupedNever);
}

bool avx512_supported() {
    // Its kernel set borrows the AVX2 filters.
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
}

bool avx2_supported() {
    return __builtin_cpu_supports("avx2");
}

bool always() {
    return true;
}

// New backends (AMX, a GPU) go in by speed, each with its own SimdLevel.
constexpr Backend kBackends[] = {
    {SimdLevel::Avx512, "avx512", avx512_supported, kernels::avx512_kernels,
     exact_searcher<kernels::avx512_kernels>},
    {SimdLevel::Avx2, "avx2", avx2_supported, kernels::avx2_kernels,
     exact_searcher<kernels::avx2_kernels>},
    {SimdLevel::Scalar, "scalar", always, kernels::scalar_kernels,
     exact_searcher<kernels::scalar_kernels>},
};

}  // namespace

std::span<const Backend> backends() {
    return kBackends;
}

const Backend& backend(SimdLevel level) {
    for (const Backend& b : kBackends) {
        if (b.level == level) return b;
    }
    TESSERA_ASSERT(false);
    return kBackends[0];
}

}  // namespace tessera::detail
