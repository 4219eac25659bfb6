#include "tessera/mosaic/tile_source.hpp"

namespace tessera {

Size LibraryTiles::tile_size() const {
    return library_.params().tile;
}

int LibraryTiles::channels() const {
    return library_.params().channels();
}

size_t LibraryTiles::size() const {
    return library_.patch_count();
}

const uint8_t* LibraryTiles::pixels(uint32_t id) const {
    return library_.patch(id);
}

}  // namespace tessera
