// The min-cost flow solve of the assignment under a repeat cap (capped_assignment.cpp) in plain
// arrays, by LEMON's network simplex: the one translation unit that includes LEMON. (Its cost
// scaling, compiled as C++17 since LEMON 1.3's maps do not compile as C++20, was slower on these
// graphs: docs/performance.md.)
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace tessera::capped {

struct FlowProblem {
    int nodes = 0;
    std::vector<std::pair<int, int>> arcs;  // (source, target), by source
    std::vector<int64_t> costs;             // per arc
    std::vector<int> supply;                // per node: > 0 supplies, < 0 takes in at most -supply
};

struct FlowSolution {
    std::vector<int> flow;            // per arc
    std::vector<int64_t> potentials;  // per node, LEMON's sign: reduced cost c + pi(s) - pi(t)
};

// An optimal flow and optimal potentials; asserts that the problem is feasible.
FlowSolution solve_min_cost_flow(const FlowProblem& problem);

}  // namespace tessera::capped
