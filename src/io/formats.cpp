// The format table, and the checks on an output's format and size made before any work.
#include "tessera/io/formats.hpp"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "io/format_table.hpp"
#include "io/vips_calls.hpp"
#include "tessera/core/error.hpp"

namespace tessera::io {

const std::vector<Format>& formats() {
    static const std::vector<Format> table = {
        {"PNG", "VipsForeignLoadPngSource", {".png"}},
        {"JPEG", "VipsForeignLoadJpegSource", {".jpg", ".jpeg", ".jpe"}},
        {"BMP", nullptr, {".bmp"}},
        {"PNM", "VipsForeignLoadPpmSource", {".pgm", ".ppm", ".pnm", ".pbm"}},  // not PAM (P7)
        {"TIFF", "VipsForeignLoadTiffSource", {".tif", ".tiff"}},
        {"WebP", "VipsForeignLoadWebpSource", {".webp"}},
        {"GIF", "VipsForeignLoadNsgifSource", {".gif"}},
        {"HEIF",
         "VipsForeignLoadHeifSource",
         {".heic", ".heif", ".avif"}},  // AVIF is HEIF with AV1
    };
    return table;
}

std::string extension_of(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return ext;
}

std::string supported_formats() {
    std::string names;
    for (const Format& f : formats()) names += (names.empty() ? "" : ", ") + std::string(f.name);
    return names;
}

std::string image_extensions() {
    std::string list;
    for (const Format& f : formats()) {
        for (const std::string& ext : f.extensions) list += (list.empty() ? "" : " ") + ext;
    }
    return list;
}

bool lossy_format(const std::string& path) {
    const std::string ext = extension_of(path);
    return ext == ".jpg" || ext == ".jpeg" || ext == ".webp";
}

void check_output_size(const std::string& path, Size size, const std::string& what) {
    // The encoders' own limits, which libvips reports only when encoding: libjpeg's
    // JPEG_MAX_DIMENSION (the format itself allows 65535) and WebP's 14-bit sides. PNG, TIFF and
    // PNM allow longer sides than an Image can have.
    const std::string ext = extension_of(path);
    const bool jpeg = ext == ".jpg" || ext == ".jpeg";
    const int max = jpeg ? 65500 : ext == ".webp" ? 16383 : 0;
    if (max > 0 && (size.width > max || size.height > max)) {
        throw Error(path + ": " + (jpeg ? "JPEG" : "WebP") + " images are at most " +
                    std::to_string(max) + " pixels wide and high, and " + what + " is " +
                    size_text(size) + "; use .png or .tif");
    }
}

void check_output_format(const std::string& path, Mode mode) {
    // The formats the message names; libvips also saves CSV and matrix files, which are not images.
    static const std::vector<std::string> known = {".png",  ".jpg", ".jpeg", ".tif", ".tiff",
                                                   ".webp", ".pgm", ".ppm",  ".pnm"};
    const std::string ext = extension_of(path);
    std::shared_lock shared(vips_calls());  // a failed look-up writes libvips's error buffer
    if (std::find(known.begin(), known.end(), ext) == known.end() ||
        vips_foreign_find_save_target(ext.c_str()) == nullptr) {
        vips_error_clear();
        throw Error(path + ": cannot tell the image format from the extension '" + ext +
                    "': use .png, .jpg, .tif, .webp or .pgm/.ppm");
    }
    // libvips would convert: RGB into a .pgm loses its colour, gray into a .ppm triples it.
    const char* pnm = mode == Mode::Gray ? ".pgm" : ".ppm";
    if ((ext == ".pgm" || ext == ".ppm") && ext != pnm) {
        throw Error(path + ": a " + ext + " file is " + (mode == Mode::Gray ? "rgb" : "gray") +
                    " but the image is " + std::string(mode_name(mode)) + "; use " + pnm +
                    " (or .pnm)");
    }
}

}  // namespace tessera::io
