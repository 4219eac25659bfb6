#include "native.hpp"

#include <unistd.h>

#include <exception>
#include <mutex>
#include <new>
#include <thread>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/io/vips.hpp"

namespace tessera::python {

namespace {
// libgomp keeps a thread's OpenMP worker pool in that thread's TLS. fork() copies the TLS but
// not the workers, so OpenMP on the forking thread hangs in the child (multiprocessing's default
// start method on Linux). Such a thread hands native work to a fresh thread, which gets a new pool.
thread_local pid_t openmp_pid = 0;
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

void run_native(const std::string& doing, const std::function<void()>& fn) {
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
