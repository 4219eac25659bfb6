// The exact search's index as a library's search data: pass it to LibraryBuilder and
// Library::open so that the library carries what make_exact_searcher needs.
#pragma once

#include "tessera/library/search_data.hpp"

namespace tessera {

// The one instance, alive for the whole program.
const SearchData& exact_search_data();

}  // namespace tessera
