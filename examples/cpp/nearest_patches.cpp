// tessera as a C++ library, without image codecs: cut a patch library from pixels in memory,
// save it, open it again, and find the exact nearest patches of a few query tiles, checked
// against the brute-force oracle. Run: build/examples/cpp/nearest_patches [library.tsr]
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "tessera/search/search.hpp"

int main(int argc, char** argv) {
    using namespace tessera;
    const std::string path = argc > 1 ? argv[1] : "nearest_patches_example.tsr";
    try {
        // A 96x64 gray "photograph": smooth gradients plus noise, as strided uint8 pixels.
        std::mt19937 random(7);
        Image source(96, 64, 1);
        for (int y = 0; y < source.height; ++y) {
            for (int x = 0; x < source.width; ++x) {
                source.row(y)[x] = uint8_t((x * 2 + y * 3 + random() % 16) % 256);
            }
        }

        // Every 8x8 window, 4 pixels apart, under all four rotations.
        LibraryParams params;
        params.tile = {8, 8};
        params.stride = {4, 4};
        params.mode = Mode::Gray;
        params.transforms = transforms_from({0, 90, 180, 270}, false);
        LibraryBuilder builder(params, exact_search_data());
        builder.add_source({.path = "gradient"}, source.view());
        builder.finish().save(path);

        // Opened again: memory-mapped, its checksum verified once before searching.
        const Library library = Library::open(path, exact_search_data());
        library.verify();
        std::printf("%s: %zu patches of 8x8 from %zu source\n", path.c_str(), library.patch_count(),
                    library.sources().size());

        // Five query tiles cut off the library's grid (so no patch is an exact copy), tightly
        // packed one after another; the 3 nearest patches of each.
        constexpr size_t kQueries = 5;
        constexpr int kNearest = 3;
        std::vector<uint8_t> queries;
        for (size_t q = 0; q < kQueries; ++q) {
            const int x = 2 + int(q) * 17, y = 3 + int(q) * 9;
            for (int row = 0; row < params.tile.height; ++row) {
                const uint8_t* pixels = source.view().row(y + row) + x;
                queries.insert(queries.end(), pixels, pixels + params.tile.width);
            }
        }
        const QueryBatch batch{queries.data(), kQueries, params.tile};
        std::vector<Neighbor> fast(kQueries * kNearest), oracle(kQueries * kNearest);
        make_exact_searcher(library)->search(batch, kNearest, fast.data());
        make_bruteforce_searcher(library)->search(batch, kNearest, oracle.data());

        for (size_t q = 0; q < kQueries; ++q) {
            std::printf("query %zu:", q);
            for (int j = 0; j < kNearest; ++j) {
                const Neighbor& n = fast[q * kNearest + j];
                const PatchOrigin& o = library.origins()[n.id];
                std::printf("  patch %u (x %u, y %u, %s) at %llu", n.id, o.x, o.y,
                            std::string(transform_name(Transform(o.transform))).c_str(),
                            static_cast<unsigned long long>(n.distance));
            }
            std::printf("\n");
        }
        if (fast != oracle) {
            std::fprintf(stderr, "nearest_patches: the exact search disagrees with the oracle\n");
            return 1;
        }
        std::printf("exact search agrees with the brute-force oracle (simd: %s)\n",
                    std::string(simd_level()).c_str());
        std::remove(path.c_str());
        return 0;
    } catch (const Error& e) {
        std::fprintf(stderr, "nearest_patches: %s\n", e.what());
        return 1;
    }
}
