// Running native work from Python safely: OpenMP and libvips across fork().
#pragma once

#include <functional>

namespace tessera::python {

// Runs `fn` (which may use OpenMP) on this thread, or on a fresh one when this thread's OpenMP
// pool was inherited through fork() and would hang; rethrows what it throws.
void run_native(const std::function<void()>& fn);

// Starts libvips once per process; throws Error in a process forked after it started, where a
// decode would wait forever for the parent's worker threads.
void start_vips();

}  // namespace tessera::python
