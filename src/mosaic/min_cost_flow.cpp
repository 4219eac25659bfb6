#include "mosaic/min_cost_flow.hpp"

#include <lemon/network_simplex.h>
#include <lemon/static_graph.h>

#include "tessera/core/error.hpp"

namespace tessera::capped {

FlowSolution solve_min_cost_flow(const FlowProblem& problem) {
    using Graph = lemon::StaticDigraph;
    Graph graph;
    graph.build(problem.nodes, problem.arcs.begin(), problem.arcs.end());
    Graph::ArcMap<int64_t> cost(graph);
    for (size_t a = 0; a < problem.costs.size(); ++a) cost[graph.arc(int(a))] = problem.costs[a];
    Graph::NodeMap<int> supply(graph);
    for (int n = 0; n < problem.nodes; ++n) supply[graph.node(n)] = problem.supply[size_t(n)];
    using Simplex = lemon::NetworkSimplex<Graph, int, int64_t>;
    Simplex simplex(graph);
    simplex.costMap(cost).supplyMap(supply);  // GEQ: a node takes in at most minus its supply
    const Simplex::ProblemType outcome = simplex.run();
    TESSERA_ASSERT(outcome == Simplex::OPTIMAL);
    FlowSolution solution;
    solution.flow.resize(problem.arcs.size());
    for (size_t a = 0; a < problem.arcs.size(); ++a)
        solution.flow[a] = simplex.flow(graph.arc(int(a)));
    solution.potentials.resize(size_t(problem.nodes));
    for (int n = 0; n < problem.nodes; ++n) {
        solution.potentials[size_t(n)] = simplex.potential(graph.node(n));
    }
    return solution;
}

}  // namespace tessera::capped
