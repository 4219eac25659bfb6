#include "tessera/core/interrupt.hpp"

namespace tessera {

namespace {
thread_local const std::atomic<bool>* stop_flag = nullptr;
}  // namespace

InterruptionScope::InterruptionScope(const std::atomic<bool>& stop) : previous_(stop_flag) {
    stop_flag = &stop;
}

InterruptionScope::~InterruptionScope() {
    stop_flag = previous_;
}

void interruption_point() {
    if (stop_flag != nullptr && stop_flag->load(std::memory_order_relaxed)) throw Interrupted{};
}

const std::atomic<bool>* interruption_flag() {
    return stop_flag;
}

}  // namespace tessera
