#include "tessera/library/builder.hpp"

#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "library/file_format.hpp"
#include "library/pixel_buffer.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/interrupt.hpp"
#include "tessera/core/text.hpp"

namespace tessera {

namespace {

// The builder holds the whole library in memory, about the size of its file: the message says
// how big that is and which parameters make it smaller. While sources are added, the builder does
// not know those still to come: the size is of the sources so far, and says so.
// The file of a library of `patch_count` patches, its source records left out (a few bytes each).
uint64_t file_bytes_of(const LibraryParams& params, const SearchData& search_data,
                       uint64_t patch_count) {
    return detail::Layout(detail::section_bytes(0, 0, patch_count, params.patch_bytes(),
                                                detail::stored_render_bytes(params),
                                                search_data.section_bytes(params, patch_count)))
        .file_bytes;
}

[[noreturn]] void throw_out_of_memory(const std::string& what, const LibraryParams& params,
                                      const SearchData& search_data, uint64_t patch_count,
                                      bool all_sources) {
    throw Error(what + ": out of memory: a library of " + std::to_string(patch_count) +
                " patches of " + size_text(params.tile) + " " +
                std::string(mode_name(params.mode)) + " needs about " +
                bytes_text(file_bytes_of(params, search_data, patch_count)) +
                (all_sources ? "" : " with the sources up to this one") +
                "; use a larger stride, fewer rotations or flips, or a smaller tile");
}

// The origins in the source of the windows cut under transform t, in the order they are stored.
std::vector<Point> windows_in_source(Size image, const LibraryParams& params, WindowGrid grid,
                                     Transform t) {
    if (grid == WindowGrid::Source) return window_origins(image, params.tile, params.stride);
    std::vector<Point> windows =
        window_origins(transformed_size(image, t), params.tile, params.stride);
    for (Point& p : windows) p = source_window_origin(p, params.tile, image, t);
    return windows;
}

}  // namespace

struct LibraryBuilder::Buffers {
    std::vector<SourceInfo> sources;
    std::vector<PatchOrigin> origins;
    detail::PixelBuffer pixels;
    detail::PixelBuffer render_pixels;  // whole libraries rendered larger than matched
    std::shared_ptr<const void> search_storage;
};

LibraryBuilder::LibraryBuilder(LibraryParams params, const SearchData& search_data, WindowGrid grid)
    : params_(std::move(params)),
      search_data_(&search_data),
      grid_(grid),
      buffers_(std::make_shared<Buffers>()) {
    params_.validate();
}

size_t LibraryBuilder::patch_count() const {
    return buffers_->origins.size();
}
size_t LibraryBuilder::source_count() const {
    return buffers_->sources.size();
}

uint64_t LibraryBuilder::patches_from(Size image) const {
    if (params_.kind == LibraryKind::whole) return params_.transforms.size();
    const Size tile = params_.tile, stride = params_.stride;
    uint64_t patches = 0;
    for (Transform t : params_.transforms) {
        const Size grid = grid_ == WindowGrid::Source ? image : transformed_size(image, t);
        if (grid.width < tile.width || grid.height < tile.height) continue;
        patches += uint64_t((grid.width - tile.width) / stride.width + 1) *
                   uint64_t((grid.height - tile.height) / stride.height + 1);
    }
    return patches;
}

uint64_t LibraryBuilder::file_bytes_for(uint64_t patch_count) const {
    return file_bytes_of(params_, *search_data_, patch_count);
}

size_t LibraryBuilder::add_source(SourceInfo source, ImageView image) {
    TESSERA_ASSERT(params_.kind == LibraryKind::windows);
    if (image.channels != params_.channels()) {
        throw Error(source.path + ": has " + std::to_string(image.channels) +
                    " channels but the library is " + std::string(mode_name(params_.mode)));
    }
    std::vector<std::vector<Point>> windows;  // of each transform
    size_t added = 0;
    for (Transform t : params_.transforms) {
        windows.push_back(windows_in_source(image.size(), params_, grid_, t));
        added += windows.back().size();
    }
    if (added == 0) return 0;
    Buffers& b = *buffers_;
    if (b.origins.size() + added > UINT32_MAX) {  // patch ids are 32-bit
        throw Error(source.path + ": the library would pass " + std::to_string(UINT32_MAX) +
                    " patches, the most a library holds; use a larger stride or fewer sources");
    }
    const size_t patch_bytes = params_.patch_bytes();
    size_t at = b.pixels.size();
    try {
        b.pixels.resize(at + added * patch_bytes);
        detail::reserve_more(b.origins, added);
        detail::reserve_more(b.sources, 1);
    } catch (const std::bad_alloc&) {
        b.pixels.resize(at);  // as before this source: no patch from it
        throw_out_of_memory(source.path, params_, *search_data_, b.origins.size() + added, false);
    }
    const auto source_id = uint32_t(b.sources.size());
    source.width = uint32_t(image.width);
    source.height = uint32_t(image.height);
    b.sources.push_back(std::move(source));
    for (size_t i = 0; i < params_.transforms.size(); ++i) {
        const Transform t = params_.transforms[i];
        for (size_t w = 0; w < windows[i].size(); ++w) {
            if (w % 4096 == 0) interruption_point();  // a source may hold millions of windows
            const Point p = windows[i][w];
            uint8_t* dst = b.pixels.data() + at;
            apply_transform(image.row(p.y) + ptrdiff_t(p.x) * image.channels, image.stride,
                            params_.tile, image.channels, t, dst);
            b.origins.push_back({source_id, uint32_t(p.x), uint32_t(p.y), uint32_t(t)});
            at += patch_bytes;
        }
    }
    return added;
}

size_t LibraryBuilder::add_whole(SourceInfo source, Size photo, ImageView tile, ImageView render) {
    TESSERA_ASSERT(params_.kind == LibraryKind::whole);
    TESSERA_ASSERT(tile.size() == params_.tile && tile.channels == params_.channels());
    const bool larger = params_.renders_larger();
    TESSERA_ASSERT(!larger ||
                   (render.size() == params_.render_size() && render.channels == tile.channels));
    const size_t added = params_.transforms.size();
    Buffers& b = *buffers_;
    if (b.origins.size() + added > UINT32_MAX) {
        throw Error(source.path + ": the library would pass " + std::to_string(UINT32_MAX) +
                    " patches, the most a library holds; use fewer photos");
    }
    const size_t patch_bytes = params_.patch_bytes();
    const size_t render_bytes = larger ? params_.render_patch_bytes() : 0;
    size_t at = b.pixels.size(), render_at = b.render_pixels.size();
    try {
        b.pixels.resize(at + added * patch_bytes);
        b.render_pixels.resize(render_at + added * render_bytes);
        detail::reserve_more(b.origins, added);
        detail::reserve_more(b.sources, 1);
    } catch (const std::bad_alloc&) {
        b.pixels.resize(at);
        b.render_pixels.resize(render_at);
        throw_out_of_memory(source.path, params_, *search_data_, b.origins.size() + added, false);
    }
    const auto source_id = uint32_t(b.sources.size());
    source.width = uint32_t(photo.width);
    source.height = uint32_t(photo.height);
    b.sources.push_back(std::move(source));
    for (Transform t : params_.transforms) {
        apply_transform(tile.data, tile.stride, params_.tile, tile.channels, t,
                        b.pixels.data() + at);
        at += patch_bytes;
        if (larger) {
            apply_transform(render.data, render.stride, params_.render_size(), render.channels, t,
                            b.render_pixels.data() + render_at);
            render_at += render_bytes;
        }
        b.origins.push_back({source_id, 0, 0, uint32_t(t)});
    }
    return added;
}

Library LibraryBuilder::finish() {
    if (buffers_->origins.empty()) {
        throw Error("no patches: every source is smaller than the tile " +
                    std::to_string(params_.tile.width) + "x" + std::to_string(params_.tile.height) +
                    " (or no source was given)");
    }
    Library lib;
    lib.params_ = params_;
    lib.patch_count_ = buffers_->origins.size();
    lib.sources_ = std::shared_ptr<const std::vector<SourceInfo>>(buffers_, &buffers_->sources);
    lib.origins_ = buffers_->origins.data();
    lib.pixels_ = buffers_->pixels.data();
    lib.render_pixels_ = params_.renders_larger() ? buffers_->render_pixels.data() : nullptr;
    lib.search_data_ = search_data_;
    try {
        BuiltSearchSections search =
            search_data_->build(params_, buffers_->pixels.data(), lib.patch_count_);
        lib.search_sections_ = search.sections;
        buffers_->search_storage = std::move(search.storage);
    } catch (const std::bad_alloc&) {
        throw_out_of_memory("the search index", params_, *search_data_, lib.patch_count_, true);
    }
    lib.storage_ = std::move(buffers_);
    buffers_ = std::make_shared<Buffers>();
    lib.data_checksum_ = detail::data_checksum(lib);
    return lib;
}

}  // namespace tessera
