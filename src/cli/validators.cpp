// CLI11 validators for the tessera command's options.
#include "cli/validators.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "tessera/core/geometry.hpp"
#include "tessera/library/params.hpp"
#include "tessera/pipeline/options.hpp"

namespace tessera::cli {

CLI::Validator whole_number(uint64_t low, uint64_t high) {
    return CLI::Validator(
        [low, high](std::string& text) {
            uint64_t value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            const bool ok = !text.empty() && ec == std::errc() &&
                            end == text.data() + text.size() && value >= low && value <= high;
            return ok ? std::string() : pipeline::whole_number_message(text, low, high);
        },
        "N");
}

const CLI::Validator kThreadCount = whole_number(0, pipeline::kMaxThreads);
const CLI::Validator kPositiveCount = whole_number(1, UINT64_MAX);

const CLI::Validator kPath(
    [](std::string& text) {
        return text.empty() ? std::string("an empty path; give a file name") : std::string();
    },
    "");

CLI::Validator usage_check(std::function<void(const std::string&)> parse) {
    return CLI::Validator(
        [parse](std::string& text) {
            try {
                parse(text);
                return std::string();
            } catch (const Error& e) {
                return std::string(e.what());
            }
        },
        "");
}

CLI::Validator size_check(const char* what) {
    return usage_check([what](const std::string& text) { parse_size(text, what); });
}

std::vector<int> parse_rotations(const std::string& list) {
    std::vector<int> degrees;
    for (size_t start = 0; start <= list.size();) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const std::string_view item(list.data() + start, comma - start);
        int angle = 0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), angle);
        if (item.empty() || ec != std::errc() || end != item.data() + item.size()) {
            throw Error("'" + list + "' is not a comma-separated list of angles like 0,90");
        }
        transforms_from({angle}, false);  // the core's message for an angle it does not take
        degrees.push_back(angle);
        start = comma + 1;
    }
    return degrees;
}

}  // namespace tessera::cli
