// The grouped search's panel kernel (kernels.hpp) of one kernel set against a plain squared
// distance, over row lengths, panel counts (every register-block tail) and limits, and against
// the scalar panel kernel on random, all-equal and extreme bytes. Shared by the tests of the
// levels this CPU runs and by those of the AVX-512 and AMX kernels under emulation.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "search/kernels/kernels.hpp"

namespace tessera::testing {

// `rows` rows of `bytes` bytes each as the panel kernel reads them (kernels.hpp: XOR 0x80, in
// panels of kPanelRows), with their squared norms.
struct PanelLayout {
    std::vector<int8_t> panels;
    std::vector<uint32_t> norms;
};

inline PanelLayout lay_out_panels(const std::vector<uint8_t>& rows_bytes, size_t rows,
                                  size_t bytes) {
    using kernels::kPanelRows;
    PanelLayout layout{std::vector<int8_t>(rows * bytes), std::vector<uint32_t>(rows, 0)};
    for (size_t r = 0; r < rows; ++r) {
        for (size_t b = 0; b < bytes; ++b) {
            const uint8_t v = rows_bytes[r * bytes + b];
            layout.panels[r / kPanelRows * kPanelRows * bytes + b / 4 * kPanelRows * 4 +
                          r % kPanelRows * 4 + b % 4] = int8_t(v ^ 0x80);
            layout.norms[r] += uint32_t(v) * v;
        }
    }
    return layout;
}

// Each query's |q|^2 - 256 sum(q), the offset PanelQueries carries.
inline std::vector<int32_t> query_offsets(const std::vector<uint8_t>& queries, size_t bytes) {
    std::vector<int32_t> offsets(kernels::kPanelQueries);
    for (size_t q = 0; q < kernels::kPanelQueries; ++q) {
        uint32_t sum = 0, norm = 0;
        for (size_t b = 0; b < bytes; ++b) {
            const uint32_t v = queries[q * bytes + b];
            sum += v;
            norm += v * v;
        }
        offsets[q] = int32_t(norm - 256 * sum);
    }
    return offsets;
}

inline void expect_panel_distances_exact(const kernels::Kernels& k) {
    using kernels::kPanelQueries;
    using kernels::kPanelRows;
    ASSERT_NE(k.panel_distances, nullptr) << k.name;
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255);
    // Row lengths up to the largest exact one (33024 = 33025 rounded down to 4, padded).
    for (size_t bytes : {4, 8, 12, 64, 68, 100, 192, 256, 768, 33024}) {
        for (size_t count : {1, 2, 3, 4, 5, 7}) {
            if (bytes > 1024 && count > 2) continue;
            SCOPED_TRACE(std::string(k.name) + " bytes " + std::to_string(bytes) + " panels " +
                         std::to_string(count));
            const size_t rows = count * kPanelRows;
            // The extremes: the first query all 255 and the second all 0, the first row all 0
            // and the second all 255 (the largest distances and dot products).
            std::vector<uint8_t> queries(kPanelQueries * bytes), patches(rows * bytes);
            for (size_t i = 0; i < queries.size(); ++i) {
                queries[i] = i < bytes ? 255 : i < 2 * bytes ? 0 : uint8_t(byte(rng));
            }
            for (size_t i = 0; i < patches.size(); ++i) {
                patches[i] = i < bytes ? 0 : i < 2 * bytes ? 255 : uint8_t(byte(rng));
            }
            const PanelLayout layout = lay_out_panels(patches, rows, bytes);
            const std::vector<int32_t> offsets = query_offsets(queries, bytes);
            std::vector<uint32_t> want(kPanelQueries * rows), limits(kPanelQueries);
            for (size_t q = 0; q < kPanelQueries; ++q) {
                for (size_t r = 0; r < rows; ++r) {
                    uint64_t d = 0;
                    for (size_t b = 0; b < bytes; ++b) {
                        const int64_t g = int64_t(queries[q * bytes + b]) - patches[r * bytes + b];
                        d += uint64_t(g * g);
                    }
                    want[q * rows + r] = uint32_t(d);
                }
                // Some limits at a distance itself (ties at the limit pass).
                limits[q] = q % 3 == 0 ? want[q * rows + q % rows] : uint32_t(rng());
            }
            std::vector<uint32_t> got(want.size(), 0xdeadbeef);
            std::vector<uint16_t> masks(kPanelQueries * count, 0xdead);
            k.panel_distances({queries.data(), offsets.data(), limits.data(), bytes},
                              layout.panels.data(), layout.norms.data(), count, got.data(),
                              masks.data());
            ASSERT_EQ(got, want);
            for (size_t q = 0; q < kPanelQueries; ++q) {
                for (size_t r = 0; r < rows; ++r) {
                    const bool within = (masks[q * count + r / kPanelRows] >> (r % kPanelRows)) & 1;
                    ASSERT_EQ(within, want[q * rows + r] <= limits[q])
                        << "query " << q << " row " << r;
                }
            }
        }
    }
}

// The panel kernel of `set` against the scalar one on given bytes (`value` of a query or row
// index and a byte index), for row lengths with every tail of 64 and panel counts with every
// tail of the AMX kernel's blocks of 4 panels and the AVX-512 kernel's of 3.
template <class Value>
inline void expect_panel_distances_as_reference(const kernels::Kernels& set, Value value,
                                                const std::string& what) {
    using kernels::kPanelQueries;
    using kernels::kPanelRows;
    std::mt19937 rng(3);
    for (size_t bytes = 4; bytes <= 260; bytes += 4) {
        for (size_t count : {1, 4, 5, 8, 9}) {
            SCOPED_TRACE(what + " bytes " + std::to_string(bytes) + " panels " +
                         std::to_string(count));
            const size_t rows = count * kPanelRows;
            std::vector<uint8_t> queries(kPanelQueries * bytes);
            for (size_t i = 0; i < queries.size(); ++i) queries[i] = value(i / bytes, i % bytes);
            std::vector<uint8_t> patches(rows * bytes);
            for (size_t i = 0; i < patches.size(); ++i) {
                patches[i] = value(kPanelQueries + i / bytes, i % bytes);
            }
            const PanelLayout layout = lay_out_panels(patches, rows, bytes);
            const std::vector<int32_t> offsets = query_offsets(queries, bytes);
            std::vector<uint32_t> limits(kPanelQueries);
            for (size_t q = 0; q < kPanelQueries; ++q) {
                limits[q] = q == 0 ? 0 : q == 1 ? UINT32_MAX : uint32_t(rng() % (bytes * 20000));
            }
            const kernels::PanelQueries q{queries.data(), offsets.data(), limits.data(), bytes};
            std::vector<uint32_t> want(kPanelQueries * rows), got(want.size(), 0xdeadbeef);
            std::vector<uint16_t> want_masks(kPanelQueries * count), masks(want_masks.size(), 1);
            kernels::scalar_kernels().panel_distances(q, layout.panels.data(), layout.norms.data(),
                                                      count, want.data(), want_masks.data());
            set.panel_distances(q, layout.panels.data(), layout.norms.data(), count, got.data(),
                                masks.data());
            ASSERT_EQ(got, want);
            ASSERT_EQ(masks, want_masks);
        }
    }
}

inline void expect_panel_kernel_exact(const kernels::Kernels& set) {
    testing::expect_panel_distances_exact(set);
    std::mt19937 rng(5);
    expect_panel_distances_as_reference(
        set, [&rng](size_t, size_t) { return uint8_t(rng()); }, "random");
    // Every query and patch equal: all distances 0, all ties.
    expect_panel_distances_as_reference(
        set, [](size_t, size_t) { return uint8_t(77); }, "all equal");
    // 0 and 255 alternating by row and byte: every product at its largest.
    expect_panel_distances_as_reference(
        set, [](size_t row, size_t b) { return uint8_t((row + b) % 2 ? 255 : 0); }, "extreme");
}

}  // namespace tessera::testing
