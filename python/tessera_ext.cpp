// tessera._tessera: thin pybind11 bindings over the core (include/tessera) and the libvips I/O
// layer. The public API and its documentation live in python/tessera/__init__.py, which turns
// paths, PIL images and arrays into the C-contiguous uint8 arrays taken here. The GIL is released
// around every decode, build step, search and mosaic.
#include <omp.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/io/image_io.hpp"
#include "tessera/library/library.hpp"
#include "tessera/mosaic/assign.hpp"
#include "tessera/mosaic/match.hpp"
#include "tessera/mosaic/quality.hpp"
#include "tessera/mosaic/render.hpp"
#include "tessera/mosaic/tile_source.hpp"
#include "tessera/search/search.hpp"
#include "tessera/pipeline/sources.hpp"

namespace py = pybind11;
using namespace tessera;

namespace {

// No forcecast: an array of another dtype is refused rather than silently converted.
using U8Array = py::array_t<uint8_t, py::array::c_style>;

// One row of the matches array that mosaic returns (a numpy structured dtype).
struct MatchRecord {
    int32_t row, col, x, y, width, height;
    int64_t patch;
    int64_t distance;
};

// libgomp keeps a thread's OpenMP worker pool in that thread's TLS. fork() copies the TLS but
// not the workers, so OpenMP on the forking thread hangs in the child (multiprocessing's default
// start method on Linux). Such a thread hands native work to a fresh thread, which gets a new pool.
thread_local pid_t openmp_pid = 0;

template <typename Fn>
void run_native(Fn&& fn) {
    const pid_t pid = ::getpid();
    if (openmp_pid == 0 || openmp_pid == pid) {
        openmp_pid = pid;
        fn();
        return;
    }
    std::exception_ptr error;
    std::thread worker([&] {
        try {
            fn();
        } catch (...) {
            error = std::current_exception();
        }
    });
    worker.join();
    if (error) std::rethrow_exception(error);
}

// libvips is not fork-safe once started: its worker threads stay behind in the parent, and a
// decode in a forked child waits for them forever. Refuse instead of hanging.
void start_vips() {
    static pid_t vips_pid = 0;
    static std::once_flag once;
    std::call_once(once, [] {
        io::initialize("tessera");
        vips_pid = ::getpid();
    });
    if (vips_pid != ::getpid()) {
        throw Error(
            "cannot decode image files in a process forked after this module decoded files "
            "(libvips "
            "is not fork-safe): pass arrays to the workers, or use "
            "multiprocessing.get_context('forkserver') or 'spawn'");
    }
}

// (H, W) gray or (H, W, 1 or 3) view of a C-contiguous uint8 array.
ImageView image_view(const U8Array& a, const char* what) {
    const int channels = a.ndim() == 3 ? int(a.shape(2)) : 1;
    if ((a.ndim() != 2 && a.ndim() != 3) || (channels != 1 && channels != 3)) {
        throw py::value_error(std::string(what) + " must have shape (H, W) or (H, W, 3)");
    }
    if (a.shape(0) < 1 || a.shape(1) < 1) {
        throw py::value_error(std::string(what) + " must have at least one pixel");
    }
    if (a.shape(0) > INT32_MAX || a.shape(1) > INT32_MAX) {
        throw py::value_error(std::string(what) + " is too large: shape (" +
                              std::to_string(a.shape(0)) + ", " + std::to_string(a.shape(1)) +
                              "); each side must be at most " + std::to_string(INT32_MAX) +
                              " pixels");
    }
    return {a.data(), int(a.shape(1)), int(a.shape(0)), channels, ptrdiff_t(a.shape(1)) * channels};
}

// Hands an owned image to numpy without copying it.
py::array image_array(Image&& image) {
    auto* owned = new Image(std::move(image));
    py::capsule base(owned, [](void* p) { delete static_cast<Image*>(p); });
    std::vector<py::ssize_t> shape{owned->height, owned->width};
    if (owned->channels != 1) shape.push_back(owned->channels);
    return py::array_t<uint8_t>(shape, owned->pixels.data(), base);
}

// File names are bytes to the system and to the core; Python shows them as os.fsdecode does
// (undecodable bytes as surrogate escapes). Messages name files, so they are decoded the same way.
py::object fs_str(const std::string& bytes) {
    return py::reinterpret_steal<py::object>(
        PyUnicode_DecodeFSDefaultAndSize(bytes.data(), py::ssize_t(bytes.size())));
}

// A read-only numpy view of library memory (a memory map or the builder's buffers), which the
// view keeps alive through its own copy of the Library.
template <typename T>
py::array library_view(const Library& library, const T* data, std::vector<py::ssize_t> shape) {
    auto* keep = new Library(library);
    py::capsule base(keep, [](void* p) { delete static_cast<Library*>(p); });
    py::array_t<T> view(shape, data, base);
    view.attr("setflags")(py::arg("write") = false);
    return view;
}

py::tuple hw(Size s) {
    return py::make_tuple(s.height, s.width);
}

Size size_of(std::pair<int, int> hw_pair) {
    return {hw_pair.second, hw_pair.first};
}

// A Library plus the exact searcher of the last thread count used, reused while the count stays
// the same. A searcher fixes its thread count and caches an index per edge-window shape (16 to
// 24 bytes a patch each), so only one is kept: one per count would grow without bound.
class CoreLibrary {
  public:
    explicit CoreLibrary(Library library) : library_(std::move(library)) {}
    const Library& library() const { return library_; }

    std::shared_ptr<const Searcher> searcher(int threads, bool bruteforce) const {
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

    py::tuple search(const U8Array& tiles, int k, int threads, bool bruteforce) const {
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
            std::vector<Neighbor> found(batch.count * size_t(k));
            run_native([&] { searcher(threads, bruteforce)->search(batch, k, found.data()); });
            for (size_t j = 0; j < found.size(); ++j) {
                d[j] = int64_t(found[j].distance);
                i[j] = int64_t(found[j].id);
            }
        }
        return py::make_tuple(distances, ids);
    }

    // Returns (image, matches, psnr); the target is converted to the library's mode first.
    py::tuple mosaic(const U8Array& target, int threads, bool bruteforce) const {
        const ImageView view = image_view(target, "the target");
        std::vector<TileMatch> matches;
        Image out;
        double quality = 0;
        {
            py::gil_scoped_release release;
            Image converted;
            ImageView in = view;
            if (view.channels != library_.params().channels()) {
                converted = convert(view, library_.params().mode);
                in = converted.view();
            }
            const TileRows all_rows{0, tile_rows(in.size(), library_.params().tile)};
            run_native([&] {
                matches = assign_nearest(
                    match_tiles(library_, *searcher(threads, bruteforce), in, all_rows, 1));
            });
            out = render(LibraryTiles(library_), matches, in.size());
            quality = psnr(out.view(), in);
        }
        py::array_t<MatchRecord> records(py::ssize_t(matches.size()));
        MatchRecord* r = records.mutable_data();
        for (const TileMatch& m : matches) {
            *r++ = {m.tile.row,        m.tile.col,         m.tile.x,         m.tile.y,
                    m.tile.size.width, m.tile.size.height, int64_t(m.patch), int64_t(m.distance)};
        }
        return py::make_tuple(image_array(std::move(out)), records, quality);
    }

  private:
    Library library_;
    mutable std::mutex mutex_;
    mutable std::shared_ptr<const Searcher> searcher_;  // a call in flight may hold an older one
    mutable int searcher_threads_ = 0;
};

class Builder {
  public:
    Builder(std::pair<int, int> tile, std::pair<int, int> stride, const std::string& mode,
            const std::vector<int>& rotations, bool flips)
        : builder_(params(tile, stride, mode, rotations, flips)) {}

    // Adds the images of `inputs` in order, each a (path, None) for a file or a directory, or a
    // (name, function) for pixels in memory, by the CLI's rule (tessera/sources.hpp). The
    // function returns the image as a C-contiguous uint8 array; it is called in the image's turn,
    // with the GIL taken, and the array is let go once the image is added, so that images
    // converted for the build (PIL images, strided arrays) are held one at a time. What it raises
    // is raised here, in the image's turn. Warnings come from the decoding threads; they are
    // collected and issued afterwards from this one, in order, so that each points at the caller
    // of Library.build. A warning turned into an error raises in place of any later failure, as
    // it came first.
    void add(const std::vector<std::pair<std::string, std::optional<py::function>>>& inputs,
             bool strict, uint64_t max_pixels, int threads) {
        std::vector<io::SourceInput> sources;
        bool files = false;
        for (const auto& [name, make_array] : inputs) {
            io::PixelSource pixels;
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
                run_native([&] {
                    io::add_sources(builder_, io::expand_inputs(sources),
                                    {strict, {max_pixels, "max_pixels="}, threads}, warn);
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
        run_native([&] { library = std::make_unique<CoreLibrary>(builder_.finish()); });
        return library;
    }

  private:
    // Calls `make` for an image's array, from the thread running the build (this one, or
    // run_native's), and keeps the array until the pixels are released (with the GIL again).
    static io::Pixels array_pixels(const py::function& make, const std::string& name) {
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
                                bool flips) {
        LibraryParams p;
        p.tile = size_of(tile);
        p.stride = size_of(stride);
        p.mode = parse_mode(mode);
        p.transforms = transforms_from(rotations, flips);
        return p;
    }

    LibraryBuilder builder_;
};

}  // namespace

PYBIND11_MODULE(_tessera, m) {
    m.doc() = "tessera's C++ core; use the tessera package, which documents the API.";
    m.attr("__version__") = TESSERA_VERSION;
    m.attr("MAX_TILE_SIDE") = kMaxTileSide;
    m.attr("DEFAULT_MAX_PIXELS") = io::kDefaultMaxPixels;
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
        }
    });
    PYBIND11_NUMPY_DTYPE(MatchRecord, row, col, x, y, width, height, patch, distance);

    m.def(
        "load_image",
        [](const std::string& path, const std::string& mode, uint64_t max_pixels) {
            const Mode parsed = parse_mode(mode);
            io::LoadedImage loaded;
            {
                py::gil_scoped_release release;
                start_vips();
                loaded = io::load_image(path, parsed, {max_pixels, "max_pixels="});
            }
            return image_array(std::move(loaded.image));
        },
        py::arg("path"), py::arg("mode"), py::arg("max_pixels"),
        "Decodes an image file with libvips, as the CLI does, in mode 'gray' or 'rgb'.");

    py::class_<CoreLibrary>(m, "CoreLibrary")
        .def_static(
            "open",
            [](const std::string& path) {
                // As `tessera mosaic` does: the search trusts its index, so check every byte once.
                Library library = Library::open(path);
                library.verify();
                return std::make_unique<CoreLibrary>(std::move(library));
            },
            py::arg("path"), py::call_guard<py::gil_scoped_release>())
        .def(
            "save", [](const CoreLibrary& c, const std::string& path) { c.library().save(path); },
            py::arg("path"), py::call_guard<py::gil_scoped_release>())
        .def("search", &CoreLibrary::search, py::arg("tiles"), py::arg("k"), py::arg("threads"),
             py::arg("bruteforce") = false,
             "(distances, ids) int64 (n, k); bruteforce=True uses the oracle (tests only).")
        .def("mosaic", &CoreLibrary::mosaic, py::arg("target"), py::arg("threads"),
             py::arg("bruteforce") = false, "(image, matches, psnr)")
        .def("__len__", [](const CoreLibrary& c) { return c.library().size(); })
        .def_property_readonly("tile",
                               [](const CoreLibrary& c) { return hw(c.library().params().tile); })
        .def_property_readonly("stride",
                               [](const CoreLibrary& c) { return hw(c.library().params().stride); })
        .def_property_readonly(
            "mode",
            [](const CoreLibrary& c) { return std::string(mode_name(c.library().params().mode)); })
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
                std::vector<py::ssize_t> shape{py::ssize_t(lib.size()), t.height, t.width};
                if (lib.params().channels() != 1) {
                    shape.push_back(lib.params().channels());
                }
                return library_view(lib, lib.pixels(), shape);
            })
        .def_property_readonly("origins", [](const CoreLibrary& c) {
            const Library& lib = c.library();
            static_assert(sizeof(PatchOrigin) == 4 * sizeof(uint32_t));
            return library_view(lib, reinterpret_cast<const uint32_t*>(lib.origins().data()),
                                {py::ssize_t(lib.size()), 4});
        });

    py::class_<Builder>(m, "Builder")
        .def(py::init<std::pair<int, int>, std::pair<int, int>, const std::string&,
                      const std::vector<int>&, bool>(),
             py::arg("tile"), py::arg("stride"), py::arg("mode"), py::arg("rotations"),
             py::arg("flips"))
        .def("add", &Builder::add, py::arg("inputs"), py::arg("strict"), py::arg("max_pixels"),
             py::arg("threads"))
        .def("finish", &Builder::finish);
}
