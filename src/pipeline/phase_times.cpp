#include "tessera/pipeline/phase_times.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace tessera::pipeline {

void PhaseTimes::add(std::string_view phase, double elapsed) {
    const auto it = std::find_if(seconds.begin(), seconds.end(),
                                 [&](const auto& entry) { return entry.first == phase; });
    if (it != seconds.end()) {
        it->second += elapsed;
    } else {
        seconds.emplace_back(std::string(phase), elapsed);
    }
}

void PhaseTimes::merge(const PhaseTimes& other) {
    for (const auto& [phase, elapsed] : other.seconds) add(phase, elapsed);
}

std::string phase_times_json(const PhaseTimes& times) {
    nlohmann::ordered_json json = nlohmann::ordered_json::object();
    for (const auto& [phase, elapsed] : times.seconds) json[phase] = elapsed;
    return json.dump(1) + "\n";
}

}  // namespace tessera::pipeline
