// Walking a directory tree for image files.
#include "tessera/io/find_images.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "io/format_table.hpp"
#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"
#include "tessera/io/formats.hpp"

namespace tessera::io {

namespace fs = std::filesystem;

std::vector<FoundImage> find_images(const std::string& directory) {
    const auto unreadable = [](const std::string& path) {
        return ::access(path.c_str(), R_OK | X_OK) != 0;
    };
    const auto cannot_read = [](const std::string& what) {
        return "cannot read directory: " + what;
    };
    const auto is_image = [](const fs::path& p) {
        const std::string ext = extension_of(p.string());
        return std::any_of(formats().begin(), formats().end(), [&ext](const Format& f) {
            return std::find(f.extensions.begin(), f.extensions.end(), ext) != f.extensions.end();
        });
    };
    struct stat st {};
    if (unreadable(directory) || ::stat(directory.c_str(), &st) != 0) {
        throw Error(directory + ": " + cannot_read(std::strerror(errno)));
    }
    std::vector<FoundImage> found;
    // Every directory is walked once, however many links lead to it: a link back up ends there,
    // and links that fan out cannot multiply the files. Entries are taken in name order, so of
    // two paths to one directory the one walked is the same on every file system.
    std::set<std::pair<dev_t, ino_t>> walked = {{st.st_dev, st.st_ino}};
    const auto walk = [&](const auto& self, const fs::path& dir) -> void {
        std::error_code ec;
        std::vector<fs::path> entries;
        for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator();
             it.increment(ec)) {
            entries.push_back(it->path());
        }
        if (ec) {
            if (dir == directory) throw Error(directory + ": " + cannot_read(ec.message()));
            found.push_back({dir.string(), cannot_read(ec.message())});
            return;
        }
        std::sort(entries.begin(), entries.end());
        for (const fs::path& p : entries) {
            if (p.filename().string().starts_with('.')) continue;
            if (::stat(p.c_str(), &st) != 0) {  // a link that leads nowhere
                if (is_image(p)) {
                    found.push_back(
                        {p.string(), errno == ENOENT
                                         ? "a symbolic link to a file that does not exist"
                                         : "cannot follow the symbolic link: " +
                                               std::string(std::strerror(errno))});
                }
            } else if (S_ISDIR(st.st_mode)) {
                if (!walked.insert({st.st_dev, st.st_ino}).second) continue;
                if (unreadable(p.string())) {
                    found.push_back({p.string(), cannot_read(std::strerror(errno))});
                } else {
                    self(self, p);
                }
            } else if (is_image(p)) {
                // A FIFO, socket or device named like an image is counted, not passed over:
                // the user may have meant an image to be there.
                found.push_back({p.string(), S_ISREG(st.st_mode)
                                                 ? ""
                                                 : "is " + std::string(file_kind(st.st_mode)) +
                                                       ", not an image file"});
            }
        }
    };
    walk(walk, fs::path(directory));
    std::sort(found.begin(), found.end(),
              [](const FoundImage& a, const FoundImage& b) { return a.path < b.path; });
    return found;
}

}  // namespace tessera::io
