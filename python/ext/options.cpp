// The option checks of tessera/pipeline/options.hpp, for the arguments of tessera.Library: the
// CLI's limits and messages. tessera/_arguments.py checks the types first.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "core_library.hpp"
#include "tessera/core/error.hpp"
#include "tessera/pipeline/options.hpp"

namespace tessera::python {

namespace {

namespace py = pybind11;

// Python's ints are unbounded, the checks take C++ integers: nullopt for one beyond T, which is
// beyond the range of every option too, and refused in the check's words.
template <typename T>
std::optional<T> fitting(const py::int_& value) {
    try {
        return value.cast<T>();
    } catch (const py::cast_error&) {
        return std::nullopt;
    }
}

std::string text(const py::int_& value) {
    return py::repr(value);  // an int's repr is its str
}

// (height, width) as Python gives sizes, refused as the check refuses a side out of range when
// a side does not fit an int.
Size size_from(const std::pair<py::int_, py::int_>& hw_pair, const std::string& what,
               int max_side) {
    const auto& [height, width] = hw_pair;
    const std::optional<int> h = fitting<int>(height), w = fitting<int>(width);
    if (!h || !w) {
        throw Error(pipeline::sides_message(what, text(width) + "x" + text(height), max_side));
    }
    return {*w, *h};
}

}  // namespace

void bind_options(py::module_& m) {
    m.def(
        "check_threads",
        [](const py::int_& threads, const std::string& what) {
            const std::optional<int64_t> number = fitting<int64_t>(threads);
            if (!number) {
                throw Error(
                    what + ": " +
                    pipeline::whole_number_message(text(threads), 0, pipeline::kMaxThreads));
            }
            return pipeline::check_threads(*number, what);
        },
        py::arg("threads"), py::arg("what"));
    m.def(
        "check_max_pixels",
        [](const py::int_& max_pixels, const std::string& what) {
            const std::optional<uint64_t> number = fitting<uint64_t>(max_pixels);
            if (!number) {
                throw Error(what + ": " +
                            pipeline::whole_number_message(text(max_pixels), 1,
                                                           std::numeric_limits<uint64_t>::max()));
            }
            return pipeline::check_max_pixels(*number, what);
        },
        py::arg("max_pixels"), py::arg("what"));
    m.def(
        "check_tile",
        [](const std::pair<py::int_, py::int_>& tile, const std::string& what) {
            return hw(pipeline::check_tile(size_from(tile, what, kMaxTileSide), what));
        },
        py::arg("tile"), py::arg("what"));
    m.def(
        "check_stride",
        [](const std::pair<py::int_, py::int_>& stride, const std::string& what) {
            return hw(pipeline::check_stride(size_from(stride, what, kMaxStrideSide), what));
        },
        py::arg("stride"), py::arg("what"));
    m.def(
        "check_rotations",
        [](const std::vector<py::int_>& degrees, const std::string& what) {
            std::vector<int64_t> numbers;
            for (const py::int_& d : degrees) {
                const std::optional<int64_t> number = fitting<int64_t>(d);
                if (!number) throw Error(pipeline::rotation_message(what, text(d)));
                numbers.push_back(*number);
            }
            return pipeline::check_rotations(numbers, what);
        },
        py::arg("degrees"), py::arg("what"));
    m.def(
        "check_k",
        [](const py::int_& k, const CoreLibrary& library) {
            const std::optional<int64_t> number = fitting<int64_t>(k);
            if (!number) throw Error(pipeline::k_message(text(k), library.library()));
            return pipeline::check_k(*number, library.library());
        },
        py::arg("k"), py::arg("library"));
    m.def(
        "check_fraction",
        [](double value, const std::string& what) { return pipeline::check_fraction(value, what); },
        py::arg("value"), py::arg("what"));
    m.def(
        "check_metric",
        [](const std::string& name, const std::string& what, const CoreLibrary& library) {
            pipeline::check_metric_for(pipeline::check_metric(name, what), library.library(), what);
            return name;
        },
        py::arg("name"), py::arg("what"), py::arg("library"));
}

}  // namespace tessera::python
