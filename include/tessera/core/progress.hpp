// Progress reports of long jobs (building a library, matching a mosaic's tiles).
#pragma once

#include <cstddef>
#include <functional>

namespace tessera {

// Called with 0 first, then as work is done, with the amount done so far and the total.
using Progress = std::function<void(size_t done, size_t total)>;

}  // namespace tessera
