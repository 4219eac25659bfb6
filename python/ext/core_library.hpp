// _tessera.CoreLibrary: an open Library and its searcher, for tessera.Library (python/tessera).
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <string>

#include "arrays.hpp"
#include "tessera/core/progress.hpp"
#include "tessera/library/library.hpp"
#include "tessera/search/search.hpp"

namespace tessera::python {

// A native job's progress reported to Python, for a hook made in run_native's `fn`: the hook
// is an interruption point (Ctrl-C: it throws Interrupted), then, unless `progress` is None, calls
// that callable (done, total), which must outlive the job, with the GIL taken.
Progress python_progress(const py::object& progress);

// One row of the matches array that mosaic returns (a numpy structured dtype).
struct MatchRecord {
    int32_t row, col, x, y, width, height;
    int64_t patch;
    int64_t distance;
};

// A Library plus the exact searcher of the last thread count used, reused while the count stays
// the same. A searcher fixes its thread count and caches an index per edge-window shape (16 to
// 24 bytes a patch each), so only one is kept: one per count would grow without bound.
class CoreLibrary {
  public:
    explicit CoreLibrary(Library library) : library_(std::move(library)) {}
    const Library& library() const { return library_; }

    // The library file at `path`, checked as `tessera mosaic` checks it.
    static std::unique_ptr<CoreLibrary> open(const std::string& path);
    // (distances, ids) int64 (n, k) of C-contiguous uint8 tiles (n, h, w[, 3]).
    // `progress` as mosaic's, between chunks of 4096 tiles.
    py::tuple search(const U8Array& tiles, int k, int threads, bool bruteforce,
                     const py::object& progress) const;
    // (image, matches, psnr); the target is converted to the library's mode first. max_uses > 0
    // caps the uses of each patch, min_distance > 0 keeps its tiles more than that apart; grid and
    // render_size as --grid and --render-size; metric, color and blend as pipeline::MosaicOptions
    // (checked by the caller). With `report`, (image, matches, psnr, report JSON) as --report
    // writes it. `progress` (None or a callable (done, total)) is called as tiles are matched;
    // Ctrl-C there raises KeyboardInterrupt.
    py::tuple mosaic(const U8Array& target, int threads, bool bruteforce, uint32_t max_uses,
                     uint32_t min_distance, std::pair<int64_t, int64_t> grid,
                     std::pair<int, int> render_size, uint64_t max_pixels,
                     const std::string& metric, double color, double blend, bool report,
                     const py::object& progress) const;

  private:
    std::shared_ptr<const Searcher> searcher(int threads, bool bruteforce) const;

    Library library_;
    mutable std::mutex mutex_;
    mutable std::shared_ptr<const Searcher> searcher_;  // a call in flight may hold an older one
    mutable int searcher_threads_ = 0;
};

}  // namespace tessera::python
