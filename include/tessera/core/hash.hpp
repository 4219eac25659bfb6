// XXH3-64: the content hash of sources and the library's checksums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace tessera {

// XXH3-64 of a byte range.
uint64_t hash_bytes(const void* data, size_t size);

// XXH3-64 of byte ranges fed in order, the same as hash_bytes of their concatenation.
class HashStream {
  public:
    HashStream();
    ~HashStream();
    HashStream(const HashStream&) = delete;
    HashStream& operator=(const HashStream&) = delete;

    void update(const void* data, size_t size);
    uint64_t digest() const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace tessera
