// The fuzz input as a file: the loaders under test take paths. An in-memory file (memfd) opened
// through /proc keeps each run off the disk.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

inline const std::string& file_with(const uint8_t* data, size_t size) {
    static const int fd = ::memfd_create("tessera-fuzz", MFD_CLOEXEC);
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (fd < 0 || ::ftruncate(fd, 0) != 0 ||
        (size > 0 && ::pwrite(fd, data, size, 0) != ssize_t(size))) {
        std::abort();
    }
    return path;
}
