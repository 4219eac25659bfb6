// Opening a library file: mapping it and refusing any header, layout, section or provenance that
// is damaged or foreign before anything reads through it.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "library/file_format.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/core/hash.hpp"

namespace tessera {

using namespace detail;

Library Library::open(const std::string& path, const SearchData& search_data) {
    auto file = std::make_shared<const MappedFile>(path);
    auto corrupt = [&path](const std::string& what) { return Error(path + ": " + what); };
    const uint64_t size = file->size();
    if (size == 0) throw corrupt("is empty, not a tessera library");
    if (size < kMagic.size() || std::memcmp(file->data(), kMagic.data(), kMagic.size())) {
        throw corrupt("is not a tessera library (no tessera header); build one with tessera build");
    }
    const auto truncated_header = [&] {
        return corrupt("is truncated (" + std::to_string(size) +
                       " bytes, shorter than the header)");
    };
    if (size < offsetof(FileHeader, header_bytes)) throw truncated_header();
    // Every format starts with the magic and the version.
    uint32_t version;
    std::memcpy(&version, file->data() + offsetof(FileHeader, version), sizeof version);
    if (version > kLibraryFormatVersion) {
        throw corrupt("was written by a newer tessera (library format " + std::to_string(version) +
                      "); this tessera reads format " + std::to_string(kLibraryFormatVersion) +
                      ": upgrade tessera");
    }
    if (version < kLibraryFormatVersion) {
        throw corrupt("has library format " + std::to_string(version) +
                      "; this tessera reads format " + std::to_string(kLibraryFormatVersion) +
                      ": rebuild it with tessera build");
    }
    if (size < sizeof(FileHeader)) throw truncated_header();
    FileHeader h;
    std::memcpy(&h, file->data(), sizeof h);
    if (h.header_bytes != sizeof(FileHeader) ||
        h.header_checksum != hash_bytes(&h, offsetof(FileHeader, header_checksum))) {
        throw corrupt("header is corrupt (checksum mismatch); rebuild the library");
    }
    if (h.file_bytes != size) {
        throw corrupt(size < h.file_bytes ? "is truncated (" + std::to_string(size) + " of " +
                                                std::to_string(h.file_bytes) + " bytes)"
                                          : "has " + std::to_string(size - h.file_bytes) +
                                                " unexpected bytes at the end");
    }

    Library lib;
    lib.params_.tile = {int(std::min<uint32_t>(h.tile_width, 1 << 20)),
                        int(std::min<uint32_t>(h.tile_height, 1 << 20))};
    lib.params_.stride = {int(std::min<uint32_t>(h.stride_x, 1 << 20)),
                          int(std::min<uint32_t>(h.stride_y, 1 << 20))};
    if (h.channels != 1 && h.channels != 3) throw corrupt("header has an invalid channel count");
    lib.params_.mode = mode_of_channels(int(h.channels));
    if (h.kind > uint32_t(LibraryKind::whole) ||
        (h.kind == uint32_t(LibraryKind::windows) && h.fit != 0) ||
        h.fit > uint32_t(Fit::stretch)) {
        throw corrupt("header has an invalid library kind");
    }
    lib.params_.kind = LibraryKind(h.kind);
    lib.params_.fit = Fit(h.fit);
    if (h.render_width == 0 || h.render_height == 0) {
        throw corrupt("header has an invalid render size");
    }
    lib.params_.render = {int(std::min<uint32_t>(h.render_width, 1 << 20)),
                          int(std::min<uint32_t>(h.render_height, 1 << 20))};
    if (lib.params_.render == lib.params_.tile) lib.params_.render = {0, 0};
    // The writer's version: printable text, zero padded.
    const auto writer_end = std::find(h.writer.begin(), h.writer.end(), '\0');
    if (writer_end == h.writer.end() ||
        std::any_of(h.writer.begin(), writer_end, [](char c) { return c < 0x20 || c > 0x7e; }) ||
        std::any_of(writer_end, h.writer.end(), [](char c) { return c != 0; })) {
        throw corrupt("header has an invalid writer version");
    }
    lib.writer_.assign(h.writer.begin(), writer_end);
    if (h.transform_mask == 0 || h.transform_mask > 0xff) {
        throw corrupt("header has an invalid transform set");
    }
    lib.params_.transforms.clear();
    for (int t = 0; t < kTransformCount; ++t) {
        if (h.transform_mask & (1u << t)) lib.params_.transforms.push_back(Transform(t));
    }
    try {
        lib.params_.validate();
    } catch (const Error& e) {
        throw corrupt(std::string("header has invalid parameters: ") + e.what());
    }
    // Bound the counts by the file size before multiplying them, so nothing can overflow.
    if (h.patch_count == 0 || h.source_count == 0 || h.patch_count > size ||
        h.patch_count > UINT32_MAX || h.source_count > size || h.sections[kNames].bytes > size ||
        h.patch_count > size / lib.params_.render_patch_bytes()) {
        throw corrupt("header has invalid counts");
    }
    const Layout layout(section_bytes(h.source_count, h.sections[kNames].bytes, h.patch_count,
                                      lib.params_.patch_bytes(), stored_render_bytes(lib.params_),
                                      search_data.section_bytes(lib.params_, h.patch_count)));
    if (layout.file_bytes != h.file_bytes || layout.sections != h.sections) {
        throw corrupt("sections do not match the counts in the header");
    }

    const uint8_t* base = file->data();
    // The data checksum hashes padding as zeros, so damage there is caught here (a few bytes).
    uint64_t at = sizeof(FileHeader);
    for (const FileSection& s : h.sections) {
        if (std::any_of(base + at, base + s.offset, [](uint8_t b) { return b != 0; })) {
            throw corrupt("padding before byte " + std::to_string(s.offset) +
                          " is not zero; the file is corrupt, rebuild the library");
        }
        at = s.offset + s.bytes;
    }
    auto section = [&](int id) { return base + h.sections[id].offset; };
    auto sources = std::make_shared<std::vector<SourceInfo>>();
    std::string_view names(reinterpret_cast<const char*>(section(kNames)),
                           h.sections[kNames].bytes);
    for (uint64_t i = 0; i < h.source_count; ++i) {
        SourceRecord r;
        std::memcpy(&r, section(kSources) + i * sizeof r, sizeof r);
        if (uint64_t(r.name_offset) + r.name_bytes > names.size()) {
            throw corrupt("source " + std::to_string(i) + " has an invalid name");
        }
        sources->push_back({std::string(names.substr(r.name_offset, r.name_bytes)), r.file_bytes,
                            r.content_hash, r.width, r.height});
    }
    lib.patch_count_ = h.patch_count;
    lib.origins_ = reinterpret_cast<const PatchOrigin*>(section(kOrigins));
    lib.pixels_ = section(kPixels);
    lib.render_pixels_ = lib.params_.renders_larger() ? section(kRenderPixels) : nullptr;
    lib.search_data_ = &search_data;
    for (size_t i = 0; i < kSearchSectionCount; ++i) {
        const int id = kFirstSearchSection + int(i);
        lib.search_sections_[i] = {section(id), h.sections[id].bytes};
    }
    // The search reads pixels through its sections, so they are checked before any search.
    try {
        search_data.validate(lib.params_, lib.patch_count_, lib.search_sections_);
    } catch (const Error& e) {
        throw corrupt(e.what());
    }
    // Provenance is checked here because renderers and reports index sources with it.
    const Size tile = lib.params_.tile;
    const bool whole = lib.params_.kind == LibraryKind::whole;
    for (const PatchOrigin& o : lib.origins()) {
        if (o.source >= h.source_count || o.transform >= kTransformCount ||
            !(h.transform_mask & (1u << o.transform)) ||
            (whole ? o.x != 0 || o.y != 0
                   : uint64_t(o.x) + tile.width > (*sources)[o.source].width ||
                         uint64_t(o.y) + tile.height > (*sources)[o.source].height)) {
            throw corrupt("patch provenance is corrupt; rebuild the library");
        }
    }
    lib.sources_ = std::move(sources);
    lib.data_checksum_ = h.data_checksum;
    lib.file_data_ = {base + sizeof(FileHeader), size - sizeof(FileHeader)};
    lib.path_ = path;
    lib.storage_ = std::move(file);
    return lib;
}

}  // namespace tessera
