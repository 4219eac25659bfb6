// Files written completely or not at all, and read-only maps.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::error_of;
using testing::file_names;
using testing::TempDir;

// Writes `text` through an AtomicFile and commits it.
void commit_file(const std::string& path, std::string_view text) {
    AtomicFile file(path);
    file.write(text.data(), text.size());
    file.commit();
}

std::string contents(const std::string& path) {
    const std::vector<uint8_t> bytes = testing::read_file(path);
    return {bytes.begin(), bytes.end()};
}

TEST(AtomicFile, CommitReplacesWithOrdinaryPermissions) {
    TempDir dir;
    const std::string path = dir.file("out.bin");
    commit_file(path, "old");
    commit_file(path, "new!");
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
    commit_file(path, "kept");
    {
        AtomicFile file(path);
        file.write("partial", 7);
        EXPECT_EQ(contents(file.temporary_path()), "partial");  // anonymous, or beside the target
    }
    EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"out.bin"});
    EXPECT_EQ(contents(path), "kept");
}

// SIGKILL and the out-of-memory killer run no handler: where the file system has O_TMPFILE
// (tmpfs, ext4, where tests run), the temporary has no name until it is complete, so a process
// killed while writing leaves nothing.
TEST(AtomicFile, TemporaryHasNoNameWhileWritten) {
    TempDir dir;
    const int probe = ::open(dir.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (probe < 0) GTEST_SKIP() << "no O_TMPFILE on this file system: the temporary is named";
    ::close(probe);
    const std::string path = dir.file("out.bin");
    AtomicFile file(path);
    file.write("partial", 7);
    EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{});
    EXPECT_EQ(contents(file.temporary_path()), "partial");
    file.commit();
    EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"out.bin"});
    EXPECT_EQ(contents(path), "partial");
}

TEST(AtomicFile, CommitTogetherReplacesEveryFile) {
    TempDir dir;
    const std::string image = dir.file("m.png"), matches = dir.file("m.json");
    commit_file(image, "old image");
    commit_file(matches, "old rows");
    {
        AtomicFile first(image), second(matches);
        first.write("new image", 9);
        // An error before the commit (here: leaving the scope) leaves both as they were.
    }
    EXPECT_EQ(contents(image), "old image");
    EXPECT_EQ(contents(matches), "old rows");
    AtomicFile first(image), second(matches);
    first.write("new image", 9);
    second.write("new rows", 8);
    EXPECT_EQ(contents(first.temporary_path()), "new image");  // both written, neither in place
    EXPECT_EQ(contents(second.temporary_path()), "new rows");
    EXPECT_EQ(contents(image), "old image");
    commit_together({&first, &second});
    EXPECT_EQ(contents(image), "new image");
    EXPECT_EQ(contents(matches), "new rows");
    EXPECT_EQ(file_names(dir.path()), (std::vector<std::string>{"m.json", "m.png"}));
}

TEST(AtomicFile, MissingDirectoriesAndEmptyNames) {
    TempDir dir;
    commit_file(dir.file("regular"), "x");
    for (const std::string& dir_path : {dir.file("missing"), dir.file("regular")}) {
        const std::string path = dir_path + "/out.bin";
        EXPECT_EQ(error_of([&] { AtomicFile file(path); }),
                  path + ": the directory " + dir_path + " does not exist; create it first");
    }
    EXPECT_NE(error_of([&] { AtomicFile file(""); }).find("the output file name is empty"),
              std::string::npos);
    EXPECT_NE(error_of([&] { AtomicFile file(dir.file("")); }).find("is a directory"),
              std::string::npos);
    EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"regular"});
}

bool is_link(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

mode_t file_type(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & S_IFMT;
}

// A rename would replace a FIFO, a directory or a device with a regular file: each is refused,
// by its own name and through a link, before anything is created.
TEST(AtomicFile, RefusesWhatIsNotARegularFile) {
    TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0644), 0);
    std::filesystem::create_directory(dir.file("folder"));
    std::filesystem::create_symlink("fifo", dir.file("to-fifo"));
    std::filesystem::create_symlink("to-fifo", dir.file("to-to-fifo"));
    std::filesystem::create_symlink(dir.file("folder"), dir.file("to-folder"));
    const std::vector<std::pair<std::string, std::string>> cases = {
        {dir.file("fifo"), dir.file("fifo") + ": is a named pipe (FIFO), not a regular file"},
        {dir.file("to-to-fifo"), dir.file("to-to-fifo") + " (a symbolic link to " +
                                     dir.file("fifo") + "): is a named pipe (FIFO)"},
        {dir.file("folder"), dir.file("folder") + ": is a directory, not a regular file"},
        {dir.file("to-folder"), "(a symbolic link to " + dir.file("folder") + "): is a directory"},
    };
    for (const auto& c : cases) {
        const std::string& path = c.first;  // clang 14 cannot capture a structured binding
        const std::string& message = c.second;
        EXPECT_NE(error_of([&] { AtomicFile file(path); }).find(message), std::string::npos)
            << error_of([&] { AtomicFile file(path); });
        EXPECT_NE(error_of([&] { commit_file(path, "x"); }).find(message), std::string::npos);
    }
    EXPECT_EQ(file_type(dir.file("fifo")), S_IFIFO);
    EXPECT_EQ(file_type(dir.file("folder")), S_IFDIR);
    EXPECT_TRUE(std::filesystem::is_empty(dir.file("folder")));
    EXPECT_EQ(file_names(dir.path()),
              (std::vector<std::string>{"fifo", "folder", "to-fifo", "to-folder", "to-to-fifo"}));
}

// output_target runs in AtomicFile's member initializers, before the constructor's body creates
// the temporary, so a device is refused without a file being made beside it. Nothing here
// commits: were the check ever lost, /dev/null still could not be renamed over.
TEST(AtomicFile, RefusesADeviceWithoutTouchingIt) {
    TempDir dir;
    std::filesystem::create_symlink("/dev/null", dir.file("null"));
    EXPECT_EQ(error_of([] { AtomicFile file("/dev/null"); }),
              "/dev/null: is a character device, not a regular file; tessera writes each output in "
              "full under a temporary name and renames it into place, so it cannot write to a "
              "pipe, a terminal or a device: give a file name");
    EXPECT_NE(error_of([&] {
                  AtomicFile file(dir.file("null"));
              }).find("(a symbolic link to /dev/null): is a character device"),
              std::string::npos);
    EXPECT_EQ(file_type("/dev/null"), S_IFCHR);
    EXPECT_TRUE(is_link(dir.file("null")));
}

// Like `sed -i --follow-symlinks`: the file at the end of the chain is replaced (or created) and
// every link stays a link. Relative links are relative to their own directory.
TEST(AtomicFile, WritesThroughSymbolicLinks) {
    TempDir dir;
    std::filesystem::create_directories(dir.file("libs/old"));
    commit_file(dir.file("libs/v1.tsr"), "old");
    std::filesystem::create_symlink("libs/v1.tsr", dir.file("current.tsr"));
    std::filesystem::create_symlink("../v1.tsr", dir.file("libs/old/up.tsr"));
    std::filesystem::create_symlink("libs/old/up.tsr", dir.file("chain.tsr"));
    std::filesystem::create_symlink(dir.file("libs/v2.tsr"), dir.file("next.tsr"));  // dangling

    commit_file(dir.file("current.tsr"), "new!");
    EXPECT_EQ(contents(dir.file("libs/v1.tsr")), "new!");
    commit_file(dir.file("chain.tsr"), "chain");
    EXPECT_EQ(contents(dir.file("libs/v1.tsr")), "chain");
    commit_file(dir.file("next.tsr"), "v2");
    EXPECT_EQ(contents(dir.file("libs/v2.tsr")), "v2");

    for (const char* link : {"current.tsr", "libs/old/up.tsr", "chain.tsr", "next.tsr"}) {
        EXPECT_TRUE(is_link(dir.file(link))) << link;
    }
    EXPECT_EQ(std::filesystem::read_symlink(dir.file("current.tsr")), "libs/v1.tsr");
    EXPECT_EQ(file_names(dir.path()),
              (std::vector<std::string>{"chain.tsr", "current.tsr", "libs", "next.tsr"}));
    EXPECT_EQ(file_names(dir.file("libs")), (std::vector<std::string>{"old", "v1.tsr", "v2.tsr"}));
    EXPECT_EQ(output_target(dir.file("chain.tsr")), dir.file("libs/old/../v1.tsr"));
}

TEST(AtomicFile, RefusesDanglingLinksIntoMissingDirectoriesAndLoops) {
    TempDir dir;
    std::filesystem::create_symlink("missing/v1.tsr", dir.file("current.tsr"));
    std::filesystem::create_symlink("loop-b", dir.file("loop-a"));
    std::filesystem::create_symlink("loop-a", dir.file("loop-b"));
    EXPECT_EQ(error_of([&] { AtomicFile file(dir.file("current.tsr")); }),
              dir.file("current.tsr") + " (a symbolic link to " + dir.file("missing/v1.tsr") +
                  "): the directory " + dir.file("missing") + " does not exist; create it first");
    EXPECT_EQ(error_of([&] { AtomicFile file(dir.file("loop-a")); }),
              dir.file("loop-a") + ": too many levels of symbolic links");
    EXPECT_EQ(file_names(dir.path()),
              (std::vector<std::string>{"current.tsr", "loop-a", "loop-b"}));
    EXPECT_TRUE(is_link(dir.file("current.tsr")));
}

TEST(MappedFile, ContentsEmptyAndErrors) {
    TempDir dir;
    commit_file(dir.file("a"), "abc");
    const MappedFile a(dir.file("a"));
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(a.data()), 3), "abc");
    commit_file(dir.file("empty"), "");
    const MappedFile empty(dir.file("empty"));
    EXPECT_EQ(empty.size(), 0u);
    EXPECT_EQ(empty.data(), nullptr);
    EXPECT_THROW(MappedFile(dir.file("missing")), Error);
    EXPECT_THROW(MappedFile(dir.file("")), Error);
}

TEST(MappedFile, ReadsPastAnEndTruncatedMeanwhileReadZerosAndAreReported) {
    TempDir dir;
    const auto page = size_t(::sysconf(_SC_PAGESIZE));
    commit_file(dir.file("shrinks"), std::string(4 * page, 'x'));
    install_mapped_fault_handler();
    const MappedFile file(dir.file("shrinks"));
    EXPECT_NO_THROW(file.check_intact());
    ASSERT_EQ(::truncate(dir.file("shrinks").c_str(), off_t(page)), 0);
    uint8_t past = 1, kept = 0;
    {
        const MappedReads reads;
        past = static_cast<const volatile uint8_t*>(file.data())[2 * page + 5];  // SIGBUS
        kept = static_cast<const volatile uint8_t*>(file.data())[page - 1];
    }
    EXPECT_EQ(past, 0);
    EXPECT_EQ(kept, 'x');
    const std::string message =
        dir.file("shrinks") +
        ": could not be read while in use (another program truncated or replaced it in place, "
        "or a disk error); what was read from it is discarded: open it again";
    EXPECT_EQ(error_of([&] { file.check_intact(); }), message);
    EXPECT_EQ(error_of([] { check_mapped_files(); }), message);
}

}  // namespace
}  // namespace tessera
