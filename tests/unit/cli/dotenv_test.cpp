#include "benchdist/cli/dotenv.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace cli = benchdist::cli;
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs entries_of(const cli::DotenvParse& p) {
    Pairs out;
    for (const auto& e : p.entries) out.emplace_back(e.key, e.value);
    return out;
}

// The lines with a problem, in order.
std::vector<std::size_t> problem_lines(const cli::DotenvParse& p) {
    std::vector<std::size_t> out;
    for (const auto& problem : p.problems) out.push_back(problem.line);
    return out;
}

TEST(DotenvParse, KeyValueLinesWithWhitespaceTrimmed) {
    const auto p = cli::parse_dotenv("STDB_URL=ws://db:3000\n  STDB_MODULE =  bank  \nSEED_ACCOUNTS=\t100\t\n");
    EXPECT_EQ(entries_of(p), (Pairs{{"STDB_URL", "ws://db:3000"}, {"STDB_MODULE", "bank"}, {"SEED_ACCOUNTS", "100"}}));
    EXPECT_THAT(p.problems, IsEmpty());
}

TEST(DotenvParse, CommentsBlankLinesAndExport) {
    const auto p = cli::parse_dotenv(
        "# the server\n"
        "\n"
        "   \t\n"
        "  # indented comment\n"
        "export STDB_URL=ws://db:3000\n"
        "export\tSTDB_MODULE=bank\n"
        "exported=1\n");
    EXPECT_EQ(entries_of(p), (Pairs{{"STDB_URL", "ws://db:3000"}, {"STDB_MODULE", "bank"}, {"exported", "1"}}));
    ASSERT_EQ(p.entries.size(), 3u);
    EXPECT_EQ(p.entries[0].line, 5u);
    EXPECT_EQ(p.entries[2].line, 7u);
    EXPECT_THAT(p.problems, IsEmpty());
}

// As dotenv: '#' ends an unquoted value wherever it is; quote a value with one.
TEST(DotenvParse, TrailingCommentAfterAnUnquotedValue) {
    const auto p = cli::parse_dotenv("A=value # a comment\nB=x#y\nC=# only a comment\nD=\n");
    EXPECT_EQ(entries_of(p), (Pairs{{"A", "value"}, {"B", "x"}, {"C", ""}, {"D", ""}}));
    EXPECT_THAT(p.problems, IsEmpty());
}

TEST(DotenvParse, SingleQuotesTakeTheValueAsIs) {
    const auto p = cli::parse_dotenv("A='  spaced # not a comment \\n '\nB=  'x' # comment\nC=''\n");
    EXPECT_EQ(entries_of(p), (Pairs{{"A", "  spaced # not a comment \\n "}, {"B", "x"}, {"C", ""}}));
    EXPECT_THAT(p.problems, IsEmpty());
}

TEST(DotenvParse, DoubleQuotesExpandNewlineQuoteAndBackslash) {
    const auto p = cli::parse_dotenv(
        "A=\"line one\\nline two\"\n"
        "B=\"say \\\"hi\\\" # still the value\"   # comment\n"
        "C=\"back\\\\slash \\t kept\"\n"
        "D=\"\"\n");
    EXPECT_EQ(entries_of(p), (Pairs{{"A", "line one\nline two"},
                                    {"B", "say \"hi\" # still the value"},
                                    {"C", "back\\slash \\t kept"},
                                    {"D", ""}}));
    EXPECT_THAT(p.problems, IsEmpty());
}

TEST(DotenvParse, CrlfLinesAndAByteOrderMark) {
    const auto p = cli::parse_dotenv(
        "\xEF\xBB\xBF"
        "A=1\r\nB=\"two\"\r\n# c\r\nC=3");
    EXPECT_EQ(entries_of(p), (Pairs{{"A", "1"}, {"B", "two"}, {"C", "3"}}));
    EXPECT_THAT(p.problems, IsEmpty());
}

TEST(DotenvParse, RepeatedKeysAreAllKeptInOrder) {
    const auto p = cli::parse_dotenv("A=1\nA=2\n");
    EXPECT_EQ(entries_of(p), (Pairs{{"A", "1"}, {"A", "2"}}));
}

// Each malformed line is reported with its number and skipped; the lines
// around it still count.
TEST(DotenvParse, MalformedLinesAreReportedAndSkipped) {
    const std::string text = std::string(
                                 "GOOD=1\n"                 // 1
                                 "no equals sign here\n"    // 2
                                 "1BAD=x\n"                 // 3
                                 "BAD-KEY=x\n"              // 4
                                 "=value\n"                 // 5
                                 "A=\"unterminated\n"       // 6
                                 "B='unterminated\n"        // 7
                                 "C=\"closed\" trailing\n"  // 8
                                 "D='closed' trailing\n"    // 9
                                 "export =x\n") +           // 10
                             std::string("E=x\0y\n", 6) +   // 11: a NUL byte
                             "ALSO_GOOD=2\n";               // 12
    const auto p = cli::parse_dotenv(text);
    EXPECT_EQ(entries_of(p), (Pairs{{"GOOD", "1"}, {"ALSO_GOOD", "2"}}));
    EXPECT_THAT(problem_lines(p), ElementsAre(2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
    EXPECT_THAT(p.problems[0].what, HasSubstr("KEY=VALUE"));
    EXPECT_THAT(p.problems[1].what, HasSubstr("[A-Za-z_][A-Za-z0-9_]*"));
    EXPECT_THAT(p.problems[4].what, HasSubstr("no closing double quote"));
    EXPECT_THAT(p.problems[5].what, HasSubstr("no closing single quote"));
    EXPECT_THAT(p.problems[6].what, HasSubstr("after the closing double quote"));
    EXPECT_THAT(p.problems[9].what, HasSubstr("NUL"));
}

// A report may be printed: it names the rule and the key, never the value
// (which may be a token) or the text of a line that did not parse.
TEST(DotenvParse, ProblemsNeverQuoteTheFilesText) {
    const auto p = cli::parse_dotenv(
        "BENCH_DIST_TOKEN=\"s3cr3t-one\n"
        "s3cr3t-two\n"
        "BAD KEY=s3cr3t-three\n"
        "TOKEN='s3cr3t-four' s3cr3t-five\n");
    ASSERT_EQ(p.problems.size(), 4u);
    for (const auto& problem : p.problems) EXPECT_THAT(problem.what, Not(HasSubstr("s3cr3t"))) << problem.what;
    EXPECT_THAT(p.problems[0].what, HasSubstr("BENCH_DIST_TOKEN"));
}

// ---- load_dotenv: the file and the environment ------------------------------

// A private directory and variables that exist only for one test.
class DotenvLoad : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("dotenv_test-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        for (const auto& name : kVariables) ::unsetenv(name);
    }
    void TearDown() override {
        for (const auto& name : kVariables) ::unsetenv(name);
        fs::permissions(dir_, fs::perms::owner_all);
        fs::remove_all(dir_);
    }
    fs::path write(const std::string& name, const std::string& text) {
        const auto path = dir_ / name;
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
    static std::string env(const char* name) {
        const char* v = std::getenv(name);
        return v ? v : "<unset>";
    }

    static constexpr const char* kVariables[] = {"BD_DOTENV_A", "BD_DOTENV_B", "BD_DOTENV_C"};
    fs::path dir_;
};

TEST_F(DotenvLoad, SetsWhatTheEnvironmentLacksAndKeepsWhatItHas) {
    ::setenv("BD_DOTENV_B", "from the environment", 1);
    ::setenv("BD_DOTENV_C", "", 1);  // set, if empty: still the environment's
    const auto load = cli::load_dotenv(write(".env", "BD_DOTENV_A=from file\nBD_DOTENV_B=from file\nBD_DOTENV_C=x\n"));
    EXPECT_EQ(env("BD_DOTENV_A"), "from file");
    EXPECT_EQ(env("BD_DOTENV_B"), "from the environment");
    EXPECT_EQ(env("BD_DOTENV_C"), "");
    EXPECT_THAT(load.set, ElementsAre("BD_DOTENV_A"));
    EXPECT_THAT(load.kept, ElementsAre("BD_DOTENV_B", "BD_DOTENV_C"));
    EXPECT_THAT(load.warnings, IsEmpty());
}

// The last value of a repeated key counts, as in dotenv (a first-come rule
// would let the first line win against the second).
TEST_F(DotenvLoad, TheLastValueOfARepeatedKeyCounts) {
    const auto load = cli::load_dotenv(write(".env", "BD_DOTENV_A=first\nBD_DOTENV_A=second\n"));
    EXPECT_EQ(env("BD_DOTENV_A"), "second");
    EXPECT_THAT(load.set, ElementsAre("BD_DOTENV_A"));
}

TEST_F(DotenvLoad, AMissingFileIsSilent) {
    const auto load = cli::load_dotenv(dir_ / ".env");
    EXPECT_THAT(load.set, IsEmpty());
    EXPECT_THAT(load.warnings, IsEmpty());
}

TEST_F(DotenvLoad, MalformedLinesWarnWithFileAndLineAndTheRestLoads) {
    const auto path = write(".env", "BD_DOTENV_A=1\nnot a line s3cr3t\nBD_DOTENV_B=2\n");
    const auto load = cli::load_dotenv(path);
    EXPECT_EQ(env("BD_DOTENV_A"), "1");
    EXPECT_EQ(env("BD_DOTENV_B"), "2");
    ASSERT_EQ(load.warnings.size(), 1u);
    EXPECT_THAT(load.warnings[0], HasSubstr(path.string() + " line 2: "));
    EXPECT_THAT(load.warnings[0], Not(HasSubstr("s3cr3t")));
}

TEST_F(DotenvLoad, AFileThatCannotBeReadWarnsAndSetsNothing) {
    fs::create_directories(dir_ / "a-directory");
    const auto as_directory = cli::load_dotenv(dir_ / "a-directory");
    ASSERT_EQ(as_directory.warnings.size(), 1u);
    EXPECT_THAT(as_directory.warnings[0], HasSubstr("cannot be read"));

    const auto big = write("big.env", "BD_DOTENV_A=1\n" + std::string((1u << 20) + 1, '#'));
    const auto too_big = cli::load_dotenv(big);
    ASSERT_EQ(too_big.warnings.size(), 1u);
    EXPECT_THAT(too_big.warnings[0], HasSubstr("larger than 1 MiB"));
    EXPECT_EQ(env("BD_DOTENV_A"), "<unset>");

    if (::geteuid() != 0) {  // root reads a file whatever its mode
        const auto locked = write("locked.env", "BD_DOTENV_A=1\n");
        fs::permissions(locked, fs::perms::none);
        const auto unreadable = cli::load_dotenv(locked);
        ASSERT_EQ(unreadable.warnings.size(), 1u);
        EXPECT_THAT(unreadable.warnings[0], HasSubstr("cannot be read"));
        EXPECT_EQ(env("BD_DOTENV_A"), "<unset>");
    }
}

// The path is printed; a control character in it must not reach a terminal raw.
TEST_F(DotenvLoad, WarningsArePrintableAscii) {
    const auto path = write("evil\x1b[31m.env", "oops\n");
    const auto load = cli::load_dotenv(path);
    ASSERT_EQ(load.warnings.size(), 1u);
    EXPECT_THAT(load.warnings[0], HasSubstr("evil\\x1B[31m.env line 1"));
    for (const char c : load.warnings[0]) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c);
}

}  // namespace
