// The client-side summary of an epoch: which intervals count, how two
// generators merge, and when a warning is written.
#include "benchdist/coordinator/result_summary.hpp"

#include <gtest/gtest.h>

#include "benchdist/stats/interval_recorder.hpp"

using namespace benchdist;
using namespace benchdist::coordinator;
using control::Json;

namespace {

constexpr std::int64_t kT0 = 1775822400000;  // 2026-04-10T12:00:00.000Z, a whole second

// `n` successes of `latency_us` in the second starting at `second_start`.
void succeed(stats::IntervalRecorder& rec, std::int64_t second_start, int n, std::uint64_t latency_us) {
    for (int i = 0; i < n; ++i) rec.record_success(second_start + 100, latency_us);
}

Json report_of(const stats::IntervalRecorder& rec) { return Json{{"intervals", rec.to_json()}}; }

bool has_warning_with(const Json& summary, const std::string& a, const std::string& b = {}) {
    for (const auto& w : summary["warnings"]) {
        const auto text = w.get<std::string>();
        if (text.find(a) != std::string::npos && text.find(b) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST(ResultSummary, OnlyIntervalsInsideTheWindowCount) {
    stats::IntervalRecorder a;
    succeed(a, kT0 - 1000, 50, 900);  // warm-up: before the window
    succeed(a, kT0, 100, 1000);
    succeed(a, kT0 + 1000, 100, 1000);
    succeed(a, kT0 + 2000, 70, 1900);  // after the window
    const Json reports{{"a", report_of(a)}};
    // The window's edges are not on interval edges: the midpoint rule keeps
    // exactly the two slots starting at kT0 and kT0 + 1000.
    const auto s = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0 + 20, kT0 + 2010}, 200);
    EXPECT_EQ(s["clientCommitted"], 200);
    const auto& l = s["latency"];
    EXPECT_EQ(l["kind"], "service time (closed loop)");
    EXPECT_EQ(l["unit"], "us");
    EXPECT_EQ(l["count"], 200);
    EXPECT_EQ(l["mean"], 1000.0);
    EXPECT_EQ(l["p50"], 1000);
    EXPECT_EQ(l["p90"], 1000);
    EXPECT_EQ(l["p99"], 1000);
    EXPECT_EQ(l["p999"], 1000);
    EXPECT_EQ(l["max"], 1000);
    EXPECT_NEAR(l["coverage"].get<double>(), 2000.0 / 1990.0, 1e-4);
    EXPECT_EQ(s["clientServerRatio"], 1.0);
    EXPECT_EQ(s["warnings"], Json::array());
    // The same two seconds, one entry each, stamped from the window's start.
    EXPECT_EQ(s["clientTimeline"], (Json::array({Json{{"t", -20},
                                                      {"committed", 100},
                                                      {"tps", 100.0},
                                                      {"errors", 0},
                                                      {"p50", 1000},
                                                      {"p99", 1000},
                                                      {"max", 1000}},
                                                 Json{{"t", 980},
                                                      {"committed", 100},
                                                      {"tps", 100.0},
                                                      {"errors", 0},
                                                      {"p50", 1000},
                                                      {"p99", 1000},
                                                      {"max", 1000}}})));
    // Keys in the documented order.
    std::vector<std::string> keys;
    for (const auto& [k, v] : s.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"latency", "clientTimeline", "clientCommitted", "errors", "perGenerator",
                                              "clientServerRatio", "clientServerCheck", "warnings"}));
}

TEST(ResultSummary, PerGeneratorEntriesNameTheProtocolErrorsTheirCountersCarry) {
    stats::IntervalRecorder a;
    succeed(a, kT0, 10, 1000);
    for (int i = 0; i < 30; ++i) a.record_failure(kT0 + 500, stats::FailureKind::Disconnect);
    Json reports{{"a", report_of(a)}, {"b", report_of(a)}, {"old", report_of(a)}};
    reports["a"]["counters"] = {{"attempted", 40},      {"committed", 10},
                                {"errors", 30},         {"disconnects", 30},
                                {"protocolErrors", 30}, {"protocolErrorsByKind", {{"textFrame", 30}}}};
    reports["b"]["counters"] = {{"attempted", 40}, {"protocolErrors", 0}, {"protocolErrorsByKind", Json::object()}};
    const auto s = summarize_generator_reports(reports, {"a", "b", "old"}, SummaryWindow{kT0, kT0 + 1000}, 30);
    EXPECT_EQ(s["perGenerator"]["a"], (Json{{"committed", 10},
                                            {"attempted", 40},
                                            {"p50", 1000},
                                            {"p99", 1000},
                                            {"errors", 30},
                                            {"protocolErrors", 30},
                                            {"protocolErrorsByKind", {{"textFrame", 30}}}}));
    EXPECT_EQ(s["perGenerator"]["b"]["protocolErrors"], 0);
    EXPECT_FALSE(s["perGenerator"]["b"].contains("protocolErrorsByKind"));
    // A report without counters (the original harness's) claims nothing.
    EXPECT_FALSE(s["perGenerator"]["old"].contains("protocolErrors"));
}

TEST(ResultSummary, TwoGeneratorsMergeIntoOneHistogramAndOneSetOfCounts) {
    stats::IntervalRecorder a;
    stats::IntervalRecorder b;
    succeed(a, kT0, 100, 1000);
    a.record_failure(kT0 + 500, stats::FailureKind::ModuleError, "insufficient funds");
    a.record_failure(kT0 + 600, stats::FailureKind::ModuleError, "insufficient funds");
    succeed(b, kT0 + 1000, 100, 2000);
    b.record_failure(kT0 + 1500, stats::FailureKind::Timeout);
    b.record_failure(kT0 + 1600, stats::FailureKind::Disconnect);
    Json reports{{"a", report_of(a)}, {"b", report_of(b)}};
    reports["b"]["clock"] = Json{{"offsetMs", 1.5}, {"rttMs", 0.8}, {"samples", 8}};

    const auto s = summarize_generator_reports(reports, {"a", "b"}, SummaryWindow{kT0, kT0 + 2000}, 200);
    EXPECT_EQ(s["clientCommitted"], 200);
    const auto& l = s["latency"];
    EXPECT_EQ(l["count"], 200);
    EXPECT_EQ(l["mean"], 1500.0);
    EXPECT_EQ(l["p50"], 1000);  // percentiles of the merged histogram, not averaged
    EXPECT_EQ(l["p90"], 2000);
    EXPECT_EQ(l["max"], 2000);
    EXPECT_EQ(l["coverage"], 1.0);
    EXPECT_EQ(s["errors"], (Json{{"moduleErrors", {{"insufficient funds", 2}}},
                                 {"internalErrors", 0},
                                 {"timeouts", 1},
                                 {"disconnects", 1},
                                 {"total", 4}}));
    EXPECT_EQ(s["perGenerator"]["a"],
              (Json{{"committed", 100}, {"attempted", 102}, {"p50", 1000}, {"p99", 1000}, {"errors", 2}}));
    EXPECT_EQ(s["perGenerator"]["b"], (Json{{"committed", 100},
                                            {"attempted", 102},
                                            {"p50", 2000},
                                            {"p99", 2000},
                                            {"errors", 2},
                                            {"clockOffsetMs", 1.5},
                                            {"clockRttMs", 0.8}}));
    EXPECT_EQ(s["warnings"], Json::array());
}

TEST(ResultSummary, RatioDisagreesBeyondTwoPercentAndIsOmittedWithoutADelta) {
    stats::IntervalRecorder a;
    succeed(a, kT0, 1000, 500);
    const Json reports{{"a", report_of(a)}};
    const SummaryWindow w{kT0, kT0 + 1000};

    const auto close = summarize_generator_reports(reports, {"a"}, w, 1015);  // 1.5% short: fine
    EXPECT_NEAR(close["clientServerRatio"].get<double>(), 1000.0 / 1015.0, 1e-6);
    EXPECT_EQ(close["clientServerCheck"]["agrees"], true);
    EXPECT_EQ(close["warnings"], Json::array());

    // A disagreement is the verdict's (epoch_verdict), not a warning: the
    // summary gives the evidence.
    const auto far = summarize_generator_reports(reports, {"a"}, w, 1050);  // 4.8% short
    EXPECT_NEAR(far["clientServerRatio"].get<double>(), 1000.0 / 1050.0, 1e-6);
    EXPECT_EQ(far["clientServerCheck"], (Json{{"clientCommitted", 1000},
                                              {"serverCommitted", 1050},
                                              {"ratio", 0.952381},
                                              {"tolerance", 0.02},
                                              {"allowance", 21.0},
                                              {"edgeAllowance", 0.0},
                                              {"agrees", false}}));
    EXPECT_EQ(far["warnings"], Json::array());

    const auto over = summarize_generator_reports(reports, {"a"}, w, 970);  // clients saw more
    EXPECT_EQ(over["clientServerCheck"]["agrees"], false);

    const auto zero = summarize_generator_reports(reports, {"a"}, w, 0);
    EXPECT_FALSE(zero.contains("clientServerRatio"));
    EXPECT_EQ(zero["clientCommitted"], 1000);
    const auto unknown = summarize_generator_reports(reports, {"a"}, w, std::nullopt);
    EXPECT_FALSE(unknown.contains("clientServerRatio"));
}

TEST(ResultSummary, LargeClockOffsetsAreWarnedAboutByName) {
    stats::IntervalRecorder rec;
    succeed(rec, kT0, 10, 500);
    Json reports{{"near", report_of(rec)}, {"ahead", report_of(rec)}, {"behind", report_of(rec)}};
    reports["near"]["clock"] = Json{{"offsetMs", 10.0}, {"rttMs", 1.0}, {"samples", 8}};
    reports["ahead"]["clock"] = Json{{"offsetMs", 73.5}, {"rttMs", 1.0}, {"samples", 8}};
    reports["behind"]["clock"] = Json{{"offsetMs", -60}, {"rttMs", 1.0}, {"samples", 8}};
    SummaryOptions options;
    options.max_clock_offset_ms = 50;
    const auto s =
        summarize_generator_reports(reports, {"ahead", "behind", "near"}, SummaryWindow{kT0, kT0 + 1000}, 30, options);
    ASSERT_EQ(s["warnings"].size(), 2u) << s["warnings"];
    EXPECT_TRUE(has_warning_with(s, "\"ahead\"", "73.5 ms exceeds --max-clock-offset-ms 50"));
    EXPECT_TRUE(has_warning_with(s, "\"behind\"", "-60.0 ms"));
    EXPECT_EQ(s["perGenerator"]["ahead"]["clockOffsetMs"], 73.5);

    options.max_clock_offset_ms = 100;
    EXPECT_EQ(summarize_generator_reports(reports, {"ahead", "behind", "near"}, SummaryWindow{kT0, kT0 + 1000}, 30,
                                          options)["warnings"],
              Json::array());
}

TEST(ResultSummary, GeneratorsWithoutIntervalsAreWarnedAboutAndLeftOut) {
    stats::IntervalRecorder a;
    succeed(a, kT0, 100, 800);
    Json reports{{"a", report_of(a)}, {"b", {{"counters", {{"committed", 5}}}}}, {"d", {{"intervals", "oops"}}}};
    // c sent no report at all (an old generator, or one that never stopped).
    const auto s = summarize_generator_reports(reports, {"a", "b", "c", "d"}, SummaryWindow{kT0, kT0 + 1000}, 100);
    EXPECT_EQ(s["clientCommitted"], 100);
    // Only a's count is in clientCommitted: a ratio against the server's
    // whole count would blame a gap on the server that is only b's, c's and
    // d's missing counts (it read 1.0 here, by coincidence of the numbers).
    EXPECT_FALSE(s.contains("clientServerRatio"));
    ASSERT_EQ(s["warnings"].size(), 2u) << s["warnings"];
    // One line for everyone who reports nothing, naming them.
    EXPECT_TRUE(
        has_warning_with(s, "generators \"b\", \"c\" report no client counts", "clientServerRatio is not computed"));
    EXPECT_TRUE(has_warning_with(s, "\"d\" sent intervals that could not be read"));
    // No window counts for b; its counters still say it saw no protocol errors.
    EXPECT_EQ(s["perGenerator"]["b"], (Json{{"protocolErrors", 0}}));

    // Nobody sent intervals: no client numbers at all rather than zeros.
    const auto none = summarize_generator_reports(Json::object(), {"a", "b"}, SummaryWindow{kT0, kT0 + 1000}, 100);
    EXPECT_FALSE(none.contains("latency"));
    EXPECT_FALSE(none.contains("clientCommitted"));
    EXPECT_FALSE(none.contains("clientServerRatio"));
    ASSERT_EQ(none["warnings"].size(), 1u) << none["warnings"];
    EXPECT_TRUE(has_warning_with(none, "generators \"a\", \"b\" report no client counts"));
}

TEST(ResultSummary, TheRatioIsComputedOnlyWhenEveryParticipantsCountIsInTheSum) {
    stats::IntervalRecorder a;
    stats::IntervalRecorder b;
    succeed(a, kT0, 100, 800);
    succeed(b, kT0, 60, 800);
    const Json both{{"a", report_of(a)}, {"b", report_of(b)}};
    const auto all = summarize_generator_reports(both, {"a", "b"}, SummaryWindow{kT0, kT0 + 1000}, 160);
    EXPECT_EQ(all["clientCommitted"], 160);
    EXPECT_EQ(all["clientServerRatio"], 1.0);
    EXPECT_EQ(all["warnings"], Json::array());

    // A mixed fleet: the original harness's generator (b) acknowledged its
    // stop with no report. The server's 160 include b's 60.
    const Json mixed{{"a", report_of(a)}, {"b", Json::object()}};
    const auto m = summarize_generator_reports(mixed, {"a", "b"}, SummaryWindow{kT0, kT0 + 1000}, 160);
    EXPECT_EQ(m["clientCommitted"], 100);
    EXPECT_FALSE(m.contains("clientServerRatio"));
    ASSERT_EQ(m["warnings"].size(), 1u) << m["warnings"];
    EXPECT_TRUE(has_warning_with(m, "generator \"b\" reports no client counts", "clientServerRatio is not computed"));
}

TEST(ResultSummary, IntervalsOfAnotherShapeAreNotMerged) {
    stats::IntervalRecorder a;
    stats::IntervalRecorder b(stats::IntervalOptions{500, 3});
    succeed(a, kT0, 10, 800);
    succeed(b, kT0, 10, 800);
    const Json reports{{"a", report_of(a)}, {"b", report_of(b)}};
    const auto s = summarize_generator_reports(reports, {"a", "b"}, SummaryWindow{kT0, kT0 + 1000}, 10);
    EXPECT_EQ(s["clientCommitted"], 10);
    EXPECT_TRUE(has_warning_with(s, "\"b\" sent 500 ms intervals")) << s["warnings"];
}

TEST(ResultSummary, WithoutAWindowOnlyClocksAndWarningsAreReported) {
    stats::IntervalRecorder a;
    succeed(a, kT0, 10, 800);
    Json reports{{"a", report_of(a)}};
    reports["a"]["clock"] = Json{{"offsetMs", 99.0}, {"rttMs", 2.0}, {"samples", 4}};
    const auto s = summarize_generator_reports(reports, {"a"}, std::nullopt, std::nullopt);
    EXPECT_FALSE(s.contains("latency"));
    EXPECT_EQ(s["perGenerator"]["a"], (Json{{"clockOffsetMs", 99.0}, {"clockRttMs", 2.0}}));
    EXPECT_TRUE(has_warning_with(s, "\"a\" clock offset 99.0 ms"));
    // An empty window is no window either.
    EXPECT_FALSE(summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0, kT0}, 0).contains("latency"));
}

TEST(ResultSummary, StripIntervalsKeepsEverythingElse) {
    stats::IntervalRecorder a;
    succeed(a, kT0, 3, 800);
    Json reports{{"a", report_of(a)}, {"b", {{"counters", {{"committed", 5}}}}}};
    reports["a"]["clock"] = Json{{"offsetMs", 1.0}, {"rttMs", 2.0}, {"samples", 4}};
    reports["a"]["settings"] = Json{{"connections", 10}};
    const auto stripped = strip_intervals(reports);
    EXPECT_EQ(stripped, (Json{{"a", {{"clock", reports["a"]["clock"]}, {"settings", {{"connections", 10}}}}},
                              {"b", {{"counters", {{"committed", 5}}}}}}));
}

namespace {

// `n` open-loop successes (from intended send `latency_us`, from actual send
// `uncorrected_us`) and `n` sends `lag_us` late, in the second at `second_start`.
void succeed_open(stats::IntervalRecorder& rec, std::int64_t second_start, int n, std::uint64_t latency_us,
                  std::uint64_t uncorrected_us, std::uint64_t lag_us) {
    for (int i = 0; i < n; ++i) {
        rec.record_send_lag(second_start + 50, lag_us);
        rec.record_success(second_start + 100, latency_us, uncorrected_us);
    }
}

Json closed_load(std::uint64_t connections, std::uint64_t max_inflight, std::int64_t started, std::int64_t stopped) {
    return Json{{"mode", "closed"},         {"maxInflight", max_inflight}, {"connections", connections},
                {"ratePerSecond", nullptr}, {"startedAtMs", started},      {"stoppedAtMs", stopped}};
}

Json open_load(double rate, std::int64_t started, std::int64_t stopped) {
    return Json{{"mode", "open"},        {"maxInflight", 1},       {"connections", 4},
                {"ratePerSecond", rate}, {"startedAtMs", started}, {"stoppedAtMs", stopped}};
}

}  // namespace

TEST(ResultSummary, LoadStartingInsideTheFirstSecondIsNotUnderCounted) {
    // Load at a steady 1000/s runs [kT0+400, kT0+5600); the window opens with
    // it and lasts 5 s. The first second holds only 600 ms of load, the last
    // one 600 ms of which 400 ms are in the window.
    stats::IntervalRecorder a;
    succeed(a, kT0, 600, 1000);
    for (int s = 1; s <= 4; ++s) succeed(a, kT0 + s * 1000, 1000, 1000);
    succeed(a, kT0 + 5000, 600, 1000);
    Json reports{{"a", report_of(a)}};
    const SummaryWindow w{kT0 + 400, kT0 + 5400};

    // Whole seconds by the midpoint rule (an old report): 5% low.
    const auto old = summarize_generator_reports(reports, {"a"}, w, 5000);
    EXPECT_EQ(old["clientCommitted"], 4600);
    EXPECT_EQ(old["clientServerRatio"], 0.92);
    EXPECT_EQ(old["clientServerCheck"]["agrees"], false);

    reports["a"]["load"] = closed_load(1, 1, kT0 + 400, kT0 + 5600);  // 1 connection at 1 ms: all busy
    const auto s = summarize_generator_reports(reports, {"a"}, w, 5000);
    EXPECT_EQ(s["clientCommitted"], 5000);
    EXPECT_EQ(s["clientServerRatio"], 1.0);
    EXPECT_EQ(s["perGenerator"]["a"]["committed"], 5000);
    EXPECT_EQ(s["perGenerator"]["a"]["attempted"], 5000);
    EXPECT_EQ(s["perGenerator"]["a"]["startSkewMs"], 0.0);
    EXPECT_EQ(s["perGenerator"]["a"]["stopSkewMs"], 200.0);
    // Latency keeps whole seconds: the first five by the midpoint rule.
    EXPECT_EQ(s["latency"]["count"], 4600);
    EXPECT_EQ(s["warnings"], Json::array());
}

TEST(ResultSummary, WindowEdgesInsideSecondsCountTheirShare) {
    // Load all along; a 3.4 s window cuts the first and last second at 300
    // and 700 ms. Whole seconds would count 4; the share counts 3.4.
    stats::IntervalRecorder a;
    for (int s = -2; s <= 5; ++s) succeed(a, kT0 + s * 1000, 1000, 1000);
    Json reports{{"a", report_of(a)}};
    reports["a"]["load"] = closed_load(1, 1, kT0 - 5000, kT0 + 6000);
    const auto s = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0 + 300, kT0 + 3700}, 3400);
    EXPECT_EQ(s["clientCommitted"], 3400);
    EXPECT_EQ(s["clientServerRatio"], 1.0);
    EXPECT_EQ(s["perGenerator"]["a"]["startSkewMs"], -5300.0);
    EXPECT_EQ(s["perGenerator"]["a"]["stopSkewMs"], 2300.0);
}

TEST(ResultSummary, LoadSpanIsShiftedByTheClockOffset) {
    // The generator's clock is 300 ms behind (coordinator = generator + 300).
    // In its clock load ran [kT0+100, kT0+2100) at 1000/s, i.e. coordinator
    // [kT0+400, kT0+2400); the window is exactly that.
    stats::IntervalRecorder a;
    succeed(a, kT0, 900, 1000);
    succeed(a, kT0 + 1000, 1000, 1000);
    succeed(a, kT0 + 2000, 100, 1000);
    Json reports{{"a", report_of(a)}};
    reports["a"]["load"] = closed_load(1, 1, kT0 + 100, kT0 + 2100);
    reports["a"]["clock"] = Json{{"offsetMs", 300.0}, {"rttMs", 1.0}, {"samples", 8}};
    SummaryOptions options;
    options.max_clock_offset_ms = 1000;
    const auto s = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0 + 400, kT0 + 2400}, 2000, options);
    EXPECT_EQ(s["clientCommitted"], 2000);
    EXPECT_EQ(s["perGenerator"]["a"]["startSkewMs"], 0.0);
    EXPECT_EQ(s["perGenerator"]["a"]["stopSkewMs"], 0.0);
    // A generator that started late is positive.
    reports["a"]["load"]["startedAtMs"] = kT0 + 150;
    const auto late = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0 + 400, kT0 + 2400}, 2000, options);
    EXPECT_EQ(late["perGenerator"]["a"]["startSkewMs"], 50.0);
}

TEST(ResultSummary, ClosedLoopKindNamesInflightAndLittlesLawHolds) {
    // 8 slots (2 connections x 4 in flight), 1000/s at 8 ms: all 8 busy.
    stats::IntervalRecorder a;
    succeed(a, kT0, 1000, 8000);
    succeed(a, kT0 + 1000, 1000, 8000);
    Json reports{{"a", report_of(a)}};
    reports["a"]["load"] = closed_load(2, 4, kT0 - 10000, kT0 + 10000);
    const auto s = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0, kT0 + 2000}, 2000);
    EXPECT_EQ(s["latency"]["kind"], "service time (closed loop, 4 in flight per connection)");
    EXPECT_EQ(s["littlesLaw"], (Json{{"inflightCapacity", 8}, {"busy", 8.0}, {"utilization", 1.0}}));
    EXPECT_FALSE(s.contains("schedule"));
    EXPECT_FALSE(s.contains("latencyUncorrected"));
    EXPECT_EQ(s["warnings"], Json::array());
    std::vector<std::string> keys;
    for (const auto& [k, v] : s.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"latency", "clientTimeline", "clientCommitted", "errors", "perGenerator",
                                              "clientServerRatio", "clientServerCheck", "littlesLaw", "warnings"}));
    EXPECT_EQ(closed_loop_latency_kind(1), kLatencyKind);
}

TEST(ResultSummary, LittlesLawWarnsWhenTheGeneratorsWereTheBottleneck) {
    auto summary_at = [](std::uint64_t latency_us) {
        stats::IntervalRecorder a;
        succeed(a, kT0, 1000, latency_us);
        // An old generator: no "load", connections from its settings.
        Json reports{{"a", report_of(a)}};
        reports["a"]["settings"] = Json{{"connections", 8}};
        return summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0, kT0 + 1000}, 1000);
    };
    const auto ok = summary_at(7300);  // 7.3 of 8 busy: 91%
    EXPECT_EQ(ok["latency"]["kind"], "service time (closed loop)");
    EXPECT_NEAR(ok["littlesLaw"]["utilization"].get<double>(), 0.9125, 1e-9);
    EXPECT_EQ(ok["warnings"], Json::array());

    const auto low = summary_at(7100);  // 89%
    EXPECT_NEAR(low["littlesLaw"]["busy"].get<double>(), 7.1, 1e-9);
    ASSERT_EQ(low["warnings"].size(), 1u) << low["warnings"];
    EXPECT_TRUE(has_warning_with(low, "7.1 of 8 in-flight slots", "utilization 88.8%")) << low["warnings"];
    EXPECT_TRUE(has_warning_with(low, "the generators, not the server, were the bottleneck", "--threads"));

    SummaryOptions strict;
    strict.min_inflight_utilization = 0.95;
    stats::IntervalRecorder a;
    succeed(a, kT0, 1000, 7300);
    Json reports{{"a", report_of(a)}};
    reports["a"]["settings"] = Json{{"connections", 8}};
    EXPECT_EQ(
        summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0, kT0 + 1000}, 1000, strict)["warnings"].size(),
        1u);

    // Without a known connection count there is no check.
    reports["a"].erase("settings");
    EXPECT_FALSE(
        summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0, kT0 + 1000}, 1000).contains("littlesLaw"));
}

TEST(ResultSummary, OpenLoopKeptScheduleReportsCorrectedAndUncorrected) {
    // Two generators at 600/s and 400/s, on schedule with 0.2 ms send lag.
    stats::IntervalRecorder a;
    stats::IntervalRecorder b;
    for (int s = -1; s <= 2; ++s) {
        succeed_open(a, kT0 + s * 1000, 600, 3000, 2000, 200);
        succeed_open(b, kT0 + s * 1000, 400, 3000, 2000, 200);
    }
    Json reports{{"a", report_of(a)}, {"b", report_of(b)}};
    reports["a"]["load"] = open_load(600, kT0 - 1000, kT0 + 3000);
    reports["b"]["load"] = open_load(400, kT0 - 1000, kT0 + 3000);
    const auto s = summarize_generator_reports(reports, {"a", "b"}, SummaryWindow{kT0, kT0 + 2000}, 2000);
    EXPECT_EQ(s["latency"]["kind"], kOpenLoopLatencyKind);
    EXPECT_EQ(s["latency"]["p50"], 3000);
    EXPECT_EQ(s["latencyUncorrected"]["kind"], "service time from actual send (uncorrected)");
    EXPECT_EQ(s["latencyUncorrected"]["count"], 2000);
    EXPECT_EQ(s["latencyUncorrected"]["p99"], 2000);
    EXPECT_EQ(s["schedule"], (Json{{"targetPerSecond", 1000.0},
                                   {"achievedPerSecond", 1000.0},
                                   {"sendLagUs", {{"p50", 200}, {"p99", 200}, {"max", 200}}},
                                   {"kept", true}}));
    EXPECT_EQ(s["perGenerator"]["a"]["schedule"]["targetPerSecond"], 600.0);
    EXPECT_EQ(s["perGenerator"]["a"]["schedule"]["achievedPerSecond"], 600.0);
    EXPECT_EQ(s["perGenerator"]["b"]["schedule"]["kept"], true);
    EXPECT_FALSE(s.contains("littlesLaw"));
    EXPECT_EQ(s["warnings"], Json::array());
    std::vector<std::string> keys;
    for (const auto& [k, v] : s.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"latency", "clientTimeline", "latencyUncorrected", "schedule",
                                              "clientCommitted", "errors", "perGenerator", "clientServerRatio",
                                              "clientServerCheck", "warnings"}));
}

TEST(ResultSummary, OpenLoopScheduleNotKeptSaysWhichAndHowToFix) {
    // Rate short: 950 of 1000/s (95%, below 98%).
    stats::IntervalRecorder slow;
    for (int s = 0; s < 2; ++s) succeed_open(slow, kT0 + s * 1000, 950, 3000, 2000, 100);
    Json reports{{"a", report_of(slow)}};
    reports["a"]["load"] = open_load(1000, kT0 - 1000, kT0 + 3000);
    const auto short_rate = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0, kT0 + 2000}, 1900);
    EXPECT_EQ(short_rate["schedule"]["kept"], false);
    EXPECT_EQ(short_rate["schedule"]["achievedPerSecond"], 950.0);
    EXPECT_EQ(short_rate["perGenerator"]["a"]["schedule"]["kept"], false);
    ASSERT_EQ(short_rate["warnings"].size(), 1u) << short_rate["warnings"];
    EXPECT_TRUE(has_warning_with(short_rate, "achieved 950.0/s is 95.0% of the target 1000.0/s", "below 98%"))
        << short_rate["warnings"];
    EXPECT_TRUE(has_warning_with(short_rate, "\"a\"", "add generator threads or machines, or lower --rate"));
    EXPECT_FALSE(has_warning_with(short_rate, "send lag p99"));

    // 99% of the rate is fine, but sends 20 ms late are not.
    stats::IntervalRecorder lagging;
    for (int s = 0; s < 2; ++s) {
        succeed_open(lagging, kT0 + s * 1000, 980, 25000, 5000, 100);
        succeed_open(lagging, kT0 + s * 1000, 10, 25000, 5000, 20000);
        succeed_open(lagging, kT0 + s * 1000, 10, 25000, 5000, 20000);
    }
    reports["a"] = report_of(lagging);
    reports["a"]["load"] = open_load(1010, kT0 - 1000, kT0 + 3000);
    const auto late = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0, kT0 + 2000}, 2000);
    EXPECT_EQ(late["schedule"]["kept"], false);
    EXPECT_GT(late["schedule"]["sendLagUs"]["p99"].get<std::uint64_t>(), 10000u);
    EXPECT_TRUE(has_warning_with(late, "send lag p99 20.0 ms exceeds 10 ms")) << late["warnings"];
    EXPECT_FALSE(has_warning_with(late, "% of the target"));
}

TEST(ResultSummary, MixedModesAreWarnedAboutAndLabelledMixed) {
    stats::IntervalRecorder open;
    stats::IntervalRecorder closed;
    succeed_open(open, kT0, 100, 3000, 2000, 100);
    succeed(closed, kT0, 100, 1000);
    Json reports{{"o", report_of(open)}, {"c", report_of(closed)}};
    reports["o"]["load"] = open_load(100, kT0 - 1000, kT0 + 2000);
    reports["c"]["load"] = closed_load(1, 1, kT0 - 1000, kT0 + 2000);
    const auto s = summarize_generator_reports(reports, {"c", "o"}, SummaryWindow{kT0, kT0 + 1000}, 200);
    EXPECT_EQ(s["latency"]["kind"], "mixed");
    EXPECT_EQ(s["latency"]["count"], 200);
    EXPECT_FALSE(s.contains("latencyUncorrected"));
    EXPECT_FALSE(s.contains("schedule"));
    EXPECT_FALSE(s.contains("littlesLaw"));
    EXPECT_EQ(s["perGenerator"]["o"]["schedule"]["kept"], true);
    EXPECT_FALSE(s["perGenerator"]["c"].contains("schedule"));
    ASSERT_EQ(s["warnings"].size(), 1u) << s["warnings"];
    EXPECT_TRUE(has_warning_with(s, "different load modes", "\"o\" open loop at 100/s")) << s["warnings"];
    EXPECT_TRUE(has_warning_with(s, "\"c\" closed loop with 1 in flight")) << s["warnings"];

    // Closed loops with different in-flight counts are mixed too.
    reports["o"] = report_of(closed);
    reports["o"]["load"] = closed_load(1, 2, kT0 - 1000, kT0 + 2000);
    const auto k = summarize_generator_reports(reports, {"c", "o"}, SummaryWindow{kT0, kT0 + 1000}, 200);
    EXPECT_EQ(k["latency"]["kind"], "mixed");
    EXPECT_TRUE(k.contains("littlesLaw"));  // still a closed loop: 1x1 + 1x2 slots
    EXPECT_EQ(k["littlesLaw"]["inflightCapacity"], 3);
}

TEST(ResultSummary, UnreadableLoadIsAWarningAndTheMidpointRule) {
    stats::IntervalRecorder a;
    succeed(a, kT0, 600, 1000);
    succeed(a, kT0 + 1000, 1000, 1000);
    Json reports{{"a", report_of(a)}};
    reports["a"]["load"] = Json{{"mode", "sometimes"}};
    // With the span, 600 + 400 would count; by the midpoint rule only the
    // first second does.
    auto s = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0 + 400, kT0 + 1400}, 1000);
    EXPECT_EQ(s["clientCommitted"], 600);
    EXPECT_TRUE(has_warning_with(s, "\"a\" sent a \"load\" that could not be read", "\"mode\"")) << s["warnings"];
    EXPECT_EQ(s["latency"]["kind"], kLatencyKind);

    reports["a"]["load"] = closed_load(1, 1, kT0 + 400, kT0 + 3000);
    EXPECT_EQ(summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0 + 400, kT0 + 1400},
                                          1000)["clientCommitted"],
              1000);

    reports["a"]["load"] = closed_load(1, 1, kT0 + 400, kT0 + 300);
    s = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0 + 400, kT0 + 1400}, 1000);
    EXPECT_TRUE(has_warning_with(s, "\"stoppedAtMs\" is before")) << s["warnings"];
    reports["a"]["load"] = closed_load(1, 0, kT0 + 400, kT0 + 3000);
    s = summarize_generator_reports(reports, {"a"}, SummaryWindow{kT0 + 400, kT0 + 1400}, 1000);
    EXPECT_TRUE(has_warning_with(s, "\"maxInflight\"")) << s["warnings"];
}
