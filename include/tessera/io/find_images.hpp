// Finding the image files below a directory.
#pragma once

#include <string>
#include <vector>

namespace tessera::io {

// A file find_images found, or a place below the directory where images may be missed.
struct FoundImage {
    std::string path;
    std::string problem;  // empty, or why it cannot be read: an unreadable directory, a broken link
};

// The image files below `directory`, recursively, by the extensions of the supported formats
// (hidden files and directories skipped; links followed, each directory walked once however many
// links lead to it), with the subdirectories that cannot be read and the links that cannot be
// followed named like images, sorted by path so that patch ids do not depend on the file
// system's order. Throws Error when `directory` itself cannot be read.
std::vector<FoundImage> find_images(const std::string& directory);

}  // namespace tessera::io
