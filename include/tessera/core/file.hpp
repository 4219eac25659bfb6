// Files written completely or not at all, and read-only memory maps.
#pragma once

#include <sys/types.h>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>

namespace tessera {

// What a file of this st_mode is, as messages name it: "a directory", "a named pipe (FIFO)".
const char* file_kind(mode_t mode);

// The file that writing `path` replaces: `path` itself or, when it is a symbolic link or a chain
// of them, the file the chain ends at (existing or not), so that the link stays a link. Throws
// Error naming `path` when that exists and is not a regular file (a directory, FIFO, socket or
// device, which a rename would replace), when its directory does not exist, or on a link loop.
// Only looks: creates nothing.
std::string output_target(const std::string& path);

// Writes to a temporary file beside output_target(path) and renames it over that on commit(), so
// a reader never sees a half-written file. Destroyed without commit (an error, an exception), it
// removes the temporary. The temporary is anonymous (O_TMPFILE) where the file system allows,
// given a hidden name (".NAME.tmp-PID-N") only once complete, so that even SIGKILL leaves
// nothing; elsewhere it has that name from the start.
class AtomicFile {
  public:
    // Throws Error, before creating anything, if output_target(path) does, and if the temporary
    // cannot be created.
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, size_t size);
    void commit();  // commit_together({this})

    const std::string& path() const { return path_; }
    // The temporary, open for reading and writing, for an encoder that also reads and seeks
    // (libtiff); flushing, closing and renaming stay commit()'s.
    int descriptor() const { return fd_; }
    // A name it can be opened by (/proc/self/fd/N when anonymous), to read back what was written
    // before commit() (a lossy encoder's result).
    const std::string& temporary_path() const { return temp_path_; }

  private:
    friend void commit_together(std::span<AtomicFile* const> files);
    void fail(const std::string& what);
    void flush();  // sets the permissions, syncs and closes
    void rename_into_place();
    void remove_temporary();  // closes, unlinks it and forgets it
    // Makes the temporary under a fresh hidden name by `create` (open or link; -1 and errno on
    // failure), registered for removal on a signal; returns what `create` returned.
    int name_temporary(const std::function<int(const char*)>& create);
    std::string path_;    // as given, for messages
    std::string target_;  // what commit() replaces
    std::string temp_path_;
    bool anonymous_ = false;  // temp_path_ is /proc/self/fd/N: nothing to unlink
    int fd_ = -1;
    int slot_ = -1;  // where the temporary is registered for removal on a signal
};

// Flushes every file to disk, then renames them all into place with interrupts held back: files
// that belong together (an image and its --matches) are replaced together or, on a failure or an
// interrupt before the renames, not at all. (A rename itself failing, after another succeeded,
// would still leave that one replaced: the one case this cannot cover.) Two or more files are
// renamed under an exclusive flock(2) on each target's directory, so tessera processes (and
// threads) committing to the same files replace them one whole set after another, never mixed.
// Only writers that take the same lock are kept out: another program renaming or writing over
// the files meanwhile is not, nor is a directory that cannot be opened for reading or locked
// (flock unsupported), where the commit goes ahead without the lock.
void commit_together(std::initializer_list<AtomicFile*> files);
void commit_together(std::span<AtomicFile* const> files);  // a set counted at run time

// For programs: on SIGINT, SIGTERM or SIGHUP, removes the temporaries of every live AtomicFile,
// prints "<program>: interrupted by <signal>; unfinished output removed" and exits with status 1
// (a failure, not death by a signal). SIGINT, SIGTERM or SIGHUP ignored at startup (nohup, a
// shell's background job) stay ignored. A SIGBUS that install_mapped_fault_handler() does not
// absorb (a MappedFile truncated while in use outside MappedReads, or a disk read error under it)
// is handled the same way with its own message. Also ignores SIGXFSZ and
// SIGPIPE, so that exceeding a file size limit fails a write with EFBIG and writing to a closed
// pipe (progress piped to `head`) fails with EPIPE, instead of killing the process mid-work.
// Call once at startup.
void remove_temporaries_on_interrupt(const char* program);

// A whole file mapped read-only. Empty files map to size 0 and data nullptr.
class MappedFile {
  public:
    explicit MappedFile(const std::string& path);  // throws Error naming the file
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }
    // Throws Error naming the file when a read of it faulted inside a MappedReads scope (below):
    // what was read from it since is unreliable.
    void check_intact() const;

  private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    int slot_ = -1;  // where the mapping is registered for the fault handler
};

// Reading a MappedFile past the end of its file (another program truncated it while it was
// mapped) or over a disk error raises SIGBUS. While a MappedReads exists, such a fault maps zero
// pages over the rest of that mapping instead, so the read completes, and marks the file: its
// check_intact() and check_mapped_files() then throw, and the call that read it discards what it
// read. Outside every scope the fault goes where it went before install_mapped_fault_handler() (a
// numpy view of a library read after truncation ends the interpreter, as with numpy.memmap).
class MappedReads {
  public:
    MappedReads();
    ~MappedReads();
    MappedReads(const MappedReads&) = delete;
    MappedReads& operator=(const MappedReads&) = delete;
};

// Installs the SIGBUS handler MappedReads relies on, once per process. A fault it does not absorb
// goes to `unabsorbed` when given, else to the disposition SIGBUS had before. The zeros can break
// invariants checked when the file was opened (a search index), so a SIGSEGV after an absorbed
// fault is taken as its consequence (exit_if_a_mapped_file_faulted); any other SIGSEGV keeps its
// earlier disposition.
void install_mapped_fault_handler(void (*unabsorbed)(int) = nullptr);

// When a read absorbed by MappedReads has faulted in a file still mapped: calls `unabsorbed` when
// installed with one (the CLI's exits), else prints "tessera: <file>: truncated or replaced in
// place by another program while in use; stopping" and exits with status 1. Async-signal-safe;
// for where the zeros made continuing impossible (a signal handler, a failed assertion).
void exit_if_a_mapped_file_faulted();

// Throws check_intact()'s Error for the first mapped file whose read faulted.
void check_mapped_files();

}  // namespace tessera
