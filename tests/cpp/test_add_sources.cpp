// Building from the user's inputs (tessera/pipeline/add_sources.hpp), the one rule behind `tessera
// build` and Library.build: which files a path stands for, what is fatal, what is a warning.
#ifdef TESSERA_TESTS_HAVE_IO
#include "tessera/pipeline/add_sources.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include "tessera/core/error.hpp"
#include "tessera/io/encode.hpp"
#include "tessera/io/formats.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::TempDir;

class Sources : public ::testing::Test {
  protected:
    void SetUp() override { testing::load_data("coins.png", Mode::Gray); }  // starts libvips

    // A random gray PNG of the given size.
    std::string png(const std::string& name, int width, int height) {
        const std::string path = dir_.file(name);
        fs::create_directories(fs::path(path).parent_path());
        io::save_image(path, testing::random_image(width, height, 1, rng_).view());
        return path;
    }
    std::string garbage(const std::string& name) {
        const std::string path = dir_.file(name);
        fs::create_directories(fs::path(path).parent_path());
        std::ofstream(path) << "not an image";
        return path;
    }
    static std::vector<std::string> paths(const std::vector<pipeline::Source>& sources) {
        std::vector<std::string> out;
        for (const pipeline::Source& s : sources) out.push_back(s.path);
        return out;
    }
    static LibraryParams params(Size tile) {
        LibraryParams p;
        p.tile = p.stride = tile;
        p.mode = Mode::Gray;
        return p;
    }

    TempDir dir_;
    std::mt19937 rng_{3};
};

TEST_F(Sources, DirectoriesStandForTheirImagesSortedHiddenSkipped) {
    const std::string b = png("d/b.png", 4, 4);
    const std::string a = garbage("d/sub/a.HEIC");  // by extension, not content; any case
    const std::string heif = garbage("d/c.heif");
    garbage("d/notes.txt");
    garbage("d/.hidden.png");
    garbage("d/.cache/e.png");
    const std::string named = garbage("z.txt");  // named: taken whatever its extension
    const std::vector<pipeline::SourceInput> inputs = {{named, {}}, {dir_.file("d"), {}}};
    const std::vector<pipeline::Source> sources = pipeline::expand_inputs(inputs);
    EXPECT_EQ(paths(sources), (std::vector<std::string>{named, b, heif, a}));
    EXPECT_TRUE(sources[0].named);
    EXPECT_FALSE(sources[1].named);
}

// Links are followed, each directory walked once however many links lead to it (the first path
// in name order), so loops end and fans of links do not multiply files; a link named like an
// image that cannot be followed is a source with a problem, to be warned about, not dropped.
TEST_F(Sources, LinksInDirectoriesAreFollowedOrReported) {
    const std::string a = png("in/a.png", 4, 4);
    png("other/b.png", 4, 4);
    fs::create_directory_symlink("../other", dir_.file("in/linked"));
    fs::create_directory_symlink("../other", dir_.file("in/m-linked-again"));  // walked once
    fs::create_directory(dir_.file("in/sub"));
    fs::create_directory_symlink("..", dir_.file("in/sub/up"));  // back up into in: a loop
    fs::create_directory_symlink(".", dir_.file("in/self"));
    fs::create_symlink("nowhere.png", dir_.file("in/broken.png"));
    fs::create_symlink("loop.png", dir_.file("in/loop.png"));
    fs::create_symlink("nowhere", dir_.file("in/broken-not-an-image"));
    // Three levels, each with two links to the next: 8 paths to the deepest directory.
    std::string level = dir_.file("fan");
    for (int i = 0; i < 3; ++i) {
        fs::create_directories(level + "/next");
        fs::create_directory_symlink("next", level + "/x");
        fs::create_directory_symlink("next", level + "/y");
        level += "/next";
    }
    const std::string deep = png("fan/next/next/next/c.png", 4, 4);
    const std::vector<pipeline::SourceInput> inputs = {{dir_.file("in"), {}},
                                                       {dir_.file("fan"), {}}};
    const std::vector<pipeline::Source> sources = pipeline::expand_inputs(inputs);
    EXPECT_EQ(paths(sources),
              (std::vector<std::string>{a, dir_.file("in/broken.png"), dir_.file("in/linked/b.png"),
                                        dir_.file("in/loop.png"), deep}));
    EXPECT_EQ(sources[1].problem, "a symbolic link to a file that does not exist");
    EXPECT_EQ(sources[3].problem,
              "cannot follow the symbolic link: Too many levels of symbolic links");
    EXPECT_TRUE(sources[0].problem.empty() && sources[2].problem.empty());

    // Reported like an undecodable file: a warning and a count, or an error under strict.
    LibraryBuilder builder(params({4, 4}), exact_search_data());
    std::vector<std::string> warnings;
    const pipeline::AddSummary summary = pipeline::add_sources(
        builder, sources, {}, [&](const std::string& message) { warnings.push_back(message); });
    EXPECT_EQ(summary.skipped, 2u);
    EXPECT_EQ(builder.source_count(), 3u);
    EXPECT_EQ(warnings, (std::vector<std::string>{
                            dir_.file("in/broken.png") +
                                ": a symbolic link to a file that does not exist; skipped",
                            dir_.file("in/loop.png") + ": cannot follow the symbolic link: Too "
                                                       "many levels of symbolic links; skipped"}));
    LibraryBuilder strict(params({4, 4}), exact_search_data());
    pipeline::AddOptions strict_options;
    strict_options.strict = true;
    EXPECT_EQ(error_of([&] {
                  pipeline::add_sources(strict, sources, strict_options, [](const std::string&) {});
              }),
              dir_.file("in/broken.png") + ": a symbolic link to a file that does not exist");
}

TEST_F(Sources, MissingPathOrNothingFoundIsAnError) {
    const std::vector<pipeline::SourceInput> missing = {{dir_.file("nope.png"), {}}};
    EXPECT_THROW(
        {
            try {
                pipeline::expand_inputs(missing);
            } catch (const Error& e) {
                EXPECT_EQ(std::string(e.what()),
                          dir_.file("nope.png") + ": no such file or directory");
                throw;
            }
        },
        Error);
    garbage("empty/notes.txt");
    garbage("other/.hidden.png");
    const std::vector<pipeline::SourceInput> empty = {{dir_.file("empty"), {}},
                                                      {dir_.file("other"), {}}};
    EXPECT_EQ(error_of([&] { pipeline::expand_inputs(empty); }),
              "no image files found in " + dir_.file("empty") + ", " + dir_.file("other") +
                  ": directories are searched recursively for the extensions " +
                  io::image_extensions() + " (any case; hidden files and directories skipped)");
    EXPECT_EQ(error_of([] { pipeline::expand_inputs({}); }), "no images given");
}

// When nothing gave a patch, the error counts what was skipped and why, instead of the builder's
// "every source is smaller than the tile" when none was.
TEST_F(Sources, NoPatchesSaysWhy) {
    garbage("d/a.png");
    garbage("d/b.png");
    const std::vector<pipeline::SourceInput> bad = {{dir_.file("d"), {}}};
    LibraryBuilder builder(params({8, 4}), exact_search_data());
    const auto quiet = [](const std::string&) {};
    EXPECT_EQ(
        error_of([&] { pipeline::add_sources(builder, pipeline::expand_inputs(bad), {}, quiet); }),
        "no patches: 2 files could not be read or decoded and 0 images were smaller than the tile "
        "8x4");
    png("d/c.png", 6, 10);
    EXPECT_EQ(
        error_of([&] { pipeline::add_sources(builder, pipeline::expand_inputs(bad), {}, quiet); }),
        "no patches: 2 files could not be read or decoded and 1 image was smaller than the "
        "tile 8x4");
    // An image over the pixel limit decodes, so it is counted apart, with the option to raise.
    png("d/e.png", 20, 10);
    pipeline::AddOptions limited;
    limited.limit = {199, "max_pixels="};
    pipeline::AddSummary summary;
    std::vector<std::string> warnings;
    const auto warn = [&](const std::string& message) { warnings.push_back(message); };
    EXPECT_EQ(error_of([&] {
                  summary =
                      pipeline::add_sources(builder, pipeline::expand_inputs(bad), limited, warn);
              }),
              "no patches: 2 files could not be read or decoded, 1 image had more pixels than "
              "max_pixels= "
              "allows and 1 image was smaller than the tile 8x4");
    ASSERT_EQ(warnings.size(), 4u);
    EXPECT_EQ(warnings[3], dir_.file("d/e.png") +
                               ": image is 20x10 = 200 pixels, over the limit of 199; raise it "
                               "with max_pixels= if the file is trusted; skipped");
    png("d/f.png", 8, 4);
    summary = pipeline::add_sources(builder, pipeline::expand_inputs(bad), limited, warn);
    EXPECT_EQ(summary.skipped, 2u);
    EXPECT_EQ(summary.over_limit, 1u);
    EXPECT_EQ(summary.too_small, 1u);
}

// What each failure becomes: a named file that cannot be decoded is fatal, one found in a
// directory a warning; an image smaller than the tile (W x H in the message) a warning; strict
// turns every warning into an error.
TEST_F(Sources, FailuresAreWarningsUnlessNamedOrStrict) {
    png("d/a.png", 16, 8);
    const std::string bad = garbage("d/b.png");
    const std::string small = png("d/c.png", 6, 10);
    const std::vector<pipeline::SourceInput> dir = {{dir_.file("d"), {}}};
    const std::vector<pipeline::Source> sources = pipeline::expand_inputs(dir);

    std::vector<std::string> warnings;
    const auto warn = [&](const std::string& m) { warnings.push_back(m); };
    LibraryBuilder builder(params({8, 4}), exact_search_data());
    const pipeline::AddSummary summary = pipeline::add_sources(builder, sources, {}, warn);
    EXPECT_EQ(summary.skipped, 1u);
    EXPECT_EQ(summary.too_small, 1u);
    EXPECT_EQ(builder.source_count(), 1u);
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_EQ(warnings[0],
              bad + ": not a supported image format (" + io::supported_formats() + "); skipped");
    EXPECT_EQ(warnings[1], small + ": 6x10 is smaller than the tile 8x4; no patches from it");

    for (const std::string& path : {bad, small}) {
        LibraryBuilder strict(params({8, 4}), exact_search_data());
        pipeline::AddOptions options;
        options.strict = true;
        warnings.clear();
        const std::vector<pipeline::Source> one = {{path, false, {}}};
        EXPECT_THROW(pipeline::add_sources(strict, one, options, warn), Error) << path;
        EXPECT_TRUE(warnings.empty());
    }
    LibraryBuilder named(params({8, 4}), exact_search_data());
    const std::vector<pipeline::Source> one = {{bad, true, {}}};
    EXPECT_THROW(pipeline::add_sources(named, one, {}, warn), Error);
}

// The pixel limit names the front end's own option, or none.
TEST_F(Sources, PixelLimitNamesTheCallersOption) {
    const std::string big = png("big.png", 20, 10);
    for (const char* option : {"max_pixels=", ""}) {
        LibraryBuilder builder(params({4, 4}), exact_search_data());
        pipeline::AddOptions options;
        options.limit = {199, option};
        const std::vector<pipeline::Source> one = {{big, true, {}}};
        try {
            pipeline::add_sources(builder, one, options, [](const std::string&) {});
            ADD_FAILURE() << "not refused";
        } catch (const Error& e) {
            const std::string expected =
                big + ": image is 20x10 = 200 pixels, over the limit of 199" +
                (*option ? std::string("; raise it with ") + option + " if the file is trusted"
                         : std::string());
            EXPECT_EQ(std::string(e.what()), expected);
        }
    }
    // The limit itself is allowed.
    LibraryBuilder builder(params({4, 4}), exact_search_data());
    pipeline::AddOptions options;
    options.limit = {200, "max_pixels="};
    const std::vector<pipeline::Source> one = {{big, true, {}}};
    pipeline::add_sources(builder, one, options, [](const std::string&) {});
    EXPECT_EQ(builder.patch_count(), 10u);
}

// Files and in-memory images in the order given, the same patches for every thread count.
TEST_F(Sources, OrderIsTheInputOrderForEveryThreadCount) {
    for (int i = 0; i < 5; ++i) png("d/" + std::to_string(i) + ".png", 8 + i, 8);
    const Image pixels = testing::random_image(12, 8, 3, rng_);  // RGB, converted to gray
    const std::vector<pipeline::SourceInput> inputs = {
        {dir_.file("d/3.png"), {}},
        {"<array>", [&] { return pipeline::Pixels{pixels.view()}; }},
        {dir_.file("d"), {}}};
    const std::vector<pipeline::Source> sources = pipeline::expand_inputs(inputs);
    std::vector<std::vector<uint8_t>> built;
    for (int threads : {1, 2, 4}) {
        LibraryBuilder builder(params({4, 4}), exact_search_data());
        pipeline::add_sources(builder, sources, {false, {}, threads}, [](const std::string&) {});
        const Library lib = builder.finish();
        ASSERT_EQ(lib.sources().size(), 7u);
        EXPECT_EQ(lib.sources()[1].path, "<array>");
        EXPECT_EQ(lib.sources()[1].file_bytes, pixels.pixels.size());
        EXPECT_EQ(lib.sources()[2].path, dir_.file("d/0.png"));
        built.emplace_back(lib.pixels(), lib.pixels() + lib.patch_count() * lib.patch_bytes());
    }
    EXPECT_EQ(built[0], built[1]);
    EXPECT_EQ(built[0], built[2]);
}

// In-memory pixels are made in their turn, once, on the calling thread whichever thread decodes
// the files, and released once added, before the next are made; what making them throws fails
// the build in that turn.
TEST_F(Sources, InMemoryPixelsAreMadeInTurnAndReleasedOnceAdded) {
    for (int i = 0; i < 4; ++i) png("d/" + std::to_string(i) + ".png", 8, 8);
    const Image pixels = testing::random_image(8, 8, 1, rng_);
    std::vector<int> made;  // calls are serialised by the turn
    const std::thread::id caller = std::this_thread::get_id();
    int live = 0, most_live = 0;
    bool elsewhere = false;  // made on another thread than this one
    const auto memory = [&](int id) -> pipeline::PixelSource {
        return [&, id] {
            if (id < 0) throw Error("cannot make it");
            made.push_back(id);
            elsewhere = elsewhere || std::this_thread::get_id() != caller;
            most_live = std::max(most_live, ++live);
            return pipeline::Pixels{
                pixels.view(), std::shared_ptr<const void>(&pixels, [&](const void*) { --live; })};
        };
    };
    const std::string d = dir_.file("d");
    const std::vector<pipeline::SourceInput> good = {{"m0", memory(0)},  {d, {}},
                                                     {"m1", memory(1)},  {"m2", memory(2)},
                                                     {d + "/0.png", {}}, {"m3", memory(3)}};
    const std::vector<pipeline::SourceInput> bad = {
        {"m0", memory(0)}, {d, {}}, {"bad", memory(-1)}, {d, {}}, {"m1", memory(1)}};
    for (int threads : {1, 2, 4}) {
        made.clear();
        LibraryBuilder builder(params({4, 4}), exact_search_data());
        pipeline::add_sources(builder, pipeline::expand_inputs(good), {false, {}, threads},
                              [](const std::string&) {});
        EXPECT_EQ(made, (std::vector<int>{0, 1, 2, 3})) << threads;
        EXPECT_EQ(most_live, 1) << threads;
        EXPECT_FALSE(elsewhere) << threads;
        EXPECT_EQ(live, 0) << threads;
        const Library lib = builder.finish();
        ASSERT_EQ(lib.sources().size(), 9u);
        EXPECT_EQ(lib.sources()[0].path, "m0");
        EXPECT_EQ(lib.sources()[5].path, "m1");
        EXPECT_EQ(lib.sources()[8].path, "m3");

        made.clear();
        LibraryBuilder failing(params({4, 4}), exact_search_data());
        EXPECT_EQ(error_of([&] {
                      pipeline::add_sources(failing, pipeline::expand_inputs(bad),
                                            {false, {}, threads}, [](const std::string&) {});
                  }),
                  "cannot make it");
        EXPECT_EQ(made, (std::vector<int>{0})) << threads;  // nothing after the failure
        EXPECT_EQ(failing.source_count(), 5u) << threads;
        EXPECT_EQ(live, 0) << threads;
    }
}

// Progress counts every source, from 0 to all of them, in order; warnings come in path order and
// the first failure in order stops the build with nothing after it added, for every thread count.
TEST_F(Sources, ProgressWarningsAndFailuresInPathOrderForEveryThreadCount) {
    std::vector<std::string> bad;
    for (int i = 0; i < 8; ++i) {
        const std::string name = "d/" + std::to_string(i) + ".png";
        if (i == 2 || i == 5) {
            bad.push_back(garbage(name));
        } else {
            png(name, 8, 8);
        }
    }
    const std::vector<pipeline::SourceInput> dir = {{dir_.file("d"), {}}};
    const std::vector<pipeline::Source> sources = pipeline::expand_inputs(dir);
    const std::string reason = ": not a supported image format (" + io::supported_formats() + ")";
    for (int threads : {1, 2, 4}) {
        for (bool strict : {false, true}) {
            std::vector<std::string> warnings;
            std::vector<size_t> done;
            LibraryBuilder builder(params({4, 4}), exact_search_data());
            const auto add = [&] {
                pipeline::add_sources(
                    builder, sources, {strict, {}, threads},
                    [&](const std::string& m) { warnings.push_back(m); },
                    [&](size_t n, size_t total) {
                        EXPECT_EQ(total, 8u);
                        done.push_back(n);
                    });
            };
            if (strict) {
                EXPECT_EQ(error_of(add), bad[0] + reason) << threads;
                EXPECT_TRUE(warnings.empty());
                EXPECT_EQ(done, (std::vector<size_t>{0, 1, 2})) << threads;
                EXPECT_EQ(builder.source_count(), 2u) << threads;
            } else {
                add();
                EXPECT_EQ(warnings, (std::vector<std::string>{bad[0] + reason + "; skipped",
                                                              bad[1] + reason + "; skipped"}))
                    << threads;
                EXPECT_EQ(done, (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8})) << threads;
                EXPECT_EQ(builder.source_count(), 6u) << threads;
            }
        }
    }
}

}  // namespace
}  // namespace tessera
#endif
