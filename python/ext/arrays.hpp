// Between numpy and the core: uint8 arrays as image views and back, library memory as read-only
// arrays, file names as Python shows them, sizes as (height, width).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <utility>
#include <vector>

#include "tessera/core/geometry.hpp"
#include "tessera/core/image.hpp"
#include "tessera/library/library.hpp"

namespace tessera::python {

namespace py = pybind11;

// No forcecast: an array of another dtype is refused rather than silently converted.
using U8Array = py::array_t<uint8_t, py::array::c_style>;

// (H, W) gray or (H, W, 1 or 3) view of a C-contiguous uint8 array; `what` names it in errors.
ImageView image_view(const U8Array& a, const char* what);

// Hands an owned image to numpy without copying it.
py::array image_array(Image&& image);

// File names are bytes to the system and to the core; Python shows them as os.fsdecode does
// (undecodable bytes as surrogate escapes). Messages name files, so they are decoded the same way.
py::object fs_str(const std::string& bytes);

// Python speaks of sizes as (height, width), like numpy shapes.
py::tuple hw(Size s);
Size size_of(std::pair<int, int> hw_pair);

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

}  // namespace tessera::python
