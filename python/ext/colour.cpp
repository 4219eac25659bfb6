// The CIELAB bytes --metric lab matches on, for tests and users who search with them
// (tessera/io/colour.hpp).
#include <pybind11/pybind11.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "tessera/core/error.hpp"
#include "tessera/io/colour.hpp"

namespace tessera::python {

void bind_colour(py::module_& m) {
    m.def(
        "lab_bytes",
        [](const U8Array& rgb) {
            const ImageView view = image_view(rgb, "the image");
            if (view.channels != 3) throw Error("lab_bytes needs an rgb image (H, W, 3)");
            Image lab;
            {
                py::gil_scoped_release release;
                lab = io::lab8_image(view);
            }
            return image_array(std::move(lab));
        },
        py::arg("rgb"),
        "uint8 (H, W, 3): each pixel's CIELAB (D65) as L*255/100, a+128, b+128, rounded");
}

}  // namespace tessera::python
