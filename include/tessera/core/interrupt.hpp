// Stopping long work early when a front end asks (Ctrl-C in the Python module): long loops that
// have no Progress hook call interruption_point() every so often (a few milliseconds of work).
// The CLI needs none of this: its signal handler removes the temporaries and exits.
#pragma once

#include <atomic>

namespace tessera {

// Thrown by interruption_point() once the work was asked to stop. It unwinds like any failure
// (temporaries removed, nothing written); what it leaves half done (a LibraryBuilder) is to be
// discarded. Not a std::exception, so that no handler of ordinary failures turns it into a message.
struct Interrupted {};

// While alive, interruption_point() on this thread throws Interrupted once `stop` is true.
class InterruptionScope {
  public:
    explicit InterruptionScope(const std::atomic<bool>& stop);
    ~InterruptionScope();
    InterruptionScope(const InterruptionScope&) = delete;
    InterruptionScope& operator=(const InterruptionScope&) = delete;

  private:
    const std::atomic<bool>* previous_;
};

// Throws Interrupted when this thread's InterruptionScope was asked to stop; otherwise (or with
// no scope) returns at the cost of a thread-local read. Call it from the thread that started the
// work, never inside an OpenMP region (an exception must not leave one).
void interruption_point();

// The stop flag of this thread's scope, nullptr without one: for a check on other threads.
const std::atomic<bool>* interruption_flag();

}  // namespace tessera
