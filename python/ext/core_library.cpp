#include "core_library.hpp"

#include <omp.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "native.hpp"
#include "tessera/core/image.hpp"
#include "tessera/core/interrupt.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/pipeline/mosaic_job.hpp"
#include "tessera/pipeline/mosaic_report.hpp"
#include "tessera/pipeline/options.hpp"
#include "tessera/pipeline/poster.hpp"

namespace tessera::python {

// Opening and making a mosaic take the CLI's path (tessera/pipeline/mosaic_job.hpp).
std::unique_ptr<CoreLibrary> CoreLibrary::open(const std::string& path) {
    std::unique_ptr<CoreLibrary> opened;
    run_native("opening " + path,
               [&] { opened = std::make_unique<CoreLibrary>(pipeline::open_library(path)); });
    return opened;
}

Progress python_progress(const py::object& progress) {
    const std::atomic<bool>* stop = interruption_flag();
    const auto check = [stop] {
        if (stop != nullptr && stop->load(std::memory_order_relaxed)) throw Interrupted{};
    };
    if (progress.is_none()) return [check](size_t, size_t) { check(); };
    return [check, &progress](size_t done, size_t total) {
        check();
        py::gil_scoped_acquire gil;
        progress(done, total);
    };
}

py::tuple CoreLibrary::mosaic(const U8Array& target, int threads, bool bruteforce,
                              uint32_t max_uses, uint32_t min_distance,
                              std::pair<int64_t, int64_t> grid, std::pair<int, int> render_size,
                              uint64_t max_pixels, const std::string& metric_name, double color,
                              double blend, bool report, const py::object& progress) const {
    const ImageView view = image_view(target, "the target");
    const pipeline::Metric metric = pipeline::check_metric(metric_name, "metric");
    pipeline::check_metric_for(metric, library_, "metric");
    pipeline::MosaicOptions options{max_uses};
    options.min_distance = min_distance;
    options.color = pipeline::check_fraction(color, "color");
    options.blend = pipeline::check_fraction(blend, "blend");
    pipeline::MosaicResult result;
    std::string report_text;
    pipeline::MosaicEvents events;
    {
        py::gil_scoped_release release;
        run_native("making the mosaic", [&] {
            events.matching = python_progress(progress);
            Image converted;
            ImageView in = view;
            if (view.channels != library_.params().channels()) {
                converted = convert(view, library_.params().mode);
                in = converted.view();
            }
            // As tessera mosaic --grid and --render-size (grid: (rows, columns), rows 0 to
            // follow the aspect ratio; columns 0 for no grid).
            const Size render =
                pipeline::render_size_for(library_, size_of(render_size), "render_size");
            Image resampled;
            const Size tile = library_.params().tile;
            if (grid.second > 0) {
                const Size cells = pipeline::grid_cells(in.size(), tile, grid.second, grid.first,
                                                        max_pixels, "grid");
                rendered_size({cells.width * tile.width, cells.height * tile.height}, tile, render);
                resampled = pipeline::resample_to_grid(in, tile, cells);
                in = resampled.view();
            }
            rendered_size(in.size(), tile, render);  // a poster too large: before any search
            options.render_size = render;
            pipeline::PhaseTimes seconds;
            std::optional<pipeline::MatchSpace> lab;
            std::shared_ptr<const Searcher> search = searcher(threads, bruteforce);
            if (metric == pipeline::Metric::lab) {
                lab = seconds.time("lab", [&] { return pipeline::lab_match_space(library_, in); });
                options.matched = &*lab;
                search = bruteforce ? make_bruteforce_searcher(lab->library)
                                    : make_exact_searcher(lab->library, threads);
            }
            result = pipeline::make_mosaic(library_, *search, in, events, options);
            if (report) {
                pipeline::MosaicReport measured = result.seconds.time("report", [&] {
                    return pipeline::make_report(result.image.view(), in, result.matches,
                                                 library_.params().tile);
                });
                pipeline::assignment_figures(measured, result, options);
                seconds.merge(result.seconds);
                report_text = pipeline::report_json(measured, metric, seconds);
            }
        });
    }
    py::array_t<MatchRecord> records(py::ssize_t(result.matches.size()));
    MatchRecord* r = records.mutable_data();
    for (const TileMatch& m : result.matches) {
        *r++ = {m.tile.row,        m.tile.col,         m.tile.x,         m.tile.y,
                m.tile.size.width, m.tile.size.height, int64_t(m.patch), int64_t(m.distance)};
    }
    if (report) {
        return py::make_tuple(image_array(std::move(result.image)), records, result.psnr,
                              report_text);
    }
    return py::make_tuple(image_array(std::move(result.image)), records, result.psnr);
}

std::shared_ptr<const Searcher> CoreLibrary::searcher(int threads, bool bruteforce) const {
    if (bruteforce) return make_bruteforce_searcher(library_);
    // As make_exact_searcher counts them, so that 0 (all cores) and that count are one.
    const int count = threads > 0 ? threads : omp_get_num_procs();
    std::lock_guard<std::mutex> lock(mutex_);
    if (!searcher_ || searcher_threads_ != count) {
        searcher_ = make_exact_searcher(library_, count);
        searcher_threads_ = count;
    }
    return searcher_;
}

py::tuple CoreLibrary::search(const U8Array& tiles, int k, int threads, bool bruteforce,
                              const py::object& progress) const {
    const int channels = library_.params().channels();
    const int ndim = channels == 1 ? 3 : 4;
    if (tiles.ndim() != ndim || (channels != 1 && tiles.shape(3) != channels)) {
        throw py::value_error(channels == 1 ? "tiles must have shape (n, h, w)"
                                            : "tiles must have shape (n, h, w, 3)");
    }
    const QueryBatch batch{
        tiles.data(), size_t(tiles.shape(0)), {int(tiles.shape(2)), int(tiles.shape(1))}};
    check_queries(library_, batch, k);
    const auto n = py::ssize_t(batch.count);
    py::array_t<int64_t> distances({n, py::ssize_t(k)});
    py::array_t<int64_t> ids({n, py::ssize_t(k)});
    int64_t* d = distances.mutable_data();
    int64_t* i = ids.mutable_data();
    {
        py::gil_scoped_release release;
        // In chunks, each query's neighbours being independent of the others', so that
        // progress is reported and Ctrl-C noticed between them; a search of one chunk has
        // nothing to interrupt, and stays on this thread (docs/performance.md: the hand-over).
        constexpr size_t kQueriesPerChunk = 4096;
        run_native(
            "searching",
            [&] {
                const auto chosen = searcher(threads, bruteforce);
                const Progress report = python_progress(progress);
                const size_t query_bytes =
                    size_t(batch.window.width) * size_t(batch.window.height) * size_t(channels);
                std::vector<Neighbor> found(std::min(batch.count, kQueriesPerChunk) * size_t(k));
                report(0, batch.count);
                for (size_t begin = 0; begin < batch.count; begin += kQueriesPerChunk) {
                    const size_t count = std::min(kQueriesPerChunk, batch.count - begin);
                    chosen->search({batch.data + begin * query_bytes, count, batch.window}, k,
                                   found.data());
                    const size_t first = begin * size_t(k);
                    for (size_t j = 0; j < count * size_t(k); ++j) {
                        d[first + j] = int64_t(found[j].distance);
                        i[first + j] = int64_t(found[j].id);
                    }
                    report(begin + count, batch.count);
                }
            },
            batch.count > kQueriesPerChunk);
    }
    return py::make_tuple(distances, ids);
}

void bind_core_library(py::module_& m) {
    PYBIND11_NUMPY_DTYPE(MatchRecord, row, col, x, y, width, height, patch, distance);
    py::class_<CoreLibrary>(m, "CoreLibrary")
        .def_static("open", &CoreLibrary::open, py::arg("path"),
                    py::call_guard<py::gil_scoped_release>())
        .def(
            "save",
            [](const CoreLibrary& c, const std::string& path) {
                run_native("saving " + path, [&] { c.library().save(path); });
            },
            py::arg("path"), py::call_guard<py::gil_scoped_release>())
        .def("search", &CoreLibrary::search, py::arg("tiles"), py::arg("k"), py::arg("threads"),
             py::arg("bruteforce") = false, py::arg("progress") = py::none(),
             "(distances, ids) int64 (n, k); bruteforce=True uses the oracle (tests only); "
             "progress(done, total) as tiles are searched")
        .def("mosaic", &CoreLibrary::mosaic, py::arg("target"), py::arg("threads"),
             py::arg("bruteforce") = false, py::arg("max_uses") = 0, py::arg("min_distance") = 0,
             py::arg("grid") = std::pair<int64_t, int64_t>{0, 0},
             py::arg("render_size") = std::pair<int, int>{0, 0},
             py::arg("max_pixels") = uint64_t(1) << 28, py::arg("metric") = "rgb",
             py::arg("color") = 0.0, py::arg("blend") = 0.0, py::arg("report") = false,
             py::arg("progress") = py::none(),
             "(image, matches, psnr[, report JSON]); max_uses > 0 caps each patch's uses "
             "(optimal assignment); min_distance > 0 keeps a patch's tiles more than that "
             "apart; progress(done, total) as tiles are matched")
        .def("__len__", [](const CoreLibrary& c) { return c.library().patch_count(); })
        .def_property_readonly("tile",
                               [](const CoreLibrary& c) { return hw(c.library().params().tile); })
        .def_property_readonly("stride",
                               [](const CoreLibrary& c) { return hw(c.library().params().stride); })
        .def_property_readonly(
            "mode",
            [](const CoreLibrary& c) { return std::string(mode_name(c.library().params().mode)); })
        // What tessera info shows of a whole-photo library; render is the tile for a window one.
        .def_property_readonly(
            "kind", [](const CoreLibrary& c) { return kind_name(c.library().params().kind); })
        .def_property_readonly(
            "render", [](const CoreLibrary& c) { return hw(c.library().params().render_size()); })
        .def_property_readonly("fit",
                               [](const CoreLibrary& c) -> py::object {
                                   const LibraryParams& p = c.library().params();
                                   if (p.kind != LibraryKind::whole) return py::none();
                                   return py::str(fit_name(p.fit));
                               })
        .def_property_readonly("writer",
                               [](const CoreLibrary& c) { return fs_str(c.library().writer()); })
        .def_property_readonly("format_version",
                               [](const CoreLibrary& c) { return c.library().format_version(); })
        .def_property_readonly("transforms",
                               [](const CoreLibrary& c) {
                                   std::vector<std::string> names;
                                   for (Transform t : c.library().params().transforms) {
                                       names.emplace_back(transform_name(t));
                                   }
                                   return names;
                               })
        .def_property_readonly(
            "sources",
            [](const CoreLibrary& c) {
                py::list out;
                for (const SourceInfo& s : c.library().sources()) {
                    out.append(py::make_tuple(py::bytes(s.path), s.width, s.height, s.file_bytes,
                                              s.content_hash));
                }
                return out;
            })
        .def_property_readonly("path",
                               [](const CoreLibrary& c) { return py::bytes(c.library().path()); })
        .def_property_readonly("file_bytes",
                               [](const CoreLibrary& c) { return c.library().file_bytes(); })
        .def_property_readonly("checksum",
                               [](const CoreLibrary& c) { return c.library().checksum(); })
        .def_property_readonly(
            "patches",
            [](const CoreLibrary& c) {
                const Library& lib = c.library();
                const Size t = lib.params().tile;
                std::vector<py::ssize_t> shape{py::ssize_t(lib.patch_count()), t.height, t.width};
                if (lib.params().channels() != 1) {
                    shape.push_back(lib.params().channels());
                }
                return library_view(lib, lib.pixels(), shape);
            })
        .def_property_readonly("origins", [](const CoreLibrary& c) {
            const Library& lib = c.library();
            static_assert(sizeof(PatchOrigin) == 4 * sizeof(uint32_t));
            return library_view(lib, reinterpret_cast<const uint32_t*>(lib.origins().data()),
                                {py::ssize_t(lib.patch_count()), 4});
        });
}

}  // namespace tessera::python
