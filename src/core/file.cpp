#include "tessera/core/file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <utility>
#include <vector>

#include "tessera/core/error.hpp"

namespace tessera {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

// Temporaries a signal handler may have to remove. A fixed array of lock-free atomics, because
// the handler may only use async-signal-safe operations: it reads the flags and calls unlink.
struct LiveTemporary {
    std::atomic<int> state{0};  // kFree, kClaimed (being filled in) or kLive
    char path[PATH_MAX];
};
constexpr int kFree = 0, kClaimed = 1, kLive = 2;
constexpr int kMaxLive = 64;
LiveTemporary live_temporaries[kMaxLive];
static_assert(std::atomic<int>::is_always_lock_free);

// Returns the slot, or -1 when every slot is taken (then an interrupt may leave this temporary).
int register_temporary(const std::string& path) {
    if (path.size() >= PATH_MAX) return -1;
    for (int i = 0; i < kMaxLive; ++i) {
        int expected = kFree;
        if (live_temporaries[i].state.compare_exchange_strong(expected, kClaimed)) {
            std::memcpy(live_temporaries[i].path, path.c_str(), path.size() + 1);
            live_temporaries[i].state.store(kLive);
            return i;
        }
    }
    return -1;
}

void unregister_temporary(int slot) {
    if (slot >= 0) live_temporaries[slot].state.store(kFree);
}

const char* interrupted_program = "tessera";
// On a terminal the message first clears the line, where a status line may be half written.
bool stderr_is_terminal = false;

void remove_temporaries_and_exit(int signal) {
    for (LiveTemporary& t : live_temporaries) {
        if (t.state.load() == kLive) ::unlink(t.path);
    }
    // SIGBUS comes from reading a mapped file that is no longer there to read.
    const char* what = signal == SIGINT    ? ": interrupted by SIGINT"
                       : signal == SIGTERM ? ": interrupted by SIGTERM"
                       : signal == SIGHUP  ? ": interrupted by SIGHUP"
                                           : ": a memory-mapped input could not be read (truncated "
                                             "while in use, or a disk error)";
    const char* clear = stderr_is_terminal ? "\r\033[K" : "";
    for (const char* part : {clear, interrupted_program, what, "; unfinished output removed\n"}) {
        ssize_t ignored = ::write(STDERR_FILENO, part, std::strlen(part));
        (void)ignored;
    }
    ::_exit(1);
}

constexpr int kHandled[] = {SIGINT, SIGTERM, SIGHUP};

}  // namespace

const char* file_kind(mode_t mode) {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a named pipe (FIFO)";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "an unknown kind of file";
}

void remove_temporaries_on_interrupt(const char* program) {
    interrupted_program = program;
    stderr_is_terminal = ::isatty(STDERR_FILENO);
    struct sigaction action {};
    action.sa_handler = remove_temporaries_and_exit;
    sigemptyset(&action.sa_mask);
    for (int s : kHandled) sigaddset(&action.sa_mask, s);
    for (int s : kHandled) {
        // A signal the parent ignored stays ignored (nohup, a background job of a shell).
        struct sigaction old {};
        if (::sigaction(s, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) {
            continue;
        }
        ::sigaction(s, &action, nullptr);
    }
    // SIGBUS, which a fault raises whatever its disposition, is always handled.
    install_mapped_fault_handler(remove_temporaries_and_exit);
    ::signal(SIGXFSZ, SIG_IGN);
    ::signal(SIGPIPE, SIG_IGN);
}

std::string output_target(const std::string& path) {
    if (path.empty()) throw Error("the output file name is empty; give a file name");
    // Linux's own limit on links followed in one lookup.
    constexpr int kMaxLinks = 40;
    std::string target = path;
    const auto name = [&] {
        return target == path ? path : path + " (a symbolic link to " + target + ")";
    };
    const auto refuse = [&](const std::string& kind, mode_t mode) {
        throw Error(name() + ": is " + kind + ", not a regular file; " +
                    (S_ISDIR(mode) ? "give a file name"
                                   : "tessera writes each output in full under a temporary name "
                                     "and renames it into place, so it cannot write to a pipe, a "
                                     "terminal or a device: give a file name"));
    };
    for (int links = 0;; ++links) {
        struct stat st {};
        if (::lstat(target.c_str(), &st) != 0) {
            if (errno != ENOENT && errno != ENOTDIR) return target;  // creating it will say why
            std::filesystem::path dir = std::filesystem::path(target).parent_path();
            if (dir.empty()) dir = ".";
            if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
                throw Error(name() + ": the directory " + dir.string() +
                            " does not exist; create it first");
            }
            return target;
        }
        if (S_ISREG(st.st_mode)) return target;
        if (!S_ISLNK(st.st_mode)) refuse(file_kind(st.st_mode), st.st_mode);
        if (links == kMaxLinks) throw Error(path + ": too many levels of symbolic links");
        std::error_code ec;
        const std::filesystem::path link = std::filesystem::read_symlink(target, ec);
        if (ec) throw Error(name() + ": cannot read the symbolic link: " + ec.message());
        // A relative link is relative to its own directory; an absolute one replaces the path.
        const std::string next = (std::filesystem::path(target).parent_path() / link).string();
        // /proc's link to a pipe or a socket (-o /dev/stdout in a pipeline) leads to no name.
        if (::lstat(next.c_str(), &st) != 0 && errno == ENOENT &&
            ::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
            refuse(S_ISFIFO(st.st_mode) ? "a pipe" : file_kind(st.st_mode), st.st_mode);
        }
        target = next;
    }
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), target_(output_target(path_)) {
    // The temporary lives in the target's directory so the final rename is atomic. Where the
    // file system has them it is anonymous (O_TMPFILE), named only when complete: a process
    // killed by SIGKILL or the out-of-memory killer, which no handler sees, leaves nothing. It
    // is reached through /proc/self/fd, for reading back and for linking it to a name.
    const std::filesystem::path parent = std::filesystem::path(target_).parent_path();
    const std::string dir = parent.empty() ? "." : parent.string();
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
        temp_path_ = "/proc/self/fd/" + std::to_string(fd_);
        if (::access(temp_path_.c_str(), F_OK) == 0) {
            anonymous_ = true;
            return;
        }
        ::close(std::exchange(fd_, -1));
        temp_path_.clear();
    }
    fd_ = name_temporary(
        [](const char* name) { return ::open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); });
    if (fd_ < 0) throw Error(path_ + ": cannot write in " + dir + ": " + errno_text());
}

int AtomicFile::name_temporary(const std::function<int(const char*)>& create) {
    // A hidden name beside the target: the process id, then a counter. It is registered before
    // the file is made, so an interrupt at any moment finds it; a name left by a killed process
    // is skipped.
    const std::filesystem::path target(target_);
    static std::atomic<uint64_t> counter{0};
    std::string prefix(1, '.');
    prefix += target.filename().string().substr(0, 200);  // the temporary's name must fit too
    prefix += ".tmp-" + std::to_string(::getpid()) + "-";
    for (int attempt = 0;; ++attempt) {
        temp_path_ = (target.parent_path() / (prefix + std::to_string(counter++))).string();
        slot_ = register_temporary(temp_path_);
        const int result = create(temp_path_.c_str());
        if (result >= 0) return result;
        const int error = errno;
        unregister_temporary(std::exchange(slot_, -1));
        temp_path_.clear();
        if (error != EEXIST || attempt == 100) {
            errno = error;
            return -1;
        }
    }
}

AtomicFile::~AtomicFile() {
    remove_temporary();
}

void AtomicFile::remove_temporary() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));  // an anonymous temporary goes with it
    if (temp_path_.empty() || std::exchange(anonymous_, false)) {
        temp_path_.clear();
        return;
    }
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
    unregister_temporary(std::exchange(slot_, -1));
}

void AtomicFile::fail(const std::string& what) {
    std::string message = path_ + ": " + what + ": " + errno_text();
    remove_temporary();
    throw Error(message);
}

void AtomicFile::write(const void* data, size_t size) {
    TESSERA_ASSERT(fd_ >= 0);
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd_, bytes, size);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) errno = EIO;  // a write that makes no progress sets no errno of its own
        if (n <= 0) fail("write failed");
        bytes += n;
        size -= size_t(n);
    }
}

void AtomicFile::flush() {
    TESSERA_ASSERT(fd_ >= 0);
    // The temporary is created 0600; give the file the permissions an ordinary create would.
    // The umask is read once: reading it means setting it, which races with other threads.
    static const mode_t mask = [] {
        const mode_t m = ::umask(0);
        ::umask(m);
        return m;
    }();
    if (::fchmod(fd_, 0666 & ~mask) != 0) fail("cannot set permissions");
    if (::fsync(fd_) != 0) fail("cannot flush to disk");
    if (anonymous_) {
        // Named now, complete, for the rename: the only moment a SIGKILL could leave it.
        const std::string anonymous = temp_path_;
        anonymous_ = false;
        if (name_temporary([&anonymous](const char* name) {
                return ::linkat(AT_FDCWD, anonymous.c_str(), AT_FDCWD, name, AT_SYMLINK_FOLLOW);
            }) != 0) {
            fail("cannot give the finished file a name");
        }
    }
    if (::close(std::exchange(fd_, -1)) != 0) fail("cannot close");
}

void AtomicFile::rename_into_place() {
    if (::rename(temp_path_.c_str(), target_.c_str()) != 0) {
        fail("cannot rename the finished file into place");
    }
    temp_path_.clear();
    unregister_temporary(std::exchange(slot_, -1));
}

void AtomicFile::commit() {
    commit_together({this});
}

namespace {

// Exclusive flock(2)s on the directories of a commit's targets, held until destroyed, so that
// two tessera processes replacing the same files commit one whole set after the other. The lock
// is on the directory itself (nothing is created, so nothing is left behind); directories are
// locked in the order of their (device, inode) so two processes never wait on each other. A
// directory that cannot be opened or locked (no read permission, a file system without flock)
// is passed over: the commit then has only the guarantees it would have without the lock.
class DirectoryLocks {
  public:
    explicit DirectoryLocks(const std::vector<std::string>& targets) {
        struct Dir {
            dev_t dev;
            ino_t ino;
            int fd;
        };
        std::vector<Dir> dirs;
        for (const std::string& target : targets) {
            const std::filesystem::path parent = std::filesystem::path(target).parent_path();
            const int fd =
                ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            struct stat st {};
            if (fd < 0) continue;
            if (::fstat(fd, &st) != 0) {
                ::close(fd);
                continue;
            }
            dirs.push_back({st.st_dev, st.st_ino, fd});
        }
        std::sort(dirs.begin(), dirs.end(), [](const Dir& a, const Dir& b) {
            return std::pair(a.dev, a.ino) < std::pair(b.dev, b.ino);
        });
        for (size_t i = 0; i < dirs.size(); ++i) {
            const bool repeat =
                i > 0 && dirs[i].dev == dirs[i - 1].dev && dirs[i].ino == dirs[i - 1].ino;
            if (!repeat && lock_exclusive(dirs[i].fd)) {
                fds_.push_back(dirs[i].fd);
            } else {
                ::close(dirs[i].fd);
            }
        }
    }
    ~DirectoryLocks() {
        for (int fd : fds_) ::close(fd);  // closing the last descriptor releases the lock
    }
    DirectoryLocks(const DirectoryLocks&) = delete;
    DirectoryLocks& operator=(const DirectoryLocks&) = delete;

  private:
    static bool lock_exclusive(int fd) {
        int result;
        do {
            result = ::flock(fd, LOCK_EX);
        } while (result != 0 && errno == EINTR);
        return result == 0;
    }
    std::vector<int> fds_;
};

}  // namespace

void commit_together(std::initializer_list<AtomicFile*> files) {
    commit_together(std::span<AtomicFile* const>(files.begin(), files.size()));
}

void commit_together(std::span<AtomicFile* const> files) {
    // A single rename is atomic by itself; a set needs the lock to stay a set. It is taken before
    // the temporaries are named (flush), so that one killed while waiting leaves nothing.
    std::vector<std::string> targets;
    if (files.size() > 1) {
        for (const AtomicFile* file : files) targets.push_back(file->target_);
    }
    const DirectoryLocks locks(targets);
    for (AtomicFile* file : files) file->flush();
    // Held back so that an interrupt cannot come between two renames, leaving one file new and
    // removing the other; one that comes meanwhile is handled after.
    sigset_t held, previous;
    sigemptyset(&held);
    for (int s : kHandled) sigaddset(&held, s);
    ::pthread_sigmask(SIG_BLOCK, &held, &previous);
    struct Restore {
        const sigset_t& mask;
        ~Restore() { ::pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
    } restore{previous};
    for (AtomicFile* file : files) file->rename_into_place();
}

}  // namespace tessera
