// The patch library: parameters, building (patch order, pixels, provenance, norms), the file
// format round trip, and open() refusing damaged or foreign files with a clear message.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "tessera/error.hpp"
#include "tessera/library.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::build_library;
using testing::random_image;
using testing::TempDir;

// Expects `fn` to throw tessera::Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
    const std::string message = testing::error_of(fn);
    ASSERT_NE(message, "") << "no error thrown";
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const std::string& part : parts) {
        EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
    }
}

LibraryParams params(Size tile, Size stride, Mode mode, std::vector<Transform> transforms) {
    LibraryParams p;
    p.tile = tile;
    p.stride = stride;
    p.mode = mode;
    p.transforms = std::move(transforms);
    return p;
}

// ---- Parameters ----

TEST(LibraryParams, DefaultsAreValid) {
    LibraryParams p;
    EXPECT_NO_THROW(p.validate());
    EXPECT_EQ(p.patch_bytes(), 16u * 16u * 3u);
}

TEST(LibraryParams, ValidateRejects) {
    using T = Transform;
    expect_error(
        [] {
            params({0, 16}, {1, 1}, Mode::Gray, {T::Rot0}).validate();
        },
        {"tile 0x16", "1 to 128"});
    expect_error(
        [] {
            params({16, 129}, {1, 1}, Mode::Gray, {T::Rot0}).validate();
        },
        {"tile 16x129"});
    expect_error([] { params({4, 4}, {0, 1}, Mode::Gray, {T::Rot0}).validate(); }, {"stride 0x1"});
    expect_error(
        [] {
            params({4, 4}, {1, 65537}, Mode::Gray, {T::Rot0}).validate();
        },
        {"stride 1x65537"});
    expect_error([] { params({4, 4}, {4, 4}, Mode::Gray, {}).validate(); }, {"no transform"});
    for (T t : {T::Rot90, T::Rot270, T::FlipRot90, T::FlipRot270}) {
        expect_error(
            [t] {
                params({16, 8}, {16, 8}, Mode::Rgb, {T::Rot0, t}).validate();
            },
            {"square tile", "16x8"});
    }
    // Half turns and mirrors keep the shape, so a non-square tile takes them.
    EXPECT_NO_THROW(params({16, 8}, {8, 4}, Mode::Rgb, {T::Rot0, T::Rot180, T::Flip, T::FlipRot180})
                        .validate());
    EXPECT_NO_THROW(params({128, 1}, {65536, 65536}, Mode::Gray, {T::Rot0}).validate());
}

TEST(TransformsFrom, Selections) {
    using T = Transform;
    EXPECT_EQ(transforms_from({0, 90, 180, 270}, false),
              (std::vector<T>{T::Rot0, T::Rot90, T::Rot180, T::Rot270}));
    EXPECT_EQ(transforms_from({0}, true), (std::vector<T>{T::Rot0, T::Flip}));
    EXPECT_EQ(transforms_from({270, 0, 270}, false), (std::vector<T>{T::Rot0, T::Rot270}));
    EXPECT_EQ(transforms_from({180, 90}, true),
              (std::vector<T>{T::Rot90, T::Rot180, T::FlipRot90, T::FlipRot180}));
    EXPECT_EQ(transforms_from({0, 90, 180, 270}, true).size(), size_t(kTransformCount));
    EXPECT_TRUE(transforms_from({}, false).empty());
}

TEST(TransformsFrom, RejectsOtherAngles) {
    for (int degrees : {45, -90, 360, 1, 450}) {
        expect_error(
            [degrees] {
                transforms_from({0, degrees}, false);
            },
            {"invalid rotation " + std::to_string(degrees), "0, 90, 180 or 270"});
    }
}

// ---- Building ----

// Patch ids run over sources, then transforms (ascending), then windows (row-major); each patch
// is its window under its transform, and its norm is its sum of squares.
TEST(LibraryBuilder, PatchOrderPixelsAndNorms) {
    std::mt19937 rng(1);
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        const int c = channels(mode);
        const Image a = random_image(7, 5, c, rng), b = random_image(4, 6, c, rng);
        const LibraryParams p = params({3, 3}, {2, 2}, mode,
                                       {Transform::Rot0, Transform::Rot90, Transform::FlipRot180});
        const Library lib = build_library(p, {&a, &b});
        ASSERT_EQ(lib.sources().size(), 2u);
        EXPECT_EQ(lib.sources()[0].width, 7u);
        EXPECT_EQ(lib.sources()[1].height, 6u);
        size_t id = 0;
        for (uint32_t s = 0; s < 2; ++s) {
            const Image& image = s == 0 ? a : b;
            for (Transform t : p.transforms) {
                for (Point o : window_origins(image.size(), p.tile, p.stride)) {
                    ASSERT_LT(id, lib.size());
                    const PatchOrigin& got = lib.origins()[id];
                    EXPECT_EQ(got.source, s);
                    EXPECT_EQ(got.x, uint32_t(o.x));
                    EXPECT_EQ(got.y, uint32_t(o.y));
                    EXPECT_EQ(got.transform, uint32_t(t));
                    std::vector<uint8_t> want(lib.patch_bytes());
                    apply_transform(image.view().row(o.y) + o.x * c, image.stride(), p.tile, c, t,
                                    want.data());
                    EXPECT_EQ(
                        std::vector<uint8_t>(lib.patch(id), lib.patch(id) + lib.patch_bytes()),
                        want);
                    uint32_t norm = 0;
                    for (uint8_t v : want) norm += uint32_t(v) * v;
                    EXPECT_EQ(lib.norms()[id], norm);
                    ++id;
                }
            }
        }
        // a: 3 x 2 windows, b: 1 x 2 windows; 3 transforms each.
        EXPECT_EQ(id, size_t(3 * (6 + 2)));
        EXPECT_EQ(lib.size(), id);
    }
}

TEST(LibraryBuilder, SmallSourcesAddNothing) {
    std::mt19937 rng(2);
    LibraryBuilder builder(params({4, 4}, {4, 4}, Mode::Gray, {Transform::Rot0}));
    const Image small = random_image(3, 10, 1, rng), fits = random_image(4, 4, 1, rng);
    EXPECT_EQ(builder.add_source({"small"}, small.view()), 0u);
    EXPECT_EQ(builder.source_count(), 0u);
    EXPECT_EQ(builder.add_source({"fits"}, fits.view()), 1u);
    EXPECT_EQ(builder.source_count(), 1u);
    EXPECT_EQ(builder.patch_count(), 1u);
    const Library lib = builder.finish();
    EXPECT_EQ(lib.sources()[0].path, "fits");
    EXPECT_EQ(lib.origins()[0].source, 0u);
    // The builder is left empty, so a second finish has nothing to give.
    EXPECT_EQ(builder.patch_count(), 0u);
    expect_error([&] { builder.finish(); }, {"no patches", "4x4"});
}

// Sizes in messages (a library too big for memory, `tessera build`'s summary).
TEST(LibraryBuilder, BytesText) {
    EXPECT_EQ(bytes_text(0), "0 B");
    EXPECT_EQ(bytes_text(999), "999 B");
    EXPECT_EQ(bytes_text(1000), "1.0 KB");
    EXPECT_EQ(bytes_text(58'285'000'000), "58.3 GB");
    EXPECT_EQ(bytes_text(UINT64_MAX), "18446744.1 TB");
}

TEST(LibraryBuilder, RejectsWrongChannelsAndBadParams) {
    std::mt19937 rng(3);
    LibraryBuilder builder(params({2, 2}, {2, 2}, Mode::Gray, {Transform::Rot0}));
    const Image rgb = random_image(4, 4, 3, rng);
    expect_error([&] { builder.add_source({"colour.png"}, rgb.view()); },
                 {"colour.png", "3 channels", "gray"});
    expect_error(
        [] {
            LibraryBuilder(params({4, 2}, {4, 2}, Mode::Gray, {Transform::Rot90}));
        },
        {"square tile"});
}

// ---- The file format ----

void expect_same_library(const Library& a, const Library& b) {
    EXPECT_EQ(a.params().tile, b.params().tile);
    EXPECT_EQ(a.params().stride, b.params().stride);
    EXPECT_EQ(a.params().mode, b.params().mode);
    EXPECT_EQ(a.params().transforms, b.params().transforms);
    ASSERT_EQ(a.size(), b.size());
    ASSERT_EQ(a.sources().size(), b.sources().size());
    for (size_t i = 0; i < a.sources().size(); ++i) {
        const SourceInfo &x = a.sources()[i], &y = b.sources()[i];
        EXPECT_EQ(x.path, y.path);
        EXPECT_EQ(x.file_bytes, y.file_bytes);
        EXPECT_EQ(x.content_hash, y.content_hash);
        EXPECT_EQ(x.width, y.width);
        EXPECT_EQ(x.height, y.height);
    }
    for (size_t i = 0; i < a.size(); ++i) {
        const PatchOrigin &x = a.origins()[i], &y = b.origins()[i];
        ASSERT_TRUE(x.source == y.source && x.x == y.x && x.y == y.y && x.transform == y.transform)
            << "patch " << i;
        ASSERT_EQ(a.norms()[i], b.norms()[i]) << "patch " << i;
    }
    EXPECT_EQ(0, std::memcmp(a.pixels(), b.pixels(), a.size() * a.patch_bytes()));
    EXPECT_EQ(a.file_bytes(), b.file_bytes());
}

TEST(LibraryFile, RoundTrip) {
    std::mt19937 rng(4);
    TempDir dir;
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        const int c = channels(mode);
        const Image a = random_image(11, 7, c, rng), b = random_image(5, 9, c, rng);
        LibraryBuilder builder(
            params({3, 2}, {2, 3}, mode, {Transform::Rot0, Transform::Rot180, Transform::Flip}));
        // Names of every length, including characters that need care elsewhere (CSV, JSON).
        builder.add_source({"train/a \"quoted\", with comma.png", 12345, 0x0123456789abcdefull},
                           a.view());
        builder.add_source({"b.jpg", 7, 42}, b.view());
        const Library built = builder.finish();
        const std::string path =
            dir.file(std::string("lib-") + std::string(mode_name(mode)) + ".tsr");
        built.save(path);
        EXPECT_EQ(std::filesystem::file_size(path), built.file_bytes());
        const Library opened = Library::open(path);
        expect_same_library(built, opened);
        EXPECT_EQ(opened.path(), path);
        EXPECT_EQ(opened.format_version(), kLibraryFormatVersion);
        EXPECT_EQ(opened.sources()[0].path, "train/a \"quoted\", with comma.png");
        EXPECT_EQ(opened.sources()[0].file_bytes, 12345u);
        EXPECT_EQ(opened.sources()[0].content_hash, 0x0123456789abcdefull);
        EXPECT_NO_THROW(built.verify());
        EXPECT_NO_THROW(opened.verify());
        // Saving what was opened gives the same bytes.
        const std::string again = dir.file("again.tsr");
        opened.save(again);
        EXPECT_EQ(testing::read_file(again), testing::read_file(path));
    }
}

TEST(LibraryFile, SaveLeavesNoTemporaryAndReplacesAtomically) {
    std::mt19937 rng(5);
    TempDir dir;
    const Image a = random_image(8, 8, 1, rng);
    const Library lib = build_library(params({4, 4}, {4, 4}, Mode::Gray, {Transform::Rot0}), {&a});
    const std::string path = dir.file("lib.tsr");
    lib.save(path);
    lib.save(path);  // over an existing file
    EXPECT_EQ(testing::file_names(dir.path()), std::vector<std::string>{"lib.tsr"});
    expect_error([&] { lib.save(dir.file("missing/lib.tsr")); },
                 {"missing/lib.tsr", "cannot write"});
    expect_error([&] { lib.save(dir.file("")); }, {"is a directory"});
}

// A saved library's bytes, to damage in the tests below.
class DamagedLibrary : public ::testing::Test {
  protected:
    void SetUp() override {
        std::mt19937 rng(6);
        const Image a = random_image(9, 6, 3, rng), b = random_image(6, 6, 3, rng);
        const Library lib = build_library(
            params({3, 3}, {3, 3}, Mode::Rgb, {Transform::Rot0, Transform::Rot90}), {&a, &b});
        lib.save(path_);
        bytes_ = testing::read_file(path_);
        ASSERT_EQ(bytes_.size(), lib.file_bytes());
        header_bytes_ = testing::header_bytes(bytes_);
        ASSERT_GE(header_bytes_, 64u + 3 * 16 + 16);
        ASSERT_LT(header_bytes_, bytes_.size());
    }

    void write(const std::vector<uint8_t>& bytes) { testing::write_file(path_, bytes); }
    template <typename T>
    void set_sealed(size_t offset, T value) {
        testing::set_sealed(bytes_, offset, value);
    }
    void expect_open_error(std::initializer_list<std::string> parts) {
        write(bytes_);
        std::vector<std::string> all{path_ + ": "};
        all.insert(all.end(), parts);
        expect_error([this] { Library::open(path_); }, all);
    }

    // The header's fields up to byte 64 (magic, version, header size, parameters, counts, file
    // size) and the first four section entries (sources, names, origins, pixels) are at fixed
    // places; the header's size is read from the file and its last 8 bytes are its checksum.
    size_t header_bytes_ = 0;
    TempDir dir_;
    std::string path_ = dir_.file("lib.tsr");
    std::vector<uint8_t> bytes_;
};

TEST_F(DamagedLibrary, Missing) {
    std::filesystem::remove(path_);
    expect_error([this] { Library::open(path_); }, {path_, "cannot open", "No such file"});
}

TEST_F(DamagedLibrary, Directory) {
    expect_error([this] { Library::open(dir_.file("")); }, {"not a regular file"});
}

TEST_F(DamagedLibrary, Empty) {
    bytes_.clear();
    expect_open_error({"is empty"});
}

TEST_F(DamagedLibrary, Foreign) {
    bytes_ = testing::read_file(testing::data_path("horse.png"));
    expect_open_error({"not a tessera library"});
    bytes_.assign(10, 'x');
    expect_open_error({"not a tessera library"});
}

TEST_F(DamagedLibrary, Truncated) {
    bytes_.resize(bytes_.size() - 1);
    expect_open_error({"is truncated", std::to_string(bytes_.size()) + " of"});
    bytes_.resize(header_bytes_);
    expect_open_error({"is truncated"});
}

TEST_F(DamagedLibrary, TruncatedInsideTheHeader) {
    bytes_.resize(header_bytes_ - 1);
    expect_open_error({"is truncated"});
    bytes_.resize(8);
    expect_open_error({"is truncated"});
}

TEST_F(DamagedLibrary, TrailingBytes) {
    bytes_.insert(bytes_.end(), 3, '\0');
    expect_open_error({"3 unexpected bytes at the end"});
}

TEST_F(DamagedLibrary, NewerVersion) {
    set_sealed<uint32_t>(8, kLibraryFormatVersion + 1);
    expect_open_error({"newer tessera", "upgrade"});
    // Whatever else a newer format changed, the version alone decides the message.
    bytes_[100] ^= 0x55;
    expect_open_error({"newer tessera"});
}

TEST_F(DamagedLibrary, HeaderFlippedBytes) {
    const std::vector<uint8_t> good = bytes_;
    // Every header byte after the magic and the version, one at a time.
    for (size_t at = 12; at < header_bytes_; ++at) {
        SCOPED_TRACE(at);
        bytes_ = good;
        bytes_[at] ^= 0x01;
        expect_open_error({"header is corrupt"});
    }
}

TEST_F(DamagedLibrary, DataFlippedBytesFailVerify) {
    const std::vector<uint8_t> good = bytes_;
    // A byte in the pixels (the fourth section entry): open does not read them, verify does.
    uint64_t pixels_at = 0;
    std::memcpy(&pixels_at, bytes_.data() + 64 + 3 * 16, 8);
    bytes_[pixels_at + 5] ^= 0x80;
    write(bytes_);
    const Library lib = Library::open(path_);
    expect_error([&] { lib.verify(); }, {path_, "checksum mismatch", "rebuild"});
    // Every byte after the header is covered, padding included.
    for (size_t at = header_bytes_; at < good.size(); ++at) {
        bytes_ = good;
        bytes_[at] ^= 0x01;
        write(bytes_);
        try {
            Library::open(path_).verify();
            ADD_FAILURE() << "flipped byte " << at << " not detected";
        } catch (const Error&) {
        }
    }
}

// Headers that pass the checksum but describe something impossible.
TEST_F(DamagedLibrary, SealedHeaderWithBadParameters) {
    const std::vector<uint8_t> good = bytes_;
    set_sealed<uint32_t>(16, 0);  // tile width
    expect_open_error({"invalid parameters"});
    bytes_ = good;
    set_sealed<uint32_t>(32, 2);  // channels
    expect_open_error({"invalid channel count"});
    bytes_ = good;
    set_sealed<uint32_t>(36, 0);  // transform mask
    expect_open_error({"invalid transform set"});
    bytes_ = good;
    set_sealed<uint32_t>(36, 0x100);
    expect_open_error({"invalid transform set"});
    bytes_ = good;
    set_sealed<uint64_t>(40, uint64_t(1) << 62);  // patch count
    expect_open_error({"invalid counts"});
    bytes_ = good;
    set_sealed<uint64_t>(40, 1);  // a smaller patch count moves the sections
    expect_open_error({"sections do not match"});
    bytes_ = good;
    set_sealed<uint64_t>(48, 0);  // source count
    expect_open_error({"invalid counts"});
}

TEST_F(DamagedLibrary, SealedHeaderWithBadSections) {
    uint64_t sources_offset = 0;
    std::memcpy(&sources_offset, bytes_.data() + 64, 8);
    set_sealed<uint64_t>(64, sources_offset + 64);
    expect_open_error({"sections do not match"});
}

// Sections that the data checksum would catch, but that open() must refuse before use because
// they index other sections.
TEST_F(DamagedLibrary, BadProvenanceAndNames) {
    const std::vector<uint8_t> good = bytes_;
    uint64_t sources_at = 0, origins_at = 0;
    std::memcpy(&sources_at, bytes_.data() + 64, 8);
    std::memcpy(&origins_at, bytes_.data() + 96, 8);
    const size_t second_origin = origins_at + 16;
    auto set = [&](size_t at, uint32_t value) { std::memcpy(bytes_.data() + at, &value, 4); };

    set(second_origin + 0, 2);  // source 2 of 2
    expect_open_error({"provenance is corrupt"});
    bytes_ = good;
    set(second_origin + 4, 7);  // x + 3 > width 9
    expect_open_error({"provenance is corrupt"});
    bytes_ = good;
    set(second_origin + 8, 4);  // y + 3 > height 6
    expect_open_error({"provenance is corrupt"});
    bytes_ = good;
    set(second_origin + 12, 2);  // a transform that was not selected
    expect_open_error({"provenance is corrupt"});
    bytes_ = good;
    set(second_origin + 12, 9);
    expect_open_error({"provenance is corrupt"});
    bytes_ = good;
    set(sources_at + 32 + 28, 1000);  // the second source's name length
    expect_open_error({"source 1 has an invalid name"});
}

}  // namespace
}  // namespace tessera
