// Text as messages print it (src/core/text.cpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

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

// File names reach the terminal through warnings, errors and `info --sources`: an escape
// sequence in one must not act on the terminal, and every name must stay distinguishable.
TEST(Text, PrintableEscapesWhatATerminalWouldAct) {
    EXPECT_EQ(printable("photos/été 日本.png"), "photos/été 日本.png");
    EXPECT_EQ(printable("a\x1b]0;owned\x07"
                        "b.png"),
              "a\\x1b]0;owned\\x07b.png");
    EXPECT_EQ(printable("line\nbreak\r\t\x7f"), "line\\x0abreak\\x0d\\x09\\x7f");
    EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
    EXPECT_EQ(printable("back\\slash"), "back\\\\slash");  // "\\x1b" stays apart from ESC
    EXPECT_EQ(printable("\xc2\x9b"
                        "31m"),
              "\\xc2\\x9b"
              "31m");  // C1 CSI, as UTF-8
    EXPECT_EQ(printable("\x9b"
                        "31m"),
              "\\x9b"
              "31m");                                     // C1 CSI, a bare byte
    EXPECT_EQ(printable("caf\xe9.png"), "caf\\xe9.png");  // Latin-1, not UTF-8
    EXPECT_EQ(printable("\xe2\x80\xae"
                        "gnp.exe"),
              "\\xe2\\x80\\xae"
              "gnp.exe");                            // bidi
    EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");  // an overlong '/'
    EXPECT_EQ(printable("\xe6\x97"), "\\xe6\\x97");  // cut short
    EXPECT_EQ(printable(""), "");
}

}  // namespace
}  // namespace tessera
