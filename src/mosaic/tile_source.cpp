#include "tessera/mosaic/tile_source.hpp"

namespace tessera {

Size LibraryTiles::tile_size() const {
    return at_match_size_ ? library_.params().tile : library_.params().render_size();
}

int LibraryTiles::channels() const {
    return library_.params().channels();
}

size_t LibraryTiles::size() const {
    return library_.patch_count();
}

const uint8_t* LibraryTiles::pixels(uint32_t id) const {
    return at_match_size_ ? library_.patch(id) : library_.render_patch(id);
}

}  // namespace tessera
