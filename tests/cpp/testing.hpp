// Helpers shared by the C++ tests: small images written by hand, drawn at random or cut from the
// bundled sample images, libraries built from them, and scratch directories unique to each
// process (ctest -j and the sanitizer job run many test processes at once).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tessera/core/error.hpp"
#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "tessera/search/search.hpp"

#ifdef TESSERA_TESTS_HAVE_IO
#include "tessera/core/hash.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/io/vips.hpp"
#endif

namespace tessera::testing {

// Every SIMD level this CPU runs: fast paths are compared with the oracle at each of them.
inline std::vector<SimdLevel> supported_levels() {
    std::vector<SimdLevel> levels;
    for (SimdLevel l : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512, SimdLevel::Amx}) {
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

// Every pixel `value`: every patch of it equal.
inline Image flat_image(int width, int height, int channels, uint8_t value) {
    Image image(width, height, channels);
    std::fill(image.pixels.begin(), image.pixels.end(), value);
    return image;
}

// `image` with uniform noise in [-amount, amount] added to each byte, clamped: many close
// candidates for each tile.
inline Image perturbed(Image image, std::mt19937& rng, int amount) {
    std::uniform_int_distribution<int> noise(-amount, amount);
    for (uint8_t& p : image.pixels) p = uint8_t(std::clamp(p + noise(rng), 0, 255));
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
inline Library build_library(const LibraryParams& params, const std::vector<const Image*>& images) {
    LibraryBuilder builder(params, exact_search_data());
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
// Starts libvips once per process, before a test's first call into the io layer.
inline void start_io() {
    static const bool started = (io::initialize("tessera_tests"), true);
    (void)started;
}

// A bundled sample image decoded in `mode`, as the CLI decodes it; each is decoded once per
// process.
inline const Image& load_data(const std::string& name, Mode mode) {
    start_io();
    static std::map<std::pair<std::string, Mode>, Image> decoded;
    auto [it, added] = decoded.try_emplace({name, mode});
    if (added) it->second = io::load_image(data_path(name), mode).image;
    return it->second;
}
#endif

// A whole file's bytes, and a file written with exactly `bytes`.
inline std::vector<uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
inline void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// The names in a directory, sorted.
inline std::vector<std::string> file_names(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

// The message of the Error that `fn` throws, or "" when it throws none.
template <typename Fn>
std::string error_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// Expects `error` (an Error's message, as error_of gives it) to be one line holding every one of
// `parts`.
inline void expect_message(const std::string& error, const std::vector<std::string>& parts) {
    ASSERT_NE(error, "") << "no error thrown";
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    for (const std::string& part : parts) {
        EXPECT_NE(error.find(part), std::string::npos) << "'" << part << "' not in: " << error;
    }
}

// A library file's header size (a field at byte 12; the layout is in src/library/file_format.hpp).
inline uint32_t header_bytes(const std::vector<uint8_t>& library) {
    uint32_t n = 0;
    std::memcpy(&n, library.data() + 12, sizeof n);
    return n;
}

// Stores `value` at `at` in a library file's header and recomputes the header checksum (its
// last 8 bytes), as a buggy or hostile writer would: the field itself then gets checked.
template <typename T>
void set_sealed(std::vector<uint8_t>& library, size_t at, T value) {
    std::memcpy(library.data() + at, &value, sizeof value);
    const uint32_t n = header_bytes(library);
    const uint64_t checksum = hash_bytes(library.data(), n - 8);
    std::memcpy(library.data() + n - 8, &checksum, sizeof checksum);
}

// Kinds of test image, each a hard case for an exact search.
enum class Pattern {
    Noise,     // uniform random bytes
    Constant,  // every byte 77
    Black,
    White,
    Repeated,  // a 3x2 pattern repeated: windows fall on few distinct contents (ties)
    Smooth,    // a gradient with a little noise: many close candidates
    Real,      // a crop of a bundled photograph (only with the I/O layer)
};

inline const char* pattern_name(Pattern p) {
    static const char* const names[] = {"noise",    "constant", "black", "white",
                                        "repeated", "smooth",   "real"};
    return names[int(p)];
}

// A width x height image of `pattern` in `mode`; `seed` picks the noise, the repeated pattern's
// phase, the gradient's direction and the photograph and crop.
inline Image pattern_image(Pattern pattern, Mode mode, int width, int height, int seed) {
    const int c = channels(mode);
    std::mt19937 rng{uint32_t(seed)};
    switch (pattern) {
        case Pattern::Noise:
            return random_image(width, height, c, rng);
        case Pattern::Constant:
            return flat_image(width, height, c, 77);
        case Pattern::Black:
            return flat_image(width, height, c, 0);
        case Pattern::White:
            return flat_image(width, height, c, 255);
        case Pattern::Repeated:
        case Pattern::Smooth:
            break;
        case Pattern::Real: {
#ifdef TESSERA_TESTS_HAVE_IO
            const char* photos[] = {"astronaut.png", "coffee.png", "rocket.jpg", "brick.png"};
            const Image& photo = load_data(photos[seed % 4], mode);
            return crop(photo, (seed * 37) % (photo.width - width),
                        (seed * 53) % (photo.height - height), width, height);
#else
            TESSERA_ASSERT(!"Pattern::Real needs the I/O layer");
#endif
        }
    }
    Image image(width, height, c);
    std::uniform_int_distribution<int> small(-6, 6);
    for (int y = 0; y < height; ++y) {
        uint8_t* row = image.row(y);
        for (int i = 0; i < width * c; ++i) {
            const int x = i / c, ch = i % c;
            row[i] = uint8_t(pattern == Pattern::Repeated
                                 ? ((x % 3) * 70 + (y % 2) * 40 + ch * 20 + seed) % 256
                                 : std::clamp(128 + (x - width / 2) * 3 +
                                                  (y - height / 2) * 2 * (seed % 3 - 1) + ch * 10 +
                                                  small(rng),
                                              0, 255));
        }
    }
    return image;
}

// The windows of `image` on a grid of `window`-sized steps from the top left, row-major, as one
// buffer of queries: at most `limit` of them.
inline std::vector<uint8_t> grid_queries(const Image& image, Size window, size_t limit = SIZE_MAX) {
    std::vector<uint8_t> out;
    size_t count = 0;
    for (Point o : window_origins(image.size(), window, window)) {
        if (count++ == limit) break;
        const Image q = crop(image, o.x, o.y, window.width, window.height);
        out.insert(out.end(), q.pixels.begin(), q.pixels.end());
    }
    return out;
}

// Expects the exact searcher at every supported SIMD level on 1 and 2 threads to give the
// oracle's k nearest (ids and distances) for every query of `batch`.
inline void expect_k_nearest_as_oracle(const Library& lib, const QueryBatch& batch, int k,
                                       const std::string& what) {
    ASSERT_GT(batch.count, 0u) << what;  // no queries would compare nothing
    std::vector<Neighbor> want(batch.count * size_t(k)), got(want.size());
    make_bruteforce_searcher(lib)->search(batch, k, want.data());
    for (SimdLevel level : supported_levels()) {
        for (int threads : {1, 2}) {
            make_exact_searcher(lib, threads, level)->search(batch, k, got.data());
            EXPECT_EQ(got, want) << what << " k " << k << " window " << batch.window.width << "x"
                                 << batch.window.height << " " << simd_level_name(level)
                                 << " threads " << threads;
        }
    }
}

// A scratch directory removed on destruction, unique to this process and this test:
// <tmp>/tessera-<test name>-XXXXXX. `in_memory` puts it on tmpfs (/dev/shm) where there is one,
// for tests that write many files.
class TempDir {
  public:
    explicit TempDir(bool in_memory = false) {
        const std::filesystem::path base = in_memory && ::access("/dev/shm", W_OK) == 0
                                               ? std::filesystem::path("/dev/shm")
                                               : std::filesystem::temp_directory_path();
        std::string name = "tessera-";
        if (const auto* test = ::testing::UnitTest::GetInstance()->current_test_info()) {
            name += std::string(test->test_suite_name()) + "." + test->name() + "-";
        }
        std::replace(name.begin(), name.end(), '/', '_');  // parameterized test names
        std::string pattern = (base / (name + "XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

}  // namespace tessera::testing
