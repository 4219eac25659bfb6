// The SIMD level: the public names of the backend table's rows, and the run-time choice of one.
#include "search/simd.hpp"

#include <cstdlib>
#include <string>

#include "search/backends.hpp"
#include "tessera/core/error.hpp"

namespace tessera {

std::string_view simd_level_name(SimdLevel level) {
    return detail::backend(level).name;
}

bool simd_level_supported(SimdLevel level) {
    return detail::backend(level).supported();
}

namespace {

// The table's names, slowest first: "scalar, avx2 or avx512", or with `only_supported` those
// this CPU runs, "scalar, avx2".
std::string level_names(bool only_supported, std::string_view last_separator) {
    const auto rows = detail::backends();
    std::string names;
    for (auto row = rows.rbegin(); row != rows.rend(); ++row) {
        if (only_supported && !row->supported()) continue;
        if (!names.empty()) names += row + 1 == rows.rend() ? last_separator : ", ";
        names += row->name;
    }
    return names;
}

SimdLevel choose_level() {
    const char* forced = std::getenv("TESSERA_SIMD");
    if (forced == nullptr || *forced == '\0') {
        for (const detail::Backend& b : detail::backends()) {
            if (!b.opt_in && b.supported()) return b.level;
        }
        TESSERA_ASSERT(false);  // the scalar row always is
    }
    for (const detail::Backend& b : detail::backends()) {
        if (b.name != forced) continue;
        if (!b.supported()) {
            // AMX also needs Linux to grant the tile state (backends.cpp).
            const std::string who =
                b.level == SimdLevel::Amx ? "this CPU or its Linux kernel" : "this CPU";
            throw Error("TESSERA_SIMD=" + std::string(forced) + ": " + who +
                        " does not support that level; it supports " + level_names(true, ", ") +
                        " (or unset TESSERA_SIMD)");
        }
        return b.level;
    }
    throw Error("TESSERA_SIMD=" + std::string(forced) + " is not a SIMD level; use " +
                level_names(false, " or ") + ", or unset TESSERA_SIMD");
}

// The row of `level`; throws Error when the CPU does not support it.
const detail::Backend& supported_backend(SimdLevel level) {
    const detail::Backend& b = detail::backend(level);
    if (!b.supported()) {
        throw Error("SIMD level " + std::string(b.name) + " is not supported by this CPU");
    }
    return b;
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

std::unique_ptr<Searcher> make_exact_searcher(const Library& library, int threads) {
    return make_exact_searcher(library, threads, default_simd_level());
}

std::unique_ptr<Searcher> make_exact_searcher(const Library& library, int threads,
                                              SimdLevel level) {
    return supported_backend(level).make(library, threads);
}

namespace detail {

const kernels::Kernels& kernels_for(SimdLevel level) {
    return supported_backend(level).kernels();
}

}  // namespace detail

}  // namespace tessera
