#include "benchdist/cli/threshold_option.hpp"

#include "parse_args.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace {

namespace cli = benchdist::cli;
namespace stats = benchdist::stats;
using benchdist::testing::parse_args;
using benchdist::testing::usage_error;
using ::testing::HasSubstr;

std::vector<std::string> texts(const std::vector<stats::Threshold>& thresholds) {
    std::vector<std::string> out;
    for (const auto& t : thresholds) out.push_back(t.text);
    return out;
}

TEST(ThresholdOption, RepeatableInCommandLineOrder) {
    CLI::App app;
    std::vector<stats::Threshold> thresholds;
    cli::add_threshold_option(app, thresholds);
    parse_args(app, {"--threshold", "p99<=20ms", "--threshold=errors==0", "--threshold", " tps >= 1e5 "});
    ASSERT_EQ(thresholds.size(), 3u);
    EXPECT_EQ(texts(thresholds), (std::vector<std::string>{"p99<=20ms", "errors==0", "tps >= 1e5"}));
    EXPECT_EQ(thresholds[0].metric, "p99");
    EXPECT_EQ(thresholds[0].value, 20000.0);
    EXPECT_EQ(thresholds[2].op, stats::Comparison::GreaterEqual);
    EXPECT_EQ(thresholds[2].value, 100000.0);
}

TEST(ThresholdOption, AbsentLeavesTheVectorAloneGivenReplacesIt) {
    CLI::App absent;
    std::vector<stats::Threshold> kept{stats::parse_threshold("errors==0")};
    cli::add_threshold_option(absent, kept);
    parse_args(absent, {});
    EXPECT_EQ(texts(kept), std::vector<std::string>{"errors==0"});

    CLI::App given;
    std::vector<stats::Threshold> replaced{stats::parse_threshold("errors==0")};
    cli::add_threshold_option(given, replaced);
    parse_args(given, {"--threshold", "p50<5ms"});
    EXPECT_EQ(texts(replaced), std::vector<std::string>{"p50<5ms"});
}

// One expression per flag: the next argument is not swallowed as another
// expression, so a subcommand after --threshold still runs.
TEST(ThresholdOption, TakesOneExpressionPerFlag) {
    CLI::App app;
    std::vector<stats::Threshold> thresholds;
    cli::add_threshold_option(app, thresholds);
    auto* run = app.add_subcommand("run");
    parse_args(app, {"--threshold", "p99<=20ms", "run"});
    EXPECT_EQ(texts(thresholds), std::vector<std::string>{"p99<=20ms"});
    EXPECT_TRUE(run->parsed());

    CLI::App stray;
    std::vector<stats::Threshold> unused;
    cli::add_threshold_option(stray, unused);
    EXPECT_THAT(usage_error(stray, {"--threshold", "p99<=20ms", "errors==0"}), HasSubstr("errors==0"));
}

TEST(ThresholdOption, ABadExpressionIsAUsageErrorWithTheSyntaxMessage) {
    CLI::App app;
    std::vector<stats::Threshold> thresholds;
    cli::add_threshold_option(app, thresholds);
    const std::string message = usage_error(app, {"--threshold", "errors==0", "--threshold", "p99<=20xs"});
    EXPECT_THAT(message, HasSubstr("--threshold"));
    EXPECT_THAT(message, HasSubstr("threshold \"p99<=20xs\" at 8: unknown unit \"xs\" for p99 (use us, ms or s)"));
    EXPECT_TRUE(thresholds.empty());  // nothing half-parsed is kept

    CLI::App unknown;
    cli::add_threshold_option(unknown, thresholds);
    EXPECT_THAT(usage_error(unknown, {"--threshold", "p98<1ms"}),
                HasSubstr("unknown metric \"p98\"; known: tps, p50, p90, p99, p999, max, mean, errors, errorRatio, "
                          "clientServerRatio, committed, attempted"));
}

TEST(ThresholdOption, NeedsAValueAndShowsInHelp) {
    CLI::App app;
    std::vector<stats::Threshold> thresholds;
    cli::add_threshold_option(app, thresholds);
    EXPECT_THAT(usage_error(app, {"--threshold"}), HasSubstr("--threshold"));
    EXPECT_THAT(app.help(), HasSubstr("--threshold EXPR"));
}

}  // namespace
