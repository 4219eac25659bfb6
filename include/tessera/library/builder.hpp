// Building a library in memory: sources are cut into patches one by one, and finish() computes
// the search sections and hands over an immutable Library.
#pragma once

#include <cstddef>
#include <memory>

#include "tessera/core/image.hpp"
#include "tessera/library/library.hpp"

namespace tessera {

class LibraryBuilder {
  public:
    // Validates params; `search_data` (which must outlive the libraries built) computes the
    // search sections at finish().
    LibraryBuilder(LibraryParams params, const SearchData& search_data);

    // Cuts every window of `image` (in the library's mode) under each transform. Returns the
    // number of patches added, 0 when the image is smaller than a tile. Throws Error, saying how
    // much memory the library needs and how to make it smaller, when the patches do not fit.
    size_t add_source(SourceInfo source, ImageView image);

    const LibraryParams& params() const { return params_; }
    size_t patch_count() const;
    size_t source_count() const;

    // Finishes the library; the builder is left empty. Throws Error if no patch was added, or
    // (as add_source) when the search sections do not fit in memory.
    Library finish();

  private:
    struct Buffers;
    LibraryParams params_;
    const SearchData* search_data_;
    std::shared_ptr<Buffers> buffers_;
};

}  // namespace tessera
