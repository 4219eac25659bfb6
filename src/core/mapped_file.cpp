// Read-only file mappings, and surviving the SIGBUS a mapping raises when its file shrinks.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"

namespace tessera {

namespace {

// Mappings the fault handler may patch. A fixed array of lock-free atomics, because the handler
// may only use async-signal-safe operations: it reads the ranges and calls mmap.
// Slots are claimed, released and searched for faults under `registry` (never taken by the
// handler), so `file` stays valid while check_mapped_files() reads it.
struct LiveMapping {
    std::atomic<int> state{0};  // kFree, kClaimed (being filled in) or kLive
    std::atomic<uintptr_t> begin{0}, end{0};
    std::atomic<bool> faulted{false};
    const MappedFile* file = nullptr;
};
std::mutex registry;
constexpr int kFree = 0, kClaimed = 1, kLive = 2;
constexpr int kMaxMappings = 256;
LiveMapping live_mappings[kMaxMappings];
static_assert(std::atomic<uintptr_t>::is_always_lock_free &&
              std::atomic<bool>::is_always_lock_free);

std::atomic<int> guarded_reads{0};  // live MappedReads
std::atomic<uintptr_t> page_bytes{4096};
void (*unabsorbed_fault)(int) = nullptr;
struct sigaction previous_bus_action {
}, previous_segv_action{};

// Returns the slot, or -1 when every slot is taken (then a fault in it is not absorbed).
int register_mapping(const MappedFile& file) {
    const std::lock_guard<std::mutex> lock(registry);
    for (int i = 0; i < kMaxMappings; ++i) {
        int expected = kFree;
        if (live_mappings[i].state.compare_exchange_strong(expected, kClaimed)) {
            const auto begin = reinterpret_cast<uintptr_t>(file.data());
            live_mappings[i].begin.store(begin);
            live_mappings[i].end.store(begin + file.size());
            live_mappings[i].file = &file;
            live_mappings[i].faulted.store(false);
            live_mappings[i].state.store(kLive);
            return i;
        }
    }
    return -1;
}

// Maps zero pages from the faulting page to the end of its mapping: the pages past the end of a
// truncated file all fault, so one call covers the rest.
bool absorb_fault(uintptr_t address) {
    if (guarded_reads.load() == 0) return false;
    for (LiveMapping& m : live_mappings) {
        if (m.state.load() != kLive) continue;
        const uintptr_t begin = m.begin.load(), end = m.end.load();
        if (address < begin || address >= end) continue;
        const uintptr_t page = address & ~(page_bytes.load() - 1);
        void* zeros = ::mmap(reinterpret_cast<void*>(page), end - page, PROT_READ,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (zeros == MAP_FAILED) return false;
        m.faulted.store(true);
        return true;
    }
    return false;
}

void on_bus_error(int signal, siginfo_t* info, void*) {
    const int saved_errno = errno;
    if (absorb_fault(reinterpret_cast<uintptr_t>(info->si_addr))) {
        errno = saved_errno;
        return;  // the faulting read runs again, on the zero pages
    }
    if (unabsorbed_fault != nullptr) unabsorbed_fault(signal);
    // Back to the earlier disposition: returning runs the read again, which faults under it.
    ::sigaction(SIGBUS, &previous_bus_action, nullptr);
    errno = saved_errno;
}

const LiveMapping* first_faulted() {
    for (const LiveMapping& m : live_mappings) {
        if (m.state.load() == kLive && m.faulted.load()) return &m;
    }
    return nullptr;
}

void on_segmentation_fault(int) {
    exit_if_a_mapped_file_faulted();
    ::sigaction(SIGSEGV, &previous_segv_action, nullptr);
}

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int error = errno;
        ::close(fd);
        throw Error(path + ": cannot stat: " + std::strerror(error));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": not a regular file");
    }
    size_ = size_t(st.st_size);
    if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            const int error = errno;
            ::close(fd);
            throw Error(path + ": cannot memory-map: " + std::strerror(error));
        }
        data_ = static_cast<const uint8_t*>(p);
        slot_ = register_mapping(*this);
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (slot_ >= 0) {
        const std::lock_guard<std::mutex> lock(registry);
        live_mappings[slot_].state.store(kFree);
    }
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void MappedFile::check_intact() const {
    if (slot_ >= 0 && live_mappings[slot_].faulted.load()) {
        throw Error(path_ +
                    ": could not be read while in use (another program truncated or replaced "
                    "it in place, or a disk error); what was read from it is discarded: open it "
                    "again");
    }
}

MappedReads::MappedReads() {
    guarded_reads.fetch_add(1);
}

MappedReads::~MappedReads() {
    guarded_reads.fetch_sub(1);
}

void install_mapped_fault_handler(void (*unabsorbed)(int)) {
    page_bytes.store(uintptr_t(::sysconf(_SC_PAGESIZE)));
    unabsorbed_fault = unabsorbed;
    struct sigaction bus {
    }, segv{}, previous{};
    bus.sa_sigaction = on_bus_error;
    bus.sa_flags = SA_SIGINFO;
    sigemptyset(&bus.sa_mask);
    ::sigaction(SIGBUS, &bus, &previous);
    // Installing twice must not make a handler its own fallback.
    if (previous.sa_sigaction != on_bus_error) previous_bus_action = previous;
    segv.sa_handler = on_segmentation_fault;
    sigemptyset(&segv.sa_mask);
    ::sigaction(SIGSEGV, &segv, &previous);
    if (previous.sa_handler != on_segmentation_fault) previous_segv_action = previous;
}

void exit_if_a_mapped_file_faulted() {
    const LiveMapping* m = first_faulted();
    if (m == nullptr) return;
    // Several threads can fault on the zeros at once: one reports, the others wait for its exit.
    static std::atomic<bool> exiting{false};
    if (exiting.exchange(true)) {
        for (;;) ::pause();
    }
    // The CLI's handler removes its temporaries and says why it stops.
    if (unabsorbed_fault != nullptr) unabsorbed_fault(SIGBUS);
    const std::string& path = m->file->path();
    for (const char* part : {"tessera: ", path.c_str(),
                             ": truncated or replaced in place by another program while in use; "
                             "stopping\n"}) {
        ssize_t ignored = ::write(STDERR_FILENO, part, std::strlen(part));
        (void)ignored;
    }
    ::_exit(1);
}

void check_mapped_files() {
    const std::lock_guard<std::mutex> lock(registry);
    for (const LiveMapping& m : live_mappings) {
        if (m.state.load() == kLive) m.file->check_intact();
    }
}

}  // namespace tessera
