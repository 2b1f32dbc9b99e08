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
    succeed(a, kT0 - 1000, 50, 900);   // warm-up: before the window
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
    // Keys in the documented order.
    std::vector<std::string> keys;
    for (const auto& [k, v] : s.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"latency", "clientCommitted", "errors", "perGenerator",
                                              "clientServerRatio", "warnings"}));
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

TEST(ResultSummary, RatioWarnsBeyondTwoPercentAndIsOmittedWithoutADelta) {
    stats::IntervalRecorder a;
    succeed(a, kT0, 1000, 500);
    const Json reports{{"a", report_of(a)}};
    const SummaryWindow w{kT0, kT0 + 1000};

    const auto close = summarize_generator_reports(reports, {"a"}, w, 1015);  // 1.5% short: fine
    EXPECT_NEAR(close["clientServerRatio"].get<double>(), 1000.0 / 1015.0, 1e-6);
    EXPECT_EQ(close["warnings"], Json::array());

    const auto far = summarize_generator_reports(reports, {"a"}, w, 1050);  // 4.8% short
    EXPECT_NEAR(far["clientServerRatio"].get<double>(), 1000.0 / 1050.0, 1e-6);
    ASSERT_EQ(far["warnings"].size(), 1u);
    EXPECT_TRUE(has_warning_with(far, "(1000)", "(1050)")) << far["warnings"];
    EXPECT_TRUE(has_warning_with(far, "-4.8%", "clientServerRatio 0.9524")) << far["warnings"];

    const auto over = summarize_generator_reports(reports, {"a"}, w, 970);  // clients saw more
    EXPECT_TRUE(has_warning_with(over, "+3.1%")) << over["warnings"];

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
    const auto s = summarize_generator_reports(reports, {"ahead", "behind", "near"}, SummaryWindow{kT0, kT0 + 1000},
                                               30, options);
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
    EXPECT_EQ(s["clientServerRatio"], 1.0);
    ASSERT_EQ(s["warnings"].size(), 3u) << s["warnings"];
    EXPECT_TRUE(has_warning_with(s, "\"b\" sent no intervals"));
    EXPECT_TRUE(has_warning_with(s, "\"c\" sent no intervals"));
    EXPECT_TRUE(has_warning_with(s, "\"d\" sent intervals that could not be read"));
    EXPECT_EQ(s["perGenerator"]["b"], Json::object());

    // Nobody sent intervals: no client numbers at all rather than zeros.
    const auto none = summarize_generator_reports(Json::object(), {"a", "b"}, SummaryWindow{kT0, kT0 + 1000}, 100);
    EXPECT_FALSE(none.contains("latency"));
    EXPECT_FALSE(none.contains("clientCommitted"));
    EXPECT_FALSE(none.contains("clientServerRatio"));
    EXPECT_EQ(none["warnings"].size(), 2u);
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
