// Refusing an output before any work, by where the file will really go.
#include "tessera/pipeline/check_output.hpp"

#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tessera/core/error.hpp"
#include "tessera/core/file.hpp"

namespace tessera::pipeline {

namespace fs = std::filesystem;

void check_output(const std::string& output, const std::vector<std::string>& inputs) {
    // Checked at the end of a chain of symbolic links, where the file will really go.
    const fs::path target = output_target(output);
    fs::path dir = target.parent_path();
    if (dir.empty()) dir = ".";
    if (::access(dir.c_str(), W_OK) != 0) {
        const std::string reason = errno == EROFS    ? "read-only file system"
                                   : errno == EACCES ? "permission denied"
                                                     : std::strerror(errno);
        throw Error(output + ": cannot write in " + dir.string() + " (" + reason + ")");
    }
    if (target.filename().string().size() > NAME_MAX) {
        throw Error(output + ": the file name is longer than " + std::to_string(NAME_MAX) +
                    " bytes; choose a shorter one");
    }
    std::error_code ec;
    for (const std::string& input : inputs) {
        if (fs::exists(input, ec) && fs::equivalent(input, target, ec)) {
            throw Error(output + ": would overwrite the input " + input +
                        "; choose another output");
        }
    }
}

namespace {

// Where `output` will really go, as an absolute path without links, dots or repeated slashes.
fs::path resolved(const std::string& output) {
    const fs::path target = output_target(output);
    std::error_code ec;
    const fs::path path = fs::weakly_canonical(target, ec);
    return ec ? fs::absolute(target).lexically_normal() : path;
}

}  // namespace

void check_distinct_outputs(const std::string& first, const std::string& second) {
    std::error_code ec;
    if (resolved(first) == resolved(second) || fs::equivalent(first, second, ec)) {
        throw Error(second + ": would overwrite the output " + first + "; choose another name");
    }
}

}  // namespace tessera::pipeline
