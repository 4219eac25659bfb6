// A mosaic from an opened library to the files written: matching, rendering, encoding, the
// matches file, and the PSNR of what was delivered.
#include "tessera/pipeline/mosaic_job.hpp"

#include <exception>

#include "tessera/core/file.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/io/encode.hpp"
#include "tessera/io/formats.hpp"
#include "tessera/mosaic/match.hpp"
#include "tessera/mosaic/quality.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/mosaic/tile_source.hpp"
#include "tessera/pipeline/matches_file.hpp"
#include "tessera/search/exact_search_data.hpp"

namespace tessera::pipeline {

Library open_library(const std::string& path, const std::function<void(const Library&)>& checks) {
    Library library = Library::open(path, exact_search_data());
    if (checks) checks(library);
    library.verify();
    return library;
}

MosaicResult make_mosaic(const Library& library, const Searcher& searcher, ImageView target,
                         const MosaicEvents& events) {
    MosaicResult result;
    const TileRows all_rows{0, tile_rows(target.size(), library.params().tile)};
    result.matches =
        assign_nearest(match_tiles(library, searcher, target, all_rows, 1, events.matching));
    if (events.phase) events.phase("rendering");
    result.image = render(LibraryTiles(library), result.matches, target.size());
    result.psnr = psnr(result.image.view(), target);
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
                  bool want_psnr, const MosaicEvents& events) {
    if (events.phase) events.phase("writing " + output);
    AtomicFile image(output);
    io::save_image(image, result.image.view(), quality);
    if (want_psnr && io::lossy_format(output)) {
        if (events.phase) events.phase("reading " + output + " back for its PSNR");
        psnr_of_written_file(image, result, library.params().mode, target);
    }
    if (matches_path.empty()) {
        image.commit();
    } else {
        AtomicFile rows(matches_path);
        write_matches(rows, library, result.matches);
        commit_together({&image, &rows});
    }
}

}  // namespace tessera::pipeline
