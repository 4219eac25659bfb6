// Running native work from Python safely: OpenMP and libvips across fork(), Ctrl-C during a long
// call, and running out of memory as a MemoryError that says what failed.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace tessera::python {

// What std::bad_alloc from native work becomes; module.cpp raises it as MemoryError, whose
// message names what was being done ("out of memory while making the mosaic").
struct OutOfMemory : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Runs `fn`, turning std::bad_alloc into OutOfMemory("out of memory while " + doing), with
// MappedReads: when a mapped file it read was truncated meanwhile, throws that file's Error.
void while_doing(const std::string& doing, const std::function<void()>& fn);

// while_doing(doing, fn), called without the GIL; rethrows what `fn` throws. From Python's main
// thread, `fn` runs on a helper thread while the main thread runs Python's signal handlers every
// 50 ms: when one raises (Ctrl-C: KeyboardInterrupt), interruption points in `fn`
// (tessera/core/interrupt.hpp, in a scope there) throw Interrupted, and that exception is raised
// here once `fn` has stopped. From another thread, on
// this thread, or on a fresh one when this thread's OpenMP pool was inherited through fork() and
// would hang.
// `interruptible` false: on this thread always, for work too short to be worth the hand-over.
void run_native(const std::string& doing, const std::function<void()>& fn,
                bool interruptible = true);

// Starts libvips once per process; throws Error in a process forked after it started, where a
// decode would wait forever for the parent's worker threads.
void start_vips();

}  // namespace tessera::python
