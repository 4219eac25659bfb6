// The --matches file: CSV as RFC 4180 quotes it, or JSON laid out as nlohmann::json's dump(1).
#include "tessera/pipeline/matches_file.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "tessera/core/error.hpp"
#include "tessera/io/formats.hpp"

namespace tessera::pipeline {

void check_matches_format(const std::string& path) {
    const std::string ext = io::extension_of(path);
    if (ext != ".csv" && ext != ".json") {
        throw Error(path + ": matches are written as .csv or .json; use one of those");
    }
}

void write_matches(AtomicFile& file, const Library& library, std::span<const TileMatch> matches) {
    const bool json = io::extension_of(file.path()) == ".json";
    // Each source name quoted once. JSON strings are UTF-8: a name that is not (file names are
    // bytes) has each bad byte replaced by U+FFFD. The CSV keeps the bytes, quoted as RFC 4180
    // says: wrapped in quotes, the quotes inside doubled.
    std::vector<std::string> names;
    for (const SourceInfo& s : library.sources()) {
        if (json) {
            names.push_back(nlohmann::json(s.path).dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace));
            continue;
        }
        std::string quoted = "\"";
        for (char c : s.path) {
            if (c == '"') quoted += '"';
            quoted += c;
        }
        names.push_back(quoted + '"');
    }
    std::string buffer;
    const auto put = [&](const auto&... parts) {
        ((buffer += parts), ...);
        if (buffer.size() >= (size_t(1) << 16)) {
            file.write(buffer.data(), buffer.size());
            buffer.clear();
        }
    };
    using std::to_string;
    // The layout nlohmann::json's dump(1) gives an array of objects: keys in sorted order.
    if (json) put(matches.empty() ? "[]" : "[\n");
    if (!json) put("row,col,x,y,patch,source,source_x,source_y,transform,distance\n");
    for (size_t i = 0; i < matches.size(); ++i) {
        const TileMatch& m = matches[i];
        const PatchOrigin& o = library.origins()[m.patch];
        const std::string_view transform = transform_name(Transform(o.transform));
        if (json) {
            put(" {\n  \"col\": ", to_string(m.tile.col),
                ",\n  \"distance\": ", to_string(m.distance),
                ",\n  \"patch\": ", to_string(m.patch), ",\n  \"row\": ", to_string(m.tile.row),
                ",\n  \"source\": ", names[o.source], ",\n  \"source_x\": ", to_string(o.x),
                ",\n  \"source_y\": ", to_string(o.y), ",\n  \"transform\": \"", transform,
                "\",\n  \"x\": ", to_string(m.tile.x), ",\n  \"y\": ", to_string(m.tile.y),
                i + 1 < matches.size() ? "\n },\n" : "\n }\n]");
        } else {
            put(to_string(m.tile.row), ",", to_string(m.tile.col), ",", to_string(m.tile.x), ",",
                to_string(m.tile.y), ",", to_string(m.patch), ",", names[o.source], ",",
                to_string(o.x), ",", to_string(o.y), ",", transform, ",", to_string(m.distance),
                "\n");
        }
    }
    if (json) put("\n");
    file.write(buffer.data(), buffer.size());
}

}  // namespace tessera::pipeline
