// The assignment under a repeat cap on a synthetic instance: cells and tiles are random points of
// a small colour-like space (tiles uniform; cells clustered, or uniform too), candidates their
// exact k nearest by squared distance. Prints the time of the first search, of the solve and
// certification loop (and of the searches within it: widened lists, or pairs priced outside the
// lists), and the result's figures. Not a test.
//   assign_bench [cells] [tiles] [max_uses] [k] [dimensions] [seed] [clustered|uniform]
//                [priced|widened]
// priced (the default) hands the solver the pair distances; widened only the widening search.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "tessera/mosaic/capped_assignment.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Points {
    int dimensions = 0;
    std::vector<int> coordinates;  // [point * dimensions + i], 0..255
    const int* at(uint32_t p) const { return coordinates.data() + size_t(p) * dimensions; }
};

// Cells gather around a few dozen centres, as a picture's colours do; tiles spread uniformly.
Points clustered(uint32_t n, int dimensions, std::mt19937& rng) {
    std::uniform_int_distribution<int> uniform(0, 255);
    std::normal_distribution<double> spread(0, 24);
    std::vector<int> centres(48 * size_t(dimensions));
    for (int& x : centres) x = uniform(rng);
    Points p{dimensions, std::vector<int>(size_t(n) * dimensions)};
    for (uint32_t i = 0; i < n; ++i) {
        const size_t centre = rng() % 48;
        for (int d = 0; d < dimensions; ++d) {
            const double x = centres[centre * dimensions + d] + spread(rng);
            p.coordinates[size_t(i) * dimensions + d] = std::clamp(int(x), 0, 255);
        }
    }
    return p;
}

Points uniform_points(uint32_t n, int dimensions, std::mt19937& rng) {
    std::uniform_int_distribution<int> uniform(0, 255);
    Points p{dimensions, std::vector<int>(size_t(n) * dimensions)};
    for (int& x : p.coordinates) x = uniform(rng);
    return p;
}

uint64_t squared_distance(const Points& cells, const Points& tiles, uint32_t cell, uint32_t tile) {
    const int* a = cells.at(cell);
    const int* b = tiles.at(tile);
    uint64_t sum = 0;
    for (int d = 0; d < cells.dimensions; ++d) sum += uint64_t((a[d] - b[d]) * (a[d] - b[d]));
    return sum;
}

// The exact search: a cell's k nearest tiles, by distance then id (all distances, then a partial
// sort of the k best).
void nearest(const Points& cells, const Points& tiles, uint32_t cell, int k,
             std::vector<tessera::Neighbor>& scratch, std::vector<tessera::Neighbor>& out) {
    const uint32_t count = uint32_t(tiles.coordinates.size() / tiles.dimensions);
    scratch.resize(count);
    for (uint32_t t = 0; t < count; ++t) scratch[t] = {squared_distance(cells, tiles, cell, t), t};
    std::partial_sort(scratch.begin(), scratch.begin() + k, scratch.end());
    out.insert(out.end(), scratch.begin(), scratch.begin() + k);
}

}  // namespace

int main(int argc, char** argv) {
    auto arg = [&](int i, long fallback) { return argc > i ? std::atol(argv[i]) : fallback; };
    const uint32_t cells = uint32_t(arg(1, 40000)), tiles = uint32_t(arg(2, 20000));
    const uint32_t max_uses = uint32_t(arg(3, 2));
    const int k = int(arg(4, 8)), dimensions = int(arg(5, 3));
    std::mt19937 rng(uint32_t(arg(6, 1)));
    const bool uniform_cells = argc > 7 && std::string(argv[7]) == "uniform";
    const bool priced = !(argc > 8 && std::string(argv[8]) == "widened");
    const Points cell_points =
        uniform_cells ? uniform_points(cells, dimensions, rng) : clustered(cells, dimensions, rng);
    const Points tile_points = uniform_points(tiles, dimensions, rng);

    auto start = Clock::now();
    std::vector<tessera::Neighbor> candidates, scratch;
    candidates.reserve(size_t(cells) * k);
    for (uint32_t c = 0; c < cells; ++c)
        nearest(cell_points, tile_points, c, k, scratch, candidates);
    std::printf("search: %.2f s for %u cells x %u tiles, k = %d, %d dimensions\n",
                seconds_since(start), cells, tiles, k, dimensions);

    double widen_seconds = 0;
    size_t widened_cells = 0;
    int widest = k;
    const tessera::WidenCandidates widen = [&](std::span<const uint32_t> listed, int wider) {
        const auto begin = Clock::now();
        std::vector<tessera::Neighbor> lists;
        lists.reserve(listed.size() * size_t(wider));
        for (uint32_t c : listed) nearest(cell_points, tile_points, c, wider, scratch, lists);
        widen_seconds += seconds_since(begin);
        widened_cells += listed.size();
        widest = std::max(widest, wider);
        return lists;
    };
    size_t priced_pairs = 0;
    const tessera::PairDistances distances = [&](uint32_t cell, std::span<const uint32_t> listed,
                                                 std::span<const uint64_t>,
                                                 std::span<uint64_t> out) {
        const auto begin = Clock::now();
        for (size_t i = 0; i < listed.size(); ++i)
            out[i] = squared_distance(cell_points, tile_points, cell, listed[i]);
        widen_seconds += seconds_since(begin);
        priced_pairs += listed.size();
    };
    start = Clock::now();
    const tessera::CappedAssignment result = tessera::assign_with_repeat_cap(
        candidates, cells, tiles, max_uses, widen, priced ? distances : nullptr);
    const double total = seconds_since(start);
    std::printf(
        "assign: %.2f s (searches %.2f s, solver %.2f s), %d rounds, "
        "%zu cell lists widened, widest k %d, %zu pairs priced\n",
        total, widen_seconds, total - widen_seconds, result.rounds, widened_cells, widest,
        priced_pairs);
    std::printf(
        "total cost %llu, lower bound %lld, certified %s, %u distinct tiles, "
        "most uses %u\n",
        (unsigned long long)result.total_cost, (long long)result.lower_bound,
        result.certified ? "yes" : "no", result.distinct_tiles, result.most_uses);
    return 0;
}
