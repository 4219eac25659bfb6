#include "tessera/core/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace tessera {

void assertion_failed(const char* expression, const char* file, int line) {
    std::fprintf(stderr, "tessera: internal error: %s failed at %s:%d; please report this bug\n",
                 expression, file, line);
    std::abort();
}

}  // namespace tessera
