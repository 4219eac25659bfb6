// Decoding a file into pixels: format sniffing, the pixel limit before any pixel is decoded, and
// the conversions into a gray or RGB buffer.
#include "tessera/io/decode.hpp"

#include <vips/vips8>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <span>

#include "io/format_table.hpp"
#include "io/vips_calls.hpp"
#include "tessera/core/file.hpp"
#include "tessera/core/hash.hpp"
#include "tessera/io/formats.hpp"
#include "tessera/io/resample.hpp"

namespace tessera::io {

namespace fs = std::filesystem;
using vips::VImage;
using vips::VSource;

namespace {

bool trusted_loader(const char* loader) {
    return std::any_of(formats().begin(), formats().end(), [loader](const Format& f) {
        return f.loader != nullptr && std::strcmp(f.loader, loader) == 0;
    });
}

// The width and height a BMP header declares (BITMAPCOREHEADER or a later BITMAPINFOHEADER),
// or {0, 0} when the bytes are not a BMP header.
std::pair<uint64_t, uint64_t> bmp_size(std::span<const uint8_t> b) {
    auto le = [&b](size_t at, int bytes) {
        uint32_t v = 0;
        for (int i = bytes - 1; i >= 0; --i) v = v << 8 | b[at + i];
        return v;
    };
    if (b.size() < 26 || b[0] != 'B' || b[1] != 'M') return {0, 0};
    if (le(14, 4) == 12) return {le(18, 2), le(20, 2)};
    const auto height = int32_t(le(22, 4));  // negative for top-down rows
    return {le(18, 4), height < 0 ? -int64_t(height) : height};
}

// The libvips loader of a file in a format tessera reads, or nullptr.
const char* loader_of(std::span<const uint8_t> bytes) {
    VSource source = VSource::new_from_memory(bytes.data(), bytes.size());
    const char* loader = vips_foreign_find_load_source(source.get_source());
    if (loader == nullptr && modules_deferred()) {  // HEIF, or a format tessera does not read
        vips_error_clear();
        load_module(VipsModule::heif);
        loader = vips_foreign_find_load_source(source.get_source());
    }
    vips_error_clear();
    return loader != nullptr && trusted_loader(loader) ? loader : nullptr;
}

PixelLimitError over_limit(const std::string& path, uint64_t width, uint64_t height,
                           const PixelLimit& limit) {
    std::string message = path + ": image is " + std::to_string(width) + "x" +
                          std::to_string(height) + " = " + std::to_string(width * height) +
                          " pixels, over the limit of " + std::to_string(limit.max);
    if (!limit.option.empty()) {
        message += "; raise it with " + std::string(limit.option) + " if the file is trusted";
    }
    return PixelLimitError(message);
}

// Whether libvips's colourspace() reads samples of this format by their type's range: 8-bit and
// 16-bit unsigned integers, the formats of ordinary image files.
bool display_format(VipsBandFormat format) {
    return format == VIPS_FORMAT_UCHAR || format == VIPS_FORMAT_USHORT;
}

// Whether the bands are gray or RGB values (not Lab, XYZ, CMYK..., which colourspace() converts
// by their own meaning whatever their format).
bool display_bands(VipsInterpretation interpretation) {
    switch (interpretation) {
        case VIPS_INTERPRETATION_MULTIBAND:
        case VIPS_INTERPRETATION_B_W:
        case VIPS_INTERPRETATION_GREY16:
        case VIPS_INTERPRETATION_sRGB:
        case VIPS_INTERPRETATION_RGB16:
        case VIPS_INTERPRETATION_scRGB:
            return true;
        default:
            return false;
    }
}

std::string number_text(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
}

// Gray or RGB samples of another type than 8- or 16-bit unsigned (floating point from scientific
// tools and PIL's mode "F", signed or 32-bit integers), made 8-bit by the range their values
// span, read in a pass of their own over `all` (the same pixels): within 0..1 (floating point
// only) they are scaled by 255, within 0..255 taken as they are, within 0..65535 (integers only)
// read as 16-bit. Anything else (negative, larger, not a number, complex) has no one reading, and
// is refused with the way out: a cast in libvips's cast() would make it black or white.
VImage scaled_by_range(const std::string& path, VImage img, VImage all) {
    const VipsBandFormat format = img.format();
    const std::string type = vips_enum_nick(VIPS_TYPE_BAND_FORMAT, format);
    const std::string fix =
        "; convert it to 8- or 16-bit unsigned integers first (with vips linear and cast, or "
        "numpy), scaled as its values mean";
    if (vips_band_format_iscomplex(format)) {
        throw Error(path + ": has complex (" + type + ") samples, which tessera does not read" +
                    fix);
    }
    const VImage stats = all.stats();
    const double low = stats.getpoint(0, 0)[0], high = stats.getpoint(1, 0)[0];
    const double sum = stats.getpoint(2, 0)[0];
    const bool real = vips_band_format_isfloat(format);
    if (!std::isfinite(sum) || !std::isfinite(low) || !std::isfinite(high)) {
        throw Error(path + ": has " + type + " samples that are not finite numbers" + fix);
    }
    double scale = 0;
    if (low >= 0 && high <= 1 && real) {
        scale = 255;
    } else if (low >= 0 && high <= 255) {
        scale = 1;
    } else if (low >= 0 && high <= 65535 && !real) {
        scale = 255.0 / 65535.0;
    } else {
        throw Error(path + ": has " + type + " samples from " + number_text(low) + " to " +
                    number_text(high) + ", outside the ranges tessera reads them by (0..1 or " +
                    "0..255 for floating point, 0..255 or 0..65535 for integers)" + fix);
    }
    img = img.linear(scale, 0).rint().cast(VIPS_FORMAT_UCHAR);
    return img.copy(VImage::option()->set(
        "interpretation", img.bands() <= 2 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB));
}

// By how much a photo that libvips's `loader` reads, `photo` pixels as displayed, is decoded
// smaller for `shrink` (load_image's rule); 1 when not.
int shrink_on_load(const char* loader, Size photo, const std::optional<ShrinkOnLoad>& shrink) {
    if (!shrink) return 1;
    const bool jpeg = std::strcmp(loader, "VipsForeignLoadJpegSource") == 0;
    if (!jpeg && std::strcmp(loader, "VipsForeignLoadWebpSource") != 0) return 1;
    const double reduction = resample_reduction(photo, shrink->size, shrink->fit);
    int factor = 1;
    while (factor * 4 <= reduction && !(jpeg && factor == 8)) factor *= 2;
    return factor;
}

LoadedImage decode_bytes(const std::string& path, std::span<const uint8_t> bytes, Mode mode,
                         const PixelLimit& limit, const std::optional<ShrinkOnLoad>& shrink) {
    if (bytes.empty()) throw Error(path + ": is empty, not an image");
    LoadedImage loaded;
    loaded.source.path = path;
    loaded.source.file_bytes = bytes.size();
    loaded.source.content_hash = hash_bytes(bytes.data(), bytes.size());
    loaded.image = run_vips(path + ": cannot decode image: ", [&] {
        VImage img;
        VImage range_pass;  // the same pixels again, for scaled_by_range
        bool pnm = false;
        Size photo;  // as displayed, before any shrink on load
        const auto [bmp_width, bmp_height] = bmp_size(bytes);
        if (bmp_width > 0) {
            if (bmp_width * bmp_height > limit.max) {
                throw over_limit(path, bmp_width, bmp_height, limit);
            }
            load_module(VipsModule::magick);
            VipsBlob* blob = vips_blob_new(nullptr, bytes.data(), bytes.size());
            std::unique_ptr<VipsArea, decltype(&vips_area_unref)> owned(VIPS_AREA(blob),
                                                                        vips_area_unref);
            struct NewHandlerGuard {
                ~NewHandlerGuard() { restore_new_handler(); }
            } const guard;
            img = VImage::magickload_buffer(blob, VImage::option()->set("memory", true));
            photo = {img.width(), img.height()};
        } else {
            const char* loader = loader_of(bytes);
            if (loader == nullptr) {
                throw Error(path + ": not a supported image format (" + supported_formats() + ")");
            }
            pnm = std::strcmp(loader, "VipsForeignLoadPpmSource") == 0;
            // Opening reads only the header, so oversized images are refused before decoding.
            // Sequential access decodes strip by strip straight into `decoded` below: one copy
            // of the pixels. Only an EXIF rotation needs the whole image decoded first, in
            // memory ("memory": else libvips puts an image over 100 MB in a file in $TMPDIR, and
            // a small or full $TMPDIR would fail it as undecodable). A photo shrunk on load is
            // opened again with its codec's option.
            const bool jpeg = std::strcmp(loader, "VipsForeignLoadJpegSource") == 0;
            int factor = 1;
            const auto open = [&](bool whole) {
                vips::VOption* options = VImage::option()->set("fail_on", VIPS_FAIL_ON_ERROR);
                if (whole) {
                    options->set("access", VIPS_ACCESS_RANDOM)->set("memory", true);
                } else {
                    options->set("access", VIPS_ACCESS_SEQUENTIAL);
                }
                if (factor > 1 && jpeg) options->set("shrink", factor);
                if (factor > 1 && !jpeg) options->set("scale", 1.0 / factor);
                return VImage::new_from_source(VSource::new_from_memory(bytes.data(), bytes.size()),
                                               "", options);
            };
            img = open(false);
            const int orientation = vips_image_get_orientation(img.get_image());
            // EXIF orientations 5 to 8 turn the image a quarter.
            photo = orientation >= 5 ? Size{img.height(), img.width()}
                                     : Size{img.width(), img.height()};
            factor = shrink_on_load(loader, photo, shrink);
            if (orientation > 1 || factor > 1) img = open(orientation > 1);
            if (!display_format(img.format()) &&
                (display_bands(img.interpretation()) || vips_band_format_iscomplex(img.format()))) {
                range_pass = open(false);
            }
        }
        const uint64_t pixels = uint64_t(photo.width) * uint64_t(photo.height);
        if (pixels > limit.max) {
            throw over_limit(path, photo.width, photo.height, limit);
        }
        // PNM stores at least one bit per pixel, but libvips fills what a text PNM lacks, slowly:
        // a 100-byte file declaring a million pixels took seconds to "decode".
        if (pnm && bytes.size() < pixels / 8) {
            throw Error(path + ": is truncated: its header declares " +
                        std::to_string(photo.width) + "x" + std::to_string(photo.height) +
                        " pixels but the file has only " + std::to_string(bytes.size()) + " bytes");
        }
        img = img.autorot();
        if (range_pass.get_image() != nullptr) img = scaled_by_range(path, img, range_pass);
        const bool gray =
            img.interpretation() == VIPS_INTERPRETATION_B_W ||
            img.interpretation() == VIPS_INTERPRETATION_GREY16 ||
            (img.bands() <= 2 && img.interpretation() == VIPS_INTERPRETATION_MULTIBAND);
        img = img.colourspace(gray ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB);
        if (img.has_alpha()) img = img.extract_band(0, VImage::option()->set("n", img.bands() - 1));
        if (img.format() != VIPS_FORMAT_UCHAR) img = img.cast(VIPS_FORMAT_UCHAR);
        if (img.bands() != 1 && img.bands() != 3) {
            throw Error(path + ": unsupported layout with " + std::to_string(img.bands()) +
                        " bands");
        }
        // libvips decodes into the image's buffer (a rotated image through its own copy, which
        // goes before a conversion makes another), and a matching mode keeps it.
        Image decoded(img.width(), img.height(), img.bands());
        img.write(VImage::new_from_memory(decoded.pixels.data(), decoded.pixels.size(),
                                          decoded.width, decoded.height, decoded.channels,
                                          VIPS_FORMAT_UCHAR));
        img = VImage();
        loaded.source.width = uint32_t(photo.width);
        loaded.source.height = uint32_t(photo.height);
        return decoded.channels == channels(mode) ? std::move(decoded)
                                                  : convert(decoded.view(), mode);
    });
    return loaded;
}

}  // namespace

LoadedImage load_image(const std::string& path, Mode mode, const PixelLimit& limit,
                       const std::optional<ShrinkOnLoad>& shrink) {
    // Mapped, not read: a huge file costs no memory of its own, and a FIFO or a device (which
    // could block or never end) is refused as not a regular file.
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, not an image");
    const MappedFile file(path);
    try {
        LoadedImage loaded = decode_bytes(path, {file.data(), file.size()}, mode, limit, shrink);
        file.check_intact();
        return loaded;
    } catch (const Error&) {
        file.check_intact();  // a file truncated while decoding: say so, not what the zeros gave
        throw;
    }
}

std::optional<Size> image_size(const std::string& path) {
    try {
        std::error_code ec;
        if (fs::is_directory(path, ec)) return std::nullopt;
        const MappedFile file(path);
        const std::span<const uint8_t> bytes(file.data(), file.size());
        if (bytes.empty()) return std::nullopt;
        const auto [bmp_width, bmp_height] = bmp_size(bytes);
        if (bmp_width > 0) {
            if (bmp_width > INT32_MAX || bmp_height > INT32_MAX) return std::nullopt;
            return Size{int(bmp_width), int(bmp_height)};
        }
        return run_vips(path, [&]() -> std::optional<Size> {
            if (loader_of(bytes) == nullptr) return std::nullopt;
            const VImage img =
                VImage::new_from_source(VSource::new_from_memory(bytes.data(), bytes.size()), "",
                                        VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
            // EXIF orientations 5 to 8 turn the image a quarter.
            if (vips_image_get_orientation(img.get_image()) >= 5) {
                return Size{img.height(), img.width()};
            }
            return Size{img.width(), img.height()};
        });
    } catch (const Error&) {
        return std::nullopt;
    }
}

}  // namespace tessera::io
