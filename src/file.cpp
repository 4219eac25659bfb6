#include "tessera/file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tessera/error.hpp"

namespace tessera {

namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    std::filesystem::path target(path_);
    if (std::filesystem::is_directory(target)) {
        throw Error(path_ + ": is a directory; give a file name");
    }
    // The temporary lives in the destination directory so the final rename is atomic.
    std::string name(1, '.');
    name += target.filename().string();
    name += ".tmp-XXXXXX";
    temp_path_ = (target.parent_path() / name).string();
    fd_ = ::mkstemp(temp_path_.data());
    if (fd_ < 0) {
        std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
        throw Error(path_ + ": cannot write in " + dir + ": " + errno_text());
    }
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(temp_path_.c_str());
    }
}

void AtomicFile::fail(const std::string& what) {
    std::string message = path_ + ": " + what + ": " + errno_text();
    ::close(fd_);
    ::unlink(temp_path_.c_str());
    fd_ = -1;
    throw Error(message);
}

void AtomicFile::write(const void* data, size_t size) {
    TESSERA_ASSERT(fd_ >= 0);
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd_, bytes, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("write failed");
        bytes += n;
        size -= size_t(n);
    }
}

void AtomicFile::commit() {
    TESSERA_ASSERT(fd_ >= 0);
    // mkstemp creates 0600; give the file the permissions an ordinary create would.
    mode_t mask = ::umask(0);
    ::umask(mask);
    if (::fchmod(fd_, 0666 & ~mask) != 0) fail("cannot set permissions");
    if (::fsync(fd_) != 0) fail("cannot flush to disk");
    if (::close(fd_) != 0) {
        fd_ = -1;
        ::unlink(temp_path_.c_str());
        throw Error(path_ + ": cannot close: " + errno_text());
    }
    fd_ = -1;
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        std::string message = path_ + ": cannot rename the finished file into place: " + errno_text();
        ::unlink(temp_path_.c_str());
        throw Error(message);
    }
}

void write_file_atomically(const std::string& path, const void* data, size_t size) {
    AtomicFile file(path);
    file.write(data, size);
    file.commit();
}

MappedFile::MappedFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open: " + errno_text());
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        throw Error(path + ": cannot stat: " + errno_text());
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": not a regular file");
    }
    size_ = size_t(st.st_size);
    if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            throw Error(path + ": cannot memory-map: " + errno_text());
        }
        data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace tessera
