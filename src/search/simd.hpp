// The kernel set of a SIMD level, for patch_distances, tests and benchmarks (internal to
// tessera_core).
#pragma once

#include "search/kernels/kernels.hpp"
#include "tessera/search/search.hpp"

namespace tessera::detail {

// The kernels of `level`; throws Error when the CPU does not support it.
const kernels::Kernels& kernels_for(SimdLevel level);

}  // namespace tessera::detail
