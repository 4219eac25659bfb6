// The patch library: parameters, building (patch order, pixels, provenance, norms) and the file
// format round trip. Damaged and foreign files are in test_hostile_library.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "search/exact_index.hpp"
#include "tessera/core/error.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::build_library;
using testing::random_image;
using testing::TempDir;

// Expects `fn` to throw tessera::Error, one line holding every one of `parts`.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
    testing::expect_message(testing::error_of(fn), parts);
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
                    ASSERT_LT(id, lib.patch_count());
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
                    EXPECT_EQ(exact_index(lib).norms[id], norm);
                    ++id;
                }
            }
        }
        // a: 3 x 2 windows, b: 1 x 2 windows; 3 transforms each.
        EXPECT_EQ(id, size_t(3 * (6 + 2)));
        EXPECT_EQ(lib.patch_count(), id);
    }
}

// The reference for WindowGrid::TransformedSource: transform the whole image, then cut it on the
// grid from its top-left corner (numpy.rot90 then slicing); `patches` is that, in storage order.
std::vector<std::vector<uint8_t>> cut_transformed(const Image& image, const LibraryParams& p) {
    std::vector<std::vector<uint8_t>> patches;
    const int c = image.channels;
    for (Transform t : p.transforms) {
        const Size size = transformed_size(image.size(), t);
        std::vector<uint8_t> whole(size_t(size.width) * size.height * c);
        apply_transform(image.view().data, image.stride(), image.size(), c, t, whole.data());
        for (Point o : window_origins(size, p.tile, p.stride)) {
            std::vector<uint8_t> patch;
            for (int y = 0; y < p.tile.height; ++y) {
                const uint8_t* row = whole.data() + (size_t(o.y + y) * size.width + o.x) * c;
                patch.insert(patch.end(), row, row + size_t(p.tile.width) * c);
            }
            patches.push_back(std::move(patch));
        }
    }
    return patches;
}

// Rotating each whole source and cutting it from its top-left corner, as the original scikit-learn
// workflow does, for sides that are not multiples of the tile or the stride; each patch's origin
// names the window in the source that its transform turns into the patch.
TEST(LibraryBuilder, TransformedSourceGridCutsTheTransformedImage) {
    std::mt19937 rng(4);
    const std::vector<Transform> all = {
        Transform::Rot0, Transform::Rot90,     Transform::Rot180,     Transform::Rot270,
        Transform::Flip, Transform::FlipRot90, Transform::FlipRot180, Transform::FlipRot270};
    const std::vector<Transform> no_swap = {Transform::Rot0, Transform::Rot180, Transform::Flip,
                                            Transform::FlipRot180};
    struct Case {
        Size tile, stride;
        std::vector<Transform> transforms;
    };
    const std::vector<Case> cases = {
        {{3, 3}, {3, 3}, all}, {{3, 3}, {2, 2}, all}, {{3, 2}, {2, 3}, no_swap}};
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        const int c = channels(mode);
        const Image a = random_image(8, 5, c, rng), b = random_image(4, 10, c, rng);
        for (const Case& k : cases) {
            const LibraryParams p = params(k.tile, k.stride, mode, k.transforms);
            LibraryBuilder builder(p, exact_search_data(), WindowGrid::TransformedSource);
            const std::vector<std::vector<uint8_t>> want_a = cut_transformed(a, p),
                                                    want_b = cut_transformed(b, p);
            EXPECT_EQ(builder.add_source({"a"}, a.view()), want_a.size());
            EXPECT_EQ(builder.add_source({"b"}, b.view()), want_b.size());
            const Library lib = builder.finish();
            ASSERT_EQ(lib.patch_count(), want_a.size() + want_b.size());
            for (size_t id = 0; id < lib.patch_count(); ++id) {
                SCOPED_TRACE("patch " + std::to_string(id));
                const bool in_a = id < want_a.size();
                const std::vector<uint8_t> got(lib.patch(id), lib.patch(id) + lib.patch_bytes());
                EXPECT_EQ(got, in_a ? want_a[id] : want_b[id - want_a.size()]);
                const PatchOrigin& o = lib.origins()[id];
                EXPECT_EQ(o.source, in_a ? 0u : 1u);
                const Image& image = in_a ? a : b;
                std::vector<uint8_t> window(lib.patch_bytes());
                apply_transform(image.view().row(int(o.y)) + o.x * c, image.stride(), p.tile, c,
                                Transform(o.transform), window.data());
                EXPECT_EQ(window, got);
            }
        }
        // The two grids differ here: a's 8 - 3 is not a multiple of 3, so rotated by 90 its
        // windows start at the other edge.
        const LibraryParams p = params({3, 3}, {3, 3}, mode, {Transform::Rot90});
        const Library per_window = build_library(p, {&a});
        EXPECT_NE(cut_transformed(a, p).front(),
                  std::vector<uint8_t>(per_window.patch(0), per_window.patch(0) + 9 * c));
    }
}

TEST(LibraryBuilder, SmallSourcesAddNothing) {
    std::mt19937 rng(2);
    LibraryBuilder builder(params({4, 4}, {4, 4}, Mode::Gray, {Transform::Rot0}),
                           exact_search_data());
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

TEST(LibraryBuilder, RejectsWrongChannelsAndBadParams) {
    std::mt19937 rng(3);
    LibraryBuilder builder(params({2, 2}, {2, 2}, Mode::Gray, {Transform::Rot0}),
                           exact_search_data());
    const Image rgb = random_image(4, 4, 3, rng);
    expect_error([&] { builder.add_source({"colour.png"}, rgb.view()); },
                 {"colour.png", "3 channels", "gray"});
    expect_error(
        [] {
            LibraryBuilder(params({4, 2}, {4, 2}, Mode::Gray, {Transform::Rot90}),
                           exact_search_data());
        },
        {"need a square tile", "4x2"});
}

// ---- The file format ----

void expect_same_library(const Library& a, const Library& b) {
    EXPECT_EQ(a.params().tile, b.params().tile);
    EXPECT_EQ(a.params().stride, b.params().stride);
    EXPECT_EQ(a.params().mode, b.params().mode);
    EXPECT_EQ(a.params().transforms, b.params().transforms);
    ASSERT_EQ(a.patch_count(), b.patch_count());
    ASSERT_EQ(a.sources().size(), b.sources().size());
    for (size_t i = 0; i < a.sources().size(); ++i) {
        const SourceInfo &x = a.sources()[i], &y = b.sources()[i];
        EXPECT_EQ(x.path, y.path);
        EXPECT_EQ(x.file_bytes, y.file_bytes);
        EXPECT_EQ(x.content_hash, y.content_hash);
        EXPECT_EQ(x.width, y.width);
        EXPECT_EQ(x.height, y.height);
    }
    for (size_t i = 0; i < a.patch_count(); ++i) {
        const PatchOrigin &x = a.origins()[i], &y = b.origins()[i];
        ASSERT_TRUE(x.source == y.source && x.x == y.x && x.y == y.y && x.transform == y.transform)
            << "patch " << i;
        ASSERT_EQ(exact_index(a).norms[i], exact_index(b).norms[i]) << "patch " << i;
    }
    EXPECT_EQ(0, std::memcmp(a.pixels(), b.pixels(), a.patch_count() * a.patch_bytes()));
    EXPECT_EQ(a.file_bytes(), b.file_bytes());
}

TEST(LibraryFile, RoundTrip) {
    std::mt19937 rng(4);
    TempDir dir;
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        const int c = channels(mode);
        const Image a = random_image(11, 7, c, rng), b = random_image(5, 9, c, rng);
        LibraryBuilder builder(
            params({3, 2}, {2, 3}, mode, {Transform::Rot0, Transform::Rot180, Transform::Flip}),
            exact_search_data());
        // Names of every length, including characters that need care elsewhere (CSV, JSON).
        builder.add_source({"train/a \"quoted\", with comma.png", 12345, 0x0123456789abcdefull},
                           a.view());
        builder.add_source({"b.jpg", 7, 42}, b.view());
        const Library built = builder.finish();
        const std::string path =
            dir.file(std::string("lib-") + std::string(mode_name(mode)) + ".tsr");
        built.save(path);
        EXPECT_EQ(std::filesystem::file_size(path), built.file_bytes());
        const Library opened = Library::open(path, exact_search_data());
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
                 {"missing/lib.tsr", "missing does not exist"});
    expect_error([&] { lib.save(dir.file("")); }, {"is a directory"});
}

}  // namespace
}  // namespace tessera
