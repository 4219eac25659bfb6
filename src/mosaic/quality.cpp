#include "tessera/mosaic/quality.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

#include "tessera/core/error.hpp"

namespace tessera {

double psnr(ImageView a, ImageView b) {
    TESSERA_ASSERT(a.width == b.width && a.height == b.height && a.channels == b.channels);
    uint64_t sum = 0;
    for (int y = 0; y < a.height; ++y) {
        const uint8_t* p = a.row(y);
        const uint8_t* q = b.row(y);
        for (int i = 0; i < a.width * a.channels; ++i) {
            const int d = int(p[i]) - int(q[i]);
            sum += uint64_t(d * d);
        }
    }
    if (sum == 0) return std::numeric_limits<double>::infinity();
    const double mse = double(sum) / (double(a.width) * a.height * a.channels);
    return 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace tessera
