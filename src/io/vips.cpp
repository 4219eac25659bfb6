// Starting libvips, and what every call into it shares (vips_calls.hpp).
#include "tessera/io/vips.hpp"

#include <gmodule.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "io/vips_calls.hpp"
// After vips8 (it needs VIPS_API): vips_vector_set_enabled, which vips8 leaves out.
#include <vips/vector.h>

namespace tessera::io {

namespace {

constexpr const char* kUnknownVipsError = "unknown libvips error";

// libvips also logs warnings ("Image width is zero in IHDR") on stderr, often as the only
// explanation of a failure. They are kept instead, to complete the one-line error.
thread_local std::string last_warning;

// An allocation that fails in a libvips worker thread (a region's buffer) is only a warning,
// "out of memory --- size == 0MB", and the image comes back with holes: a decode or an encode
// that saw one must fail (run_vips). Counted for the whole process, since the warning is logged
// on libvips's thread, not the caller's.
std::atomic<uint64_t> allocation_failures = 0;

// Called from GLib's C code, so nothing may escape: a copy that cannot be made (out of memory)
// keeps no warning rather than terminating the process.
void keep_warning(const char*, GLogLevelFlags, const char* message, void*) noexcept {
    if (message != nullptr && std::strstr(message, "out of memory") != nullptr) {
        ++allocation_failures;
    }
    try {
        last_warning = message ? message : "";
    } catch (...) {
        last_warning.clear();
    }
}

// Set by initialize(): libvips started without its modules, which load_module() opens on demand.
bool deferred = false;

// The process's new-handler when libvips started (restore_new_handler).
std::new_handler new_handler_at_start = nullptr;

std::once_flag magick_loaded, heif_loaded;

}  // namespace

void initialize(const char* argv0, Modules modules) {
    // libvips looks for its modules under $VIPSHOME/lib; pointing it, for this call only, at a
    // directory without any defers them. A VIPSHOME the user set is left to libvips.
    deferred = modules == Modules::on_demand && std::getenv("VIPSHOME") == nullptr;
    if (deferred) setenv("VIPSHOME", "/dev/null", 1);
    new_handler_at_start = std::get_new_handler();
    const int failed = VIPS_INIT(argv0);
    std::set_new_handler(new_handler_at_start);  // modules loaded at start may have changed it
    if (deferred) unsetenv("VIPSHOME");
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
    // libvips's liborc code (resampling, convolution) races on freeing its compiled programs when
    // several threads resample at once: a 1,500-photo `build --whole` on 2 threads corrupted the
    // heap in about half the runs (liborc 0.4.33). Its plain C paths are exact too.
    vips_vector_set_enabled(FALSE);
}

std::shared_mutex& vips_calls() {
    static std::shared_mutex calls;
    return calls;
}

uint64_t vips_allocation_failures() {
    return allocation_failures.load();
}

void clear_vips_errors() {
    vips_error_clear();
    last_warning.clear();
}

std::string vips_failure_reason(const vips::VError& e) {
    // libvips reports multi-line messages prefixed with the operation name; keep the first line
    // without the prefix so the CLI can print one line.
    std::string text = e.what();
    text = text.substr(0, text.find('\n'));
    if (size_t colon = text.find(": "); colon != std::string::npos) text = text.substr(colon + 2);
    if (text.empty()) text = kUnknownVipsError;
    return text == kUnknownVipsError && !last_warning.empty() ? last_warning : text;
}

bool modules_deferred() {
    return deferred;
}

void load_module(VipsModule module) {
    if (!deferred) return;
    const bool magick = module == VipsModule::magick;
    std::call_once(magick ? magick_loaded : heif_loaded, [magick] {
        const std::string path = std::string(TESSERA_VIPS_LIBDIR) + "/vips-modules-" +
                                 std::to_string(vips_version(0)) + "." +
                                 std::to_string(vips_version(1)) + "/" +
                                 (magick ? "vips-magick.so" : "vips-heif.so");
        g_module_open(path.c_str(), G_MODULE_BIND_LAZY);  // stays open for the process
    });
}

void restore_new_handler() {
    std::set_new_handler(new_handler_at_start);
}

}  // namespace tessera::io
