#include "tessera/core/hash.hpp"

#include <xxhash.h>

#include "tessera/core/error.hpp"

namespace tessera {

uint64_t hash_bytes(const void* data, size_t size) {
    return XXH3_64bits(data, size);
}

struct HashStream::State {
    XXH3_state_t* xxh = XXH3_createState();
    State() {
        TESSERA_ASSERT(xxh != nullptr);
        XXH3_64bits_reset(xxh);
    }
    ~State() { XXH3_freeState(xxh); }
};

HashStream::HashStream() : state_(std::make_unique<State>()) {}
HashStream::~HashStream() = default;

void HashStream::update(const void* data, size_t size) {
    XXH3_64bits_update(state_->xxh, data, size);
}

uint64_t HashStream::digest() const {
    return XXH3_64bits_digest(state_->xxh);
}

}  // namespace tessera
