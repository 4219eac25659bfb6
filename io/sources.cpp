#include "tessera/sources.hpp"

#include <omp.h>

#include <algorithm>
#include <filesystem>
#include <new>

#include "tessera/error.hpp"

namespace tessera::io {

namespace fs = std::filesystem;

std::vector<Source> expand_inputs(std::span<const SourceInput> inputs) {
    std::vector<Source> sources;
    for (const SourceInput& input : inputs) {
        std::error_code ec;
        if (input.pixels.data != nullptr) {
            sources.push_back({input.path, true, input.pixels});
        } else if (fs::is_directory(input.path, ec)) {
            for (std::string& path : find_images(input.path)) {
                sources.push_back({std::move(path), false, {}});
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
                    image_extensions() + " (any case; hidden files and directories skipped)");
    }
    return sources;
}

namespace {

// Adds one decoded or in-memory image; returns false when it is smaller than the tile.
bool add_one(LibraryBuilder& builder, SourceInfo info, ImageView image, const AddOptions& options,
             const std::function<void(const std::string&)>& warn) {
    const LibraryParams& params = builder.params();
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
    for (size_t begin = 0; begin < sources.size(); begin += threads) {
        if (progress) progress(begin, sources.size());
        const size_t count = std::min(threads, sources.size() - begin);
        std::vector<LoadedImage> loaded(count);
        std::vector<std::string> errors(count);
        // ImageMagick (BMP) sizes its per-thread caches by omp_get_max_threads() and indexes them
        // by thread number: the team must not be larger, or a decode aborts the process.
        const int max_threads = omp_get_max_threads();
        omp_set_num_threads(int(count));
#pragma omp parallel for schedule(dynamic)
        for (size_t j = 0; j < count; ++j) {
            const Source& s = sources[begin + j];
            if (s.pixels.data != nullptr) continue;
            try {
                loaded[j] = load_image(s.path, mode, options.limit);
            } catch (const Error& e) {
                errors[j] = e.what();
            } catch (const std::bad_alloc&) {
                errors[j] = s.path + ": out of memory while decoding";
            }
        }
        omp_set_num_threads(max_threads);
        for (size_t j = 0; j < count; ++j) {
            const Source& s = sources[begin + j];
            if (!errors[j].empty()) {
                if (s.named || options.strict) throw Error(errors[j]);
                warn(errors[j] + "; skipped");
                ++summary.skipped;
                continue;
            }
            bool used = false;
            if (s.pixels.data != nullptr) {
                // In-memory pixels are named by the caller and hashed as they are given.
                const size_t bytes = size_t(s.pixels.stride) * size_t(s.pixels.height);
                TESSERA_ASSERT(s.pixels.stride == ptrdiff_t(s.pixels.width) * s.pixels.channels);
                used = add_one(builder, {s.path, bytes, hash_bytes(s.pixels.data, bytes)}, s.pixels,
                               options, warn);
            } else {
                used = add_one(builder, std::move(loaded[j].source), loaded[j].image.view(),
                               options, warn);
            }
            if (!used) ++summary.too_small;
            loaded[j] = {};  // release the decoded pixels as soon as they are cut
        }
    }
    if (builder.patch_count() == 0) {
        // Every source was skipped with a warning: say why, once, for all of them.
        throw Error("no patches: " + std::to_string(summary.skipped) +
                    (summary.skipped == 1 ? " file" : " files") + " could not be decoded and " +
                    std::to_string(summary.too_small) +
                    (summary.too_small == 1 ? " image was" : " images were") +
                    " smaller than the tile " + size_text(builder.params().tile));
    }
    return summary;
}

}  // namespace tessera::io
