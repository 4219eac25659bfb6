// Finding the image files below a directory.
#pragma once

#include <string>
#include <vector>

namespace tessera::io {

// A file find_images found, or a place below the directory where images may be missed.
struct FoundImage {
    std::string path;
    // Empty, or why it cannot be read: an unreadable directory, a broken link, or a FIFO, socket
    // or device named like an image.
    std::string problem;
};

// The image files below `directory`, recursively, by the extensions of the supported formats
// (hidden files and directories skipped; links followed, each directory walked once however many
// links lead to it; a directory named like an image is walked as a directory), with the
// subdirectories that cannot be read, and the links that cannot be followed and the files that
// are not regular files (FIFOs, sockets, devices) named like images, sorted by path so that patch
// ids do not depend on the file system's order. Throws Error when `directory` itself cannot be
// read.
std::vector<FoundImage> find_images(const std::string& directory);

}  // namespace tessera::io
