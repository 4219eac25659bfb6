// Library::open on arbitrary bytes: it must refuse them with tessera::Error or give a library
// whose every section can be read, never crash or read out of bounds.
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "memory_file.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/hash.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "tessera/search/search.hpp"

namespace {

// Mutated headers would almost never match their checksum, and the parser behind it would go
// unexplored: when the input has a header, its checksum (the header's last 8 bytes, after the
// header size at byte 12) is recomputed. The checksum test itself is in the C++ tests.
std::vector<uint8_t> resealed(const uint8_t* data, size_t size) {
    std::vector<uint8_t> bytes(data, data + size);
    uint32_t header_bytes = 0;
    if (size >= 16) std::memcpy(&header_bytes, data + 12, 4);
    if (header_bytes >= 16 && header_bytes <= size) {
        const uint64_t sum = tessera::hash_bytes(bytes.data(), header_bytes - 8);
        std::memcpy(bytes.data() + header_bytes - 8, &sum, 8);
    }
    return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tessera;
    const std::vector<uint8_t> bytes = resealed(data, size);
    try {
        const Library lib =
            Library::open(file_with(bytes.data(), bytes.size()), exact_search_data());
        // Touch everything open() vouched for: ASan reports any read past the mapping.
        uint64_t sum = 0;
        for (const SourceInfo& s : lib.sources()) sum += s.path.size() + s.width;
        for (const PatchOrigin& o : lib.origins()) sum += lib.sources()[o.source].path.size() + o.x;
        for (std::span<const uint8_t> section : lib.search_sections()) {
            for (uint8_t b : section) sum += b;
        }
        sum += lib.patch(lib.patch_count() - 1)[lib.patch_bytes() - 1];
        sum += lib.render_patch(lib.patch_count() - 1)[lib.params().render_patch_bytes() - 1];
        lib.verify();
        // A library that passes every check must be searchable: the exact search agrees with
        // the oracle on one query (the first patch).
        if (lib.patch_count() <= 4096) {
            const QueryBatch query{lib.patch(0), 1, lib.params().tile};
            Neighbor exact, oracle;
            make_exact_searcher(lib, 1)->search(query, 1, &exact);
            make_bruteforce_searcher(lib)->search(query, 1, &oracle);
            if (!(exact == oracle) || exact.distance != 0) __builtin_trap();
        }
        (void)sum;
    } catch (const Error&) {
    }
    return 0;
}
