#include "arrays.hpp"

#include <cstdint>

namespace tessera::python {

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

py::array image_array(Image&& image) {
    auto* owned = new Image(std::move(image));
    py::capsule base(owned, [](void* p) { delete static_cast<Image*>(p); });
    std::vector<py::ssize_t> shape{owned->height, owned->width};
    if (owned->channels != 1) shape.push_back(owned->channels);
    return py::array_t<uint8_t>(shape, owned->pixels.data(), base);
}

py::object fs_str(const std::string& bytes) {
    return py::reinterpret_steal<py::object>(
        PyUnicode_DecodeFSDefaultAndSize(bytes.data(), py::ssize_t(bytes.size())));
}

py::tuple hw(Size s) {
    return py::make_tuple(s.height, s.width);
}

Size size_of(std::pair<int, int> hw_pair) {
    return {hw_pair.second, hw_pair.first};
}

}  // namespace tessera::python
