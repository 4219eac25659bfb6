// Seconds spent in each phase of a job (tessera mosaic --timings, and a report's "seconds").
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::pipeline {

// Phases in the order first timed; timing a phase again adds to it.
struct PhaseTimes {
    std::vector<std::pair<std::string, double>> seconds;

    void add(std::string_view phase, double elapsed);
    // Runs `work`, adds its wall-clock time to `phase` (also when it throws), returns its result.
    template <class Work>
    auto time(std::string_view phase, const Work& work) {
        struct Clock {
            PhaseTimes& times;
            std::string_view phase;
            std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
            ~Clock() {
                times.add(phase,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                              .count());
            }
        } clock{*this, phase};
        return work();
    }
    // Appends `other`'s phases (adding to those already here).
    void merge(const PhaseTimes& other);
};

// {"open": 0.001, "verify": 0.02, ...} in phase order, as nlohmann::json's dump(1) lays it out.
std::string phase_times_json(const PhaseTimes& times);

}  // namespace tessera::pipeline
