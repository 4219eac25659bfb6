// Interruption points (tessera/core/interrupt.hpp): the long steps of building, saving and
// verifying a library stop with Interrupted once their thread's scope is asked to stop, and
// leave no file behind. tests/python/test_interrupt.py sends the real Ctrl-C.
#include "tessera/core/interrupt.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>

#include "tessera/library/builder.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/exact_search_data.hpp"
#include "testing.hpp"

namespace tessera {
namespace {

using testing::random_image;
using testing::TempDir;

LibraryBuilder gray_builder() {
    LibraryParams p;
    p.tile = {4, 4};
    p.stride = {1, 1};
    p.mode = Mode::Gray;
    return LibraryBuilder(p, exact_search_data());
}

TEST(Interrupt, PointsThrowOnlyInAStoppedScope) {
    EXPECT_NO_THROW(interruption_point());
    EXPECT_EQ(interruption_flag(), nullptr);
    std::atomic<bool> outer = false, inner = true;
    {
        const InterruptionScope a(outer);
        EXPECT_NO_THROW(interruption_point());
        {
            const InterruptionScope b(inner);
            EXPECT_THROW(interruption_point(), Interrupted);
            EXPECT_EQ(interruption_flag(), &inner);
        }
        EXPECT_EQ(interruption_flag(), &outer);  // the enclosing scope again
        outer = true;
        EXPECT_THROW(interruption_point(), Interrupted);
    }
    EXPECT_NO_THROW(interruption_point());
}

TEST(Interrupt, BuildingStops) {
    std::mt19937 rng(1);
    const Image image = random_image(40, 30, 1, rng);
    std::atomic<bool> stop = false;
    const InterruptionScope scope(stop);
    {
        LibraryBuilder builder = gray_builder();
        EXPECT_EQ(builder.add_source({"a", 0, 0}, image.view()), 37u * 27u);  // not stopped
        stop = true;
        EXPECT_THROW(builder.add_source({"b", 0, 0}, image.view()), Interrupted);
    }
    stop = false;
    LibraryBuilder builder = gray_builder();
    builder.add_source({"a", 0, 0}, image.view());
    stop = true;
    EXPECT_THROW(builder.finish(), Interrupted);  // the search index
}

TEST(Interrupt, SavingStopsAndLeavesNoFile) {
    std::mt19937 rng(2);
    LibraryBuilder builder = gray_builder();
    builder.add_source({"a", 0, 0}, random_image(40, 30, 1, rng).view());
    const Library library = builder.finish();
    TempDir dir;
    std::atomic<bool> stop = true;
    {
        const InterruptionScope scope(stop);
        EXPECT_THROW(library.save(dir.file("lib.tsr")), Interrupted);
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // the temporary removed
    library.save(dir.file("lib.tsr"));
    const Library opened = Library::open(dir.file("lib.tsr"), exact_search_data());
    {
        const InterruptionScope scope(stop);
        EXPECT_THROW(opened.verify(), Interrupted);  // hashing the file
    }
    EXPECT_NO_THROW(opened.verify());
}

}  // namespace
}  // namespace tessera
