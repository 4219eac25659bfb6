// Files written completely or not at all, and read-only maps.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tessera/error.hpp"
#include "tessera/file.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::file_names;
using testing::TempDir;

std::string contents(const std::string& path) {
    const std::vector<uint8_t> bytes = testing::read_file(path);
    return {bytes.begin(), bytes.end()};
}

TEST(AtomicFile, CommitReplacesWithOrdinaryPermissions) {
    TempDir dir;
    const std::string path = dir.file("out.bin");
    write_file_atomically(path, "old", 3);
    write_file_atomically(path, "new!", 4);
    EXPECT_EQ(contents(path), "new!");
    EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"out.bin"});
    const mode_t mask = ::umask(0);
    ::umask(mask);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
}

TEST(AtomicFile, AbandonedLeavesNothing) {
    TempDir dir;
    const std::string path = dir.file("out.bin");
    write_file_atomically(path, "kept", 4);
    {
        AtomicFile file(path);
        file.write("partial", 7);
        EXPECT_EQ(file_names(dir.path()).size(), 2u);  // the temporary, beside the target
    }
    EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"out.bin"});
    EXPECT_EQ(contents(path), "kept");
}

TEST(AtomicFile, UnwritablePlaces) {
    TempDir dir;
    write_file_atomically(dir.file("regular"), "x", 1);
    for (const std::string& path : {dir.file("missing/out.bin"), dir.file("regular/out.bin")}) {
        try {
            AtomicFile file(path);
            ADD_FAILURE() << path;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(path + ": cannot write in"), std::string::npos)
                << e.what();
        }
    }
    EXPECT_THROW(AtomicFile(dir.file("")), Error);
    EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"regular"});
}

TEST(MappedFile, ContentsEmptyAndErrors) {
    TempDir dir;
    write_file_atomically(dir.file("a"), "abc", 3);
    const MappedFile a(dir.file("a"));
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(a.data()), 3), "abc");
    write_file_atomically(dir.file("empty"), "", 0);
    const MappedFile empty(dir.file("empty"));
    EXPECT_EQ(empty.size(), 0u);
    EXPECT_EQ(empty.data(), nullptr);
    EXPECT_THROW(MappedFile(dir.file("missing")), Error);
    EXPECT_THROW(MappedFile(dir.file("")), Error);
}

}  // namespace
}  // namespace tessera
