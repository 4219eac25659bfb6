#include "tessera/io/image_io.hpp"

#include <vips/vips8>

#include <gmodule.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <type_traits>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"

namespace tessera::io {

namespace fs = std::filesystem;
using vips::VError;
using vips::VImage;
using vips::VSource;

namespace {

constexpr const char* kUnknownVipsError = "unknown libvips error";

// libvips reports multi-line messages prefixed with the operation name; keep the first line
// without the prefix so the CLI can print one line.
std::string vips_reason(const VError& e) {
    std::string text = e.what();
    text = text.substr(0, text.find('\n'));
    if (size_t colon = text.find(": "); colon != std::string::npos) text = text.substr(colon + 2);
    return text.empty() ? kUnknownVipsError : text;
}

// libvips also logs warnings ("Image width is zero in IHDR") on stderr, often as the only
// explanation of a failure. They are kept instead, to complete the one-line error.
thread_local std::string last_warning;

// An allocation that fails in a libvips worker thread (a region's buffer) is only a warning,
// "out of memory --- size == 0MB", and the image comes back with holes: a decode or an encode
// that saw one must fail (run_vips). Counted for the whole process, since the warning is logged
// on libvips's thread, not the caller's.
std::atomic<uint64_t> vips_allocation_failures = 0;

// Called from GLib's C code, so nothing may escape: a copy that cannot be made (out of memory)
// keeps no warning rather than terminating the process.
void keep_warning(const char*, GLogLevelFlags, const char* message, void*) noexcept {
    if (message != nullptr && std::strstr(message, "out of memory") != nullptr) {
        ++vips_allocation_failures;
    }
    try {
        last_warning = message ? message : "";
    } catch (...) {
        last_warning.clear();
    }
}

// libvips keeps one error buffer for the whole process, which VError copies: a call failing
// while others run may report another file's reason, or none once another thread clears it.
// Calls into libvips share this lock; a failed one runs again holding it alone, from an empty
// buffer, and that attempt's reason is reported, the same for every thread count. libvips is
// deterministic and failures are rare, so the second attempt costs next to nothing.
std::shared_mutex vips_calls;

// Returns what `work` (calls into libvips) returns; a libvips failure throws Error(context +
// its reason). An allocation failure that libvips only logged while `work` ran counts as a
// failure too (one from another thread's call as well, until the call runs again alone).
template <class Work>
auto run_vips(const std::string& context, const Work& work) {
    const auto checked = [&work] {
        const uint64_t failures = vips_allocation_failures.load();
        const auto check = [failures] {
            if (vips_allocation_failures.load() != failures) {
                vips_error("libvips", "out of memory");
                throw VError();
            }
        };
        if constexpr (std::is_void_v<decltype(work())>) {
            work();
            check();
        } else {
            auto result = work();
            check();
            return result;
        }
    };
    try {
        std::shared_lock shared(vips_calls);
        return checked();
    } catch (const VError&) {
    }
    std::unique_lock alone(vips_calls);
    vips_error_clear();
    last_warning.clear();
    try {
        return checked();
    } catch (const VError& e) {
        std::string reason = vips_reason(e);
        if (reason == kUnknownVipsError && !last_warning.empty()) reason = last_warning;
        vips_error_clear();
        throw Error(context + reason);
    }
}

// The formats tessera reads: the name in messages, the libvips loader trusted with files from
// anywhere, and the extensions find_images looks for. The trusted loaders are libvips's own
// parsers and the widely fuzzed codec libraries, which read only the header until pixels are
// asked for. ImageMagick (libvips's fallback for BMP and dozens of rarer formats) decodes
// everything while reading the header, so it is used for BMP only (no loader here), and only
// after the size check below.
struct Format {
    const char* name;
    const char* loader;
    std::vector<std::string> extensions;
};

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

// Set by initialize(): libvips started without its modules, which load_module() opens on demand.
bool modules_deferred = false;

// The process's new-handler when libvips started. ImageMagick loads its DjVu coder on its first
// decode, and DjVuLibre then installs a handler that turns every failed allocation in the
// process into a DJVU::GException instead of std::bad_alloc: an image too large for memory,
// decoded after a BMP, aborted tessera. Each ImageMagick call puts this one back.
std::new_handler new_handler_at_start = nullptr;

// Opens one libvips module (once) when modules are deferred. A module that is missing or fails
// to open only loses its formats: HEIF is then refused as unsupported, and BMP fails to decode
// with libvips's "class magickload_buffer not found".
void load_module(const char* file, std::once_flag& once) {
    if (!modules_deferred) return;
    std::call_once(once, [file] {
        const std::string path = std::string(TESSERA_VIPS_LIBDIR) + "/vips-modules-" +
                                 std::to_string(vips_version(0)) + "." +
                                 std::to_string(vips_version(1)) + "/" + file;
        g_module_open(path.c_str(), G_MODULE_BIND_LAZY);  // stays open for the process
    });
}

std::once_flag magick_loaded, heif_loaded;

}  // namespace

std::string extension_of(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
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

void initialize(const char* argv0, Modules modules) {
    // libvips looks for its modules under $VIPSHOME/lib; pointing it, for this call only, at a
    // directory without any defers them. A VIPSHOME the user set is left to libvips.
    modules_deferred = modules == Modules::on_demand && std::getenv("VIPSHOME") == nullptr;
    if (modules_deferred) setenv("VIPSHOME", "/dev/null", 1);
    new_handler_at_start = std::get_new_handler();
    const int failed = VIPS_INIT(argv0);
    std::set_new_handler(new_handler_at_start);  // modules loaded at start may have changed it
    if (modules_deferred) unsetenv("VIPSHOME");
    if (failed != 0) throw Error("cannot start libvips");
    // Loaders also trip GObject's property checks on hostile headers (a width of 0).
    for (const char* domain : {"VIPS", "GLib-GObject"}) {
        g_log_set_handler(domain, G_LOG_LEVEL_WARNING, keep_warning, nullptr);
    }
    // One libvips worker per decode: tessera parallelises over images itself, and with several
    // workers a decoder error (a corrupt PNG's bad checksum) was sometimes lost, so a corrupt file
    // was accepted in about 3 runs of 100.
    vips_concurrency_set(1);
    vips_cache_set_max(0);  // every image is decoded once; caching operations only costs memory
}

LoadedImage load_image(const std::string& path, Mode mode, const PixelLimit& limit) {
    // Mapped, not read: a huge file costs no memory of its own, and a FIFO or a device (which
    // could block or never end) is refused as not a regular file.
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, not an image");
    const MappedFile file(path);
    const std::span<const uint8_t> bytes(file.data(), file.size());
    if (bytes.empty()) throw Error(path + ": is empty, not an image");
    LoadedImage loaded;
    loaded.source.path = path;
    loaded.source.file_bytes = bytes.size();
    loaded.source.content_hash = hash_bytes(bytes.data(), bytes.size());
    loaded.image = run_vips(path + ": cannot decode image: ", [&] {
        VImage img;
        bool pnm = false;
        const auto [bmp_width, bmp_height] = bmp_size(bytes);
        if (bmp_width > 0) {
            if (bmp_width * bmp_height > limit.max) {
                throw over_limit(path, bmp_width, bmp_height, limit);
            }
            load_module("vips-magick.so", magick_loaded);
            VipsBlob* blob = vips_blob_new(nullptr, bytes.data(), bytes.size());
            std::unique_ptr<VipsArea, decltype(&vips_area_unref)> owned(VIPS_AREA(blob),
                                                                        vips_area_unref);
            const std::unique_ptr<void, void (*)(void*)> restore_new_handler(
                &new_handler_at_start, [](void*) { std::set_new_handler(new_handler_at_start); });
            img = VImage::magickload_buffer(blob, VImage::option()->set("memory", true));
        } else {
            VSource source = VSource::new_from_memory(bytes.data(), bytes.size());
            const char* loader = vips_foreign_find_load_source(source.get_source());
            if (loader == nullptr && modules_deferred) {  // HEIF, or a format tessera does not read
                vips_error_clear();
                load_module("vips-heif.so", heif_loaded);
                loader = vips_foreign_find_load_source(source.get_source());
            }
            pnm = loader != nullptr && std::strcmp(loader, "VipsForeignLoadPpmSource") == 0;
            vips_error_clear();
            if (loader == nullptr || !trusted_loader(loader)) {
                throw Error(path + ": not a supported image format (" + supported_formats() + ")");
            }
            // Opening reads only the header, so oversized images are refused before decoding.
            // Sequential access decodes strip by strip straight into `decoded` below: one copy
            // of the pixels. Only an EXIF rotation needs the whole image decoded first, in
            // memory ("memory": else libvips puts an image over 100 MB in a file in $TMPDIR, and
            // a small or full $TMPDIR would fail it as undecodable).
            const auto open = [&](bool whole) {
                vips::VOption* options = VImage::option()->set("fail_on", VIPS_FAIL_ON_ERROR);
                if (whole) {
                    options->set("access", VIPS_ACCESS_RANDOM)->set("memory", true);
                } else {
                    options->set("access", VIPS_ACCESS_SEQUENTIAL);
                }
                return VImage::new_from_source(VSource::new_from_memory(bytes.data(), bytes.size()),
                                               "", options);
            };
            img = open(false);
            if (vips_image_get_orientation(img.get_image()) > 1) img = open(true);
        }
        const uint64_t pixels = uint64_t(img.width()) * uint64_t(img.height());
        if (pixels > limit.max) {
            throw over_limit(path, img.width(), img.height(), limit);
        }
        // PNM stores at least one bit per pixel, but libvips fills what a text PNM lacks, slowly:
        // a 100-byte file declaring a million pixels took seconds to "decode".
        if (pnm && bytes.size() < pixels / 8) {
            throw Error(path + ": is truncated: its header declares " +
                        std::to_string(img.width()) + "x" + std::to_string(img.height()) +
                        " pixels but the file has only " + std::to_string(bytes.size()) + " bytes");
        }
        img = img.autorot();
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
        return decoded.channels == channels(mode) ? std::move(decoded)
                                                  : convert(decoded.view(), mode);
    });
    loaded.source.width = uint32_t(loaded.image.width);
    loaded.source.height = uint32_t(loaded.image.height);
    return loaded;
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
    std::shared_lock shared(vips_calls);  // a failed look-up writes libvips's error buffer
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

namespace {

// A libvips target that writes through an AtomicFile, so that a failed write is reported as
// AtomicFile reports it ("write failed: No space left on device"), not as libvips's "write
// error". libtiff also reads and seeks, on the temporary's descriptor.
struct FileTarget {
    AtomicFile& file;
    std::exception_ptr error;  // a write that failed (the temporary is gone): nothing more goes

    static gint64 write(VipsTargetCustom*, const void* data, gint64 length, void* self) {
        FileTarget& t = *static_cast<FileTarget*>(self);
        if (t.error) return -1;
        try {
            t.file.write(data, size_t(length));
            return length;
        } catch (...) {  // not through libvips's C code
            t.error = std::current_exception();
            return -1;
        }
    }
    static gint64 read(VipsTargetCustom*, void* data, gint64 length, void* self) {
        return ::read(static_cast<FileTarget*>(self)->file.descriptor(), data, size_t(length));
    }
    static gint64 seek(VipsTargetCustom*, gint64 offset, int whence, void* self) {
        return ::lseek(static_cast<FileTarget*>(self)->file.descriptor(), offset, whence);
    }
};

}  // namespace

bool lossy_format(const std::string& path) {
    const std::string ext = extension_of(path);
    return ext == ".jpg" || ext == ".jpeg" || ext == ".webp";
}

void save_image(AtomicFile& file, ImageView image, int quality) {
    TESSERA_ASSERT(quality >= 1 && quality <= 100);
    const std::string& path = file.path();
    check_output_format(path, mode_of_channels(image.channels));
    // libvips takes packed rows: a strided view is copied, a packed one (a whole mosaic) is not.
    const size_t row = size_t(image.width) * image.channels;
    Image packed;
    if (size_t(image.stride) != row) {
        packed = Image(image.width, image.height, image.channels);
        for (int y = 0; y < image.height; ++y) std::memcpy(packed.row(y), image.row(y), row);
        image = packed.view();
    }
    run_vips(path + ": cannot encode image: ", [&] {
        // A failed first attempt may have written part of the file: start it again.
        const int fd = file.descriptor();
        if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
            throw Error(path + ": cannot write: " + std::strerror(errno));
        }
        // new_from_memory takes a non-const pointer; saving only reads it.
        VImage img =
            VImage::new_from_memory(const_cast<uint8_t*>(image.data), row * image.height,
                                    image.width, image.height, image.channels, VIPS_FORMAT_UCHAR);
        // A target, not a buffer (libvips saves PNM only to targets), writing to the temporary
        // as it goes: an encoded file held in memory grows through GLib, which aborts the
        // process when memory runs out.
        FileTarget sink{file, nullptr};
        vips::VTarget target(VIPS_TARGET(vips_target_custom_new()));
        g_signal_connect(target.get_target(), "write", G_CALLBACK(FileTarget::write), &sink);
        g_signal_connect(target.get_target(), "read", G_CALLBACK(FileTarget::read), &sink);
        g_signal_connect(target.get_target(), "seek", G_CALLBACK(FileTarget::seek), &sink);
        // PNG: libvips's default (zlib level 6, no row filters) is both slower and larger than
        // level 2 with adaptive filters, which on 3840x2160 mosaics wrote 28-31% smaller files
        // in 13-40% less time.
        const std::string ext = extension_of(path);
        vips::VOption* options = VImage::option();
        if (ext == ".png") {
            options->set("compression", 2)->set("filter", int(VIPS_FOREIGN_PNG_FILTER_ALL));
        } else if (lossy_format(path)) {
            options->set("Q", quality);
        }
        try {
            img.write_to_target(ext.c_str(), target, options);
        } catch (const VError&) {
            if (sink.error) std::rethrow_exception(sink.error);
            throw;
        }
    });
}

void save_image(const std::string& path, ImageView image, int quality) {
    AtomicFile file(path);  // removes its temporary if the save throws
    save_image(file, image, quality);
    file.commit();
}

std::vector<FoundImage> find_images(const std::string& directory) {
    const auto unreadable = [](const std::string& path) {
        return ::access(path.c_str(), R_OK | X_OK) != 0;
    };
    const auto cannot_read = [](const std::string& what) {
        return "cannot read directory: " + what;
    };
    const auto is_image = [](const fs::path& p) {
        const std::string ext = extension_of(p.string());
        return std::any_of(formats().begin(), formats().end(), [&ext](const Format& f) {
            return std::find(f.extensions.begin(), f.extensions.end(), ext) != f.extensions.end();
        });
    };
    struct stat st {};
    if (unreadable(directory) || ::stat(directory.c_str(), &st) != 0) {
        throw Error(directory + ": " + cannot_read(std::strerror(errno)));
    }
    std::vector<FoundImage> found;
    // Every directory is walked once, however many links lead to it: a link back up ends there,
    // and links that fan out cannot multiply the files. Entries are taken in name order, so of
    // two paths to one directory the one walked is the same on every file system.
    std::set<std::pair<dev_t, ino_t>> walked = {{st.st_dev, st.st_ino}};
    const auto walk = [&](const auto& self, const fs::path& dir) -> void {
        std::error_code ec;
        std::vector<fs::path> entries;
        for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator();
             it.increment(ec)) {
            entries.push_back(it->path());
        }
        if (ec) {
            if (dir == directory) throw Error(directory + ": " + cannot_read(ec.message()));
            found.push_back({dir.string(), cannot_read(ec.message())});
            return;
        }
        std::sort(entries.begin(), entries.end());
        for (const fs::path& p : entries) {
            if (p.filename().string().starts_with('.')) continue;
            if (::stat(p.c_str(), &st) != 0) {  // a link that leads nowhere
                if (is_image(p)) {
                    found.push_back(
                        {p.string(), errno == ENOENT
                                         ? "a symbolic link to a file that does not exist"
                                         : "cannot follow the symbolic link: " +
                                               std::string(std::strerror(errno))});
                }
            } else if (S_ISDIR(st.st_mode)) {
                if (!walked.insert({st.st_dev, st.st_ino}).second) continue;
                if (unreadable(p.string())) {
                    found.push_back({p.string(), cannot_read(std::strerror(errno))});
                } else {
                    self(self, p);
                }
            } else if (S_ISREG(st.st_mode) && is_image(p)) {
                found.push_back({p.string(), ""});
            }
        }
    };
    walk(walk, fs::path(directory));
    std::sort(found.begin(), found.end(),
              [](const FoundImage& a, const FoundImage& b) { return a.path < b.path; });
    return found;
}

}  // namespace tessera::io
