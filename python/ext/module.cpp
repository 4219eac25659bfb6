// tessera._tessera: thin pybind11 bindings over the engine (include/tessera). The public API and
// its documentation live in python/tessera, which turns paths, PIL images and arrays into the
// C-contiguous uint8 arrays taken here. The GIL is released around every decode, build step,
// search and mosaic.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <exception>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "native.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/io/encode.hpp"
#include "tessera/io/find_images.hpp"
#include "tessera/io/formats.hpp"
#include "tessera/pipeline/library_size.hpp"
#include "tessera/pipeline/options.hpp"

namespace py = pybind11;
using namespace tessera;
using namespace tessera::python;

PYBIND11_MODULE(_tessera, m) {
    m.doc() = "tessera's C++ core; use the tessera package, which documents the API.";
    // Native calls (while_doing) survive a library truncated under them with an exception.
    install_mapped_fault_handler();
    m.attr("__version__") = TESSERA_VERSION;
    m.attr("DEFAULT_MAX_PIXELS") = io::kDefaultMaxPixels;
    m.attr("DEFAULT_MAX_LIBRARY_BYTES") = pipeline::kDefaultMaxLibraryBytes;
    std::vector<std::string> transform_names;
    for (int t = 0; t < kTransformCount; ++t)
        transform_names.emplace_back(transform_name(Transform(t)));
    m.attr("TRANSFORM_NAMES") = transform_names;
    static py::exception<Error> error_type(m, "Error", PyExc_ValueError);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Error& e) {
            PyErr_SetObject(error_type.ptr(), fs_str(e.what()).ptr());
        } catch (const OutOfMemory& e) {
            PyErr_SetObject(PyExc_MemoryError, fs_str(e.what()).ptr());
        }
    });

    m.def(
        "load_image",
        [](const std::string& path, const std::string& mode, uint64_t max_pixels) {
            const Mode parsed = parse_mode(mode);
            io::LoadedImage loaded;
            {
                py::gil_scoped_release release;
                start_vips();
                while_doing("decoding " + path, [&] {
                    loaded = io::load_image(path, parsed, {max_pixels, "max_pixels="});
                });
            }
            return image_array(std::move(loaded.image));
        },
        py::arg("path"), py::arg("mode"), py::arg("max_pixels"),
        "Decodes an image file with libvips, as the CLI does, in mode 'gray' or 'rgb'.");

    // For tessera.dask: outputs written as `tessera mosaic` writes them (atomically), and
    // directories expanded as `tessera build` expands them, so that shards can split the files.
    m.def(
        "save_image",
        [](const std::string& path, const U8Array& image, int quality) {
            const ImageView view = image_view(image, "image");
            pipeline::check_quality(quality, "quality");
            py::gil_scoped_release release;
            start_vips();  // before check_output_format, which asks libvips for a saver
            io::check_output_format(path, view.channels == 1 ? Mode::Gray : Mode::Rgb);
            while_doing("writing " + path, [&] { io::save_image(path, view, quality); });
        },
        py::arg("path"), py::arg("image"), py::arg("quality") = io::kDefaultQuality,
        "Encodes an image in the format its extension names, atomically, as the CLI does.");
    m.def(
        "find_images",
        [](const std::string& directory) {
            std::vector<std::pair<py::bytes, py::object>> found;
            for (io::FoundImage& image : io::find_images(directory))
                found.emplace_back(py::bytes(image.path), fs_str(image.problem));
            return found;
        },
        py::arg("directory"),
        "The image files below a directory as `tessera build` finds them, sorted: (path, problem) "
        "pairs, problem empty for a file to decode.");

    bind_options(m);
    bind_core_library(m);
    bind_builder(m);
    bind_assign(m);
    bind_colour(m);
}
