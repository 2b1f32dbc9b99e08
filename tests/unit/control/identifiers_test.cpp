// The rules for generator ids, host names and labels (control/identifiers.hpp).
#include "benchdist/control/identifiers.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace benchdist::control;
using ::testing::HasSubstr;

namespace {

bool printable_ascii(const std::string& s) {
    for (const char c : s)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

TEST(GeneratorIdRule, TakesTheOriginalsDefaultAndTheUsualSpellings) {
    // `<os hostname>-<pid>`, as the original harness's generator names itself.
    for (const char* id :
         {"gen-a", "load1.internal-4242", "ip-10-0-0-5.ec2.internal-17", "user@host:2", "a", "A_b.C-9"})
        EXPECT_EQ(name_problem(NameKind::GeneratorId, id), "") << id;
    EXPECT_EQ(name_problem(NameKind::GeneratorId, std::string(kMaxGeneratorIdBytes, 'x')), "");
}

TEST(GeneratorIdRule, RefusesControlBytesSeparatorsAndLengthNamingTheRule) {
    for (const auto& id : std::vector<std::string>{std::string("gen-a\nepoch=1 verification=passed"),
                                                   std::string("gen\x1b[31m"), std::string("gen\0a", 5),
                                                   std::string("gen\r"), std::string("a,b"), std::string("a b"),
                                                   std::string("a/b"), std::string("\"a\""), std::string("gen\xC3\xA9"),
                                                   std::string(""), std::string(kMaxGeneratorIdBytes + 1, 'x')}) {
        const auto problem = name_problem(NameKind::GeneratorId, id);
        EXPECT_THAT(problem, HasSubstr("is not a valid generator id")) << id;
        EXPECT_THAT(problem, HasSubstr("1 to 128 bytes of A-Z a-z 0-9 . _ : @ -")) << id;
        // The value is quoted, but never raw.
        EXPECT_TRUE(printable_ascii(problem)) << problem;
    }
    EXPECT_THAT(name_problem(NameKind::GeneratorId, "gen-a\nx"), HasSubstr("byte 6 is \\x0A"));
    EXPECT_THAT(name_problem(NameKind::GeneratorId, "a b"), HasSubstr("byte 2 is \\x20"));
    EXPECT_THAT(name_problem(NameKind::GeneratorId, "a,b"), HasSubstr("byte 2 is ','"));
    EXPECT_THAT(name_problem(NameKind::GeneratorId, ""), HasSubstr("it is empty"));
}

TEST(GeneratorIdRule, AMegabyteIdIsNamedByItsLengthNotRepeated) {
    const std::string huge(1 << 20, 'a');
    const auto problem = name_problem(NameKind::GeneratorId, huge);
    EXPECT_THAT(problem, HasSubstr("it is 1048576 bytes long"));
    EXPECT_LT(problem.size(), 300u);
}

TEST(HostnameRule, IsDnsLikeAndLonger) {
    for (const char* h : {"load1", "ip-10-0-0-5.ec2.internal", "my_host", "::1", "10.0.0.5"})
        EXPECT_EQ(name_problem(NameKind::Hostname, h), "") << h;
    EXPECT_EQ(name_problem(NameKind::Hostname, std::string(kMaxHostnameBytes, 'h')), "");
    EXPECT_THAT(name_problem(NameKind::Hostname, std::string(kMaxHostnameBytes + 1, 'h')),
                HasSubstr("is not a valid host name: it is 256 bytes long"));
    // '@' belongs to ids ("user@host"), not to host names.
    EXPECT_THAT(name_problem(NameKind::Hostname, "user@host"), HasSubstr("byte 5 is '@'"));
    EXPECT_THAT(name_problem(NameKind::Hostname, "h\n"), HasSubstr("1 to 255 bytes of A-Z a-z 0-9 . _ : -"));
    EXPECT_THAT(name_problem(NameKind::Hostname, ""), HasSubstr("it is empty"));
}

TEST(LabelRule, TakesTextWithoutControlCharacters) {
    for (const char* label : {"", "run-1", "baseline, 4 generators (v2)",
                              "\xC3\xBC"
                              "ber-run",
                              "\"quoted\" \\ slash"})
        EXPECT_EQ(label_problem(label), "") << label;
    EXPECT_EQ(label_problem(std::string(kMaxLabelBytes, 'l')), "");
}

TEST(LabelRule, RefusesControlCharactersInvalidUtf8AndLength) {
    EXPECT_THAT(label_problem("run\n1"), HasSubstr("holds a control character (byte 4)"));
    EXPECT_THAT(label_problem("run\x1b[2J"), HasSubstr("holds a control character"));
    EXPECT_THAT(label_problem(std::string("a\0b", 3)), HasSubstr("holds a control character"));
    EXPECT_THAT(label_problem("a\x7f"), HasSubstr("holds a control character"));
    EXPECT_THAT(label_problem("a\xC2\x9B"
                              "31m"),
                HasSubstr("holds a control character"));               // C1 CSI
    EXPECT_THAT(label_problem("caf\xE9"), HasSubstr("is not UTF-8"));  // Latin-1
    EXPECT_THAT(label_problem(std::string(kMaxLabelBytes + 1, 'l')), HasSubstr("is 257 bytes long"));
    EXPECT_TRUE(printable_ascii(label_problem("run\x1b[2J")));
}

TEST(NameRule, WordsForHelpTexts) {
    EXPECT_EQ(name_rule(NameKind::GeneratorId), "1 to 128 bytes of A-Z a-z 0-9 . _ : @ -");
    EXPECT_EQ(name_rule(NameKind::Hostname), "1 to 255 bytes of A-Z a-z 0-9 . _ : -");
}

}  // namespace
