#include "tessera/image_io.hpp"

#include <vips/vips8>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tessera/error.hpp"
#include "tessera/file.hpp"

namespace tessera::io {

namespace fs = std::filesystem;
using vips::VError;
using vips::VImage;

namespace {

// libvips reports multi-line messages prefixed with the operation name; keep the first line
// without the prefix so the CLI can print one line.
std::string vips_reason(const VError& e) {
    std::string text = e.what();
    text = text.substr(0, text.find('\n'));
    if (size_t colon = text.find(": "); colon != std::string::npos) text = text.substr(colon + 2);
    return text.empty() ? "unknown libvips error" : text;
}

std::string extension_of(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, not an image");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw Error(path + ": read failed");
    return bytes;
}

}  // namespace

void initialize(const char* argv0) {
    if (VIPS_INIT(argv0) != 0) throw Error("cannot start libvips");
    // libvips logs decoder warnings ("not enough data", ...) straight to stderr; a failed decode
    // is reported as one error line naming the file, so the extra lines are noise.
    g_log_set_handler(
        "VIPS", G_LOG_LEVEL_WARNING, [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {},
        nullptr);
    vips_cache_set_max(0);  // every image is decoded once; caching operations only costs memory
}

LoadedImage load_image(const std::string& path, Mode mode, uint64_t max_pixels) {
    std::vector<uint8_t> bytes = read_file(path);
    if (bytes.empty()) throw Error(path + ": is empty, not an image");
    LoadedImage loaded;
    loaded.source.path = path;
    loaded.source.file_bytes = bytes.size();
    loaded.source.content_hash = hash_bytes(bytes.data(), bytes.size());
    try {
        if (vips_foreign_find_load_buffer(bytes.data(), bytes.size()) == nullptr) {
            vips_error_clear();
            throw Error(path + ": not a supported image format (PNG, JPEG, BMP, PNM, TIFF, WebP, GIF)");
        }
        // Opening reads only the header, so oversized images are refused before decoding.
        VImage img = VImage::new_from_buffer(
            bytes.data(), bytes.size(), "",
            VImage::option()->set("fail_on", VIPS_FAIL_ON_ERROR)->set("access", VIPS_ACCESS_RANDOM));
        const uint64_t pixels = uint64_t(img.width()) * uint64_t(img.height());
        if (pixels > max_pixels) {
            throw Error(path + ": image is " + std::to_string(img.width()) + "x" +
                        std::to_string(img.height()) + " = " + std::to_string(pixels) +
                        " pixels, over the limit of " + std::to_string(max_pixels) +
                        "; raise it with --max-pixels if the file is trusted");
        }
        img = img.autorot();
        const bool gray = img.interpretation() == VIPS_INTERPRETATION_B_W ||
                          img.interpretation() == VIPS_INTERPRETATION_GREY16 ||
                          (img.bands() <= 2 && img.interpretation() == VIPS_INTERPRETATION_MULTIBAND);
        img = img.colourspace(gray ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB);
        if (img.has_alpha()) img = img.extract_band(0, VImage::option()->set("n", img.bands() - 1));
        if (img.format() != VIPS_FORMAT_UCHAR) img = img.cast(VIPS_FORMAT_UCHAR);
        if (img.bands() != 1 && img.bands() != 3) {
            throw Error(path + ": unsupported layout with " + std::to_string(img.bands()) + " bands");
        }
        size_t size = 0;
        void* memory = img.write_to_memory(&size);
        Image decoded(img.width(), img.height(), img.bands());
        TESSERA_ASSERT(size == decoded.pixels.size());
        std::memcpy(decoded.pixels.data(), memory, size);
        g_free(memory);
        loaded.image = convert(decoded.view(), mode);
    } catch (const VError& e) {
        throw Error(path + ": cannot decode image: " + vips_reason(e));
    }
    loaded.source.width = uint32_t(loaded.image.width);
    loaded.source.height = uint32_t(loaded.image.height);
    return loaded;
}

void check_output_format(const std::string& path) {
    // The formats the message names; libvips also saves CSV and matrix files, which are not images.
    static const std::vector<std::string> known = {".png",  ".jpg", ".jpeg", ".tif", ".tiff",
                                                   ".webp", ".pgm", ".ppm",  ".pnm"};
    const std::string ext = extension_of(path);
    if (std::find(known.begin(), known.end(), ext) == known.end() ||
        vips_foreign_find_save_target(ext.c_str()) == nullptr) {
        vips_error_clear();
        throw Error(path + ": cannot tell the image format from the extension '" + ext +
                    "': use .png, .jpg, .tif, .webp or .pgm/.ppm");
    }
}

void save_image(const std::string& path, ImageView image) {
    check_output_format(path);
    Image packed(image.width, image.height, image.channels);
    for (int y = 0; y < image.height; ++y) {
        std::memcpy(packed.row(y), image.row(y), size_t(packed.stride()));
    }
    try {
        VImage img = VImage::new_from_memory(packed.pixels.data(), packed.pixels.size(),
                                             packed.width, packed.height, packed.channels,
                                             VIPS_FORMAT_UCHAR);
        // A target, not a buffer: libvips saves PNM (.pgm/.ppm) only to targets.
        vips::VTarget target = vips::VTarget::new_to_memory();
        img.write_to_target(extension_of(path).c_str(), target);
        VipsBlob* blob = nullptr;
        g_object_get(target.get_target(), "blob", &blob, nullptr);
        std::unique_ptr<VipsArea, decltype(&vips_area_unref)> owned(VIPS_AREA(blob),
                                                                    vips_area_unref);
        size_t size = 0;
        const void* data = vips_blob_get(blob, &size);
        write_file_atomically(path, data, size);
    } catch (const VError& e) {
        throw Error(path + ": cannot encode image: " + vips_reason(e));
    }
}

std::vector<std::string> find_images(const std::string& directory) {
    static const std::vector<std::string> known = {".png", ".jpg", ".jpeg", ".jpe", ".bmp",
                                                   ".pgm", ".ppm", ".pnm", ".pbm", ".pam",
                                                   ".tif", ".tiff", ".webp", ".gif"};
    std::vector<std::string> found;
    std::error_code ec;
    fs::recursive_directory_iterator it(directory, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw Error(directory + ": cannot read directory: " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) throw Error(directory + ": cannot read directory: " + ec.message());
        const fs::path& p = it->path();
        if (p.filename().string().starts_with('.')) {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file(ec) &&
            std::find(known.begin(), known.end(), extension_of(p.string())) != known.end()) {
            found.push_back(p.string());
        }
    }
    std::sort(found.begin(), found.end());
    return found;
}

}  // namespace tessera::io
