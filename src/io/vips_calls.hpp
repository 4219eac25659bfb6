// Calling into libvips from any thread: one error reason per failed call, allocation failures
// libvips only logs counted as failures, and the modules opened on demand (vips.cpp).
#pragma once

#include <vips/vips8>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <type_traits>

#include "tessera/core/error.hpp"
#include "tessera/core/image.hpp"

namespace tessera::io {

// libvips keeps one error buffer for the whole process, which VError copies: a call failing
// while others run may report another file's reason, or none once another thread clears it.
// Calls into libvips share this lock; a failed one runs again holding it alone, from an empty
// buffer, and that attempt's reason is reported, the same for every thread count. libvips is
// deterministic and failures are rare, so the second attempt costs next to nothing.
std::shared_mutex& vips_calls();

// How many allocations failed in libvips worker threads so far (logged as warnings only).
uint64_t vips_allocation_failures();

// Empties libvips's error buffer and the last warning kept, for a call that runs alone.
void clear_vips_errors();

// The one-line reason for a failed call: libvips's first line without the operation name, or,
// when libvips gave none, the last warning it logged.
std::string vips_failure_reason(const vips::VError& e);

// Returns what `work` (calls into libvips) returns; a libvips failure throws Error(context +
// its reason). An allocation failure that libvips only logged while `work` ran counts as a
// failure too (one from another thread's call as well, until the call runs again alone).
template <class Work>
auto run_vips(const std::string& context, const Work& work) {
    const auto checked = [&work] {
        const uint64_t failures = vips_allocation_failures();
        const auto check = [failures] {
            if (vips_allocation_failures() != failures) {
                vips_error("libvips", "out of memory");
                throw vips::VError();
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
        std::shared_lock shared(vips_calls());
        return checked();
    } catch (const vips::VError&) {
    }
    std::unique_lock alone(vips_calls());
    clear_vips_errors();
    try {
        return checked();
    } catch (const vips::VError& e) {
        const std::string reason = vips_failure_reason(e);
        vips_error_clear();
        throw Error(context + reason);
    }
}

// Whether initialize() left libvips's modules to be opened on demand.
bool modules_deferred();

// The modules tessera opens on demand: ImageMagick (BMP) and libheif (HEIF, AVIF).
enum class VipsModule { magick, heif };

// Opens one module (once) when modules are deferred. A module that is missing or fails to open
// only loses its formats: HEIF is then refused as unsupported, and BMP fails to decode with
// libvips's "class magickload_buffer not found".
void load_module(VipsModule module);

// Puts back the process's new-handler from when libvips started. ImageMagick loads its DjVu
// coder on its first decode, and DjVuLibre then installs a handler that turns every failed
// allocation in the process into a DJVU::GException instead of std::bad_alloc: an image too large
// for memory, decoded after a BMP, aborted tessera. Each ImageMagick call puts this one back.
void restore_new_handler();

// libvips takes packed rows: a strided view is copied into `storage` and pointed at it; a packed
// one (a whole image) is left as it is, without a copy.
inline void pack_rows(ImageView& image, Image& storage) {
    const size_t row = size_t(image.width) * image.channels;
    if (size_t(image.stride) == row) return;
    storage = Image(image.width, image.height, image.channels);
    for (int y = 0; y < image.height; ++y) std::memcpy(storage.row(y), image.row(y), row);
    image = storage.view();
}

}  // namespace tessera::io
