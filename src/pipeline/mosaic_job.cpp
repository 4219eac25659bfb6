// A mosaic from an opened library to the files written: matching, rendering, encoding, the
// matches file, and the PSNR of what was delivered.
#include "tessera/pipeline/mosaic_job.hpp"

#include <algorithm>
#include <exception>
#include <limits>
#include <memory>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/io/encode.hpp"
#include "tessera/io/formats.hpp"
#include "tessera/mosaic/match.hpp"
#include "tessera/mosaic/quality.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/mosaic/tile_source.hpp"
#include "tessera/pipeline/colour_transfer.hpp"
#include "tessera/pipeline/matches_file.hpp"
#include "tessera/pipeline/poster.hpp"
#include "tessera/search/exact_search_data.hpp"

namespace tessera::pipeline {

Library open_library(const std::string& path, const std::function<void(const Library&)>& checks,
                     PhaseTimes* seconds) {
    PhaseTimes times;
    Library library = times.time("open", [&] {
        Library opened = Library::open(path, exact_search_data());
        if (checks) checks(opened);
        return opened;
    });
    times.time("verify", [&] { library.verify(); });
    if (seconds) seconds->merge(times);
    return library;
}

namespace {

// Candidates per tile before any widening: enough for most tiles of a cap with room to spare.
constexpr uint32_t kFirstCandidates = 8;

// The library's patch count as the assignments count tiles.
uint32_t patch_count(const Library& library) {
    return uint32_t(std::min<size_t>(library.patch_count(), std::numeric_limits<uint32_t>::max()));
}

// The optimal matches under the cap: each tile's nearest patches from the exact search, more of
// them for the tiles whose lists do not prove the optimum (assign_with_repeat_cap).
std::vector<TileMatch> capped_matches(const Library& library, const Searcher& searcher,
                                      ImageView target, const MosaicEvents& events,
                                      uint32_t max_uses, std::optional<CappedAssignment>& capped,
                                      PhaseTimes& seconds) {
    const Size tile = library.params().tile;
    const size_t cells = cover_with_tiles(target.size(), tile).size();
    const uint32_t patches = patch_count(library);
    check_repeat_cap(cells, patches, max_uses);
    const TileRows all_rows{0, tile_rows(target.size(), tile)};
    const TileCandidates candidates = seconds.time("search", [&] {
        return match_tiles(library, searcher, target, all_rows,
                           int(std::min(kFirstCandidates, patches)), events.matching);
    });
    // The widest list each tile was given, for the chosen patch's distance.
    std::vector<std::vector<Neighbor>> widened(cells);
    const WidenCandidates widen = [&](std::span<const uint32_t> listed, int k) {
        std::vector<Tile> tiles;
        tiles.reserve(listed.size());
        for (uint32_t c : listed) tiles.push_back(candidates.tiles[c]);
        std::vector<Neighbor> found = match_listed_tiles(library, searcher, target, tiles, k);
        for (size_t i = 0; i < listed.size(); ++i) {
            const auto list = std::span(found).subspan(i * size_t(k), size_t(k));
            widened[listed[i]].assign(list.begin(), list.end());
        }
        return found;
    };
    // The certificate prices pairs outside the lists with their real distances, so lists need
    // not widen to the whole library where tile prices are high.
    PatchDistances measure(library);
    const PairDistances distances = [&](uint32_t cell, std::span<const uint32_t> ids,
                                        std::span<const uint64_t> limits, std::span<uint64_t> out) {
        tile_distances(measure, target, candidates.tiles[cell], ids, out, limits);
    };
    if (events.phase) events.phase("assigning");
    seconds.time("assign", [&] {
        capped = assign_with_repeat_cap(candidates.neighbors, cells, patches, max_uses, widen,
                                        distances);
    });
    std::vector<TileMatch> matches(cells);
    for (size_t c = 0; c < cells; ++c) {
        const uint32_t patch = capped->tiles[c];
        const std::span<const Neighbor> list =
            widened[c].empty() ? candidates.of(c) : std::span<const Neighbor>(widened[c]);
        const auto listed = std::find_if(list.begin(), list.end(),
                                         [&](const Neighbor& n) { return n.id == patch; });
        uint64_t distance = 0;
        if (listed != list.end()) {
            distance = listed->distance;
        } else {  // a priced pair
            distances(uint32_t(c), std::span(&patch, 1), {}, std::span(&distance, 1));
        }
        matches[c] = {candidates.tiles[c], patch, distance};
    }
    return matches;
}

// `result.matches` with no patch twice within `min_distance` tiles: the row-major repair of
// space_repeats, each repaired tile's candidates from the exact search.
void space_matches(const Library& library, const Searcher& searcher, ImageView target, int rows,
                   const MosaicOptions& options, MosaicResult& result) {
    std::vector<TileMatch>& matches = result.matches;
    std::vector<Neighbor> start;
    start.reserve(matches.size());
    for (const TileMatch& m : matches) start.push_back({m.distance, m.patch});
    const WidenCandidates widen = [&](std::span<const uint32_t> listed, int k) {
        std::vector<Tile> tiles;
        tiles.reserve(listed.size());
        for (uint32_t c : listed) tiles.push_back(matches[c].tile);
        return match_listed_tiles(library, searcher, target, tiles, k);
    };
    const SpacedAssignment spaced =
        space_repeats(rows, int(matches.size() / size_t(rows)), start, patch_count(library),
                      options.max_uses, options.min_distance, widen);
    for (size_t c = 0; c < matches.size(); ++c) {
        matches[c].patch = spaced.chosen[c].id;
        matches[c].distance = spaced.chosen[c].distance;
    }
    result.unspaced_cost = spaced.start_cost;
    result.respaced_tiles = spaced.changed;
}

}  // namespace

MosaicResult make_mosaic(const Library& library, const Searcher& searcher, ImageView target,
                         const MosaicEvents& events, const MosaicOptions& options) {
    MosaicResult result;
    const Library& matched = options.matched ? options.matched->library : library;
    const ImageView matched_target = options.matched ? options.matched->target.view() : target;
    const Size tile = library.params().tile;
    const int rows = tile_rows(target.size(), tile);
    if (options.min_distance > 0) {
        const size_t cells = cover_with_tiles(target.size(), tile).size();
        check_min_distance(rows, int(cells / size_t(rows)), patch_count(matched),
                           options.min_distance);
    }
    if (options.max_uses > 0) {
        result.matches = capped_matches(matched, searcher, matched_target, events, options.max_uses,
                                        result.capped, result.seconds);
    } else {
        result.seconds.time("search", [&] {
            const TileRows all_rows{0, rows};
            result.matches = assign_nearest(
                match_tiles(matched, searcher, matched_target, all_rows, 1, events.matching));
        });
    }
    if (options.min_distance > 0) {
        if (events.phase) events.phase("spacing repeats");
        result.seconds.time("space", [&] {
            space_matches(matched, searcher, matched_target, rows, options, result);
        });
    }
    result.summary = summarize_matches(result.matches);
    // The limit on repeat distances only adds to the constraints: the bound without it holds.
    const uint64_t unspaced_cost = result.unspaced_cost.value_or(result.summary.total_cost);
    result.summary.lower_bound =
        result.capped ? result.capped->lower_bound : int64_t(unspaced_cost);
    result.summary.certified = result.summary.lower_bound == int64_t(result.summary.total_cost);
    if (events.phase) events.phase("rendering");
    const Size render_size = render_size_for(library, options.render_size, "render size");
    const Size output = rendered_size(target.size(), tile, render_size);
    result.output = output;
    result.render_size = render_size;
    result.seconds.time("render", [&] {
        if (!options.render_in_memory) return;  // rendered while it is encoded (write_mosaic)
        PasteFilter filter;
        if (options.color > 0) {
            filter = colour_transfer(cell_stats(target, tile),
                                     (target.width + tile.width - 1) / tile.width, options.color,
                                     target.channels);
        }
        if (render_size == library.params().render_size()) {
            result.image = render(LibraryTiles(library), result.matches, output, filter);
        } else {
            result.image = render(ResampledTiles(library, render_size, result.matches),
                                  result.matches, output, filter);
        }
        if (options.blend > 0) blend_target(result.image, target, options.blend);
    });
    result.psnr =
        render_size == tile && options.render_in_memory
            ? psnr(result.image.view(), target)
            : psnr(render(LibraryTiles(library, true), result.matches, target.size()).view(),
                   target);
    return result;
}

namespace {

// JPEG and WebP lose some of the mosaic: its PSNR is that of `file` as written, read back
// before the file replaces anything, as best effort (write_mosaic).
void psnr_of_written_file(const AtomicFile& file, MosaicResult& result, Mode mode,
                          const Image& target) {
    result.image = Image();
    try {
        const io::LoadedImage written =
            io::load_image(file.temporary_path(), mode, {uint64_t(-1), ""});
        result.psnr = psnr(written.image.view(), target.view());
    } catch (const std::exception&) {  // Error, or bad_alloc
        result.psnr_before_encoding = true;
    }
}

}  // namespace

void write_mosaic(MosaicResult& result, const Library& library, const Image& target,
                  const std::string& output, const std::string& matches_path, int quality,
                  bool want_psnr, const MosaicEvents& events, const SideFiles& side_files) {
    if (events.phase) events.phase("writing " + output);
    AtomicFile image(output);
    result.seconds.time("encode", [&] {
        if (!result.image.pixels.empty() || result.output == Size{0, 0}) {
            io::save_image(image, result.image.view(), quality);
        } else if (result.render_size == library.params().render_size()) {
            io::save_tiles(image, LibraryTiles(library), result.matches, result.output, quality);
        } else {
            io::save_tiles(image, ResampledTiles(library, result.render_size, result.matches),
                           result.matches, result.output, quality);
        }
    });
    if (want_psnr && io::lossy_format(output) && result.output == target.size()) {
        if (events.phase) events.phase("reading " + output + " back for its PSNR");
        result.seconds.time("read_back", [&] {
            psnr_of_written_file(image, result, library.params().mode, target);
        });
    }
    std::vector<std::unique_ptr<AtomicFile>> files;
    if (!matches_path.empty()) {
        files.push_back(std::make_unique<AtomicFile>(matches_path));
        result.seconds.time("matches",
                            [&] { write_matches(*files.back(), library, result.matches); });
    }
    if (side_files) {
        for (const auto& [path, contents] : side_files(result)) {
            files.push_back(std::make_unique<AtomicFile>(path));
            files.back()->write(contents.data(), contents.size());
        }
    }
    std::vector<AtomicFile*> all{&image};
    for (const auto& file : files) all.push_back(file.get());
    // Nothing replaces an output when an input was truncated while it was read.
    check_mapped_files();
    commit_together(std::span<AtomicFile* const>(all));
}

}  // namespace tessera::pipeline
