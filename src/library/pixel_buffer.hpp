// Growing the builder's buffers without copying: the pixels as they are cut, and vectors grown
// the same way. Internal to the library layer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace tessera::detail {

// The patches' pixels as they are cut, grown with realloc: glibc moves a large (mmapped) block
// with mremap, so growing neither copies the pixels nor holds the old and new blocks at once, as
// std::vector's doubling does (peaks in docs/performance.md). New bytes are not zeroed.
class PixelBuffer {
  public:
    PixelBuffer() = default;
    PixelBuffer(const PixelBuffer&) = delete;
    PixelBuffer& operator=(const PixelBuffer&) = delete;
    ~PixelBuffer() { std::free(data_); }

    uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    // Throws std::bad_alloc, leaving the buffer as it was.
    void resize(size_t size) {
        if (size > capacity_) {
            const size_t capacity = std::max(size, capacity_ + capacity_ / 2);
            void* grown = std::realloc(data_, capacity);
            if (grown == nullptr) throw std::bad_alloc();
            data_ = static_cast<uint8_t*>(grown);
            capacity_ = capacity;
        }
        size_ = size;
    }

  private:
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

// Room for `extra` more elements, growing as PixelBuffer does: reserve() alone allocates exactly
// what is asked, so reserving for each source copied everything before it every time: a build
// from many small files was quadratic.
template <typename T>
void reserve_more(std::vector<T>& v, size_t extra) {
    if (v.size() + extra > v.capacity()) {
        v.reserve(std::max(v.size() + extra, v.capacity() + v.capacity() / 2));
    }
}

}  // namespace tessera::detail
