#include "tessera/mosaic/ssim.hpp"

#include <cstdint>
#include <vector>

#include "tessera/core/error.hpp"

namespace tessera {

namespace {

// Sums over a window of x, y, x*x, y*y and x*y.
struct Sums {
    int64_t x = 0, y = 0, xx = 0, yy = 0, xy = 0;
    void add(int64_t p, int64_t q, int64_t sign) {
        x += sign * p;
        y += sign * q;
        xx += sign * p * p;
        yy += sign * q * q;
        xy += sign * p * q;
    }
    void add(const Sums& s, int64_t sign) {
        x += sign * s.x;
        y += sign * s.y;
        xx += sign * s.xx;
        yy += sign * s.yy;
        xy += sign * s.xy;
    }
};

// skimage's formula for one window from its sums.
double window_ssim(const Sums& s) {
    constexpr double n = kSsimWindow * kSsimWindow;
    constexpr double cov_norm = n / (n - 1);
    constexpr double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    const double ux = double(s.x) / n, uy = double(s.y) / n;
    const double vx = cov_norm * (double(s.xx) / n - ux * ux);
    const double vy = cov_norm * (double(s.yy) / n - uy * uy);
    const double vxy = cov_norm * (double(s.xy) / n - ux * uy);
    return ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
}

}  // namespace

std::optional<double> ssim(ImageView a, ImageView b) {
    TESSERA_ASSERT(a.width == b.width && a.height == b.height && a.channels == b.channels);
    constexpr int w = kSsimWindow;
    if (a.width < w || a.height < w) return std::nullopt;
    const int channels = a.channels;
    const int values = a.width * channels;
    // Column sums over the window's rows, slid down one row at a time.
    std::vector<Sums> columns(static_cast<size_t>(values));
    const auto add_row = [&](int y, int64_t sign) {
        const uint8_t* p = a.row(y);
        const uint8_t* q = b.row(y);
        for (int i = 0; i < values; ++i) columns[size_t(i)].add(p[i], q[i], sign);
    };
    for (int y = 0; y < w - 1; ++y) add_row(y, 1);
    std::vector<double> per_channel(size_t(channels), 0.0);
    for (int top = 0; top + w <= a.height; ++top) {
        add_row(top + w - 1, 1);
        for (int c = 0; c < channels; ++c) {
            Sums window;
            for (int x = 0; x < w; ++x) window.add(columns[size_t(x * channels + c)], 1);
            double row_total = window_ssim(window);
            for (int left = 1; left + w <= a.width; ++left) {
                window.add(columns[size_t((left - 1) * channels + c)], -1);
                window.add(columns[size_t((left + w - 1) * channels + c)], 1);
                row_total += window_ssim(window);
            }
            per_channel[size_t(c)] += row_total;
        }
        add_row(top, -1);
    }
    const double windows = double(a.width - w + 1) * double(a.height - w + 1);
    double total = 0;
    for (double s : per_channel) total += s / windows;
    return total / channels;
}

}  // namespace tessera
