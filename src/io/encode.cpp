// Encoding pixels into a file, straight from the buffer into an AtomicFile's temporary.
#include "tessera/io/encode.hpp"

#include <vips/vips8>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include "io/vips_calls.hpp"
#include "tessera/core/error.hpp"
#include "tessera/io/formats.hpp"

namespace tessera::io {

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

// The rows of a mosaic made on demand from its matches: libvips asks for strips of rows as the
// encoder writes them, so no more than a strip of the output is ever in memory.
struct TileRowSource {
    const TileSource& tiles;
    Size output;
    int columns;
    std::vector<uint32_t> cell_patch;  // row-major, one per cell

    static int generate(VipsRegion* out, void*, void* self, void*, gboolean*) {
        const auto& s = *static_cast<const TileRowSource*>(self);
        const VipsRect& r = out->valid;
        const Size cell = s.tiles.tile_size();
        const int channels = s.tiles.channels();
        for (int y = r.top; y < r.top + r.height; ++y) {
            uint8_t* dst = VIPS_REGION_ADDR(out, r.left, y);
            const int row = y / cell.height, in_cell = y % cell.height;
            for (int x = r.left; x < r.left + r.width;) {
                const int col = x / cell.width, from = x % cell.width;
                const int n = std::min(cell.width - from, r.left + r.width - x);
                const uint8_t* tile = s.tiles.pixels(s.cell_patch[size_t(row) * s.columns + col]);
                std::memcpy(dst, tile + (size_t(in_cell) * cell.width + from) * channels,
                            size_t(n) * channels);
                dst += size_t(n) * channels;
                x += n;
            }
        }
        return 0;
    }
};

// Encodes `make()`'s image into `file` in the format of its extension.
template <class Make>
void encode(AtomicFile& file, int quality, const Make& make) {
    const std::string& path = file.path();
    run_vips(path + ": cannot encode image: ", [&] {
        // A failed first attempt may have written part of the file: start it again.
        const int fd = file.descriptor();
        if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
            throw Error(path + ": cannot write: " + std::strerror(errno));
        }
        vips::VImage img = make();
        // A target, not a buffer (libvips saves PNM only to targets), writing to the temporary
        // as it goes: an encoded file held in memory grows through GLib, which aborts the
        // process when memory runs out.
        FileTarget sink{file, nullptr};
        vips::VTarget target(VIPS_TARGET(vips_target_custom_new()));
        g_signal_connect(target.get_target(), "write", G_CALLBACK(FileTarget::write), &sink);
        g_signal_connect(target.get_target(), "read", G_CALLBACK(FileTarget::read), &sink);
        g_signal_connect(target.get_target(), "seek", G_CALLBACK(FileTarget::seek), &sink);
        // PNG: libvips's default (zlib level 6, no row filters) is both slower and larger than
        // level 2 with adaptive filters (docs/performance.md).
        const std::string ext = extension_of(path);
        vips::VOption* options = vips::VImage::option();
        if (ext == ".png") {
            options->set("compression", 2)->set("filter", int(VIPS_FOREIGN_PNG_FILTER_ALL));
        } else if (lossy_format(path)) {
            options->set("Q", quality);
        }
        try {
            img.write_to_target(ext.c_str(), target, options);
        } catch (const vips::VError&) {
            if (sink.error) std::rethrow_exception(sink.error);
            throw;
        }
    });
}

}  // namespace

void save_image(AtomicFile& file, ImageView image, int quality) {
    TESSERA_ASSERT(quality >= 1 && quality <= 100);
    check_output_format(file.path(), mode_of_channels(image.channels));
    Image packed;
    pack_rows(image, packed);
    const size_t row = size_t(image.width) * image.channels;
    encode(file, quality, [&] {
        // new_from_memory takes a non-const pointer; saving only reads it.
        return vips::VImage::new_from_memory(const_cast<uint8_t*>(image.data), row * image.height,
                                             image.width, image.height, image.channels,
                                             VIPS_FORMAT_UCHAR);
    });
}

void save_tiles(AtomicFile& file, const TileSource& tiles, std::span<const TileMatch> matches,
                Size output, int quality) {
    TESSERA_ASSERT(quality >= 1 && quality <= 100);
    check_output_format(file.path(), mode_of_channels(tiles.channels()));
    const Size cell = tiles.tile_size();
    TileRowSource source{tiles, output, (output.width + cell.width - 1) / cell.width, {}};
    const int rows = (output.height + cell.height - 1) / cell.height;
    TESSERA_ASSERT(matches.size() == size_t(rows) * source.columns);
    source.cell_patch.resize(matches.size());
    for (const TileMatch& m : matches) {
        TESSERA_ASSERT(m.tile.row < rows && m.tile.col < source.columns && m.patch < tiles.size());
        source.cell_patch[size_t(m.tile.row) * source.columns + m.tile.col] = m.patch;
    }
    encode(file, quality, [&] {
        VipsImage* image = vips_image_new();
        vips_image_init_fields(
            image, output.width, output.height, tiles.channels(), VIPS_FORMAT_UCHAR,
            VIPS_CODING_NONE,
            tiles.channels() == 1 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB, 1.0, 1.0);
        vips::VImage img(image);  // owns it from here
        if (vips_image_pipelinev(image, VIPS_DEMAND_STYLE_THINSTRIP, nullptr) != 0 ||
            vips_image_generate(image, nullptr, &TileRowSource::generate, nullptr, &source,
                                nullptr) != 0) {
            throw vips::VError();
        }
        return img;
    });
}

void save_image(const std::string& path, ImageView image, int quality) {
    AtomicFile file(path);  // removes its temporary if the save throws
    save_image(file, image, quality);
    file.commit();
}

}  // namespace tessera::io
