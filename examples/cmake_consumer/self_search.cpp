// tessera's installed libraries from another project: decode an image (tessera::io), cut its
// 8x8 tiles into a library, find each tile's nearest patch (tessera::core), which must be the
// tile itself at distance 0, and save the library for the tessera command to read.
// Usage: self_search IMAGE LIBRARY.tsr
#include <cstdint>
#include <cstdio>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/io/vips.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "tessera/search/search.hpp"

int main(int argc, char** argv) {
    using namespace tessera;
    if (argc != 3) {
        std::fprintf(stderr, "usage: self_search IMAGE LIBRARY.tsr\n");
        return 2;
    }
    try {
        io::initialize(argv[0]);
        const io::LoadedImage loaded = io::load_image(argv[1], Mode::Gray);

        LibraryParams params;
        params.tile = {8, 8};
        params.stride = {8, 8};
        params.mode = Mode::Gray;
        params.transforms = transforms_from({0}, false);
        LibraryBuilder builder(params, exact_search_data());
        builder.add_source(loaded.source, loaded.image.view());
        const Library library = builder.finish();

        // Every whole 8x8 tile of the image, packed one after another.
        const ImageView image = loaded.image.view();
        std::vector<uint8_t> tiles;
        for (int y = 0; y + 8 <= image.height; y += 8) {
            for (int x = 0; x + 8 <= image.width; x += 8) {
                for (int row = 0; row < 8; ++row) {
                    tiles.insert(tiles.end(), image.row(y + row) + x, image.row(y + row) + x + 8);
                }
            }
        }
        const size_t count = tiles.size() / 64;
        std::vector<Neighbor> nearest(count);
        make_exact_searcher(library)->search({tiles.data(), count, params.tile}, 1, nearest.data());
        size_t exact = 0;
        for (const Neighbor& n : nearest) exact += n.distance == 0;

        library.save(argv[2]);
        std::printf("patches %zu\ntiles %zu\nat distance 0 %zu\n", library.patch_count(), count,
                    exact);
        return exact == count ? 0 : 1;
    } catch (const Error& e) {
        std::fprintf(stderr, "self_search: %s\n", e.what());
        return 1;
    }
}
