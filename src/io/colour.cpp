// CIELAB, CIEDE2000 and resampling through libvips (colour.hpp).
#include "tessera/io/colour.hpp"

#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "io/vips_calls.hpp"
#include "tessera/core/error.hpp"

namespace tessera::io {

Lab srgb_to_lab(uint8_t red, uint8_t green, uint8_t blue) {
    float R, G, B, X, Y, Z;
    Lab lab;
    vips_col_sRGB2scRGB_8(red, green, blue, &R, &G, &B);
    vips_col_scRGB2XYZ(R, G, B, &X, &Y, &Z);
    vips_col_XYZ2Lab(X, Y, Z, &lab.L, &lab.a, &lab.b);
    return lab;
}

void lab_to_srgb(Lab lab, uint8_t* rgb) {
    float X, Y, Z, R, G, B;
    int r, g, b, out_of_gamut;
    vips_col_Lab2XYZ(lab.L, lab.a, lab.b, &X, &Y, &Z);
    vips_col_XYZ2scRGB(X, Y, Z, &R, &G, &B);
    vips_col_scRGB2sRGB_8(R, G, B, &r, &g, &b, &out_of_gamut);  // clips to 0..255
    rgb[0] = uint8_t(std::clamp(r, 0, 255));
    rgb[1] = uint8_t(std::clamp(g, 0, 255));
    rgb[2] = uint8_t(std::clamp(b, 0, 255));
}

double ciede2000(Lab x, Lab y) {
    return vips_col_dE00(x.L, x.a, x.b, y.L, y.a, y.b);
}

void lab_bytes(Lab lab, uint8_t* out) {
    const auto byte = [](double v) { return uint8_t(std::clamp<long>(std::lround(v), 0, 255)); };
    out[0] = byte(double(lab.L) * 255.0 / 100.0);
    out[1] = byte(double(lab.a) + 128.0);
    out[2] = byte(double(lab.b) + 128.0);
}

Image lab8_image(ImageView rgb) {
    TESSERA_ASSERT(rgb.channels == 3);
    Image out(rgb.width, rgb.height, 3);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < rgb.height; ++y) {
        const uint8_t* p = rgb.row(y);
        uint8_t* q = out.row(y);
        for (int x = 0; x < rgb.width; ++x, p += 3, q += 3) {
            lab_bytes(srgb_to_lab(p[0], p[1], p[2]), q);
        }
    }
    return out;
}

Image resize_image(ImageView image, Size size) {
    TESSERA_ASSERT(size.width > 0 && size.height > 0 && image.width > 0 && image.height > 0);
    Image packed;
    pack_rows(image, packed);
    const size_t row = size_t(image.width) * image.channels;
    Image out(size.width, size.height, image.channels);
    run_vips("cannot resample the image: ", [&] {
        vips::VImage in = vips::VImage::new_from_memory(
            const_cast<uint8_t*>(image.data), row * image.height, image.width, image.height,
            image.channels, VIPS_FORMAT_UCHAR);
        const double hshrink = double(image.width) / size.width;
        const double vshrink = double(image.height) / size.height;
        vips::VImage resized =
            hshrink >= 1 && vshrink >= 1
                ? in.shrink(hshrink, vshrink)
                : in.resize(1 / hshrink, vips::VImage::option()
                                             ->set("vscale", 1 / vshrink)
                                             ->set("kernel", VIPS_KERNEL_LINEAR));
        // Rounding may leave a pixel more or less than asked: cut or extend to the exact size.
        if (resized.width() != size.width || resized.height() != size.height) {
            resized = resized.embed(0, 0, size.width, size.height,
                                    vips::VImage::option()->set("extend", VIPS_EXTEND_COPY));
        }
        resized.cast(VIPS_FORMAT_UCHAR)
            .write(vips::VImage::new_from_memory(out.pixels.data(), out.pixels.size(), out.width,
                                                 out.height, out.channels, VIPS_FORMAT_UCHAR));
    });
    return out;
}

}  // namespace tessera::io
