#include "tessera/io/resample.hpp"

#include <vips/vips8>

#include <algorithm>
#include <cmath>

#include "io/vips_calls.hpp"
#include "tessera/core/error.hpp"

namespace tessera::io {

using vips::VImage;

Image resample_photo(ImageView photo, Size size, Fit fit, const std::string& what,
                     std::optional<Size> photo_size) {
    TESSERA_ASSERT(size.width > 0 && size.height > 0 && photo.width > 0 && photo.height > 0);
    TESSERA_ASSERT(photo.stride == ptrdiff_t(photo.width) * photo.channels);
    return run_vips(what + ": cannot resample: ", [&] {
        VImage img = VImage::new_from_memory(const_cast<uint8_t*>(photo.data),
                                             size_t(photo.stride) * photo.height, photo.width,
                                             photo.height, photo.channels, VIPS_FORMAT_UCHAR);
        Size resampled = size;
        const bool shrunk_pad = fit == Fit::pad && photo_size && *photo_size != photo.size();
        if (shrunk_pad) {
            // The size libvips would fit the photo itself into: its sides divided by one factor.
            const double factor = resample_reduction(*photo_size, size, fit);
            resampled = {std::clamp(int(std::lround(photo_size->width / factor)), 1, size.width),
                         std::clamp(int(std::lround(photo_size->height / factor)), 1, size.height)};
        }
        vips::VOption* options = VImage::option()->set("height", resampled.height);
        if (fit == Fit::crop) options->set("crop", VIPS_INTERESTING_CENTRE);
        if (fit == Fit::stretch || shrunk_pad) options->set("size", VIPS_SIZE_FORCE);
        img = img.thumbnail_image(resampled.width, options);
        // Fit::pad fits inside: centre it on black (gravity also trims a rounding pixel over).
        if (img.width() != size.width || img.height() != size.height) {
            img = img.gravity(VIPS_COMPASS_DIRECTION_CENTRE, size.width, size.height,
                              VImage::option()->set("extend", VIPS_EXTEND_BLACK));
        }
        if (img.format() != VIPS_FORMAT_UCHAR) img = img.cast(VIPS_FORMAT_UCHAR);
        Image out(size.width, size.height, photo.channels);
        img.write(VImage::new_from_memory(out.pixels.data(), out.pixels.size(), out.width,
                                          out.height, out.channels, VIPS_FORMAT_UCHAR));
        return out;
    });
}

double resample_reduction(Size photo, Size size, Fit fit) {
    TESSERA_ASSERT(size.width > 0 && size.height > 0);
    const double across = double(photo.width) / size.width;
    const double down = double(photo.height) / size.height;
    // Crop fills the size (the axis reduced less decides), pad fits inside it (the axis reduced
    // more decides, for both), stretch reduces each axis on its own.
    return fit == Fit::pad ? std::max(across, down) : std::min(across, down);
}

}  // namespace tessera::io
