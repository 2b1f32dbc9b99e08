#include "benchdist/stats/threshold.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace stats = benchdist::stats;
using stats::Comparison;
using stats::MetricValues;
using stats::parse_threshold;
using ::testing::HasSubstr;

constexpr std::string_view kKnown =
    "known: tps, p50, p90, p99, p999, max, mean, errors, errorRatio, clientServerRatio, committed, attempted";

// The ThresholdSyntaxError parsing `text` throws; fails the test when it
// parses or throws something else.
stats::ThresholdSyntaxError syntax_error(std::string_view text) {
    try {
        const auto t = parse_threshold(text);
        ADD_FAILURE() << "\"" << text << "\" parsed as " << t.metric << " " << stats::comparison_symbol(t.op) << " "
                      << t.value << t.unit;
    } catch (const stats::ThresholdSyntaxError& e) {
        return e;
    }
    return stats::ThresholdSyntaxError(text, 0, "(parsed)");
}

// ---- parsing -----------------------------------------------------------

TEST(ThresholdParse, EveryOperator) {
    const std::vector<std::pair<std::string, Comparison>> cases{
        {"tps<1", Comparison::Less},          {"tps<=1", Comparison::LessEqual}, {"tps>1", Comparison::Greater},
        {"tps>=1", Comparison::GreaterEqual}, {"tps==1", Comparison::Equal},     {"tps!=1", Comparison::NotEqual},
    };
    for (const auto& [text, op] : cases) {
        const auto t = parse_threshold(text);
        EXPECT_EQ(t.op, op) << text;
        EXPECT_EQ(t.metric, "tps") << text;
        EXPECT_EQ(t.value, 1.0) << text;
        EXPECT_EQ(std::string(stats::comparison_symbol(t.op)), text.substr(3, text.size() - 4)) << text;
    }
}

TEST(ThresholdParse, LatencyUnitsNormaliseToMicroseconds) {
    EXPECT_EQ(parse_threshold("p99<=20ms").value, 20000.0);
    EXPECT_EQ(parse_threshold("p99<=20ms").unit, "ms");
    EXPECT_EQ(parse_threshold("p50<250us").value, 250.0);
    EXPECT_EQ(parse_threshold("p50<250us").unit, "us");
    EXPECT_EQ(parse_threshold("max<2s").value, 2e6);
    EXPECT_EQ(parse_threshold("max<2s").unit, "s");
    // A bare number is milliseconds, as in k6.
    const auto bare = parse_threshold("p90<5");
    EXPECT_EQ(bare.value, 5000.0);
    EXPECT_EQ(bare.unit, "ms");
    // Scaled in decimal, not by multiplying a rounded double: 1.001 * 1e6
    // is 1000999.9999999999, and 1.001s must mean exactly 1001000 us.
    EXPECT_EQ(parse_threshold("mean<=1.001s").value, 1001000.0);
    EXPECT_EQ(parse_threshold("p999<=1.003ms").value, 1003.0);
    EXPECT_EQ(parse_threshold("p99<=1.5e1ms").value, 15000.0);
    EXPECT_EQ(parse_threshold("p99<=25E-3s").value, 25000.0);
    EXPECT_EQ(parse_threshold("p99<=2e+1").value, 20000.0);
}

TEST(ThresholdParse, EveryLatencyMetric) {
    for (const char* m : {"p50", "p90", "p99", "p999", "max", "mean"}) {
        const auto t = parse_threshold(std::string(m) + "<1s");
        EXPECT_EQ(t.metric, m);
        EXPECT_EQ(t.value, 1e6) << m;
    }
}

TEST(ThresholdParse, RatiosAsFractionOrPercent) {
    const auto fraction = parse_threshold("clientServerRatio>=0.99");
    EXPECT_EQ(fraction.value, 0.99);
    EXPECT_EQ(fraction.unit, "");
    const auto percent = parse_threshold("clientServerRatio>=99%");
    EXPECT_EQ(percent.value, 0.99);  // the double nearest 0.99, the same as the fraction
    EXPECT_EQ(percent.unit, "%");
    EXPECT_EQ(parse_threshold("errorRatio<0.1%").value, 0.001);
    EXPECT_EQ(parse_threshold("errorRatio<99.1%").value, 0.991);
    EXPECT_EQ(parse_threshold("errorRatio<0.7%").value, 0.007);  // 0.7 / 100 is not the double nearest 0.007
}

TEST(ThresholdParse, CountsAndTpsTakePlainNumbers) {
    const auto e = parse_threshold("errors==0");
    EXPECT_EQ(e.metric, "errors");
    EXPECT_EQ(e.value, 0.0);
    EXPECT_EQ(e.unit, "");
    EXPECT_EQ(parse_threshold("committed>=1e6").value, 1e6);  // a whole number written with an exponent
    EXPECT_EQ(parse_threshold("attempted>2.5e3").value, 2500.0);
    const auto tps = parse_threshold("tps>=100000");
    EXPECT_EQ(tps.value, 100000.0);
    EXPECT_EQ(tps.unit, "");
    EXPECT_EQ(parse_threshold("tps>=1234.5").value, 1234.5);  // a rate need not be whole
}

TEST(ThresholdParse, WhitespaceAroundEveryTokenAndTrimmedText) {
    const auto t = parse_threshold(" \tp99 <= 20 ms \n");
    EXPECT_EQ(t.metric, "p99");
    EXPECT_EQ(t.op, Comparison::LessEqual);
    EXPECT_EQ(t.value, 20000.0);
    EXPECT_EQ(t.unit, "ms");
    EXPECT_EQ(t.text, "p99 <= 20 ms");
    EXPECT_EQ(parse_threshold("errorRatio < 1 %").value, 0.01);
    EXPECT_EQ(parse_threshold("p99<=20ms").text, "p99<=20ms");
}

// ---- syntax errors: each names its position and what was expected --------

TEST(ThresholdSyntax, UnknownMetricListsTheKnownOnes) {
    const auto e = syntax_error("p98<1ms");
    EXPECT_EQ(e.position(), 1u);
    EXPECT_EQ(std::string(e.what()), "threshold \"p98<1ms\" at 1: unknown metric \"p98\"; " + std::string(kKnown));
}

TEST(ThresholdSyntax, MetricNamesAreCaseSensitiveWithAHint) {
    const auto e = syntax_error("P99<1ms");
    EXPECT_EQ(e.position(), 1u);
    EXPECT_THAT(e.what(), HasSubstr("unknown metric \"P99\" (metric names are case-sensitive: p99)"));
    EXPECT_THAT(syntax_error("errorratio<0.1").what(), HasSubstr("case-sensitive: errorRatio"));
}

TEST(ThresholdSyntax, MissingMetric) {
    const auto empty = syntax_error("");
    EXPECT_EQ(empty.position(), 1u);
    EXPECT_EQ(std::string(empty.what()), "threshold \"\" at 1: expected a metric, got the end; " + std::string(kKnown));
    const auto blank = syntax_error("   ");
    EXPECT_EQ(std::string(blank.what()), std::string(empty.what()));
    const auto op_first = syntax_error("<=20ms");
    EXPECT_EQ(op_first.position(), 1u);
    EXPECT_THAT(op_first.what(), HasSubstr("expected a metric, got \"<=20ms\""));
}

TEST(ThresholdSyntax, MissingOrWrongComparison) {
    const auto none = syntax_error("p99 20ms");
    EXPECT_EQ(none.position(), 5u);
    EXPECT_EQ(std::string(none.what()),
              "threshold \"p99 20ms\" at 5: expected a comparison (<, <=, >, >=, ==, !=) after p99, got \"20ms\"");
    const auto single_equals = syntax_error("errors=0");
    EXPECT_EQ(single_equals.position(), 7u);
    EXPECT_THAT(single_equals.what(), HasSubstr("got \"=0\"; equality is =="));
    EXPECT_EQ(syntax_error("tps=>1").position(), 4u);
    EXPECT_EQ(syntax_error("tps").position(), 4u);
    EXPECT_THAT(syntax_error("tps").what(), HasSubstr("after tps, got the end"));
}

TEST(ThresholdSyntax, MissingNumber) {
    const auto end = syntax_error("p99<=");
    EXPECT_EQ(end.position(), 6u);
    EXPECT_EQ(std::string(end.what()), "threshold \"p99<=\" at 6: expected a number, got the end");
    const auto unit_only = syntax_error("p99<=ms");
    EXPECT_EQ(unit_only.position(), 6u);
    EXPECT_THAT(unit_only.what(), HasSubstr("expected a number, got \"ms\""));
    // "< =" is "<" followed by a stray "=".
    EXPECT_EQ(syntax_error("p99< =1").position(), 6u);
    // A number starts with a digit.
    EXPECT_EQ(syntax_error("p99<.5ms").position(), 5u);
}

TEST(ThresholdSyntax, NoSignOnAnyNumber) {
    const auto minus = syntax_error("p99>-1ms");
    EXPECT_EQ(minus.position(), 5u);
    EXPECT_EQ(std::string(minus.what()),
              "threshold \"p99>-1ms\" at 5: expected a number without a sign (p99 is never negative, so no "
              "threshold needs one), got \"-1ms\"");
    EXPECT_EQ(syntax_error("tps>=+5").position(), 6u);
    EXPECT_EQ(syntax_error("clientServerRatio>-0.5").position(), 19u);
}

TEST(ThresholdSyntax, MalformedNumbers) {
    const auto point = syntax_error("p99<=1.ms");
    EXPECT_EQ(point.position(), 8u);
    EXPECT_THAT(point.what(), HasSubstr("expected a digit after the decimal point, got \"ms\""));
    EXPECT_EQ(syntax_error("p99<=1.").position(), 8u);
    const auto exponent = syntax_error("tps>1e");
    EXPECT_EQ(exponent.position(), 7u);
    EXPECT_THAT(exponent.what(), HasSubstr("expected a digit in the exponent, got the end"));
    EXPECT_EQ(syntax_error("tps>1e-x").position(), 8u);
}

TEST(ThresholdSyntax, NumbersOutOfRange) {
    const auto big = syntax_error("tps>1e400");
    EXPECT_EQ(big.position(), 5u);
    EXPECT_THAT(big.what(), HasSubstr("number 1e400 is out of range"));
    // In range as written, out of range once seconds become microseconds.
    EXPECT_EQ(syntax_error("p99<1e305s").position(), 5u);
    // An exponent too long for any integer type still ends in this message.
    EXPECT_THAT(syntax_error("tps>1e99999999999999999999999").what(), HasSubstr("out of range"));
    EXPECT_EQ(syntax_error("tps>1e-400").position(), 5u);
}

TEST(ThresholdSyntax, UnknownLatencyUnit) {
    const auto e = syntax_error("p99<=20xs");
    EXPECT_EQ(e.position(), 8u);
    EXPECT_EQ(std::string(e.what()), "threshold \"p99<=20xs\" at 8: unknown unit \"xs\" for p99 (use us, ms or s)");
    EXPECT_THAT(syntax_error("p99<=20µs").what(), HasSubstr("unknown unit \"µs\""));
    EXPECT_EQ(syntax_error("mean<1 min").position(), 8u);
    EXPECT_EQ(syntax_error("p50<1MS").position(), 6u);  // units are case-sensitive too
    EXPECT_EQ(syntax_error("p50<1%").position(), 6u);
}

TEST(ThresholdSyntax, UnitsOnRatiosCountsAndTps) {
    const auto ratio = syntax_error("errorRatio<1ms");
    EXPECT_EQ(ratio.position(), 13u);
    EXPECT_THAT(ratio.what(), HasSubstr("unknown unit \"ms\" for errorRatio (write a fraction without a unit, or a "
                                        "percentage with %)"));
    const auto count = syntax_error("errors<1%");
    EXPECT_EQ(count.position(), 9u);
    EXPECT_THAT(count.what(), HasSubstr("unknown unit \"%\" for errors (a count takes no unit; for a share of the "
                                        "attempted calls use errorRatio)"));
    EXPECT_THAT(syntax_error("committed>1k").what(), HasSubstr("unknown unit \"k\" for committed (a count takes no "
                                                               "unit)"));
    const auto tps = syntax_error("tps>=100k");
    EXPECT_EQ(tps.position(), 9u);
    EXPECT_THAT(tps.what(), HasSubstr("(transfers per second take no unit)"));
}

TEST(ThresholdSyntax, CountsTakeWholeNumbers) {
    const auto e = syntax_error("errors<=0.01");
    EXPECT_EQ(e.position(), 9u);
    EXPECT_EQ(std::string(e.what()),
              "threshold \"errors<=0.01\" at 9: expected a whole number for errors (a count), got 0.01; for a share "
              "of the attempted calls use errorRatio");
    EXPECT_EQ(syntax_error("attempted>1e-1").position(), 11u);
    EXPECT_THAT(syntax_error("committed>2.5").what(), HasSubstr("whole number for committed (a count), got 2.5"));
}

TEST(ThresholdSyntax, TrailingText) {
    const auto e = syntax_error("p99<=20ms and more");
    EXPECT_EQ(e.position(), 11u);
    EXPECT_THAT(e.what(), HasSubstr("expected the end of the threshold, got \"and\""));
    EXPECT_EQ(syntax_error("tps>=100 000").position(), 10u);
    EXPECT_EQ(syntax_error("tps>=1/s").position(), 7u);
    EXPECT_EQ(syntax_error("p99<=1<=2").position(), 7u);
}

TEST(ThresholdSyntax, PositionsCountFromTheTrimmedText) {
    const auto e = syntax_error("   p99<=20xs  ");
    EXPECT_EQ(e.position(), 8u);
    EXPECT_THAT(e.what(), HasSubstr("threshold \"p99<=20xs\" at 8:"));
}

TEST(ThresholdSyntax, IsAnInvalidArgument) { EXPECT_THROW(parse_threshold("nope"), std::invalid_argument); }

// ---- evaluation ----------------------------------------------------------

stats::ThresholdOutcome eval(std::string_view text, const MetricValues& values) {
    return stats::evaluate(parse_threshold(text), values);
}

TEST(ThresholdEvaluate, EveryOperatorBelowAtAndAboveTheBound) {
    // observed 10 against a bound of 10 (ms -> us) and its neighbours.
    const struct {
        std::string op;
        bool below, at, above;
    } cases[] = {
        {"<", true, false, false}, {"<=", true, true, false},  {">", false, false, true},
        {">=", false, true, true}, {"==", false, true, false}, {"!=", true, false, true},
    };
    for (const auto& c : cases) {
        const std::string text = "p99" + c.op + "10ms";
        MetricValues v;
        v.p99 = 9999;
        EXPECT_EQ(eval(text, v).passed, c.below) << text << " below";
        v.p99 = 10000;
        EXPECT_EQ(eval(text, v).passed, c.at) << text << " at";
        v.p99 = 10001;
        EXPECT_EQ(eval(text, v).passed, c.above) << text << " above";
    }
}

TEST(ThresholdEvaluate, ObservedIsShownInTheUnitTheUserWrote) {
    MetricValues v;
    v.p99 = 12345;  // us
    const auto ms = eval("p99<=20ms", v);
    EXPECT_TRUE(ms.passed);
    EXPECT_EQ(ms.observed, 12.345);
    EXPECT_EQ(ms.unit, "ms");
    EXPECT_EQ(ms.message, "p99<=20ms passed: observed 12.345ms");
    EXPECT_EQ(eval("p99<=20", v).observed, 12.345);  // bare means ms
    EXPECT_EQ(eval("p99<=20000us", v).observed, 12345.0);
    EXPECT_EQ(eval("p99<=1s", v).observed, 0.012345);

    v.error_ratio = 0.007;
    const auto percent = eval("errorRatio<0.5%", v);
    EXPECT_FALSE(percent.passed);
    EXPECT_EQ(percent.observed, 0.7);  // not 0.007 * 100 = 0.7000000000000001
    EXPECT_EQ(percent.message, "errorRatio<0.5% failed: observed 0.7%");

    v.client_server_ratio = 0.991;
    EXPECT_EQ(eval("clientServerRatio>=0.99", v).observed, 0.991);
    EXPECT_TRUE(eval("clientServerRatio>=0.99", v).passed);
    EXPECT_TRUE(eval("clientServerRatio>=99.1%", v).passed);  // 99.1% and the observed 0.991 are the same double
}

TEST(ThresholdEvaluate, EqualityOnCountsIsExact) {
    MetricValues v;
    v.errors = 0;
    EXPECT_TRUE(eval("errors==0", v).passed);
    v.errors = 1;
    EXPECT_FALSE(eval("errors==0", v).passed);
    EXPECT_EQ(eval("errors==0", v).message, "errors==0 failed: observed 1");
    // Whole numbers up to 2^53 are exact doubles: one more or less is seen.
    v.committed = 9007199254740991.0;  // 2^53 - 1
    EXPECT_TRUE(eval("committed==9007199254740991", v).passed);
    EXPECT_FALSE(eval("committed==9007199254740990", v).passed);
    EXPECT_TRUE(eval("committed!=9007199254740990", v).passed);
}

// Each metric reads its own field: a threshold on one metric sees only the
// value set for it (100 everywhere else would make a wrong mapping pass).
TEST(ThresholdEvaluate, EveryMetricReadsItsOwnField) {
    const std::vector<std::pair<std::string, std::optional<double> MetricValues::*>> metrics{
        {"tps", &MetricValues::tps},
        {"p50", &MetricValues::p50},
        {"p90", &MetricValues::p90},
        {"p99", &MetricValues::p99},
        {"p999", &MetricValues::p999},
        {"max", &MetricValues::max},
        {"mean", &MetricValues::mean},
        {"errors", &MetricValues::errors},
        {"errorRatio", &MetricValues::error_ratio},
        {"clientServerRatio", &MetricValues::client_server_ratio},
        {"committed", &MetricValues::committed},
        {"attempted", &MetricValues::attempted},
    };
    for (const auto& [name, field] : metrics) {
        MetricValues v;
        for (const auto& [other, other_field] : metrics) v.*other_field = 100.0;
        v.*field = 7.0;
        const std::string unit = name.starts_with('p') || name == "max" || name == "mean" ? "us" : "";
        const auto outcome = eval(name + "==7" + unit, v);
        EXPECT_TRUE(outcome.passed) << name << ": " << outcome.message;
        EXPECT_EQ(outcome.observed, 7.0) << name;
        EXPECT_EQ(outcome.metric, name);
    }
}

TEST(ThresholdEvaluate, AMissingMetricFailsAndSaysWhy) {
    const MetricValues nothing;
    const auto latency = eval("p99<=20ms", nothing);
    EXPECT_FALSE(latency.passed);
    EXPECT_EQ(latency.observed, std::nullopt);
    EXPECT_EQ(latency.message,
              "p99<=20ms could not be evaluated: the result has no p99 (it has none when no generator sent latency "
              "for the window); a threshold that cannot be checked counts as failed, so a broken measurement "
              "cannot pass");
    // A threshold that would pass on any value still fails without one.
    const auto ratio = eval("clientServerRatio>=0", nothing);
    EXPECT_FALSE(ratio.passed);
    EXPECT_THAT(ratio.message, HasSubstr("the server's committed delta is 0 or unknown"));
    EXPECT_FALSE(eval("tps!=0", nothing).passed);
    EXPECT_THAT(eval("tps!=0", nothing).message, HasSubstr("the server's counter was not read"));
    EXPECT_FALSE(eval("errors>=0", nothing).passed);

    MetricValues nan;
    nan.mean = std::numeric_limits<double>::quiet_NaN();
    const auto mean = eval("mean!=1ms", nan);  // NaN != x is true; it must not pass
    EXPECT_FALSE(mean.passed);
    EXPECT_EQ(mean.observed, std::nullopt);
}

TEST(ThresholdEvaluate, AHandBuiltThresholdOnAnUnknownMetricFails) {
    stats::Threshold t{.metric = "p98", .op = Comparison::GreaterEqual, .value = 0, .unit = "", .text = "p98>=0"};
    const auto outcome = stats::evaluate(t, MetricValues{.p99 = 1});
    EXPECT_FALSE(outcome.passed);
    EXPECT_THAT(outcome.message, HasSubstr("p98>=0 could not be evaluated: unknown metric \"p98\"; known: tps"));
}

TEST(ThresholdJson, PassedFailedAndMissing) {
    MetricValues v;
    v.p99 = 25100;
    EXPECT_EQ(stats::to_json(eval(" p99 <= 20ms ", v)).dump(),
              R"({"threshold":"p99 <= 20ms","metric":"p99","observed":25.1,"unit":"ms","passed":false})");
    v.errors = 0;
    EXPECT_EQ(stats::to_json(eval("errors==0", v)).dump(),
              R"({"threshold":"errors==0","metric":"errors","observed":0.0,"unit":"","passed":true})");
    EXPECT_EQ(stats::to_json(eval("tps>=1", v)).dump(),
              R"({"threshold":"tps>=1","metric":"tps","observed":null,"unit":"","passed":false})");
}

}  // namespace
