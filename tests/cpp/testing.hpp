// Helpers shared by the C++ tests: small images written by hand or drawn at random, and the
// bundled sample images decoded through the I/O layer.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tessera/error.hpp"
#include "tessera/image.hpp"
#include "tessera/library.hpp"
#include "tessera/search.hpp"

#ifdef TESSERA_TESTS_HAVE_IO
#include "tessera/image_io.hpp"
#endif

namespace tessera::testing {

// Every SIMD level this CPU runs: fast paths are compared with the oracle at each of them.
inline std::vector<SimdLevel> supported_levels() {
    std::vector<SimdLevel> levels;
    for (SimdLevel l : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512}) {
        if (simd_level_supported(l)) levels.push_back(l);
    }
    return levels;
}

// A width x height image of `channels` bytes per pixel, from row-major pixel values.
inline Image make_image(int width, int height, int channels, std::vector<uint8_t> pixels) {
    Image image(width, height, channels);
    image.pixels = std::move(pixels);
    return image;
}

// Uniform random pixels in [0, levels): few levels give many equal patches and ties.
inline Image random_image(int width, int height, int channels, std::mt19937& rng,
                          int levels = 256) {
    Image image(width, height, channels);
    std::uniform_int_distribution<int> value(0, levels - 1);
    for (uint8_t& p : image.pixels) p = uint8_t(value(rng));
    return image;
}

// The window of `image` at (x, y) of the given size, as its own image.
inline Image crop(const Image& image, int x, int y, int width, int height) {
    TESSERA_ASSERT(x >= 0 && y >= 0 && x + width <= image.width && y + height <= image.height);
    Image out(width, height, image.channels);
    const ImageView view = image.view();
    for (int row = 0; row < height; ++row) {
        const uint8_t* src = view.row(y + row) + ptrdiff_t(x) * image.channels;
        std::copy(src, src + out.stride(), out.row(row));
    }
    return out;
}

// Builds an in-memory library from images; sources are named "s0", "s1", ...
inline Library build_library(const LibraryParams& params,
                             std::initializer_list<const Image*> images) {
    LibraryBuilder builder(params);
    int i = 0;
    for (const Image* image : images) {
        SourceInfo info;
        info.path = "s";  // built in two steps: GCC 12 warns falsely (-Wrestrict) on "s" + string
        info.path += std::to_string(i++);
        builder.add_source(info, image->view());
    }
    return builder.finish();
}

inline std::string data_path(const std::string& name) {
    return (std::filesystem::path(TESSERA_DATA_DIR) / name).string();
}

#ifdef TESSERA_TESTS_HAVE_IO
// A bundled sample image decoded in `mode`, as the CLI decodes it.
inline Image load_data(const std::string& name, Mode mode) {
    static const bool started = (io::initialize("tessera_tests"), true);
    (void)started;
    return io::load_image(data_path(name), mode).image;
}
#endif

// A scratch directory removed on destruction.
class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "tessera-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

}  // namespace tessera::testing
