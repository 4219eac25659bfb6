#include "tessera/core/error.hpp"

#include <cstdio>
#include <cstdlib>

#include "tessera/core/file.hpp"

namespace tessera {

void assertion_failed(const char* expression, const char* file, int line) {
    // Zeros standing in for a file truncated while mapped can break an invariant: not a bug.
    exit_if_a_mapped_file_faulted();
    std::fprintf(stderr, "tessera: internal error: %s failed at %s:%d; please report this bug\n",
                 expression, file, line);
    std::abort();
}

}  // namespace tessera
