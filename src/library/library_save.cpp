// Writing a library file, and the data checksum that saving stores and verify() checks.
#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "library/file_format.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/core/hash.hpp"

namespace tessera {

namespace detail {

namespace {

struct Serialized {
    std::vector<SourceRecord> records;
    std::string names;
};

Serialized serialize_sources(const std::vector<SourceInfo>& sources) {
    Serialized s;
    for (const SourceInfo& src : sources) {
        s.records.push_back({src.file_bytes, src.content_hash, src.width, src.height,
                             uint32_t(s.names.size()), uint32_t(src.path.size())});
        s.names += src.path;
    }
    return s;
}

uint32_t transform_mask(const std::vector<Transform>& transforms) {
    uint32_t mask = 0;
    for (Transform t : transforms) mask |= 1u << static_cast<int>(t);
    return mask;
}

SectionData section_data(const Library& lib, const Serialized& s) {
    SectionData data{};
    data[kSources] = s.records.data();
    data[kNames] = s.names.data();
    data[kOrigins] = lib.origins().data();
    data[kPixels] = lib.pixels();
    data[kRenderPixels] = lib.params().renders_larger() ? lib.render_patch(0) : nullptr;
    for (size_t i = 0; i < kSearchSectionCount; ++i) {
        data[kFirstSearchSection + i] = lib.search_sections()[i].data();
    }
    return data;
}

SearchSectionBytes search_bytes(const Library& lib) {
    SearchSectionBytes bytes;
    for (size_t i = 0; i < kSearchSectionCount; ++i) bytes[i] = lib.search_sections()[i].size();
    return bytes;
}

Layout layout_of(const Library& lib, const Serialized& s) {
    return Layout(section_bytes(s.records.size(), s.names.size(), lib.patch_count(),
                                lib.patch_bytes(), stored_render_bytes(lib.params()),
                                search_bytes(lib)));
}

const std::array<uint8_t, kAlignment> kZeros{};

// hash_bytes of a whole file, in pieces with an interruption point before each.
uint64_t file_checksum(std::span<const uint8_t> file) {
    constexpr size_t kPieceBytes = size_t(64) << 20;
    HashStream hash;
    for (size_t done = 0; done < file.size(); done += kPieceBytes) {
        interruption_point();
        hash.update(file.data() + done, std::min(kPieceBytes, file.size() - done));
    }
    return hash.digest();
}

}  // namespace

uint64_t data_checksum(const Library& lib) {
    const Serialized s = serialize_sources(lib.sources());
    HashStream hash;
    for_each_chunk(layout_of(lib, s), section_data(lib, s), [&](const void* data, uint64_t bytes) {
        hash.update(data ? data : kZeros.data(), bytes);
    });
    return hash.digest();
}

}  // namespace detail

using namespace detail;

uint64_t Library::file_bytes() const {
    uint64_t name_bytes = 0;
    for (const SourceInfo& s : sources()) name_bytes += s.path.size();
    return Layout(section_bytes(sources().size(), name_bytes, patch_count(), patch_bytes(),
                                stored_render_bytes(params_), search_bytes(*this)))
        .file_bytes;
}

void Library::save(const std::string& path) const {
    const Serialized s = serialize_sources(sources());
    const Layout layout = layout_of(*this, s);
    FileHeader h{};
    h.magic = kMagic;
    h.version = kLibraryFormatVersion;
    h.header_bytes = sizeof(FileHeader);
    h.tile_width = uint32_t(params_.tile.width);
    h.tile_height = uint32_t(params_.tile.height);
    h.stride_x = uint32_t(params_.stride.width);
    h.stride_y = uint32_t(params_.stride.height);
    h.channels = uint32_t(params_.channels());
    h.transform_mask = transform_mask(params_.transforms);
    h.patch_count = patch_count();
    h.source_count = s.records.size();
    h.file_bytes = layout.file_bytes;
    h.sections = layout.sections;
    h.kind = uint32_t(params_.kind);
    h.fit = params_.kind == LibraryKind::whole ? uint32_t(params_.fit) : 0;
    h.render_width = uint32_t(params_.render_size().width);
    h.render_height = uint32_t(params_.render_size().height);
    TESSERA_ASSERT(writer_.size() < h.writer.size());
    std::copy(writer_.begin(), writer_.end(), h.writer.begin());
    h.data_checksum = data_checksum_;
    h.header_checksum = hash_bytes(&h, offsetof(FileHeader, header_checksum));

    AtomicFile file(path);
    file.write(&h, sizeof h);
    for_each_chunk(layout, section_data(*this, s), [&](const void* data, uint64_t bytes) {
        file.write(data ? data : kZeros.data(), bytes);
    });
    file.commit();
}

void Library::verify() const {
    // An opened library hashes the file's bytes as they are, padding included, so that no
    // flipped byte goes unnoticed.
    const uint64_t actual = file_data_.empty() ? data_checksum(*this) : file_checksum(file_data_);
    if (actual != data_checksum_) {
        throw Error((path_.empty() ? std::string("library") : path_) +
                    ": data is corrupt (checksum mismatch); rebuild it with tessera build");
    }
}

}  // namespace tessera
