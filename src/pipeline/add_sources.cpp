// Building a library from the user's inputs: which files they stand for, decoding them in
// parallel, adding them in order.
#include "tessera/pipeline/add_sources.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <mutex>
#include <new>

#include "tessera/core/error.hpp"
#include "tessera/core/hash.hpp"
#include "tessera/core/text.hpp"
#include "tessera/io/find_images.hpp"
#include "tessera/io/formats.hpp"
#include "tessera/io/resample.hpp"

namespace tessera::pipeline {

namespace fs = std::filesystem;

std::vector<Source> expand_inputs(std::span<const SourceInput> inputs) {
    std::vector<Source> sources;
    for (const SourceInput& input : inputs) {
        std::error_code ec;
        if (input.pixels) {
            sources.push_back({input.path, true, input.pixels});
        } else if (fs::is_directory(input.path, ec)) {
            for (io::FoundImage& found : io::find_images(input.path)) {
                sources.push_back({std::move(found.path), false, {}, std::move(found.problem)});
            }
        } else if (fs::exists(input.path, ec)) {
            sources.push_back({input.path, true, {}});
        } else {
            throw Error(input.path + ": " + (ec ? ec.message() : "no such file or directory"));
        }
    }
    if (inputs.empty()) throw Error("no images given");
    if (sources.empty()) {
        // Only directories can stand for nothing: name them and what was looked for.
        std::string names;
        for (const SourceInput& input : inputs) names += (names.empty() ? "" : ", ") + input.path;
        throw Error("no image files found in " + names +
                    ": directories are searched recursively for the extensions " +
                    io::image_extensions() + " (any case; hidden files and directories skipped)");
    }
    return sources;
}

namespace {

// A whole photo (in the library's mode) resampled to the tile size and the render size.
struct WholePhoto {
    Size photo;
    Image tile, render;
};

// `image` is the photo, `photo` pixels in size, or the photo shrunk on load.
WholePhoto resample_whole(const LibraryParams& params, ImageView image, Size photo,
                          const std::string& path) {
    WholePhoto whole{photo, io::resample_photo(image, params.tile, params.fit, path, photo), {}};
    if (params.renders_larger()) {
        whole.render = io::resample_photo(image, params.render_size(), params.fit, path, photo);
    }
    return whole;
}

size_t add_whole(LibraryBuilder& builder, SourceInfo info, const WholePhoto& whole) {
    return builder.add_whole(std::move(info), whole.photo, whole.tile.view(), whole.render.view());
}

// Adds one decoded or in-memory image; returns false when it is smaller than the tile.
bool add_one(LibraryBuilder& builder, SourceInfo info, ImageView image, const AddOptions& options,
             const std::function<void(const std::string&)>& warn) {
    const LibraryParams& params = builder.params();
    if (params.kind == LibraryKind::whole) {  // any size of photo makes a tile
        const std::string path = info.path;
        if (image.channels == params.channels()) {
            return add_whole(builder, std::move(info),
                             resample_whole(params, image, image.size(), path)) > 0;
        }
        const Image converted = convert(image, params.mode);
        return add_whole(builder, std::move(info),
                         resample_whole(params, converted.view(), image.size(), path)) > 0;
    }
    const std::string path = info.path;
    const size_t added =
        image.channels == params.channels()
            ? builder.add_source(std::move(info), image)
            : builder.add_source(std::move(info), convert(image, params.mode).view());
    if (added > 0) return true;
    const std::string message = path + ": " + size_text(image.size()) +
                                " is smaller than the tile " + size_text(params.tile);
    if (options.strict) throw Error(message);
    warn(message + "; no patches from it");
    return false;
}

}  // namespace

AddSummary add_sources(LibraryBuilder& builder, std::span<const Source> sources,
                       const AddOptions& options,
                       const std::function<void(const std::string&)>& warn,
                       const Progress& progress) {
    const Mode mode = builder.params().mode;
    const size_t threads = size_t(options.threads > 0 ? options.threads : omp_get_num_procs());
    AddSummary summary;
    if (progress) progress(0, sources.size());
    // One parallel region for all the files: each thread takes the next file, decodes it, waits
    // for its turn and adds it, so sources are added in path order and at most `threads` decoded
    // images wait. The turn is a condition variable, which sleeps: OpenMP's waits (a region per
    // group of files, or an ordered section) spin, and on many small files made two threads
    // slower than one. Nothing may leave the region by an exception: the first failure in order
    // is kept and rethrown after it, and the files after it are neither decoded nor added.
    std::exception_ptr failure;
    std::atomic<bool> failed = false;
    // In-memory pixels are made only by this thread (the team's master): made by every thread,
    // the copies freed stayed in each thread's malloc arena, and peak memory grew with the count.
    // The master takes the first source no thread has; the others, the first such file.
    std::mutex claim_mutex;
    std::vector<bool> claimed(sources.size());
    size_t first = 0, first_file = 0;  // nothing before them is left for the master / the others
    const auto claim = [&] {
        const bool master = omp_get_thread_num() == 0;
        std::lock_guard lock(claim_mutex);
        size_t& i = master ? first : first_file;
        while (i < sources.size() && (claimed[i] || (!master && sources[i].pixels))) ++i;
        if (i < sources.size()) claimed[i] = true;
        return i;
    };
    std::mutex turn_mutex;
    std::condition_variable turn_changed;
    size_t turn = 0;  // the source to add next
    // ImageMagick (BMP) sizes its per-thread caches by omp_get_max_threads() and indexes them
    // by thread number: the team must not be larger, or a decode aborts the process.
    const int max_threads = omp_get_max_threads();
    omp_set_num_threads(int(std::clamp<size_t>(sources.size(), 1, threads)));
#pragma omp parallel
    for (size_t i = claim(); i < sources.size(); i = claim()) {
        const Source& s = sources[i];
        io::LoadedImage loaded;
        WholePhoto whole;  // whole libraries: `loaded` resampled in this thread
        std::string error;
        bool over_limit = false;
        std::exception_ptr unexpected;  // anything else, fatal in its turn
        if (!s.problem.empty()) {
            error = s.path + ": " + s.problem;
        } else if (!s.pixels && !failed) {
            try {
                const LibraryParams& params = builder.params();
                if (params.kind == LibraryKind::whole) {
                    // Decoded no larger than the render size (>= the tile) needs: memory
                    // follows the library's sizes, not the photos'.
                    loaded = io::load_image(s.path, mode, options.limit,
                                            io::ShrinkOnLoad{params.render_size(), params.fit});
                    const Size photo{int(loaded.source.width), int(loaded.source.height)};
                    whole = resample_whole(params, loaded.image.view(), photo, s.path);
                    loaded.image = Image();  // only the resampled tiles wait for their turn
                } else {
                    loaded = io::load_image(s.path, mode, options.limit);
                }
            } catch (const io::PixelLimitError& e) {
                error = e.what();
                over_limit = true;
            } catch (const Error& e) {
                error = e.what();
            } catch (const std::bad_alloc&) {
                error = s.path + ": out of memory while decoding";
            } catch (...) {
                unexpected = std::current_exception();
            }
        }
        std::unique_lock lock(turn_mutex);
        turn_changed.wait(lock, [&] { return turn == i; });
        if (!failed) {
            try {
                if (unexpected) std::rethrow_exception(unexpected);
                if (!error.empty()) {
                    if (s.named || options.strict) throw Error(error);
                    warn(error + "; skipped");
                    ++(over_limit ? summary.over_limit : summary.skipped);
                } else if (s.pixels) {
                    // In-memory pixels are made in their turn, named by the caller and hashed
                    // as they are given, and released once added.
                    const Pixels made = s.pixels();  // its owner lives to the end of this block
                    const ImageView& pixels = made.view;
                    const size_t bytes = size_t(pixels.stride) * size_t(pixels.height);
                    TESSERA_ASSERT(pixels.stride == ptrdiff_t(pixels.width) * pixels.channels);
                    if (!add_one(builder, {s.path, bytes, hash_bytes(pixels.data, bytes)}, pixels,
                                 options, warn)) {
                        ++summary.too_small;
                    }
                } else if (builder.params().kind == LibraryKind::whole) {
                    add_whole(builder, std::move(loaded.source), whole);
                } else if (!add_one(builder, std::move(loaded.source), loaded.image.view(), options,
                                    warn)) {
                    ++summary.too_small;
                }
                if (progress) progress(i + 1, sources.size());
            } catch (...) {
                failure = std::current_exception();
                failed = true;
            }
        }
        ++turn;
        turn_changed.notify_all();
    }
    omp_set_num_threads(max_threads);
    if (failure) std::rethrow_exception(failure);
    if (builder.patch_count() == 0) {
        // Every source was skipped with a warning: say why, once, for all of them.
        throw Error("no patches: " + count_text(summary.skipped, "file", "files") +
                    " could not be read or decoded" +
                    (summary.over_limit == 0
                         ? std::string(" and ")
                         : ", " + count_text(summary.over_limit, "image had", "images had") +
                               " more pixels than " + std::string(options.limit.option) +
                               " allows and ") +
                    count_text(summary.too_small, "image was", "images were") +
                    " smaller than the tile " + size_text(builder.params().tile));
    }
    return summary;
}

}  // namespace tessera::pipeline
