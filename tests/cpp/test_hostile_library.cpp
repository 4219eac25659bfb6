// Hostile library files and failing writes: every damaged or foreign file is refused with one
// line naming it and the problem (or, for data bytes, by verify()), opening never reads out of
// bounds, and an interrupted or failed write leaves neither the final file nor a temporary.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "tessera/search/search.hpp"
#include "testing.hpp"

namespace fs = std::filesystem;
using namespace tessera;
using tessera::testing::error_of;
using tessera::testing::file_names;
using tessera::testing::read_file;
using tessera::testing::set_sealed;
using tessera::testing::write_file;

namespace {

Image noise_image(int width, int height, int channels, uint32_t seed) {
    std::mt19937 rng(seed);
    return tessera::testing::random_image(width, height, channels, rng);
}

// RGB, tile and stride 4x4 by default, Rot0 and Rot180, sources a.png (24x20) and b.png (9x13).
Library small_library(Size tile = {4, 4}) {
    LibraryParams params;
    params.tile = tile;
    params.stride = tile;
    params.transforms = {Transform::Rot0, Transform::Rot180};
    LibraryBuilder builder(params, exact_search_data());
    Image a = noise_image(24, 20, 3, 1);
    Image b = noise_image(9, 13, 3, 2);
    builder.add_source({"a.png", 100, 7, 0, 0}, a.view());
    builder.add_source({"b.png", 200, 8, 0, 0}, b.view());
    return builder.finish();
}

// Header fields the tests read or rewrite (the layout is in src/library/file_format.hpp): the
// fields up to byte 64 are at fixed places, then (offset, bytes) pairs for the sections, in file
// order sources, names, origins, pixels, render pixels, ...; the header's last 8 bytes are its
// checksum.
constexpr size_t kMagicBytes = 8, kVersionAt = 8, kTileWidthAt = 16, kStrideXAt = 24,
                 kChannelsAt = 32, kTransformMaskAt = 36, kPatchCountAt = 40, kSourceCountAt = 48,
                 kSectionsAt = 64;
enum Section { kSources, kNames, kOrigins, kPixels };
constexpr size_t section_offset_at(Section s) {
    return kSectionsAt + 16 * size_t(s);
}
constexpr size_t section_bytes_at(Section s) {
    return section_offset_at(s) + 8;
}

uint64_t read_u64(const std::vector<uint8_t>& bytes, size_t at) {
    uint64_t value = 0;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    return value;
}

// Expects `error` to be one line that starts with `file`: and holds every one of `parts`.
void expect_message(const std::string& error, const std::string& file,
                    const std::vector<std::string>& parts) {
    EXPECT_EQ(error.rfind(file + ": ", 0), 0u) << error;
    tessera::testing::expect_message(error, parts);
}

class HostileLibrary : public ::testing::Test {
  protected:
    void SetUp() override {
        // A death test's child is forked where the test stands, so that it writes in this
        // test's directory, which the test then checks; a re-executed child ("threadsafe") would
        // run SetUp again and write in a directory of its own, left behind.
        GTEST_FLAG_SET(death_test_style, "fast");
        small_library().save(good_.string());
        bytes_ = read_file(good_);
        header_bytes_ = tessera::testing::header_bytes(bytes_);
        ASSERT_LT(header_bytes_, bytes_.size());
    }

    // Writes `bytes` as bad.tsr and returns the error opening (and verifying) it gives.
    std::string open_error(const std::vector<uint8_t>& bytes, bool verify = false) {
        write_file(bad_, bytes);
        return error_of([&] {
            Library lib = Library::open(bad_.string(), exact_search_data());
            if (verify) lib.verify();
        });
    }

    // Expects opening (and verifying) `bytes` to fail with one line naming bad.tsr and holding
    // every one of `parts`.
    void expect_refused(const std::vector<uint8_t>& bytes, const std::vector<std::string>& parts,
                        bool verify = false) {
        expect_message(open_error(bytes, verify), bad_.string(), parts);
    }

    // Thousands of small files are written: in memory (tmpfs) where there is one.
    const tessera::testing::TempDir temp_{true};
    const fs::path dir_ = temp_.path(), good_ = dir_ / "good.tsr", bad_ = dir_ / "bad.tsr";
    std::vector<uint8_t> bytes_;
    size_t header_bytes_ = 0;
};

}  // namespace

TEST_F(HostileLibrary, GoodFileOpensAndVerifies) {
    EXPECT_EQ(open_error(bytes_, true), "");
    EXPECT_EQ(Library::open(bad_.string(), exact_search_data()).patch_count(),
              small_library().patch_count());
}

TEST_F(HostileLibrary, MissingFileAndDirectory) {
    const std::string none = (dir_ / "none.tsr").string();
    expect_message(error_of([&] { Library::open(none, exact_search_data()); }), none,
                   {"cannot open", "No such file"});
    expect_message(error_of([&] { Library::open(dir_.string(), exact_search_data()); }),
                   dir_.string(), {"not a regular file"});
}

// Every shorter file is refused, with the message for where it ends; so are longer ones.
TEST_F(HostileLibrary, EveryTruncationIsRefused) {
    const std::string size = std::to_string(bytes_.size());
    for (size_t n = 0; n < bytes_.size(); ++n) {
        SCOPED_TRACE("length " + std::to_string(n));
        const std::vector<uint8_t> cut(bytes_.begin(), bytes_.begin() + ptrdiff_t(n));
        const std::string length = std::to_string(n);
        if (n == 0) {
            EXPECT_EQ(open_error(cut), bad_.string() + ": is empty, not a tessera library");
        } else if (n < kMagicBytes) {
            expect_refused(cut, {"is not a tessera library"});
        } else if (n < header_bytes_) {
            expect_refused(cut, {"is truncated (" + length + " bytes, shorter than the header)"});
        } else {
            expect_refused(cut, {"is truncated (" + length + " of " + size + " bytes)"});
        }
    }
    for (size_t extra : {1, 3}) {
        std::vector<uint8_t> longer = bytes_;
        longer.insert(longer.end(), extra, 0);
        expect_refused(longer, {"has " + std::to_string(extra) + " unexpected bytes at the end"});
    }
}

// No single flipped bit goes unnoticed, and none crashes or reads out of bounds. Header bytes
// are caught by open() (the magic, the version, then the header checksum); data bytes by open()'s
// checks of the sections that index others, or by verify(). open() does not read the pixels.
TEST_F(HostileLibrary, EveryFlippedByteIsDetected) {
    const uint64_t pixels_at = read_u64(bytes_, section_offset_at(kPixels));
    const uint64_t pixels_end = pixels_at + read_u64(bytes_, section_bytes_at(kPixels));
    ASSERT_GT(pixels_at, header_bytes_);
    ASSERT_LE(pixels_end, bytes_.size());
    for (size_t i = 0; i < bytes_.size(); ++i) {
        for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80)}) {
            SCOPED_TRACE("byte " + std::to_string(i) + " mask " + std::to_string(mask));
            std::vector<uint8_t> bad = bytes_;
            bad[i] ^= mask;
            if (i < kMagicBytes) {
                expect_refused(bad, {"is not a tessera library"});
            } else if (i < kVersionAt + 4) {
                expect_refused(bad, {"library format", "this tessera reads format " +
                                                           std::to_string(kLibraryFormatVersion)});
            } else if (i < header_bytes_) {
                expect_refused(bad, {"header is corrupt (checksum mismatch)"});
            } else if (i < pixels_at || i >= pixels_end) {
                const std::string error = open_error(bad);
                if (error.empty()) {
                    expect_refused(bad, {"data is corrupt (checksum mismatch)", "rebuild"}, true);
                } else {
                    expect_message(error, bad_.string(), {});
                }
            } else {
                ASSERT_EQ(open_error(bad), "") << "open() read the pixels";
                expect_refused(bad, {"data is corrupt (checksum mismatch)", "rebuild"}, true);
            }
        }
    }
}

TEST_F(HostileLibrary, ForeignFiles) {
    const std::string not_library = "is not a tessera library";
    expect_refused({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, {not_library});
    expect_refused(read_file(tessera::testing::data_path("horse.png")), {not_library});
    expect_refused(std::vector<uint8_t>(10, 'x'), {not_library});
    expect_refused(std::vector<uint8_t>(4096, 'a'), {not_library});
    expect_refused(std::vector<uint8_t>(bytes_.size(), 0), {not_library});
}

// Every older format (1 was before the search index, 2 before the colour channel section) asks
// for a rebuild, a newer one for an upgrade; the version alone decides, before the checksum.
TEST_F(HostileLibrary, OtherFormatVersions) {
    const std::string ours = "this tessera reads format " + std::to_string(kLibraryFormatVersion);
    for (uint32_t version = 0; version < kLibraryFormatVersion; ++version) {
        std::vector<uint8_t> old = bytes_;
        std::memcpy(old.data() + kVersionAt, &version, sizeof version);
        expect_refused(old, {"has library format " + std::to_string(version), ours,
                             "rebuild it with tessera build"});
    }
    std::vector<uint8_t> bad = bytes_;
    set_sealed<uint32_t>(bad, kVersionAt, kLibraryFormatVersion + 1);
    const std::string newer =
        "written by a newer tessera (library format " + std::to_string(kLibraryFormatVersion + 1);
    expect_refused(bad, {newer, ours, "upgrade tessera"});
    // Whatever else a newer format changed, the version alone decides the message.
    bad[100] ^= 0x55;
    expect_refused(bad, {newer, "upgrade tessera"});
}

// Headers with a valid checksum whose parameters contradict the sizes: hand-made, or written by
// a buggy tessera. Each is refused by name before any section is read.
TEST_F(HostileLibrary, ParametersContradictingSizes) {
    struct Case {
        size_t at;
        uint64_t value;
        int bytes;
        const char* expected;
    };
    const Case cases[] = {
        // A window library's render size is its tile: a tile changed alone contradicts it.
        {kTileWidthAt, 8, 4, "render size 4x4 is smaller than the tile 8x4"},
        {kTileWidthAt, 2, 4, "a render size larger than the tile needs a whole-photo library"},
        {kTileWidthAt, 0, 4, "invalid parameters"},
        {kTileWidthAt, 0xffffffff, 4, "invalid parameters"},
        {kStrideXAt, 0, 4, "invalid parameters"},
        {kChannelsAt, 2, 4, "invalid channel count"},
        {kChannelsAt, 1, 4, "sections do not match the counts"},
        {kTransformMaskAt, 0, 4, "invalid transform set"},
        {kTransformMaskAt, 0x100, 4, "invalid transform set"},
        {kPatchCountAt, 0, 8, "invalid counts"},
        {kPatchCountAt, 1, 8, "sections do not match the counts"},
        {kPatchCountAt, uint64_t(1) << 61, 8, "invalid counts"},
        {kPatchCountAt, ~uint64_t(0), 8, "invalid counts"},
        {kSourceCountAt, 0, 8, "invalid counts"},
        {kSourceCountAt, uint64_t(1) << 59, 8, "invalid counts"},
        // A section moved by a cache line, and names longer than the file.
        {section_offset_at(kSources), read_u64(bytes_, section_offset_at(kSources)) + 64, 8,
         "sections do not match the counts"},
        {section_bytes_at(kNames), ~uint64_t(0), 8, "invalid counts"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE("field at " + std::to_string(c.at) + " = " + std::to_string(c.value));
        std::vector<uint8_t> bad = bytes_;
        if (c.bytes == 4) {
            set_sealed(bad, c.at, uint32_t(c.value));
        } else {
            set_sealed(bad, c.at, c.value);
        }
        expect_refused(bad, {c.expected});
    }
}

// A library whose tile turns 90 degrees must be square (LibraryBuilder refuses it too: see
// test_library.cpp).
TEST_F(HostileLibrary, RotationsOfANonSquareTile) {
    Library lib = small_library({4, 2});
    lib.save(good_.string());
    std::vector<uint8_t> bad = read_file(good_);
    set_sealed<uint32_t>(bad, kTransformMaskAt, 0x3);
    expect_refused(bad, {"need a square tile", "4x2"});
}

// Sections that the data checksum would catch, but that open() must refuse before use because
// they index other sections (renderers and reports index sources with the provenance).
TEST_F(HostileLibrary, CorruptProvenanceAndNames) {
    // The second patch comes from a.png (24x20) at (4, 0), unturned.
    const size_t second_origin = read_u64(bytes_, section_offset_at(kOrigins)) + 16;
    const size_t sources_at = read_u64(bytes_, section_offset_at(kSources));
    struct Case {
        size_t at;
        uint32_t value;
        const char* expected;
    };
    const Case cases[] = {
        {second_origin + 0, 2, "patch provenance is corrupt"},         // source 2 of 2
        {second_origin + 4, 21, "patch provenance is corrupt"},        // x + 4 > width 24
        {second_origin + 8, 17, "patch provenance is corrupt"},        // y + 4 > height 20
        {second_origin + 12, 1, "patch provenance is corrupt"},        // a transform not selected
        {second_origin + 12, 9, "patch provenance is corrupt"},        // no such transform
        {sources_at + 32 + 28, 1000, "source 1 has an invalid name"},  // b.png's name length
    };
    for (const Case& c : cases) {
        SCOPED_TRACE("field at " + std::to_string(c.at) + " = " + std::to_string(c.value));
        std::vector<uint8_t> bad = bytes_;
        std::memcpy(bad.data() + c.at, &c.value, sizeof c.value);
        expect_refused(bad, {c.expected});
    }
    // The largest values that fit are accepted: the bounds are not off by one.
    std::vector<uint8_t> edge = bytes_;
    const uint32_t x = 20, y = 16;
    std::memcpy(edge.data() + second_origin + 4, &x, 4);
    std::memcpy(edge.data() + second_origin + 8, &y, 4);
    EXPECT_EQ(open_error(edge), "");
}

// ---- Indexes that disagree with their pixels ----

namespace {

// The search sections after the library's four, in file order (src/search/exact_index.cpp).
enum SearchSection { kNorms = 5, kOrder, kSums, kSpreads, kBuckets, kTails, kBlocks, kChannels };

// A 32-bit value of a search section, in place.
uint32_t& u32_at(std::vector<uint8_t>& bytes, SearchSection s, size_t index) {
    const size_t at = read_u64(bytes, kSectionsAt + 16 * size_t(s)) + 4 * index;
    return *reinterpret_cast<uint32_t*>(bytes.data() + at);
}

// Recomputes both checksums, as a careless tool or an attacker would after changing the data.
void reseal(std::vector<uint8_t>& bytes) {
    const size_t header = tessera::testing::header_bytes(bytes);
    set_sealed(bytes, header - 16, hash_bytes(bytes.data() + header, bytes.size() - header));
}

// One step towards zero (away from it at zero): a value still within every maximum open() checks.
void nudge(uint32_t& value) {
    value = value > 0 ? value - 1 : 1;
}

}  // namespace

// A file whose checksums are right but whose search index disagrees with its pixels (pixels
// zeroed, or index fields changed, then both checksums recomputed) passes open() and verify(),
// which check the index only against itself, and is refused when a searcher is made: the
// bounds would otherwise skip true neighbours (silently inexact) or leave fewer than k.
TEST_F(HostileLibrary, IndexThatDisagreesWithItsPixelsIsRefused) {
    for (const Mode mode : {Mode::Gray, Mode::Rgb}) {
        SCOPED_TRACE(mode == Mode::Gray ? "gray" : "rgb");
        LibraryParams params;
        params.mode = mode;
        params.tile = {8, 8};  // a block grid of 4x4 (the 4x4 tile has none)
        params.stride = {4, 4};
        LibraryBuilder builder(params, exact_search_data());
        const Image source = noise_image(40, 32, params.channels(), 5);
        builder.add_source({"s.png", 1, 1, 0, 0}, source.view());
        builder.finish().save(good_.string());
        const std::vector<uint8_t> good = read_file(good_);
        const size_t n = read_u64(good, kPatchCountAt);
        ASSERT_EQ(n % 8, 7u);  // one padding position in each group section
        const size_t patch_bytes = params.patch_bytes();
        const size_t pixels_at = read_u64(good, section_offset_at(kPixels));
        const size_t lanes = mode == Mode::Rgb ? 4 * 8 : 0;
        // The last position of the first bucket holding any: its spread can grow, still sorted.
        std::vector<uint8_t> copy = good;
        size_t last_in_bucket = 0;
        while (u32_at(copy, kBuckets, last_in_bucket + 1) == 0) ++last_in_bucket;
        last_in_bucket = u32_at(copy, kBuckets, last_in_bucket + 1) - 1;

        std::vector<std::pair<std::string, std::function<void(std::vector<uint8_t>&)>>> cases = {
            {"all pixels zeroed",
             [&](auto& b) {
                 std::fill_n(b.begin() + ptrdiff_t(pixels_at), n * patch_bytes, uint8_t(0));
             }},
            {"one patch zeroed",
             [&](auto& b) {
                 std::fill_n(b.begin() + ptrdiff_t(pixels_at + 5 * patch_bytes), patch_bytes,
                             uint8_t(0));
             }},
            {"one pixel changed", [&](auto& b) { b[pixels_at + 3 * patch_bytes + 9] ^= 0x40; }},
            {"a norm", [&](auto& b) { nudge(u32_at(b, kNorms, 3)); }},
            {"two ids swapped",
             [&](auto& b) { std::swap(u32_at(b, kOrder, 0), u32_at(b, kOrder, 1)); }},
            {"a spread", [&](auto& b) { ++u32_at(b, kSpreads, last_in_bucket); }},
            {"a tail", [&](auto& b) { nudge(u32_at(b, kTails, 2)); }},
            {"a block sum", [&](auto& b) { nudge(u32_at(b, kBlocks, 11)); }},
            {"padding", [&](auto& b) { u32_at(b, kTails, n) = 1; }},
        };
        if (mode == Mode::Gray) {
            // A sum that stays in its mean bucket (grey has no channel sums to agree with it).
            cases.push_back({"a sum", [&](auto& b) {
                                 size_t i = 0;
                                 while ((u32_at(b, kSums, i) + 1) % patch_bytes == 0) ++i;
                                 ++u32_at(b, kSums, i);
                             }});
        } else {
            cases.push_back(
                {"a channel spread", [&](auto& b) { nudge(u32_at(b, kChannels, 3 * 8)); }});
            cases.push_back({"padding's channel sums",
                             [&](auto& b) { u32_at(b, kChannels, (n / 8) * lanes + 7) = 1; }});
        }
        for (const auto& [name, change] : cases) {
            SCOPED_TRACE(name);
            std::vector<uint8_t> bad = good;
            change(bad);
            ASSERT_NE(bad, good);
            reseal(bad);
            ASSERT_EQ(open_error(bad, true), "") << "the crafted file must pass open and verify";
            const Library lib = Library::open(bad_.string(), exact_search_data());
            expect_message(error_of([&] { make_exact_searcher(lib, 2); }), bad_.string(),
                           {"search index disagrees with its patches; rebuild the library"});
            // Every SIMD level checks the same way.
            for (SimdLevel level : tessera::testing::supported_levels()) {
                EXPECT_NE(error_of([&] { make_exact_searcher(lib, 1, level); }), "");
            }
        }
        // The untouched file, resealed the same way, is accepted: the check is not too strict.
        std::vector<uint8_t> same = good;
        reseal(same);
        ASSERT_EQ(same, good);
        write_file(bad_, same);
        const Library lib = Library::open(bad_.string(), exact_search_data());
        EXPECT_EQ(error_of([&] { make_exact_searcher(lib, 2); }), "");
    }
}

// Many threads opening and searching one file at once see the same results as one thread.
TEST_F(HostileLibrary, ConcurrentReadersAgree) {
    Image source = noise_image(64, 48, 3, 3);
    LibraryParams params;
    params.tile = {8, 8};
    params.stride = {4, 4};
    params.transforms = transforms_from({0, 90, 180, 270}, true);
    LibraryBuilder builder(params, exact_search_data());
    builder.add_source({"s.png", 1, 1, 0, 0}, source.view());
    builder.finish().save(good_.string());

    Image target = noise_image(8, 8 * 40, 3, 4);  // 40 queries stacked vertically
    const QueryBatch queries{target.pixels.data(), 40, {8, 8}};
    auto search = [&](int threads) {
        Library lib = Library::open(good_.string(), exact_search_data());
        std::vector<Neighbor> found(40 * 3);
        make_exact_searcher(lib, threads)->search(queries, 3, found.data());
        return found;
    };
    const std::vector<Neighbor> expected = search(1);
    constexpr int kThreads = 8;
    std::vector<std::vector<Neighbor>> results(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 5; ++round) results[t] = search(1 + t % 2);
        });
    }
    for (std::thread& t : threads) t.join();
    for (const auto& r : results) EXPECT_EQ(r, expected);
}

// ---- Writes ----

// An interrupt while a library is being written removes the temporary and exits with status 1.
TEST_F(HostileLibrary, InterruptRemovesTemporaries) {
    const fs::path out = dir_ / "out.tsr";
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
        EXPECT_EXIT(
            {
                remove_temporaries_on_interrupt("tessera-test");
                AtomicFile first(out.string());
                AtomicFile second((dir_ / "second.tsr").string());
                first.write("partial", 7);
                ::raise(signal);
            },
            ::testing::ExitedWithCode(1), "tessera-test: interrupted by SIG");
        EXPECT_EQ(file_names(dir_), std::vector<std::string>{"good.tsr"});
    }
}

// A file size limit (like a full disk) fails the write with a message and leaves nothing.
TEST_F(HostileLibrary, FailedWriteLeavesNothing) {
    const fs::path out = dir_ / "out.tsr";
    const Library lib = small_library();
    auto save_over_the_limit = [&] {
        remove_temporaries_on_interrupt("tessera-test");  // ignores SIGXFSZ
        const rlimit limit{1000, 1000};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        const std::string error = error_of([&] { lib.save(out.string()); });
        std::fprintf(stderr, "%s\n", error.c_str());
        // _Exit: the forked child skips exit-time checks, where LeakSanitizer would report the
        // parent's OpenMP threads' memory as leaked and change the status.
        std::fflush(stderr);
        std::_Exit(error.find(": write failed: File too large") != std::string::npos ? 0 : 3);
    };
    EXPECT_EXIT(save_over_the_limit(), ::testing::ExitedWithCode(0), "out.tsr: write failed");
    EXPECT_EQ(file_names(dir_), std::vector<std::string>{"good.tsr"});
}

// A library truncated by someone else while it is mapped: reading past the new end raises SIGBUS,
// which becomes a message and exit status 1, not death by a signal.
TEST_F(HostileLibrary, LibraryTruncatedWhileMapped) {
    auto read_truncated = [&] {
        remove_temporaries_on_interrupt("tessera-test");
        const Library lib = Library::open(good_.string(), exact_search_data());
        fs::resize_file(good_, 0);
        lib.verify();
        std::_Exit(0);
    };
    EXPECT_EXIT(read_truncated(), ::testing::ExitedWithCode(1),
                "tessera-test: a memory-mapped input could not be read");
}

// Signals the parent ignored (nohup, a shell's background job) stay ignored, and a closed pipe
// fails a write with EPIPE instead of killing the process.
TEST_F(HostileLibrary, IgnoredSignalsStayIgnored) {
    for (int signal : {SIGINT, SIGHUP}) {
        EXPECT_EXIT(
            {
                ::signal(signal, SIG_IGN);
                remove_temporaries_on_interrupt("tessera-test");
                AtomicFile file((dir_ / "out.tsr").string());
                ::raise(signal);
                file.write("done", 4);
                file.commit();
                std::_Exit(0);
            },
            ::testing::ExitedWithCode(0), "");
        EXPECT_EQ(read_file(dir_ / "out.tsr"), (std::vector<uint8_t>{'d', 'o', 'n', 'e'}));
        fs::remove(dir_ / "out.tsr");
    }
    EXPECT_EXIT(
        {
            remove_temporaries_on_interrupt("tessera-test");
            int ends[2];
            if (::pipe(ends) != 0) std::_Exit(3);
            ::close(ends[0]);
            const bool failed = ::write(ends[1], "x", 1) < 0 && errno == EPIPE;
            std::_Exit(failed ? 0 : 4);
        },
        ::testing::ExitedWithCode(0), "");
}
