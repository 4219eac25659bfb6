// Where rendering reads a placed tile's pixels: at the size the tiles are rendered, which may
// differ from the size they were matched at (a library of whole photos, rendered larger).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tessera/core/geometry.hpp"
#include "tessera/library/library.hpp"

namespace tessera {

class TileSource {
  public:
    virtual ~TileSource() = default;
    virtual Size tile_size() const = 0;  // the rendered size of one tile
    virtual int channels() const = 0;
    virtual size_t size() const = 0;  // number of tiles (ids 0 .. size()-1)
    // Tightly packed tile_size() pixels of tile `id`.
    virtual const uint8_t* pixels(uint32_t id) const = 0;
};

// The library's own patches, at its render size (the size they were matched at for a window
// library), or at the match size when `at_match_size`.
class LibraryTiles final : public TileSource {
  public:
    explicit LibraryTiles(const Library& library, bool at_match_size = false)
        : library_(library), at_match_size_(at_match_size) {}
    Size tile_size() const override;
    int channels() const override;
    size_t size() const override;
    const uint8_t* pixels(uint32_t id) const override;

  private:
    Library library_;
    bool at_match_size_;
};

}  // namespace tessera
