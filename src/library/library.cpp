#include "tessera/library/library.hpp"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "search/search_index.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"

namespace tessera {

static_assert(std::endian::native == std::endian::little, "the library format is little-endian");

namespace {

// ---- On-disk layout (docs/architecture.md describes it for readers of the file) ----

constexpr std::array<char, 8> kMagic = {'T', 'E', 'S', 'S', 'E', 'R', 'A', '\x1a'};
constexpr uint64_t kAlignment = 64;  // every section starts on a cache line

struct FileSection {
    uint64_t offset;
    uint64_t bytes;
    bool operator==(const FileSection&) const = default;
};

// The sections in file order.
enum SectionId {
    kSources,
    kNames,
    kOrigins,
    kPixels,
    kNorms,
    kOrder,
    kSums,
    kSpreads,
    kBuckets,
    kTails,
    kBlocks,
    kChannels,
    kSectionCount
};
using Sections = std::array<FileSection, kSectionCount>;
using SectionData = std::array<const void*, kSectionCount>;

struct FileHeader {
    std::array<char, 8> magic;
    uint32_t version;
    uint32_t header_bytes;
    uint32_t tile_width, tile_height;
    uint32_t stride_x, stride_y;
    uint32_t channels;
    uint32_t transform_mask;  // bit t set when Transform t was applied
    uint64_t patch_count;
    uint64_t source_count;
    uint64_t file_bytes;
    Sections sections;
    uint64_t data_checksum;    // XXH3-64 of the sections in order, zero padding included
    uint64_t header_checksum;  // XXH3-64 of every header byte before this field
};
static_assert(sizeof(FileHeader) == 272);

struct SourceRecord {
    uint64_t file_bytes;
    uint64_t content_hash;
    uint32_t width, height;
    uint32_t name_offset, name_bytes;
};
static_assert(sizeof(SourceRecord) == 32);
static_assert(sizeof(PatchOrigin) == 16);

uint64_t align_up(uint64_t n) {
    return (n + kAlignment - 1) / kAlignment * kAlignment;
}

// Where each section goes, as a function of the counts alone: writing uses it, and reading
// accepts a header only when its sections are exactly these.
struct Layout {
    Sections sections;
    uint64_t file_bytes;

    Layout(uint64_t source_count, uint64_t name_bytes, uint64_t patch_count, uint64_t patch_bytes,
           uint64_t block_pairs, int channels) {
        std::array<uint64_t, kSectionCount> bytes{};
        bytes[kSources] = source_count * sizeof(SourceRecord);
        bytes[kNames] = name_bytes;
        bytes[kOrigins] = patch_count * sizeof(PatchOrigin);
        bytes[kPixels] = patch_count * patch_bytes;
        for (SectionId id : {kNorms, kOrder, kSums, kSpreads}) {
            bytes[id] = patch_count * sizeof(uint32_t);
        }
        bytes[kBuckets] = (detail::kMeanBuckets + 1) * sizeof(uint32_t);
        const uint64_t padded = detail::group_count(patch_count) * detail::kGroup;
        bytes[kTails] = padded * sizeof(uint32_t);
        bytes[kBlocks] = padded * block_pairs * sizeof(uint32_t);
        bytes[kChannels] =
            padded / detail::kGroup * detail::channel_lanes(channels) * sizeof(uint32_t);
        uint64_t at = align_up(sizeof(FileHeader));
        for (int i = 0; i < kSectionCount; ++i) {
            sections[i] = {at, bytes[i]};
            at = align_up(at + bytes[i]);
        }
        file_bytes = sections[kSectionCount - 1].offset + sections[kSectionCount - 1].bytes;
    }
};

// The library's bytes after the header, as (pointer, size) chunks in file order; nullptr stands
// for zero padding. Saving writes these chunks and the checksum hashes them.
template <typename Fn>
void for_each_chunk(const Layout& layout, const SectionData& data, Fn&& fn) {
    uint64_t at = sizeof(FileHeader);
    for (int i = 0; i < kSectionCount; ++i) {
        const FileSection& section = layout.sections[i];
        fn(nullptr, section.offset - at);
        fn(data[i], section.bytes);
        at = section.offset + section.bytes;
    }
}

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

}  // namespace

uint64_t hash_bytes(const void* data, size_t size) {
    return XXH3_64bits(data, size);
}

// ---- Parameters ----

void LibraryParams::validate() const {
    auto side_ok = [](int v) { return v >= 1 && v <= kMaxTileSide; };
    if (!side_ok(tile.width) || !side_ok(tile.height)) {
        throw Error("tile " + std::to_string(tile.width) + "x" + std::to_string(tile.height) +
                    " is out of range: each side must be 1 to " + std::to_string(kMaxTileSide));
    }
    if (stride.width < 1 || stride.height < 1 || stride.width > 1 << 16 ||
        stride.height > 1 << 16) {
        throw Error("stride " + std::to_string(stride.width) + "x" + std::to_string(stride.height) +
                    " is out of range: each side must be 1 to 65536");
    }
    if (transforms.empty()) throw Error("no transform selected: give at least one rotation");
    for (size_t i = 0; i < transforms.size(); ++i) {
        int t = static_cast<int>(transforms[i]);
        TESSERA_ASSERT(t >= 0 && t < kTransformCount);
        TESSERA_ASSERT(i == 0 || transforms[i - 1] < transforms[i]);
        if (swaps_axes(transforms[i]) && tile.width != tile.height) {
            throw Error("rotations by 90 or 270 degrees need a square tile, not " +
                        std::to_string(tile.width) + "x" + std::to_string(tile.height) +
                        ": use rotations 0,180 or a square tile");
        }
    }
}

std::vector<Transform> transforms_from(const std::vector<int>& rotations_degrees, bool flips) {
    uint32_t mask = 0;
    for (int degrees : rotations_degrees) {
        if (degrees % 90 != 0 || degrees < 0 || degrees >= 360) {
            throw Error("invalid rotation " + std::to_string(degrees) +
                        ": rotations are 0, 90, 180 or 270 degrees");
        }
        int turns = degrees / 90;
        mask |= 1u << turns;
        if (flips) mask |= 1u << (turns + 4);
    }
    std::vector<Transform> transforms;
    for (int t = 0; t < kTransformCount; ++t) {
        if (mask & (1u << t)) transforms.push_back(static_cast<Transform>(t));
    }
    return transforms;
}

namespace {
uint64_t data_checksum(const Library& lib);
}  // namespace

// ---- Building ----

namespace {

struct IndexBuffers {
    std::vector<uint32_t> norms;  // by id: the norms section, computed with the features
    std::vector<uint32_t> order, sums, spreads, buckets, tails, block_pairs, channels;
};

// Computes the patches' norms and the search index (search_index.hpp) of n patches.
IndexBuffers build_index(const LibraryParams& params, const uint8_t* pixels, size_t n) {
    const size_t patch_bytes = params.patch_bytes();
    const detail::BlockGrid grid = detail::block_grid(params);
    const size_t pairs = grid.pairs();
    std::vector<detail::PatchFeatures> by_id(n);
    std::vector<uint16_t> blocks_by_id(n * 2 * pairs);
#pragma omp parallel for schedule(static)
    for (size_t id = 0; id < n; ++id) {
        by_id[id] = detail::patch_features(pixels + id * patch_bytes, params, grid,
                                           blocks_by_id.data() + id * 2 * pairs);
    }
    // Sort by (mean bucket, spread, id): the spread fits 32 bits (search_index.hpp).
    std::vector<std::pair<uint64_t, uint32_t>> keys(n);
    for (size_t id = 0; id < n; ++id) {
        const uint64_t bucket = detail::mean_bucket(by_id[id].sum, patch_bytes);
        keys[id] = {bucket << 32 | by_id[id].spread, uint32_t(id)};
    }
    std::sort(keys.begin(), keys.end());
    IndexBuffers b;
    b.norms.resize(n);
    for (size_t id = 0; id < n; ++id) b.norms[id] = by_id[id].norm;
    b.order.resize(n);
    b.sums.resize(n);
    b.spreads.resize(n);
    b.buckets.assign(detail::kMeanBuckets + 1, 0);
    b.tails.assign(detail::group_count(n) * detail::kGroup, 0);
    b.block_pairs.assign(b.tails.size() * pairs, 0);
    const int channels = params.channels();
    const size_t lanes = detail::channel_lanes(channels);
    b.channels.assign(detail::group_count(n) * lanes, 0);
    for (size_t i = 0; i < n; ++i) {
        const uint32_t id = keys[i].second;
        b.order[i] = id;
        b.sums[i] = by_id[id].sum;
        b.spreads[i] = by_id[id].spread;
        b.tails[i] = by_id[id].tail;
        const uint16_t* blocks = blocks_by_id.data() + id * 2 * pairs;
        for (size_t j = 0; j < pairs; ++j) {
            b.block_pairs[((i / detail::kGroup) * pairs + j) * detail::kGroup +
                          i % detail::kGroup] = detail::block_pair(blocks, j);
        }
        if (lanes != 0) {
            uint32_t* group = &b.channels[i / detail::kGroup * lanes + i % detail::kGroup];
            for (int c = 0; c < channels; ++c)
                group[c * detail::kGroup] = by_id[id].channel_sums[c];
            group[channels * detail::kGroup] = by_id[id].channel_spread;
        }
        ++b.buckets[detail::mean_bucket(by_id[id].sum, patch_bytes) + 1];
    }
    for (size_t i = 1; i < b.buckets.size(); ++i) b.buckets[i] += b.buckets[i - 1];
    return b;
}

SearchIndex index_view(const LibraryParams& params, size_t n, const SectionData& data) {
    const size_t pairs = detail::block_grid(params).pairs();
    const size_t padded = detail::group_count(n) * detail::kGroup;
    auto u32 = [](const void* p, size_t count) {
        return std::span<const uint32_t>(static_cast<const uint32_t*>(p), count);
    };
    return {
        u32(data[kOrder], n),
        u32(data[kSums], n),
        u32(data[kSpreads], n),
        u32(data[kBuckets], detail::kMeanBuckets + 1),
        u32(data[kTails], padded),
        u32(data[kBlocks], padded * pairs),
        pairs,
        u32(data[kChannels], padded / detail::kGroup * detail::channel_lanes(params.channels()))};
}

// The builder holds the whole library in memory, about the size of its file: the message says
// how big that is and which parameters make it smaller. While sources are added, the builder does
// not know those still to come: the size is of the sources so far, and says so.
[[noreturn]] void throw_out_of_memory(const std::string& what, const LibraryParams& params,
                                      uint64_t patch_count, bool all_sources) {
    const Layout layout(0, 0, patch_count, params.patch_bytes(), detail::block_grid(params).pairs(),
                        params.channels());
    throw Error(
        what + ": out of memory: a library of " + std::to_string(patch_count) + " patches of " +
        size_text(params.tile) + " " + std::string(mode_name(params.mode)) + " needs about " +
        bytes_text(layout.file_bytes) + (all_sources ? "" : " with the sources up to this one") +
        "; use a larger stride, fewer rotations or flips, or a smaller tile");
}

}  // namespace

std::string count_text(uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string bytes_text(uint64_t bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1000 && u < 4) v /= 1000, ++u;
    char text[32];
    std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return text;
}

namespace {

// The patches' pixels as they are cut, grown with realloc: glibc moves a large (mmapped) block
// with mremap, so growing neither copies the pixels nor holds the old and new blocks at once, as
// std::vector's doubling does (a 10.4 GB library peaked at 19.9 GB). New bytes are not zeroed.
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
// what is asked, so reserving for each source copied everything before it every time (a build
// from 40,000 small files took 43 s in these copies).
template <typename T>
void reserve_more(std::vector<T>& v, size_t extra) {
    if (v.size() + extra > v.capacity()) {
        v.reserve(std::max(v.size() + extra, v.capacity() + v.capacity() / 2));
    }
}

}  // namespace

struct LibraryBuilder::Buffers {
    std::vector<SourceInfo> sources;
    std::vector<PatchOrigin> origins;
    PixelBuffer pixels;
    IndexBuffers index;
};

LibraryBuilder::LibraryBuilder(LibraryParams params)
    : params_(std::move(params)), buffers_(std::make_shared<Buffers>()) {
    params_.validate();
}

size_t LibraryBuilder::patch_count() const {
    return buffers_->origins.size();
}
size_t LibraryBuilder::source_count() const {
    return buffers_->sources.size();
}

size_t LibraryBuilder::add_source(SourceInfo source, ImageView image) {
    if (image.channels != params_.channels()) {
        throw Error(source.path + ": has " + std::to_string(image.channels) +
                    " channels but the library is " + std::string(mode_name(params_.mode)));
    }
    const std::vector<Point> windows = window_origins(image.size(), params_.tile, params_.stride);
    if (windows.empty()) return 0;
    Buffers& b = *buffers_;
    const size_t added = windows.size() * params_.transforms.size();
    if (b.origins.size() + added > UINT32_MAX) {  // patch ids are 32-bit
        throw Error(source.path + ": the library would pass " + std::to_string(UINT32_MAX) +
                    " patches, the most a library holds; use a larger stride or fewer sources");
    }
    const size_t patch_bytes = params_.patch_bytes();
    size_t at = b.pixels.size();
    try {
        b.pixels.resize(at + added * patch_bytes);
        reserve_more(b.origins, added);
        reserve_more(b.sources, 1);
    } catch (const std::bad_alloc&) {
        b.pixels.resize(at);  // as before this source: no patch from it
        throw_out_of_memory(source.path, params_, b.origins.size() + added, false);
    }
    const auto source_id = uint32_t(b.sources.size());
    source.width = uint32_t(image.width);
    source.height = uint32_t(image.height);
    b.sources.push_back(std::move(source));
    for (Transform t : params_.transforms) {
        for (Point p : windows) {
            uint8_t* dst = b.pixels.data() + at;
            apply_transform(image.row(p.y) + ptrdiff_t(p.x) * image.channels, image.stride,
                            params_.tile, image.channels, t, dst);
            b.origins.push_back({source_id, uint32_t(p.x), uint32_t(p.y), uint32_t(t)});
            at += patch_bytes;
        }
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
    try {
        buffers_->index = build_index(params_, buffers_->pixels.data(), lib.patch_count_);
    } catch (const std::bad_alloc&) {
        throw_out_of_memory("the search index", params_, lib.patch_count_, true);
    }
    lib.norms_ = buffers_->index.norms.data();
    const IndexBuffers& b = buffers_->index;
    lib.index_ = index_view(params_, lib.patch_count_,
                            {nullptr, nullptr, nullptr, nullptr, nullptr, b.order.data(),
                             b.sums.data(), b.spreads.data(), b.buckets.data(), b.tails.data(),
                             b.block_pairs.data(), b.channels.data()});
    lib.storage_ = std::move(buffers_);
    buffers_ = std::make_shared<Buffers>();
    lib.data_checksum_ = data_checksum(lib);
    return lib;
}

// ---- Saving and checking ----

namespace {

SectionData section_data(const Library& lib, const Serialized& s) {
    const SearchIndex& x = lib.index();
    return {s.records.data(),   s.names.data(), lib.origins().data(), lib.pixels(),
            lib.norms().data(), x.order.data(), x.sums.data(),        x.spreads.data(),
            x.buckets.data(),   x.tails.data(), x.block_pairs.data(), x.channels.data()};
}

Layout layout_of(const Library& lib, const Serialized& s) {
    return Layout(s.records.size(), s.names.size(), lib.size(), lib.patch_bytes(),
                  lib.index().pairs, lib.params().channels());
}

template <typename Fn>
void for_each_library_chunk(const Library& lib, Fn&& fn) {
    Serialized s = serialize_sources(lib.sources());
    for_each_chunk(layout_of(lib, s), section_data(lib, s), fn);
}

uint64_t data_checksum(const Library& lib) {
    XXH3_state_t* state = XXH3_createState();
    TESSERA_ASSERT(state != nullptr);
    XXH3_64bits_reset(state);
    static const std::array<uint8_t, kAlignment> zeros{};
    for_each_library_chunk(lib, [&](const void* data, uint64_t bytes) {
        XXH3_64bits_update(state, data ? data : zeros.data(), bytes);
    });
    uint64_t h = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return h;
}

}  // namespace

uint64_t Library::file_bytes() const {
    uint64_t name_bytes = 0;
    for (const SourceInfo& s : sources()) name_bytes += s.path.size();
    return Layout(sources().size(), name_bytes, size(), patch_bytes(), index_.pairs,
                  params_.channels())
        .file_bytes;
}

void Library::save(const std::string& path) const {
    Serialized s = serialize_sources(sources());
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
    h.patch_count = size();
    h.source_count = s.records.size();
    h.file_bytes = layout.file_bytes;
    h.sections = layout.sections;
    h.data_checksum = data_checksum_;
    h.header_checksum = hash_bytes(&h, offsetof(FileHeader, header_checksum));

    AtomicFile file(path);
    file.write(&h, sizeof h);
    static const std::array<uint8_t, kAlignment> zeros{};
    for_each_chunk(layout, section_data(*this, s), [&](const void* data, uint64_t bytes) {
        file.write(data ? data : zeros.data(), bytes);
    });
    file.commit();
}

void Library::verify() const {
    // An opened library hashes the file's bytes as they are, padding included, so that no
    // flipped byte goes unnoticed.
    const uint64_t actual = file_data_.empty() ? data_checksum(*this)
                                               : hash_bytes(file_data_.data(), file_data_.size());
    if (actual != data_checksum_) {
        throw Error((path_.empty() ? std::string("library") : path_) +
                    ": data is corrupt (checksum mismatch); rebuild it with tessera build");
    }
}

// ---- Opening ----

namespace {

// The search reads pixels through the index, so a file whose index is not a permutation sorted
// as search_index.hpp says is refused (what the checksum alone would catch only on --verify).
// Features past what any patch can have are refused too: the filters' integer widths (and the
// SIMD levels' agreement) rest on those maxima.
template <typename Corrupt>
void check_index(const SearchIndex& x, const LibraryParams& params, const Corrupt& corrupt) {
    auto require = [&corrupt](bool holds) {
        if (!holds) throw corrupt("search index is corrupt; rebuild the library");
    };
    const size_t n = x.order.size();
    const size_t patch_bytes = params.patch_bytes();
    const int channels = params.channels();
    const detail::BlockGrid grid = detail::block_grid(params);
    const uint64_t max_norm = uint64_t(patch_bytes) * 255 * 255;
    const uint32_t max_block = 255u * uint32_t(grid.block_bytes);
    const uint64_t max_tail = detail::isqrt(uint64_t(grid.block_bytes) * max_norm);
    const uint64_t max_channel_spread = detail::isqrt(patch_bytes / size_t(channels) * max_norm);
    for (uint32_t tail : x.tails) require(tail <= max_tail);
    for (uint32_t pair : x.block_pairs) {
        require((pair & 0xffff) <= max_block && (pair >> 16) <= max_block);
    }
    require(x.buckets.front() == 0 && x.buckets.back() == n);
    std::vector<bool> seen(n);
    for (size_t b = 0; b < detail::kMeanBuckets; ++b) {
        require(x.buckets[b] <= x.buckets[b + 1]);
        for (size_t i = x.buckets[b]; i < x.buckets[b + 1]; ++i) {
            const uint32_t id = x.order[i];
            require(id < n && !seen[id] && detail::mean_bucket(x.sums[i], patch_bytes) == b &&
                    (i == x.buckets[b] || x.spreads[i - 1] <= x.spreads[i]));
            seen[id] = true;
        }
    }
    // The channel sums of a position add up to its sum.
    const size_t lanes = detail::channel_lanes(channels);
    for (size_t i = 0; lanes != 0 && i < n; ++i) {
        const uint32_t* group = &x.channels[i / detail::kGroup * lanes + i % detail::kGroup];
        uint64_t sum = 0;
        for (int c = 0; c < channels; ++c) sum += group[c * detail::kGroup];
        require(sum == x.sums[i] && group[channels * detail::kGroup] <= max_channel_spread);
    }
}

}  // namespace

Library Library::open(const std::string& path) {
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
        h.patch_count > UINT32_MAX || h.source_count > size || h.sections[kNames].bytes > size) {
        throw corrupt("header has invalid counts");
    }
    const Layout layout(h.source_count, h.sections[kNames].bytes, h.patch_count,
                        lib.params_.patch_bytes(), detail::block_grid(lib.params_).pairs(),
                        lib.params_.channels());
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
    auto sources = std::make_shared<std::vector<SourceInfo>>();
    SectionData data;
    for (int i = 0; i < kSectionCount; ++i) data[i] = base + h.sections[i].offset;
    std::string_view names(static_cast<const char*>(data[kNames]), h.sections[kNames].bytes);
    for (uint64_t i = 0; i < h.source_count; ++i) {
        SourceRecord r;
        std::memcpy(&r, static_cast<const uint8_t*>(data[kSources]) + i * sizeof r, sizeof r);
        if (uint64_t(r.name_offset) + r.name_bytes > names.size()) {
            throw corrupt("source " + std::to_string(i) + " has an invalid name");
        }
        sources->push_back({std::string(names.substr(r.name_offset, r.name_bytes)), r.file_bytes,
                            r.content_hash, r.width, r.height});
    }
    lib.patch_count_ = h.patch_count;
    lib.origins_ = static_cast<const PatchOrigin*>(data[kOrigins]);
    lib.pixels_ = static_cast<const uint8_t*>(data[kPixels]);
    lib.norms_ = static_cast<const uint32_t*>(data[kNorms]);
    lib.index_ = index_view(lib.params_, lib.patch_count_, data);
    check_index(lib.index_, lib.params_, corrupt);
    // Provenance is checked here because renderers and reports index sources with it.
    const Size tile = lib.params_.tile;
    for (const PatchOrigin& o : lib.origins()) {
        if (o.source >= h.source_count || o.transform >= kTransformCount ||
            !(h.transform_mask & (1u << o.transform)) ||
            uint64_t(o.x) + tile.width > (*sources)[o.source].width ||
            uint64_t(o.y) + tile.height > (*sources)[o.source].height) {
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
