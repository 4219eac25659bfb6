// The looks a mosaic can be given after matching: each placed tile's colour moved toward its
// cell of the target (--color), and the target itself mixed into the output (--blend).
#pragma once

#include <span>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/io/colour.hpp"
#include "tessera/mosaic/render.hpp"

namespace tessera::pipeline {

// Mean and standard deviation (population) of each channel over some pixels: L*, a*, b* for
// rgb, the gray level for gray.
struct ColourStats {
    double mean[3] = {0, 0, 0};
    double spread[3] = {0, 0, 0};
};

// Each pixel in the space the statistics are taken in: CIELAB for 3 channels (io::srgb_to_lab),
// the gray level for 1.
io::Lab pixel_colour(const uint8_t* pixel, int channels);

// The statistics of the `tile` cells of `image` (cover_with_tiles's grid, row-major).
std::vector<ColourStats> cell_stats(ImageView image, Size tile);

// A Reinhard-style transfer (Reinhard et al. 2001, in CIELAB): each channel value v of a placed
// tile becomes v + amount * ((v - tile mean) * s + cell mean - v), where s is the cell's
// standard deviation over the tile's (1 when the tile's is under 0.01: a flat channel, such as a
// gray photo's a* and b*, is only shifted), then back to sRGB, rounded and
// clipped (gray: the gray level itself, rounded and clipped). amount 0 < amount <= 1; `cells`
// are cell_stats of the target at the matched tile size, found by each match's row and column.
PasteFilter colour_transfer(std::vector<ColourStats> cells, int columns, double amount,
                            int channels);

// output = round((1 - amount) * output + amount * target) per byte (halves away from zero):
// amount 1 gives the target. A target of another size than the output is first resampled to it
// (io::resize_image).
void blend_target(Image& output, ImageView target, double amount);

}  // namespace tessera::pipeline
