// Starting libvips, which every function of the io layer uses.
#pragma once

namespace tessera::io {

// When libvips opens its modules (ImageMagick, libheif, poppler, libjxl, OpenSlide, with about a
// hundred shared libraries behind them, a cost docs/performance.md gives). at_start is libvips's
// own way, right for a process that shares libvips with others (Python). on_demand opens only the
// two tessera uses, ImageMagick for BMP and libheif for HEIF, when a file first needs one: for the
// CLI.
enum class Modules { at_start, on_demand };

// Starts libvips; call once, before any other function of the io layer. Throws Error if it
// cannot start.
void initialize(const char* argv0, Modules modules = Modules::at_start);

}  // namespace tessera::io
