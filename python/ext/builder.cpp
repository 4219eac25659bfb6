// _tessera.Builder: a library built from files and in-memory images, for Library.build.
#include <pybind11/stl.h>

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "core_library.hpp"
#include "native.hpp"
#include "tessera/library/builder.hpp"
#include "tessera/library/library.hpp"
#include "tessera/pipeline/add_sources.hpp"
#include "tessera/pipeline/library_size.hpp"
#include "tessera/search/exact_search_data.hpp"

namespace tessera::python {

namespace {

class Builder {
  public:
    // whole: a whole-photo library (render: (height, width), (0, 0) for the tile; fit: crop,
    // pad or stretch), as tessera build --whole.
    Builder(std::pair<int, int> tile, std::pair<int, int> stride, const std::string& mode,
            const std::vector<int>& rotations, bool flips, bool transform_sources, bool whole,
            std::pair<int, int> render, const std::string& fit)
        : builder_(params(tile, stride, mode, rotations, flips, whole, render, fit),
                   exact_search_data(),
                   transform_sources ? WindowGrid::TransformedSource : WindowGrid::Source) {}

    // Adds the images of `inputs` in order, each a (path, None) for a file or a directory, or a
    // (name, function) for pixels in memory, by the CLI's rule (tessera/pipeline/add_sources.hpp).
    // The function returns the image as a C-contiguous uint8 array; it is called in the image's
    // turn, with the GIL taken, and the array is let go once the image is added, so that images
    // converted for the build (PIL images, strided arrays) are held one at a time. What it raises
    // is raised here, in the image's turn. Warnings come from the decoding threads; they are
    // collected and issued afterwards from this one, in order, so that each points at the caller
    // of Library.build. A warning turned into an error raises in place of any later failure, as
    // it came first. `progress` (None or a callable) counts the images added (python_progress).
    void add(const std::vector<std::pair<std::string, std::optional<py::function>>>& inputs,
             bool strict, uint64_t max_pixels, uint64_t max_library_bytes, int threads,
             const py::object& progress) {
        std::vector<pipeline::SourceInput> sources;
        bool files = false;
        for (const auto& [name, make_array] : inputs) {
            pipeline::PixelSource pixels;
            if (make_array) {
                // By reference to `inputs`, which outlives the build: copying a py::object (as
                // copies of the source would) needs the GIL.
                pixels = [&make = *make_array, &name = name] { return array_pixels(make, name); };
            }
            sources.push_back({name, std::move(pixels)});
            files = files || !make_array;
        }
        std::mutex warned_mutex;
        std::vector<std::string> warned;
        const auto warn = [&](const std::string& message) {
            std::lock_guard lock(warned_mutex);
            warned.push_back(message);
        };
        std::exception_ptr failure;
        {
            py::gil_scoped_release release;
            try {
                if (files) start_vips();
                run_native("adding images to the library", [&] {
                    const std::vector<pipeline::Source> expanded = pipeline::expand_inputs(sources);
                    pipeline::check_library_size(
                        builder_, expanded, {max_library_bytes, "max_library_bytes=", max_pixels},
                        threads);
                    pipeline::add_sources(builder_, expanded,
                                          {strict, {max_pixels, "max_pixels="}, threads}, warn,
                                          python_progress(progress));
                });
            } catch (...) {
                failure = std::current_exception();
            }
        }
        const py::object warn_now = py::module_::import("warnings").attr("warn");
        for (const std::string& message : warned) {
            // stacklevel 2: the caller of Library.build (level 1 is build itself).
            warn_now(fs_str(message), py::handle(PyExc_UserWarning), 2);
        }
        if (failure) std::rethrow_exception(failure);
    }

    std::unique_ptr<CoreLibrary> finish() {
        py::gil_scoped_release release;
        // Building the search index uses OpenMP, which must not run in a forked child directly.
        std::unique_ptr<CoreLibrary> library;
        run_native("building the search index",
                   [&] { library = std::make_unique<CoreLibrary>(builder_.finish()); });
        return library;
    }

  private:
    // Calls `make` for an image's array, from the thread running the build (this one, or
    // run_native's), and keeps the array until the pixels are released (with the GIL again).
    static pipeline::Pixels array_pixels(const py::function& make, const std::string& name) {
        py::gil_scoped_acquire gil;
        auto* array = new U8Array(make());
        std::shared_ptr<const void> owner(array, [](const U8Array* a) {
            py::gil_scoped_acquire again;
            delete a;
        });
        return {image_view(*array, name.c_str()), std::move(owner)};
    }

    static LibraryParams params(std::pair<int, int> tile, std::pair<int, int> stride,
                                const std::string& mode, const std::vector<int>& rotations,
                                bool flips, bool whole, std::pair<int, int> render,
                                const std::string& fit) {
        LibraryParams p;
        p.tile = size_of(tile);
        p.stride = size_of(stride);
        p.mode = parse_mode(mode);
        p.transforms = transforms_from(rotations, flips);
        if (whole) {
            p.kind = LibraryKind::whole;
            p.fit = fit == "pad" ? Fit::pad : fit == "stretch" ? Fit::stretch : Fit::crop;
            p.render = size_of(render) == p.tile ? Size{0, 0} : size_of(render);
        }
        p.validate();
        return p;
    }

    LibraryBuilder builder_;
};

}  // namespace

void bind_builder(py::module_& m) {
    py::class_<Builder>(m, "Builder")
        .def(py::init<std::pair<int, int>, std::pair<int, int>, const std::string&,
                      const std::vector<int>&, bool, bool, bool, std::pair<int, int>,
                      const std::string&>(),
             py::arg("tile"), py::arg("stride"), py::arg("mode"), py::arg("rotations"),
             py::arg("flips"), py::arg("transform_sources"), py::arg("whole") = false,
             py::arg("render") = std::pair<int, int>{0, 0}, py::arg("fit") = "crop")
        .def("add", &Builder::add, py::arg("inputs"), py::arg("strict"), py::arg("max_pixels"),
             py::arg("max_library_bytes"), py::arg("threads"), py::arg("progress") = py::none())
        .def("finish", &Builder::finish);
}

}  // namespace tessera::python
