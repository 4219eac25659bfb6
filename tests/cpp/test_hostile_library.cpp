// Hostile library files and failing writes: every damaged file is refused with a message naming
// it (or, for data bytes, by verify()), opening never reads out of bounds, and an interrupted or
// failed write leaves neither the final file nor a temporary.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tessera/error.hpp"
#include "tessera/file.hpp"
#include "tessera/library.hpp"
#include "tessera/search.hpp"
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

Library small_library(Size tile = {4, 4}) {
    LibraryParams params;
    params.tile = tile;
    params.stride = tile;
    params.transforms = {Transform::Rot0, Transform::Rot180};
    LibraryBuilder builder(params);
    Image a = noise_image(24, 20, 3, 1);
    Image b = noise_image(9, 13, 3, 2);
    builder.add_source({"a.png", 100, 7, 0, 0}, a.view());
    builder.add_source({"b.png", 200, 8, 0, 0}, b.view());
    return builder.finish();
}

// Header fields the tests rewrite (the layout is in src/library.cpp).
constexpr size_t kVersionAt = 8, kTileWidthAt = 16, kStrideXAt = 24, kChannelsAt = 32,
                 kTransformMaskAt = 36, kPatchCountAt = 40;

class HostileLibrary : public ::testing::Test {
  protected:
    void SetUp() override {
        // A death test's child is forked where the test stands, so that it writes in this
        // test's directory, which the test then checks; a re-executed child ("threadsafe") would
        // run SetUp again and write in a directory of its own, left behind.
        GTEST_FLAG_SET(death_test_style, "fast");
        small_library().save(good_.string());
        bytes_ = read_file(good_);
    }

    // Writes `bytes` as bad.tsr and returns the error opening (and verifying) it gives.
    std::string open_error(const std::vector<uint8_t>& bytes, bool verify = false) {
        write_file(bad_, bytes);
        return error_of([&] {
            Library lib = Library::open(bad_.string());
            if (verify) lib.verify();
        });
    }

    // Thousands of small files are written: in memory (tmpfs) where there is one.
    const tessera::testing::TempDir temp_{true};
    const fs::path dir_ = temp_.path(), good_ = dir_ / "good.tsr", bad_ = dir_ / "bad.tsr";
    std::vector<uint8_t> bytes_;
};

}  // namespace

TEST_F(HostileLibrary, GoodFileOpensAndVerifies) {
    EXPECT_EQ(open_error(bytes_, true), "");
    EXPECT_EQ(Library::open(bad_.string()).size(), small_library().size());
}

TEST_F(HostileLibrary, EmptyFile) {
    EXPECT_EQ(open_error({}), bad_.string() + ": is empty, not a tessera library");
}

TEST_F(HostileLibrary, MissingFileAndDirectory) {
    EXPECT_NE(error_of([&] {
                  Library::open((dir_ / "none.tsr").string());
              }).find("none.tsr: cannot open"),
              std::string::npos);
    EXPECT_NE(error_of([&] { Library::open(dir_.string()); }).find("not a regular file"),
              std::string::npos);
}

TEST_F(HostileLibrary, EveryTruncationIsRefused) {
    for (size_t n = 0; n < bytes_.size(); ++n) {
        std::vector<uint8_t> cut(bytes_.begin(), bytes_.begin() + ptrdiff_t(n));
        const std::string error = open_error(cut);
        ASSERT_EQ(error.rfind(bad_.string() + ": ", 0), 0u) << "length " << n << ": " << error;
        if (n >= 160) {
            EXPECT_NE(error.find("is truncated"), std::string::npos) << error;
        }
    }
    std::vector<uint8_t> longer = bytes_;
    longer.push_back(0);
    EXPECT_NE(open_error(longer).find("1 unexpected bytes at the end"), std::string::npos);
}

// Header bytes are caught by open(), data bytes by open()'s provenance check or by verify():
// no single flipped bit goes unnoticed, and none crashes or reads out of bounds.
TEST_F(HostileLibrary, EveryFlippedByteIsDetected) {
    size_t on_open = 0, on_verify = 0;
    for (size_t i = 0; i < bytes_.size(); ++i) {
        for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80)}) {
            std::vector<uint8_t> bad = bytes_;
            bad[i] ^= mask;
            write_file(bad_, bad);
            std::string error = error_of([&] { Library::open(bad_.string()); });
            if (!error.empty()) {
                ++on_open;
            } else {
                error = open_error(bad, true);
                ASSERT_NE(error.find("data is corrupt (checksum mismatch)"), std::string::npos)
                    << "byte " << i << " undetected";
                ++on_verify;
            }
            ASSERT_EQ(error.rfind(bad_.string() + ": ", 0), 0u) << error;
        }
    }
    EXPECT_GT(on_open, 2 * 160u);  // every header byte at least
    EXPECT_GT(on_verify, 0u);
}

TEST_F(HostileLibrary, ForeignFiles) {
    const std::string not_library = "is not a tessera library";
    EXPECT_NE(open_error({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}).find(not_library),
              std::string::npos);
    std::vector<uint8_t> text(4096, 'a');
    EXPECT_NE(open_error(text).find(not_library), std::string::npos);
    std::vector<uint8_t> zeros(bytes_.size(), 0);
    EXPECT_NE(open_error(zeros).find(not_library), std::string::npos);
}

TEST_F(HostileLibrary, NewerFormatVersion) {
    std::vector<uint8_t> bad = bytes_;
    set_sealed<uint32_t>(bad, kVersionAt, kLibraryFormatVersion + 1);
    const std::string error = open_error(bad);
    EXPECT_NE(error.find("written by a newer tessera"), std::string::npos) << error;
    EXPECT_NE(error.find("upgrade tessera"), std::string::npos) << error;
    set_sealed<uint32_t>(bad, kVersionAt, 0);
    EXPECT_NE(open_error(bad).find(bad_.string() + ": "), std::string::npos);
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
        {kTileWidthAt, 8, 4, "sections do not match the counts"},
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
        {kPatchCountAt + 8, 0, 8, "invalid counts"},  // source count
        {kPatchCountAt + 8, uint64_t(1) << 59, 8, "invalid counts"},
    };
    for (const Case& c : cases) {
        std::vector<uint8_t> bad = bytes_;
        if (c.bytes == 4) {
            set_sealed(bad, c.at, uint32_t(c.value));
        } else {
            set_sealed(bad, c.at, c.value);
        }
        const std::string error = open_error(bad);
        EXPECT_NE(error.find(c.expected), std::string::npos)
            << "field at " << c.at << " = " << c.value << ": " << error;
        EXPECT_EQ(error.rfind(bad_.string() + ": ", 0), 0u) << error;
    }
}

// A library whose tile turns 90 degrees must be square.
TEST_F(HostileLibrary, RotationsOfANonSquareTile) {
    LibraryParams params;
    params.tile = {4, 2};
    params.transforms = {Transform::Rot0, Transform::Rot90};
    EXPECT_NE(error_of([&] { LibraryBuilder builder(params); }).find("need a square tile"),
              std::string::npos);
    Library lib = small_library({4, 2});
    lib.save(good_.string());
    std::vector<uint8_t> bad = read_file(good_);
    set_sealed<uint32_t>(bad, kTransformMaskAt, 0x3);
    EXPECT_NE(open_error(bad).find("need a square tile"), std::string::npos);
}

// Many threads opening and searching one file at once see the same results as one thread.
TEST_F(HostileLibrary, ConcurrentReadersAgree) {
    Image source = noise_image(64, 48, 3, 3);
    LibraryParams params;
    params.tile = {8, 8};
    params.stride = {4, 4};
    params.transforms = transforms_from({0, 90, 180, 270}, true);
    LibraryBuilder builder(params);
    builder.add_source({"s.png", 1, 1, 0, 0}, source.view());
    builder.finish().save(good_.string());

    Image target = noise_image(8, 8 * 40, 3, 4);  // 40 queries stacked vertically
    const QueryBatch queries{target.pixels.data(), 40, {8, 8}};
    auto search = [&](int threads) {
        Library lib = Library::open(good_.string());
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
        const Library lib = Library::open(good_.string());
        fs::resize_file(good_, 0);
        lib.verify();
        std::_Exit(0);
    };
    EXPECT_EXIT(read_truncated(), ::testing::ExitedWithCode(1),
                "tessera-test: a memory-mapped input could not be read");
}
