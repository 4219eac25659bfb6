#include "tessera/pipeline/metric.hpp"

#include <algorithm>
#include <cstring>

#include "tessera/core/error.hpp"
#include "tessera/io/colour.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/search/exact_search_data.hpp"

namespace tessera::pipeline {

namespace {

// Patches per source of the converted library: each source is a column of patches, cut with a
// stride of one tile so that window i is patch i; a column at a time bounds the copy.
constexpr size_t kPatchesPerColumn = 4096;

}  // namespace

std::string_view metric_name(Metric metric) {
    return metric == Metric::lab ? "lab" : "rgb";
}

MatchSpace lab_match_space(const Library& library, ImageView target) {
    const LibraryParams& params = library.params();
    TESSERA_ASSERT(params.mode == Mode::Rgb && target.channels == 3);
    LibraryParams lab_params = params;
    lab_params.stride = params.tile;
    lab_params.transforms = {Transform::Rot0};  // the patches are stored transformed already
    LibraryBuilder builder(lab_params, exact_search_data());
    const Size tile = params.tile;
    const size_t bytes = library.patch_bytes();
    for (size_t first = 0; first < library.patch_count(); first += kPatchesPerColumn) {
        const size_t count = std::min(kPatchesPerColumn, library.patch_count() - first);
        const ImageView column{library.patch(first), tile.width, int(count) * tile.height, 3,
                               ptrdiff_t(tile.width) * 3};
        const Image converted = io::lab8_image(column);
        TESSERA_ASSERT(converted.pixels.size() == count * bytes);
        builder.add_source({"<lab>", 0, 0, uint32_t(tile.width), uint32_t(count * tile.height)},
                           converted.view());
    }
    return {builder.finish(), io::lab8_image(target)};
}

}  // namespace tessera::pipeline
