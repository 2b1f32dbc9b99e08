// text::printable, the one escaping step between outside text and a log
// line or a terminal.
#include "benchdist/text/printable.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using benchdist::text::printable;
using benchdist::text::quoted_excerpt;

TEST(Printable, KeepsPrintableAscii) { EXPECT_EQ(printable("plain text ~ !\"#"), "plain text ~ !\"#"); }

TEST(Printable, EscapesControlBytesDelAndNul) {
    EXPECT_EQ(printable(std::string("a\nb\x7f\0c\r\x1b[31m", 12)), "a\\x0Ab\\x7F\\x00c\\x0D\\x1B[31m");
}

// A forged log line ("...\nverification=passed") stays on its line.
TEST(Printable, ANewlineCannotStartALine) {
    const auto out = printable("gen-a\nepoch=1 verification=passed");
    EXPECT_EQ(out.find('\n'), std::string::npos);
    EXPECT_EQ(out, "gen-a\\x0Aepoch=1 verification=passed");
}

TEST(Printable, EscapesUtf8ByteByByte) { EXPECT_EQ(printable("\xC3\xA9\xC2\x9B"), "\\xC3\\xA9\\xC2\\x9B"); }

// Messages that quote JSON keep their backslashes as they are.
TEST(Printable, KeepsBackslashes) { EXPECT_EQ(printable(R"("\"label\" is bad")"), R"("\"label\" is bad")"); }

TEST(Printable, EveryByteComesOutPrintable) {
    std::string all;
    for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
    for (const char c : printable(all)) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c);
}

TEST(QuotedExcerpt, QuotesShortTextWhole) { EXPECT_EQ(quoted_excerpt("gen\x01"), "\"gen\\x01\""); }

TEST(QuotedExcerpt, CutsLongTextAndSaysHowLong) {
    const std::string big(1 << 20, 'a');
    EXPECT_EQ(quoted_excerpt(big, 4), "\"aaaa\"... (1048576 bytes)");
    EXPECT_LT(quoted_excerpt(big).size(), 100u);
}

}  // namespace
