// The squared distance loops shared by the vector kernel sets. Each level's translation unit
// instantiates them with its own accumulator, compiled with its own flags, so one early-stop
// policy serves every level. An accumulator Acc gives:
//   static constexpr size_t kStep;   bytes per step
//   void add(const uint8_t* a, const uint8_t* b);   one step of kStep bytes
//   uint32_t total() const;          the sum so far
//   uint32_t finish(const uint8_t* a, const uint8_t* b, size_t i, size_t n);
//                                    the sum with bytes [i, n) added, fewer than kStep
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera::kernels {

// Whole steps from i to end, end - i a multiple of kStep (this form of the loop compiles to the
// fewest instructions).
template <class Acc>
inline void add_steps(Acc& acc, const uint8_t* a, const uint8_t* b, size_t& i, size_t end) {
    for (; i < end; i += Acc::kStep) acc.add(a + i, b + i);
}

template <class Acc>
constexpr size_t whole_steps(size_t n) {
    return n / Acc::kStep * Acc::kStep;
}

template <class Acc>
uint32_t sqdist(const uint8_t* a, const uint8_t* b, size_t n) {
    Acc acc;
    size_t i = 0;
    add_steps(acc, a, b, i, whole_steps<Acc>(n));
    return acc.finish(a, b, i, n);
}

// Looks at the partial sum after half and three quarters of the bytes: most candidates that
// pass the block bound but lose are already past the limit there.
template <class Acc>
uint32_t sqdist_within(const uint8_t* a, const uint8_t* b, size_t n, uint32_t limit) {
    Acc acc;
    size_t i = 0;
    for (int shift = 1; shift <= 2; ++shift) {
        const size_t end = whole_steps<Acc>(n - (n >> shift));
        if (end <= i) continue;
        add_steps(acc, a, b, i, end);
        const uint32_t partial = acc.total();
        if (partial > limit) return partial;
    }
    add_steps(acc, a, b, i, whole_steps<Acc>(n));
    return acc.finish(a, b, i, n);
}

}  // namespace tessera::kernels
