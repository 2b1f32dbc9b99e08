#include "benchdist/cli/original_syntax.hpp"

#include "parse_args.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace {

namespace cli = benchdist::cli;
using ::testing::HasSubstr;

using benchdist::testing::usage_error;
void parse(CLI::App& app, const std::vector<std::string>& args) { benchdist::testing::parse_args(app, args); }

}  // namespace

TEST(BoolValue, TheOriginalsWordsInAnyCase) {
    for (const char* t : {"1", "true", "yes", "on", "TRUE", "Yes", "oN"})
        EXPECT_EQ(cli::parse_bool_value(t), true) << t;
    for (const char* f : {"0", "false", "no", "off", "FALSE", "No", "OFF"})
        EXPECT_EQ(cli::parse_bool_value(f), false) << f;
    // CLI11's own bool conversion would take all of these.
    for (const char* bad : {"", "2", "-1", "t", "y", "enable", "disable", "+", "truee", " true", "on "})
        EXPECT_EQ(cli::parse_bool_value(bad), std::nullopt) << '`' << bad << '`';
}

// A tool with one bool flag, an option after it and, like bench-dist-control
// and bench-dist-generator, subcommands.
struct Tool {
    CLI::App app;
    bool verify = false;
    int port = 0;
    CLI::App* status = nullptr;
    Tool() {
        cli::add_bool_flag(app, "--verify", verify, "Check");
        app.add_option("--port", port);
        status = app.add_subcommand("status");
    }
};

TEST(BoolFlag, AloneMeansTrueAndAbsentKeepsTheDefault) {
    Tool t;
    parse(t.app, {});
    EXPECT_FALSE(t.verify);
    Tool u;
    parse(u.app, {"--verify"});
    EXPECT_TRUE(u.verify);
    Tool w;
    w.verify = true;
    parse(w.app, {"--port", "1"});
    EXPECT_TRUE(w.verify);
}

// The original's DEVELOP.md writes `--verify 1`; CLI11's add_flag refused
// the `1` ("The following argument was not expected").
TEST(BoolFlag, TakesTheNextArgumentAsItsValue) {
    for (const auto& [word, expected] : std::vector<std::pair<std::string, bool>>{{"1", true},
                                                                                  {"true", true},
                                                                                  {"yes", true},
                                                                                  {"ON", true},
                                                                                  {"0", false},
                                                                                  {"false", false},
                                                                                  {"No", false},
                                                                                  {"off", false}}) {
        Tool t;
        t.verify = !expected;
        parse(t.app, {"--verify", word, "--port", "8080"});
        EXPECT_EQ(t.verify, expected) << word;
        EXPECT_EQ(t.port, 8080) << word;
    }
}

TEST(BoolFlag, TakesAnEqualsValue) {
    Tool t;
    t.verify = true;
    parse(t.app, {"--verify=false"});
    EXPECT_FALSE(t.verify);
    Tool u;
    parse(u.app, {"--verify=Yes"});
    EXPECT_TRUE(u.verify);
}

TEST(BoolFlag, DoesNotTakeAnOptionOrASubcommandAsItsValue) {
    Tool t;
    parse(t.app, {"--verify", "--port", "8080"});
    EXPECT_TRUE(t.verify);
    EXPECT_EQ(t.port, 8080);
    Tool u;
    parse(u.app, {"--verify", "status"});
    EXPECT_TRUE(u.verify);
    EXPECT_TRUE(u.status->parsed());
}

TEST(BoolFlag, AnyOtherValueIsAUsageErrorNamingTheFlagAndTheValues) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--verify", "maybe"}, {"--verify=2"}, {"--verify", "enable"}, {"--verify", "-1"}}) {
        Tool t;
        const auto message = usage_error(t.app, args);
        EXPECT_THAT(message, HasSubstr("--verify"));
        EXPECT_THAT(message, HasSubstr("1, true, yes, on, 0, false, no, off"));
    }
}

TEST(BoolFlag, TheLastOneWins) {
    Tool t;
    parse(t.app, {"--verify", "--verify", "off"});
    EXPECT_FALSE(t.verify);
    Tool u;
    parse(u.app, {"--verify", "0", "--verify"});
    EXPECT_TRUE(u.verify);
}

// The help shows the flag as taking an optional value and says which.
TEST(BoolFlag, HelpNamesTheAcceptedValues) {
    Tool t;
    const auto help = t.app.help();
    EXPECT_THAT(help, HasSubstr("--verify [BOOL]"));
    EXPECT_THAT(help, HasSubstr("1, true, yes, on, 0, false, no or off"));
}

// `bench-dist-control status --json`: the app's flag, found through a
// subcommand that falls through to it, still takes its optional value.
TEST(BoolFlag, WorksThroughAFallthroughSubcommand) {
    CLI::App app;
    app.fallthrough();
    bool json = false;
    cli::add_bool_flag(app, "--json", json, "JSON");
    auto* status = app.add_subcommand("status");
    parse(app, {"status", "--json"});
    EXPECT_TRUE(json);
    EXPECT_TRUE(status->parsed());
    CLI::App again;
    again.fallthrough();
    bool json2 = true;
    cli::add_bool_flag(again, "--json", json2, "JSON");
    again.add_subcommand("status");
    parse(again, {"status", "--json", "no"});
    EXPECT_FALSE(json2);
}

std::vector<std::string> after_skipping(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int argc = cli::skip_bare_double_dashes(static_cast<int>(args.size()), argv.data());
    EXPECT_EQ(argv[static_cast<std::size_t>(argc)], nullptr);
    return {argv.begin(), argv.begin() + argc};
}

TEST(BareDoubleDash, EveryOneIsSkipped) {
    using V = std::vector<std::string>;
    EXPECT_EQ(after_skipping({"tool", "--", "--test", "test-1"}), (V{"tool", "--test", "test-1"}));
    EXPECT_EQ(after_skipping({"tool", "status", "--", "--json", "--"}), (V{"tool", "status", "--json"}));
    EXPECT_EQ(after_skipping({"tool"}), (V{"tool"}));
    // argv[0] is the program, whatever it is called.
    EXPECT_EQ(after_skipping({"--", "--"}), (V{"--"}));
}

TEST(BareDoubleDash, AnythingElseStays) {
    using V = std::vector<std::string>;
    const V args{"tool", "-", "---", "--=", "--x", "x--", "", "-- "};
    EXPECT_EQ(after_skipping(args), args);
}

// Through CLI11: `--` before the flags would otherwise make every later
// argument a positional, which our tools do not have.
TEST(BareDoubleDash, LetsTheFlagsAfterItParse) {
    std::vector<std::string> args{"tool", "--", "--verify", "1", "--port", "8080"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    Tool t;
    EXPECT_THROW(t.app.parse(static_cast<int>(args.size()), argv.data()), CLI::ParseError);
    Tool u;
    const int argc = cli::skip_bare_double_dashes(static_cast<int>(args.size()), argv.data());
    u.app.parse(argc, argv.data());
    EXPECT_TRUE(u.verify);
    EXPECT_EQ(u.port, 8080);
}
