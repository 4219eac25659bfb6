// _tessera.assign: the optimal assignment under a repeat cap from the caller's own candidate
// lists (tessera/mosaic/capped_assignment.hpp), without a search to widen them with.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "bindings.hpp"
#include "native.hpp"
#include "tessera/core/error.hpp"
#include "tessera/mosaic/capped_assignment.hpp"

namespace tessera::python {

namespace py = pybind11;

namespace {

using I64Array = py::array_t<int64_t, py::array::c_style>;

// The lists are the whole problem: a cell the solver widens gets the tiles outside its list at a
// cost above that of any assignment within the lists, so one is placed only where the lists
// cannot place every cell (then Error).
class ListsOnly {
  public:
    ListsOnly(std::span<const Neighbor> lists, size_t cells, uint32_t tiles)
        : lists_(lists), k_(lists.size() / cells), tiles_(tiles) {
        uint64_t largest = 0;
        for (const Neighbor& n : lists) largest = std::max(largest, n.distance);
        // Kept below the solver's limit on distances (a little less).
        const uint64_t limit =
            uint64_t(std::numeric_limits<int64_t>::max() / 8) / (cells + tiles + 2);
        if (largest > (limit - 1) / cells) {
            throw Error("the distances are too large to keep the assignment within the lists");
        }
        outside_ = largest * cells + 1;
    }

    std::vector<Neighbor> operator()(std::span<const uint32_t> cells, int k) const {
        std::vector<Neighbor> out;
        out.reserve(cells.size() * size_t(k));
        std::vector<uint8_t> listed(tiles_);
        for (uint32_t c : cells) {
            const auto list = lists_.subspan(c * k_, k_);
            std::fill(listed.begin(), listed.end(), 0);
            for (const Neighbor& n : list) {
                listed[n.id] = 1;
                out.push_back(n);
            }
            for (uint32_t t = 0; out.size() % size_t(k) != 0; ++t) {
                if (!listed[t]) out.push_back({outside_, t});
            }
        }
        return out;
    }

    uint64_t outside_cost() const { return outside_; }

  private:
    std::span<const Neighbor> lists_;
    size_t k_;
    uint32_t tiles_;
    uint64_t outside_ = 0;
};

// The full problem's lower bound when every pair outside a cell's list costs at least the list's
// last distance (lists of the k nearest): the dual objective with each u_c lowered to
// d_k(c) - max v, which keeps the potentials feasible for those pairs.
int64_t full_lower_bound(const CappedAssignment& a, std::span<const Neighbor> lists, size_t k,
                         uint32_t tiles, uint32_t max_uses) {
    const int64_t max_v = *std::max_element(a.tile_potentials.begin(), a.tile_potentials.end());
    __int128 bound = 0;
    for (int64_t v : a.tile_potentials) bound += __int128(max_uses) * v;
    for (size_t c = 0; c < a.tiles.size(); ++c) {
        const int64_t u = a.cell_potentials[c];
        bound += k == tiles ? u : std::min(u, int64_t(lists[c * k + k - 1].distance) - max_v);
    }
    return int64_t(bound);
}

py::tuple assign(const I64Array& distances, const I64Array& ids, uint32_t tiles,
                 uint32_t max_uses) {
    const size_t cells = size_t(distances.shape(0));
    const size_t k = size_t(distances.shape(1));
    py::array_t<int64_t> chosen{py::ssize_t(cells)};
    CappedAssignment result;
    int64_t bound = 0;
    {
        py::gil_scoped_release release;
        run_native("assigning", [&] {
            check_repeat_cap(cells, tiles, max_uses);
            std::vector<Neighbor> lists(cells * k);
            for (size_t i = 0; i < lists.size(); ++i) {
                lists[i] = {uint64_t(distances.data()[i]), uint32_t(ids.data()[i])};
            }
            if (cells == 0) return;
            const ListsOnly outside(lists, cells, tiles);
            result = assign_with_repeat_cap(lists, cells, tiles, max_uses, outside);
            if (result.total_cost >= outside.outside_cost()) {
                throw Error(
                    "the candidate lists cannot place every cell with each tile used at "
                    "most " +
                    std::to_string(max_uses) + " times: give more candidates per cell");
            }
            bound = full_lower_bound(result, lists, k, tiles, max_uses);
        });
    }
    std::copy(result.tiles.begin(), result.tiles.end(), chosen.mutable_data());
    py::dict info;
    info["total_cost"] = result.total_cost;
    info["lower_bound"] = cells == 0 ? 0 : bound;
    info["certified"] = cells == 0 || uint64_t(bound) == result.total_cost;
    info["rounds"] = result.rounds;
    info["distinct_tiles"] = result.distinct_tiles;
    info["most_uses"] = result.most_uses;
    return py::make_tuple(chosen, info);
}

}  // namespace

void bind_assign(py::module_& m) {
    m.def("assign", &assign, py::arg("distances"), py::arg("ids"), py::arg("tiles"),
          py::arg("max_uses"),
          "(tile per cell, info) from int64 (cells, k) candidate lists; tessera.assign checks "
          "the arguments.");
}

}  // namespace tessera::python
