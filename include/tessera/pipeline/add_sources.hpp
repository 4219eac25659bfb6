// Building a library from what the user names: one rule for the CLI and the Python module on
// which files a path stands for, which failures are fatal and which are warnings.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tessera/core/image.hpp"
#include "tessera/core/progress.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/library/builder.hpp"

namespace tessera::pipeline {

// Pixels in memory: a tightly packed gray or RGB view, and whatever keeps it valid (nothing
// when the caller keeps the pixels alive for the whole build).
struct Pixels {
    ImageView view;
    std::shared_ptr<const void> owner{};
};

// Makes an in-memory image's pixels when its turn to be added comes; they are released once it
// is added, so a build from many images that must first be converted (by the Python module,
// PIL images and non-contiguous arrays) holds one converted copy at a time, not all of them.
// Called in build order, on the thread that called add_sources; what it throws fails the build
// in that turn.
using PixelSource = std::function<Pixels()>;

// One input as given: a file, a directory, or (from Python) pixels in memory named `path`.
struct SourceInput {
    std::string path;
    PixelSource pixels{};  // empty for a path
};

// One image to add, in build order.
struct Source {
    std::string path;
    bool named = true;      // named by the user, so it must decode; false: found in a directory
    PixelSource pixels{};   // as in SourceInput
    std::string problem{};  // io::FoundImage::problem: a directory or broken link, never decoded
};

// The inputs in order, each directory replaced by what io::find_images finds in it. Throws
// Error for a path that does not exist, or when there is no image at all (naming the directories
// and the extensions looked for).
std::vector<Source> expand_inputs(std::span<const SourceInput> inputs);

struct AddOptions {
    bool strict = false;  // fail on any unreadable or too-small image instead of skipping it
    io::PixelLimit limit;
    int threads = 0;  // files decoded at once, 0 = all cores
};

struct AddSummary {
    size_t skipped = 0;     // found in a directory but could not be read or decoded
    size_t over_limit = 0;  // found in a directory, more pixels than AddOptions::limit allows
    size_t too_small = 0;   // smaller than the tile: no patches
};

// Decodes up to `threads` files at once and adds every source to `builder` in order, so patch
// ids do not depend on the thread count. A named file that cannot be decoded, or under `strict`
// any failure, throws Error; otherwise `warn` gets a message and the source is left out. Throws
// Error, counting what was left out and why, when the builder is still without patches at the end.
// `progress` is called with 0 first, then after each source with the number done.
AddSummary add_sources(LibraryBuilder& builder, std::span<const Source> sources,
                       const AddOptions& options,
                       const std::function<void(const std::string&)>& warn,
                       const Progress& progress = {});

}  // namespace tessera::pipeline
