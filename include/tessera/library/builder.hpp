// Building a library in memory: sources are cut into patches one by one, and finish() computes
// the search sections and hands over an immutable Library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tessera/core/image.hpp"
#include "tessera/library/library.hpp"

namespace tessera {

// Where the grid of windows lies. Source (the default): on each source, every window then
// transformed. TransformedSource: on each source as transformed whole, from its top-left corner,
// as a script does that rotates whole images (numpy.rot90) and then cuts them. The patch sets
// differ when a source side minus the tile is not a multiple of the stride. Either way a patch's
// origin is the window's position in the source as stored, and the patch is that window under its
// transform.
enum class WindowGrid { Source, TransformedSource };

class LibraryBuilder {
  public:
    // Validates params; `search_data` (which must outlive the libraries built) computes the
    // search sections at finish().
    LibraryBuilder(LibraryParams params, const SearchData& search_data,
                   WindowGrid grid = WindowGrid::Source);

    // Window libraries: cuts every window of `image` (in the library's mode) under each transform,
    // the windows on the grid `grid` says, transform by transform, each in row-major order. Returns
    // the number of patches added, 0 when the image is smaller than a tile. Throws Error, saying
    // how much memory the library needs and how to make it smaller, when the patches do not fit.
    size_t add_source(SourceInfo source, ImageView image);

    // Whole libraries: adds one photo of `photo` pixels (as decoded, EXIF orientation applied),
    // already resampled to the tile size (`tile`) and, when the library renders larger, to the
    // render size (`render`; else ignored), in the library's mode: one patch per transform, each
    // with origin (0, 0). Returns the number added. Throws Error as add_source does.
    size_t add_whole(SourceInfo source, Size photo, ImageView tile, ImageView render);

    // What add_source would add for an image of this size, and about how big the file of a
    // library of `patch_count` patches is (its source records left out): a build's size known
    // from the images' headers, before any is decoded.
    uint64_t patches_from(Size image) const;
    uint64_t file_bytes_for(uint64_t patch_count) const;

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
    WindowGrid grid_;
    std::shared_ptr<Buffers> buffers_;
};

}  // namespace tessera
