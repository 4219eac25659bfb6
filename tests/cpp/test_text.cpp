// Numbers as messages print them (src/core/text.cpp).
#include <gtest/gtest.h>

#include <cstdint>

#include "tessera/core/text.hpp"

namespace tessera {
namespace {

// Sizes in messages (a library too big for memory, `tessera build`'s summary).
TEST(Text, BytesText) {
    EXPECT_EQ(bytes_text(0), "0 B");
    EXPECT_EQ(bytes_text(999), "999 B");
    EXPECT_EQ(bytes_text(1000), "1.0 KB");
    EXPECT_EQ(bytes_text(58'285'000'000), "58.3 GB");
    EXPECT_EQ(bytes_text(UINT64_MAX), "18446744.1 TB");
}

}  // namespace
}  // namespace tessera
