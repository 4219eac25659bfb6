// io::load_image on arbitrary bytes, in both modes: tessera::Error or a well-formed image.
#include <cstdint>
#include <cstdlib>

#include "memory_file.hpp"
#include "tessera/core/error.hpp"
#include "tessera/io/decode.hpp"
#include "tessera/io/vips.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** argv) {
    ::setenv("VIPS_CONCURRENCY", "1", 1);  // reproducible runs
    tessera::io::initialize((*argv)[0], tessera::io::Modules::on_demand);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tessera;
    const std::string& path = file_with(data, size);
    for (Mode mode : {Mode::Gray, Mode::Rgb}) {
        try {
            // A small pixel limit keeps each run fast and inside the fuzzer's memory limit.
            const io::LoadedImage loaded = io::load_image(path, mode, {1 << 20, {}});
            const Image& image = loaded.image;
            if (image.width <= 0 || image.height <= 0 || image.channels != channels(mode) ||
                image.pixels.size() != size_t(image.width) * image.height * image.channels ||
                loaded.source.width != uint32_t(image.width) || loaded.source.file_bytes != size) {
                __builtin_trap();
            }
        } catch (const Error&) {
        }
    }
    return 0;
}
