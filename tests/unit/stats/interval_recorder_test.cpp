#include "benchdist/stats/interval_recorder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace benchdist::stats;

constexpr std::int64_t kT0 = 1700000000000;  // an aligned unix ms

void expect_invalid(const Json& j, const std::string& needle) {
    try {
        (void)intervals_from_json(j);
        ADD_FAILURE() << "accepted: " << j.dump();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "message \"" << e.what() << "\" does not mention " << needle;
    }
}

// One success in each of the seconds listed, at mid-second.
IntervalRecorder one_per_second(const std::vector<int>& seconds) {
    IntervalRecorder r;
    for (int s : seconds) r.record_success(kT0 + s * 1000 + 500, 1000 + static_cast<std::uint64_t>(s));
    return r;
}

TEST(IntervalRecorder, AlignsToIntervalStart) {
    EXPECT_EQ(align_down(1234, 1000), 1000);
    EXPECT_EQ(align_down(2000, 1000), 2000);
    EXPECT_EQ(align_down(1999, 1000), 1000);
    EXPECT_EQ(align_down(-1, 1000), -1000);
    EXPECT_EQ(align_down(-1000, 1000), -1000);

    IntervalRecorder r(IntervalOptions{.length_ms = 250});
    r.record_success(kT0 + 1123, 10);
    r.record_success(kT0 + 1249, 20);
    r.record_success(kT0 + 1250, 30);
    r.record_success(kT0 + 10, 40);  // out of order: the clock stepped back
    ASSERT_EQ(r.intervals().size(), 3u);
    EXPECT_EQ(r.intervals()[0].start_ms, kT0);
    EXPECT_EQ(r.intervals()[1].start_ms, kT0 + 1000);
    EXPECT_EQ(r.intervals()[1].totals.committed, 2u);
    EXPECT_EQ(r.intervals()[2].start_ms, kT0 + 1250);
    for (const auto& iv : r.intervals()) EXPECT_EQ(iv.length_ms, 250);
}

TEST(IntervalRecorder, CountsOutcomesByKind) {
    IntervalRecorder r;
    r.record_success(kT0 + 1, 1500);
    r.record_success(kT0 + 2, 2500);
    r.record_failure(kT0 + 3, FailureKind::ModuleError, "insufficient funds");
    r.record_failure(kT0 + 4, FailureKind::ModuleError, "insufficient funds");
    r.record_failure(kT0 + 5, FailureKind::InternalError);
    r.record_failure(kT0 + 6, FailureKind::Timeout);
    r.record_failure(kT0 + 7, FailureKind::Disconnect);
    ASSERT_EQ(r.intervals().size(), 1u);
    const OutcomeTotals& t = r.intervals()[0].totals;
    EXPECT_EQ(t.attempted, 7u);
    EXPECT_EQ(t.committed, 2u);
    EXPECT_EQ(t.failures.module_errors.count("insufficient funds"), 2u);
    EXPECT_EQ(t.failures.internal_errors, 1u);
    EXPECT_EQ(t.failures.timeouts, 1u);
    EXPECT_EQ(t.failures.disconnects, 1u);
    EXPECT_EQ(t.failures.total(), 5u);
    EXPECT_EQ(t.latency.count(), 2u);
    EXPECT_EQ(t.latency.sum(), 4000u);
}

TEST(IntervalRecorder, CapsDistinctModuleErrorMessages) {
    IntervalRecorder r;
    for (int i = 0; i < 40; ++i) r.record_failure(kT0, FailureKind::ModuleError, "account " + std::to_string(i));
    r.record_failure(kT0, FailureKind::ModuleError, "account 3");  // known: still counted by name
    const ModuleErrorCounts& m = r.intervals()[0].totals.failures.module_errors;
    EXPECT_EQ(m.entries().size(), ModuleErrorCounts::kMaxMessages + 1);
    EXPECT_EQ(m.count("account 3"), 2u);
    EXPECT_EQ(m.count("account 31"), 1u);
    EXPECT_EQ(m.count("account 32"), 0u);
    EXPECT_EQ(m.count(ModuleErrorCounts::kOther), 8u);
    EXPECT_EQ(m.total(), 41u);

    // The cap holds across merges too.
    ModuleErrorCounts a;
    ModuleErrorCounts b;
    for (int i = 0; i < 30; ++i) a.add("a" + std::to_string(i));
    for (int i = 0; i < 30; ++i) b.add("b" + std::to_string(i));
    a.merge(b);
    EXPECT_EQ(a.entries().size(), ModuleErrorCounts::kMaxMessages + 1);
    EXPECT_EQ(a.count(ModuleErrorCounts::kOther), 28u);
    EXPECT_EQ(a.total(), 60u);
}

TEST(IntervalRecorder, MergeAcrossRecordersByStart) {
    IntervalRecorder a;
    IntervalRecorder b;
    IntervalRecorder both;
    auto success = [&](IntervalRecorder& r, std::int64_t t, std::uint64_t us) {
        r.record_success(t, us);
        both.record_success(t, us);
    };
    success(a, kT0 + 100, 10);
    success(a, kT0 + 2100, 20);
    success(b, kT0 + 900, 30);
    success(b, kT0 + 1100, 40);
    success(b, kT0 + 3100, 50);
    a.record_failure(kT0 + 2200, FailureKind::Timeout);
    both.record_failure(kT0 + 2200, FailureKind::Timeout);

    const std::vector<std::vector<Interval>> timelines = {{a.intervals().begin(), a.intervals().end()},
                                                          {b.intervals().begin(), b.intervals().end()}};
    const std::vector<Interval> merged = merge_intervals(timelines);
    ASSERT_EQ(merged.size(), 4u);
    EXPECT_EQ(merged[0].totals.committed, 2u);
    EXPECT_EQ(merged[0].totals.latency.max(), 30u);
    EXPECT_EQ(merged, std::vector<Interval>(both.intervals().begin(), both.intervals().end()));
}

TEST(IntervalRecorder, MergeRejectsMismatchedLengths) {
    IntervalRecorder a;
    IntervalRecorder b(IntervalOptions{.length_ms = 500});
    a.record_success(kT0, 1);
    b.record_success(kT0, 1);
    std::vector<Interval> target(a.intervals().begin(), a.intervals().end());
    EXPECT_THROW(merge_into(target, b.intervals()), std::invalid_argument);
}

TEST(IntervalRecorder, SelectCountsIntervalsWhoseMidpointIsInside) {
    const IntervalRecorder r = one_per_second({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    // Midpoint of [1000, 2000) is 1500: inside [1500, 4500); 4500 is not.
    WindowSelection s = r.select(kT0 + 1500, kT0 + 4500);
    EXPECT_EQ(s.span_start_ms, kT0 + 1000);
    EXPECT_EQ(s.span_end_ms, kT0 + 4000);
    EXPECT_EQ(s.slots, 3u);
    EXPECT_EQ(s.intervals_present, 3u);
    EXPECT_EQ(s.totals.committed, 3u);
    EXPECT_EQ(s.totals.latency.min(), 1001u);
    EXPECT_DOUBLE_EQ(s.coverage(), 1.0);

    s = r.select(kT0 + 1501, kT0 + 4501);
    EXPECT_EQ(s.span_start_ms, kT0 + 2000);
    EXPECT_EQ(s.span_end_ms, kT0 + 5000);
    EXPECT_EQ(s.totals.latency.min(), 1002u);
    EXPECT_EQ(s.totals.latency.max(), 1004u);

    // A window shorter than one interval that misses every midpoint.
    s = r.select(kT0 + 1000, kT0 + 1400);
    EXPECT_EQ(s.slots, 0u);
    EXPECT_EQ(s.span_ms(), 0);
    EXPECT_EQ(s.totals.attempted, 0u);
    EXPECT_EQ(s.coverage(), 0.0);
}

TEST(IntervalRecorder, AdjacentWindowsPartitionTheTimeline) {
    const IntervalRecorder r = one_per_second({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    for (std::int64_t cut : {3000, 3499, 3500, 3501, 4000}) {
        const WindowSelection left = r.select(kT0, kT0 + cut);
        const WindowSelection right = r.select(kT0 + cut, kT0 + 10000);
        EXPECT_EQ(left.span_end_ms, right.span_start_ms) << cut;
        EXPECT_EQ(left.totals.committed + right.totals.committed, 10u) << cut;
    }
}

TEST(IntervalRecorder, CoverageCountsOnlyIntervalsWithData) {
    const IntervalRecorder r = one_per_second({0, 1, 2, 3, 4, 5, 6, 8, 9});  // second 7 had nothing
    const WindowSelection s = r.select(kT0, kT0 + 10000);
    EXPECT_EQ(s.slots, 10u);
    EXPECT_EQ(s.intervals_present, 9u);
    EXPECT_EQ(s.span_ms(), 10000);
    EXPECT_DOUBLE_EQ(s.coverage(), 0.9);
}

TEST(IntervalRecorder, SelectWithOddLengthIsExact) {
    IntervalRecorder r(IntervalOptions{.length_ms = 3});
    r.record_success(0, 1);
    r.record_success(4, 2);
    WindowSelection s = r.select(0, 3);  // midpoint 1.5 inside
    EXPECT_EQ(s.span_start_ms, 0);
    EXPECT_EQ(s.span_end_ms, 3);
    EXPECT_EQ(s.totals.committed, 1u);
    s = r.select(2, 5);  // 1.5 outside, 4.5 inside
    EXPECT_EQ(s.span_start_ms, 3);
    EXPECT_EQ(s.span_end_ms, 6);
    EXPECT_EQ(s.totals.latency.max(), 2u);
}

TEST(IntervalRecorder, SelectRejectsEmptyOrReversedWindow) {
    const IntervalRecorder r = one_per_second({0});
    EXPECT_THROW((void)r.select(kT0, kT0), std::invalid_argument);
    EXPECT_THROW((void)r.select(kT0 + 1, kT0), std::invalid_argument);
}

TEST(IntervalRecorder, TakeCompletedRemovesFinishedIntervals) {
    IntervalRecorder r = one_per_second({0, 1, 2});
    const std::vector<Interval> done = r.take_completed(kT0 + 2000);
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(done[0].start_ms, kT0);
    EXPECT_EQ(done[1].start_ms, kT0 + 1000);
    ASSERT_EQ(r.intervals().size(), 1u);
    r.record_success(kT0 + 2600, 7);
    EXPECT_EQ(r.intervals()[0].totals.committed, 2u);
    r.record_success(kT0 + 100, 7);  // clock stepped back: a fresh interval
    ASSERT_EQ(r.intervals().size(), 2u);
    EXPECT_EQ(r.intervals()[0].totals.committed, 1u);
}

TEST(IntervalRecorder, RejectsBadOptions) {
    EXPECT_THROW(IntervalRecorder(IntervalOptions{.length_ms = 0}), std::invalid_argument);
    EXPECT_THROW(IntervalRecorder(IntervalOptions{.significant_digits = 9}), std::invalid_argument);
}

TEST(IntervalJson, RoundTripIsExact) {
    IntervalRecorder r(IntervalOptions{.length_ms = 1000, .significant_digits = 2});
    r.record_success(kT0 + 10, 1234);
    r.record_failure(kT0 + 20, FailureKind::ModuleError, "no such account");
    r.record_failure(kT0 + 1020, FailureKind::Disconnect);
    const Json j = r.to_json();
    ASSERT_TRUE(j.is_array());
    EXPECT_EQ(j[0]["startMs"], kT0);
    EXPECT_EQ(j[0]["failures"]["moduleErrors"]["no such account"], 1);
    EXPECT_EQ(j[0]["latency"]["sigDigits"], 2);
    const std::vector<Interval> back = intervals_from_json(Json::parse(j.dump()));
    EXPECT_EQ(back, std::vector<Interval>(r.intervals().begin(), r.intervals().end()));
    EXPECT_EQ(intervals_to_json(back), j);
}

TEST(IntervalRecorder, ClosedLoopLeavesOpenLoopHistogramsUnallocated) {
    IntervalRecorder r;
    r.record_success(kT0 + 10, 1500);
    r.record_failure(kT0 + 20, FailureKind::Timeout);
    const OutcomeTotals& t = r.intervals()[0].totals;
    EXPECT_TRUE(t.latency.allocated());
    EXPECT_FALSE(t.latency_uncorrected.allocated());
    EXPECT_FALSE(t.send_lag.allocated());

    // A failure alone allocates no histogram at all.
    IntervalRecorder f;
    f.record_failure(kT0, FailureKind::Disconnect);
    EXPECT_FALSE(f.intervals()[0].totals.latency.allocated());

    // Merging closed-loop timelines keeps them unallocated too.
    std::vector<Interval> merged;
    merge_into(merged, r.intervals());
    merge_into(merged, r.intervals());
    EXPECT_FALSE(merged[0].totals.latency_uncorrected.allocated());
    EXPECT_FALSE(merged[0].totals.send_lag.allocated());
    EXPECT_EQ(merged[0].totals.committed, 2u);
}

TEST(IntervalRecorder, OpenLoopRecordsCorrectedUncorrectedAndSendLag) {
    IntervalRecorder r;
    // Sent 3 ms late in the first second, answered in the next one.
    r.record_send_lag(kT0 + 900, 3000);
    r.record_success(kT0 + 1002, 5000, 2000);
    r.record_send_lag(kT0 + 1100, 0);
    r.record_success(kT0 + 1101, 1000, 1000);
    ASSERT_EQ(r.intervals().size(), 2u);
    const OutcomeTotals& first = r.intervals()[0].totals;
    EXPECT_EQ(first.attempted, 0u);  // a send is not an outcome
    EXPECT_EQ(first.committed, 0u);
    EXPECT_EQ(first.send_lag.count(), 1u);
    EXPECT_EQ(first.send_lag.max(), 3000u);
    const OutcomeTotals& second = r.intervals()[1].totals;
    EXPECT_EQ(second.attempted, 2u);
    EXPECT_EQ(second.committed, 2u);
    EXPECT_EQ(second.latency.sum(), 6000u);
    EXPECT_EQ(second.latency_uncorrected.sum(), 3000u);
    EXPECT_EQ(second.send_lag.count(), 1u);

    const WindowSelection s = r.select(kT0, kT0 + 2000);
    EXPECT_EQ(s.totals.latency.max(), 5000u);
    EXPECT_EQ(s.totals.latency_uncorrected.max(), 2000u);
    EXPECT_EQ(s.totals.send_lag.count(), 2u);
    EXPECT_EQ(s.intervals_present, 2u);
}

TEST(IntervalRecorder, MergeRejectsMismatchedDigitsWithoutChangingTheTarget) {
    OutcomeTotals a(3);
    a.committed = a.attempted = 1;
    a.latency.record(10);
    const OutcomeTotals before = a;
    OutcomeTotals b(2);
    b.send_lag.record(5);
    EXPECT_THROW(a.merge(b), std::invalid_argument);
    EXPECT_EQ(a, before);
}

TEST(IntervalJson, OpenLoopKeysAreWrittenOnlyWhenNonEmpty) {
    IntervalRecorder closed;
    closed.record_success(kT0 + 10, 1234);
    const Json cj = closed.to_json();
    EXPECT_FALSE(cj[0].contains("latencyUncorrected"));
    EXPECT_FALSE(cj[0].contains("sendLag"));
    const std::vector<Interval> cback = intervals_from_json(Json::parse(cj.dump()));
    EXPECT_EQ(cback, std::vector<Interval>(closed.intervals().begin(), closed.intervals().end()));
    EXPECT_FALSE(cback[0].totals.send_lag.allocated());

    IntervalRecorder open(IntervalOptions{.length_ms = 1000, .significant_digits = 2});
    open.record_send_lag(kT0 + 5, 250);
    open.record_success(kT0 + 10, 1234, 1000);
    open.record_failure(kT0 + 20, FailureKind::Timeout);
    open.record_send_lag(kT0 + 1005, 7);  // an interval with only a send
    const Json oj = open.to_json();
    ASSERT_EQ(oj.size(), 2u);
    EXPECT_EQ(oj[0]["latencyUncorrected"]["count"], 1);
    EXPECT_EQ(oj[0]["latencyUncorrected"]["sigDigits"], 2);
    EXPECT_EQ(oj[0]["sendLag"]["max"], 250);
    EXPECT_FALSE(oj[1].contains("latencyUncorrected"));
    EXPECT_EQ(oj[1]["sendLag"]["count"], 1);
    EXPECT_EQ(oj[1]["attempted"], 0);
    const std::vector<Interval> oback = intervals_from_json(Json::parse(oj.dump()));
    EXPECT_EQ(oback, std::vector<Interval>(open.intervals().begin(), open.intervals().end()));
    EXPECT_EQ(intervals_to_json(oback), oj);
}

TEST(IntervalJson, RejectsMalformedOpenLoopHistograms) {
    IntervalRecorder r;
    r.record_send_lag(kT0 + 5, 250);
    r.record_success(kT0 + 10, 1234, 1000);
    const Json good = r.to_json();
    auto edit = [&](auto change) {
        Json j = good;
        change(j);
        return j;
    };
    expect_invalid(edit([](Json& j) { j[0]["sendLag"]["unit"] = "ms"; }), "\"unit\"");
    expect_invalid(edit([](Json& j) { j[0]["latencyUncorrected"] = 5; }), "object");
    // Other digits than "latency": it could not be merged later.
    LatencyHistogram two(2);
    two.record(250);
    expect_invalid(edit([&](Json& j) { j[0]["sendLag"] = two.to_json(); }), "\"sendLag\"");
    // More uncorrected latencies than committed operations.
    LatencyHistogram many;
    many.record(1000);
    many.record(1000);
    expect_invalid(edit([&](Json& j) { j[0]["latencyUncorrected"] = many.to_json(); }), "\"latencyUncorrected\"");
}

TEST(IntervalJson, RejectsMalformedInput) {
    IntervalRecorder r;
    r.record_success(kT0 + 10, 1234);
    r.record_failure(kT0 + 20, FailureKind::Timeout);
    r.record_success(kT0 + 1010, 99);
    const Json good = r.to_json();
    auto edit = [&](auto change) {
        Json j = good;
        change(j);
        return j;
    };

    expect_invalid(Json::object(), "array");
    expect_invalid(edit([](Json& j) { j[0].erase("startMs"); }), "\"startMs\" is missing");
    expect_invalid(edit([](Json& j) { j[0]["startMs"] = kT0 + 1; }), "\"startMs\"");
    expect_invalid(edit([](Json& j) { j[0]["lengthMs"] = 0; }), "\"lengthMs\"");
    expect_invalid(edit([](Json& j) { j[1]["lengthMs"] = 500; }), "500");
    expect_invalid(edit([](Json& j) { std::swap(j[0], j[1]); }), "sorted");
    expect_invalid(edit([](Json& j) { j[0]["attempted"] = 3; }), "\"attempted\"");
    expect_invalid(edit([](Json& j) { j[0]["committed"] = 2; }), "\"committed\"");
    expect_invalid(edit([](Json& j) { j[0]["failures"] = 1; }), "\"failures\"");
    expect_invalid(edit([](Json& j) { j[0]["failures"]["moduleErrors"] = Json::array(); }), "\"moduleErrors\"");
    expect_invalid(edit([](Json& j) { j[0]["failures"]["moduleErrors"]["x"] = -1; }), "\"moduleErrors\"");
    expect_invalid(edit([](Json& j) { j[0]["failures"].erase("timeouts"); }), "\"timeouts\"");
    expect_invalid(edit([](Json& j) { j[0]["latency"]["unit"] = "ns"; }), "\"unit\"");
}

}  // namespace
