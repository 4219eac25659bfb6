#include <gtest/gtest.h>
#include "tessera/geometry.hpp"
TEST(Geometry, Placeholder) { EXPECT_EQ(tessera::parse_size("16x8", "tile"), (tessera::Size{16, 8})); }
