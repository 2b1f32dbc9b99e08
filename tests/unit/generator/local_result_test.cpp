// The local run's result on its own: observations in, the printed JSON out.
// No server, no sockets, no clocks.
#include "benchdist/generator/local_result.hpp"
#include "benchdist/generator/local_verdict.hpp"

#include <gtest/gtest.h>

#include "benchdist/stats/interval_recorder.hpp"

using namespace benchdist;
using namespace benchdist::generator;
using control::Json;

namespace {

constexpr std::int64_t kT0 = 1775822400000;  // a whole second

stdbhttp::CounterRead read_at(std::uint64_t committed, std::int64_t midpoint_ms, std::int64_t round_trip_ms = 2) {
    stdbhttp::CounterRead r;
    r.committed = committed;
    r.sent_at_ms = midpoint_ms - round_trip_ms / 2;
    r.received_at_ms = midpoint_ms + round_trip_ms / 2;
    return r;
}

// A 10 s window from kT0 in which the server committed 1000 and the client
// saw `per_second` commits in each second.
LocalRunObservations ten_seconds(int per_second) {
    LocalRunObservations o;
    o.database_identity = "c200";
    o.threads = 2;
    o.connections = 10;
    o.window_start_ms = kT0;
    o.window_end_ms = kT0 + 10000;
    o.before = read_at(5000, kT0);
    o.after = read_at(6000, kT0 + 10000);
    o.window_seconds = 10;
    stats::IntervalRecorder rec;
    for (int s = 0; s < 10; ++s)
        for (int i = 0; i < per_second; ++i) rec.record_success(kT0 + s * 1000 + 10, 900);
    o.intervals.assign(rec.intervals().begin(), rec.intervals().end());
    o.counters.attempted = o.counters.committed = static_cast<std::uint64_t>(per_second) * 10;
    return o;
}

bool has_warning_with(const Json& result, const std::string& text) {
    for (const auto& w : result["warnings"])
        if (w.get<std::string>().find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(LocalResult, RateFromTheServersCounterAndTheClientsCountOverTheSameSpan) {
    GeneratorConfig config;
    const auto r = build_local_result(config, LocalRunOptions{}, ten_seconds(100));
    EXPECT_EQ(r["committedDelta"], 1000);
    EXPECT_DOUBLE_EQ(r["tps"].get<double>(), 100.0);
    EXPECT_EQ(r["client"]["windowCommitted"], 1000.0);
    EXPECT_DOUBLE_EQ(r["clientServerRatio"].get<double>(), 1.0);
    EXPECT_EQ(r["counterReadMs"], Json::array({2, 2}));
    EXPECT_EQ(r["latency"]["kind"], "service time (closed loop)");
    EXPECT_TRUE(r["warnings"].empty());
}

TEST(LocalResult, AnotherClientOnTheDatabaseIsNamedByTheSharedCrossCheck) {
    GeneratorConfig config;
    const auto r = build_local_result(config, LocalRunOptions{}, ten_seconds(80));
    EXPECT_DOUBLE_EQ(r["clientServerRatio"].get<double>(), 0.8);
    // The evidence; the verdict (local_verdict) words it.
    EXPECT_EQ(r["clientServerCheck"]["agrees"], false);
    EXPECT_EQ(r["clientServerCheck"]["clientCommitted"], 800.0);
    EXPECT_EQ(r["clientServerCheck"]["serverCommitted"], 1000);
    auto judged = r;
    judge_local_result(judged, LocalVerdictOptions{});
    EXPECT_NE(judged["reasons"][0]["message"].get<std::string>().find("another client wrote to this database"),
              std::string::npos)
        << judged["reasons"];
}

TEST(LocalResult, SlowCounterReadsWidenTheCrossCheckAsInAnEpoch) {
    GeneratorConfig config;
    auto o = ten_seconds(95);  // 950 of 1000: beyond 2% alone
    EXPECT_EQ(build_local_result(config, LocalRunOptions{}, o)["clientServerCheck"]["agrees"], false);
    // Reads of 400 ms each allow 40 more transfers: within 2% + 40.
    o.before = read_at(5000, kT0, 400);
    o.after = read_at(6000, kT0 + 10000, 400);
    EXPECT_EQ(build_local_result(config, LocalRunOptions{}, o)["clientServerCheck"]["agrees"], true);
}

TEST(LocalResult, FailedCallsABusyStopAndAnInterruptionAreNamed) {
    GeneratorConfig config;
    auto o = ten_seconds(100);
    o.counters.timeouts = 3;
    o.workers_busy_at_stop = true;
    o.interrupted = true;
    const auto r = build_local_result(config, LocalRunOptions{}, o);
    EXPECT_EQ(r["warnings"][0], "some workers were still busy after the op timeout");
    EXPECT_TRUE(has_warning_with(r, "3 calls failed (3 timeouts, 0 disconnects, 0 module errors)"));
    EXPECT_TRUE(has_warning_with(r, "interrupted: the window is shorter than requested"));
    EXPECT_EQ(r["window"]["interrupted"], true);
}

TEST(LocalResult, ProtocolErrorsAreCountedByKindAndNamedAsTheCause) {
    GeneratorConfig config;
    auto o = ten_seconds(100);
    o.counters.attempted += 80;
    o.counters.disconnects = 80;
    o.counters.protocol_errors.add(ProtocolErrorKind::Decode, 50);
    o.counters.protocol_errors.add(ProtocolErrorKind::TextFrame, 30);
    const auto r = build_local_result(config, LocalRunOptions{}, o);
    EXPECT_EQ(r["client"]["protocolErrors"], 80);
    EXPECT_EQ(r["client"]["protocolErrorsByKind"], (Json{{"decode", 50}, {"textFrame", 30}}));
    EXPECT_TRUE(has_warning_with(r, "80 calls failed (0 timeouts, 80 disconnects, 0 module errors)"));
    EXPECT_TRUE(has_warning_with(r,
                                 "the server sent 80 messages this generator could not take (protocol errors: "
                                 "textFrame 30, decode 50)"))
        << r["warnings"].dump();
    // Without any, the keys are there and say none.
    const auto clean = build_local_result(config, LocalRunOptions{}, ten_seconds(100));
    EXPECT_EQ(clean["client"]["protocolErrors"], 0);
    EXPECT_EQ(clean["client"]["protocolErrorsByKind"], Json::object());
}

// `bench-dist-generator run` exits by its verdict (generator/local_verdict):
// the cases the run's exit code must catch, through the built result.
TEST(LocalRunVerdict, EveryCallFailedNothingCommittedOrInterruptedIsInvalid) {
    GeneratorConfig config;
    const auto judged = [&](const LocalRunObservations& o) {
        auto r = build_local_result(config, LocalRunOptions{}, o);
        LocalVerdictOptions v;
        v.max_error_ratio = 1.0;  // failures beside commits are judged elsewhere
        judge_local_result(r, v);
        return r;
    };
    EXPECT_EQ(judged(ten_seconds(100))["verdict"], "valid") << judged(ten_seconds(100))["reasons"];

    // Issue 14's run: 80 calls, every one ended by a protocol error.
    auto garbage = ten_seconds(0);
    garbage.after = garbage.before;
    garbage.counters = LoadCounters{};
    garbage.counters.attempted = 80;
    garbage.counters.disconnects = 80;
    garbage.counters.reopened = 80;
    garbage.counters.protocol_errors.add(ProtocolErrorKind::Decode, 80);
    const auto g = judged(garbage);
    EXPECT_EQ(g["verdict"], "invalid");
    EXPECT_EQ(g["reasons"][0]["code"], "committed_nothing");
    EXPECT_EQ(g["reasons"][0]["message"],
              "nothing committed (80 calls attempted, 80 failed; 80 protocol errors: decode 80): the connections "
              "carried no load; the log above says why");

    // The client saw commits, but the server's counter did not move.
    auto stalled = ten_seconds(100);
    stalled.after = read_at(5000, kT0 + 10000);
    const auto s = judged(stalled);
    EXPECT_EQ(s["verdict"], "invalid");
    EXPECT_EQ(s["reasons"][0]["code"], "client_server_mismatch") << s["reasons"];

    auto interrupted = ten_seconds(100);
    interrupted.interrupted = true;
    const auto i = judged(interrupted);
    EXPECT_EQ(i["reasons"][0]["code"], "aborted") << i["reasons"];
}

TEST(LocalResult, TheServersCpuPerTransferOrWhyItIsMissing) {
    GeneratorConfig config;
    LocalRunOptions options;
    options.server_pid = 4242;
    auto o = ten_seconds(100);
    o.server_cpu_before_us = 1'000'000;
    o.server_cpu_after_us = 1'500'000;
    auto r = build_local_result(config, options, o);
    EXPECT_EQ(r["server"]["process"]["cpuUs"], 500000);
    EXPECT_DOUBLE_EQ(r["server"]["process"]["cpuUsPerCommitted"].get<double>(), 500.0);
    EXPECT_DOUBLE_EQ(r["server"]["process"]["cpuCores"].get<double>(), 0.05);
    o.server_cpu_after_us.reset();
    r = build_local_result(config, options, o);
    EXPECT_FALSE(r["server"].contains("process"));
    EXPECT_TRUE(has_warning_with(r, "--server-pid 4242: could not read /proc/4242/stat"));
}

TEST(LocalResult, MemoryPerConnectionIsGrowthAboveTheIdleBaseline) {
    GeneratorConfig config;
    auto o = ten_seconds(100);
    o.idle.rss_bytes = 10'000'000;
    o.opened.rss_bytes = 10'500'000;
    o.loaded.rss_bytes = 11'000'000;
    const auto r = build_local_result(config, LocalRunOptions{}, o);
    EXPECT_EQ(r["resources"]["rssPerConnectionOpenBytes"], 50000.0);
    EXPECT_EQ(r["resources"]["rssPerConnectionLoadedBytes"], 100000.0);
}

TEST(LocalResult, EdgeSecondsCountByTheirShareInsideTheSpan) {
    stats::IntervalRecorder rec;
    for (int i = 0; i < 100; ++i) rec.record_success(kT0 + 10, 900);         // [kT0, kT0+1000)
    for (int i = 0; i < 100; ++i) rec.record_success(kT0 + 1000 + 10, 900);  // [kT0+1000, kT0+2000)
    const std::vector<stats::Interval> intervals(rec.intervals().begin(), rec.intervals().end());
    EXPECT_DOUBLE_EQ(committed_between(intervals, kT0 + 500, kT0 + 1250), 50.0 + 25.0);
    EXPECT_DOUBLE_EQ(committed_between(intervals, kT0 - 1000, kT0), 0.0);
    // The load started 600 ms into the first second: its 100 transfers all
    // fall in [kT0+600, kT0+1000), so a window from kT0+600 holds them all
    // (by the whole second it would hold 40).
    EXPECT_DOUBLE_EQ(committed_between(intervals, kT0 + 600, kT0 + 2000, kT0 + 600.0, kT0 + 2000.0), 200.0);
    EXPECT_DOUBLE_EQ(committed_between(intervals, kT0 + 600, kT0 + 2000), 140.0);
    // ...and one stopped 500 ms into the second: [kT0+1000, kT0+1500).
    EXPECT_DOUBLE_EQ(committed_between(intervals, kT0 + 600, kT0 + 1250, kT0 + 600.0, kT0 + 1500.0), 150.0);
}
