#include "search/backends.hpp"

#include <asm/prctl.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "search/grouped_search.hpp"
#include "tessera/core/error.hpp"

namespace tessera::detail {

namespace {

// Only the amx row takes the grouped search (grouped_search.hpp): on the AVX-512 VNNI machine it
// was measured on (AMD Zen 5) the per-query scan was faster at every threshold, with the AVX-512
// and with the AVX2 panel kernel (docs/performance.md), and the scalar panel kernel is only the
// reference. Tests reach it on every kernel set through exact_searcher_on.
template <const kernels::Kernels& (*kernels)()>
std::unique_ptr<Searcher> exact_searcher(const Library& library, int threads) {
    return exact_searcher_on(library, threads, kernels(), kGroupedNever);
}

// Groups of 32 queries whose bounds admit at least this many positions take the AMX panel
// kernel; smaller ones (smooth tiles) the per-query scan. From the cost model in
// docs/performance.md, not measured on an AMX machine.
constexpr size_t kAmxGroupedMinCandidates = 65536;

std::unique_ptr<Searcher> amx_searcher(const Library& library, int threads) {
    // No group admits more positions than the library has: spare it the grouped search's layout.
    const size_t min_candidates =
        library.patch_count() < kAmxGroupedMinCandidates ? kGroupedNever : kAmxGroupedMinCandidates;
    return exact_searcher_on(library, threads, kernels::amx_kernels(), min_candidates);
}

bool avx512_supported() {
    // Its kernel set borrows the AVX2 filters.
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
}

// The process's permission to use the AMX tile data state (Linux 5.16 and later): XTILEDATA is
// state component 18, granted once for every thread of the process.
constexpr unsigned long kXfeatureXtiledata = 18;

bool amx_supported() {
    static const bool supported = [] {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        // CPUID leaf 7: EDX bit 24 AMX-TILE, bit 25 AMX-INT8. The set borrows the AVX-512 one.
        if (!avx512_supported() || !__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) ||
            (edx >> 24 & 3) != 3) {
            return false;
        }
        // Refused by kernels without AMX support (or where the tile state is not offered): the
        // first tile instruction would then fault, so the level is unsupported.
        if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, kXfeatureXtiledata) != 0) return false;
        unsigned long granted = 0;
        return syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &granted) == 0 &&
               (granted >> kXfeatureXtiledata & 1) != 0;
    }();
    return supported;
}

bool avx2_supported() {
    return __builtin_cpu_supports("avx2");
}

bool always() {
    return true;
}

// New backends (a GPU) go in by speed, each with its own SimdLevel; the default is the first
// supported row that is not opt-in.
constexpr Backend kBackends[] = {
    // Opt-in until measured on AMX hardware: docs/performance.md's cost model leaves it no faster
    // than the avx512 row's per-query scan on textured tiles.
    {SimdLevel::Amx, "amx", amx_supported, kernels::amx_kernels, amx_searcher, true},
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
