#include "native.hpp"

#include <pybind11/pybind11.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/core/interrupt.hpp"
#include "tessera/io/vips.hpp"

namespace py = pybind11;

namespace tessera::python {

namespace {
// libgomp keeps a thread's OpenMP worker pool in that thread's TLS. fork() copies the TLS but
// not the workers, so OpenMP on the forking thread hangs in the child (multiprocessing's default
// start method on Linux). Such a thread hands native work to a fresh thread, which gets a new pool.
thread_local pid_t openmp_pid = 0;

// Runs the native calls of Python's main thread, one at a time, on one thread kept for the
// process (so its OpenMP pool serves every call), leaving the main thread free to run Python's
// signal handlers meanwhile. Never destroyed: the thread is detached and waits for ever.
class MainThreadHelper {
  public:
    MainThreadHelper() {
        std::thread([this] { serve(); }).detach();
    }

    // Starts `job` there (with a stop flag cleared); the previous one has ended.
    void start(const std::function<void()>& job) {
        std::lock_guard lock(mutex_);
        job_ = &job;
        done_ = false;
        error_ = nullptr;
        stop_ = false;
        changed_.notify_all();
    }
    // Whether the job ended within `timeout`.
    bool wait_for(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return done_; });
    }
    // Makes the job's interruption points throw Interrupted.
    void stop() { stop_ = true; }
    // What the ended job threw, or null.
    std::exception_ptr error() {
        std::lock_guard lock(mutex_);
        return std::exchange(error_, nullptr);
    }

  private:
    void serve() {
        const InterruptionScope scope(stop_);
        for (;;) {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return job_ != nullptr; });
            const std::function<void()>& job = *job_;
            lock.unlock();
            std::exception_ptr error;
            try {
                job();
            } catch (...) {
                error = std::current_exception();
            }
            lock.lock();
            job_ = nullptr;
            error_ = error;
            done_ = true;
            changed_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    const std::function<void()>* job_ = nullptr;
    bool done_ = false;
    std::exception_ptr error_;
    std::atomic<bool> stop_ = false;
};

// The helper of this process's main thread. A child forked from a process that had one has only
// the thread that forked: it makes its own (the parent's, whose mutex may have been held at the
// fork, is left alone).
MainThreadHelper& main_thread_helper() {
    static MainThreadHelper* helper = nullptr;
    static pid_t helper_pid = 0;
    if (helper_pid != ::getpid()) {
        helper = new MainThreadHelper();
        helper_pid = ::getpid();
    }
    return *helper;
}

// Whether this thread is Python's main thread, the one that runs signal handlers.
bool on_python_main_thread() {
    py::gil_scoped_acquire gil;
    const py::object main = py::module_::import("threading").attr("main_thread")();
    return PyThread_get_thread_ident() == main.attr("ident").cast<unsigned long>();
}

// Runs `job` on the main thread's helper; on Ctrl-C meanwhile, stops it and raises
// KeyboardInterrupt (whatever the job ended with) once it has ended.
void run_interruptible(const std::function<void()>& job) {
    MainThreadHelper& helper = main_thread_helper();
    helper.start(job);
    std::optional<py::error_already_set> interrupt;
    while (!helper.wait_for(std::chrono::milliseconds(50))) {
        if (interrupt) continue;  // stopped: waiting for the job to unwind
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) {
            interrupt.emplace();  // takes the raised exception (KeyboardInterrupt)
            helper.stop();
        }
    }
    const std::exception_ptr error = helper.error();
    if (interrupt) throw *interrupt;
    if (error) std::rethrow_exception(error);
}
}  // namespace

void while_doing(const std::string& doing, const std::function<void()>& fn) {
    const MappedReads reads;
    try {
        fn();
    } catch (const std::bad_alloc&) {
        check_mapped_files();
        throw OutOfMemory("out of memory while " + doing);
    } catch (const Error&) {
        check_mapped_files();  // an error after reading a truncated file is that file's fault
        throw;
    }
    check_mapped_files();
}

void run_native(const std::string& doing, const std::function<void()>& fn, bool interruptible) {
    if (interruptible && on_python_main_thread()) {
        run_interruptible([&] { while_doing(doing, fn); });
        return;
    }
    const pid_t pid = ::getpid();
    if (openmp_pid == 0 || openmp_pid == pid) {
        openmp_pid = pid;
        while_doing(doing, fn);
        return;
    }
    std::exception_ptr error;
    std::thread worker([&] {
        try {
            while_doing(doing, fn);
        } catch (...) {
            error = std::current_exception();
        }
    });
    worker.join();
    if (error) std::rethrow_exception(error);
}

// libvips is not fork-safe once started: its worker threads stay behind in the parent, and a
// decode in a forked child waits for them forever. Refuse instead of hanging.
void start_vips() {
    static pid_t vips_pid = 0;
    static std::once_flag once;
    std::call_once(once, [] {
        io::initialize("tessera");
        vips_pid = ::getpid();
    });
    if (vips_pid != ::getpid()) {
        throw Error(
            "cannot decode image files in a process forked after this module decoded files "
            "(libvips "
            "is not fork-safe): pass arrays to the workers, or use "
            "multiprocessing.get_context('forkserver') or 'spawn'");
    }
}

}  // namespace tessera::python
