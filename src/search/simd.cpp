#include <cstdlib>
#include <string>

#include "search/kernels/kernels.hpp"
#include "search/simd.hpp"
#include "tessera/core/error.hpp"

namespace tessera {

std::string_view simd_level_name(SimdLevel level) {
    switch (level) {
        case SimdLevel::Scalar:
            return "scalar";
        case SimdLevel::Avx2:
            return "avx2";
        case SimdLevel::Avx512:
            return "avx512";
    }
    TESSERA_ASSERT(false);
    return {};
}

bool simd_level_supported(SimdLevel level) {
    switch (level) {
        case SimdLevel::Scalar:
            return true;
        case SimdLevel::Avx2:
            return __builtin_cpu_supports("avx2");
        case SimdLevel::Avx512:
            // Its kernel set borrows the AVX2 filters.
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512vnni");
    }
    return false;
}

namespace {

SimdLevel choose_level() {
    const char* forced = std::getenv("TESSERA_SIMD");
    if (forced == nullptr || *forced == '\0') {
        for (SimdLevel level : {SimdLevel::Avx512, SimdLevel::Avx2}) {
            if (simd_level_supported(level)) return level;
        }
        return SimdLevel::Scalar;
    }
    for (SimdLevel level : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512}) {
        if (simd_level_name(level) != forced) continue;
        if (!simd_level_supported(level)) {
            std::string supported = "scalar";
            for (SimdLevel l : {SimdLevel::Avx2, SimdLevel::Avx512}) {
                if (simd_level_supported(l)) supported += ", " + std::string(simd_level_name(l));
            }
            throw Error("TESSERA_SIMD=" + std::string(forced) +
                        ": this CPU does not support that level; it supports " + supported +
                        " (or unset TESSERA_SIMD)");
        }
        return level;
    }
    throw Error("TESSERA_SIMD=" + std::string(forced) +
                " is not a SIMD level; use scalar, avx2 or avx512, or unset TESSERA_SIMD");
}

}  // namespace

SimdLevel default_simd_level() {
    // Chosen once; a bad TESSERA_SIMD throws on every call, so every caller reports it.
    static const struct Choice {
        SimdLevel level = SimdLevel::Scalar;
        std::string error;
    } choice = [] {
        Choice c;
        try {
            c.level = choose_level();
        } catch (const Error& e) {
            c.error = e.what();
        }
        return c;
    }();
    if (!choice.error.empty()) throw Error(choice.error);
    return choice.level;
}

std::string_view simd_level() {
    return simd_level_name(default_simd_level());
}

namespace detail {

const kernels::Kernels& kernels_for(SimdLevel level) {
    if (!simd_level_supported(level)) {
        throw Error("SIMD level " + std::string(simd_level_name(level)) +
                    " is not supported by this CPU");
    }
    switch (level) {
        case SimdLevel::Avx512:
            return *kernels::avx512_kernels();
        case SimdLevel::Avx2:
            return *kernels::avx2_kernels();
        case SimdLevel::Scalar:
            break;
    }
    return kernels::scalar_kernels();
}

}  // namespace detail

}  // namespace tessera
