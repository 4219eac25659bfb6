#include "library/file_format.hpp"

namespace tessera {

const char* const kTesseraVersion = TESSERA_VERSION;

}  // namespace tessera

namespace tessera::detail {

namespace {

uint64_t align_up(uint64_t n) {
    return (n + kAlignment - 1) / kAlignment * kAlignment;
}

}  // namespace

SectionBytes section_bytes(uint64_t source_count, uint64_t name_bytes, uint64_t patch_count,
                           uint64_t patch_bytes, uint64_t render_patch_bytes,
                           const SearchSectionBytes& search) {
    SectionBytes bytes{};
    bytes[kSources] = source_count * sizeof(SourceRecord);
    bytes[kNames] = name_bytes;
    bytes[kOrigins] = patch_count * sizeof(PatchOrigin);
    bytes[kPixels] = patch_count * patch_bytes;
    bytes[kRenderPixels] = patch_count * render_patch_bytes;
    for (size_t i = 0; i < kSearchSectionCount; ++i) bytes[kFirstSearchSection + i] = search[i];
    return bytes;
}

Layout::Layout(const SectionBytes& bytes) {
    uint64_t at = align_up(sizeof(FileHeader));
    for (int i = 0; i < kSectionCount; ++i) {
        sections[i] = {at, bytes[i]};
        at = align_up(at + bytes[i]);
    }
    file_bytes = sections[kSectionCount - 1].offset + sections[kSectionCount - 1].bytes;
}

}  // namespace tessera::detail
