// The result builder on its own: what the runner observed in, the result
// file's content out. No threads, sockets or clocks.
#include "benchdist/coordinator/epoch_result.hpp"

#include <gtest/gtest.h>

#include "benchdist/control/version.hpp"
#include "benchdist/stats/interval_recorder.hpp"
#include "epoch_fixtures.hpp"

using namespace benchdist;
using namespace benchdist::coordinator;
using control::Json;
using namespace benchdist::coordinator::testing;

namespace {

bool has_warning_with(const control::EpochResult& r, const std::string& text) {
    if (!r.extra.contains("warnings")) return false;
    for (const auto& w : r.extra["warnings"])
        if (w.get<std::string>().find(text) != std::string::npos) return true;
    return false;
}

// An invalid verdict with a reason of `code` whose message has `text`.
bool has_reason(const control::EpochResult& r, std::string_view code, const std::string& text = {}) {
    if (r.extra.value("verdict", "") != "invalid") return false;
    for (const auto& reason : r.extra["reasons"])
        if (reason["code"] == code && reason["message"].get<std::string>().find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(EpochResult, DeltaAndRateFromTheTwoEdgeReads) {
    const auto r = build_epoch_result(ten_second_window());
    EXPECT_EQ(r.epoch, 3u);
    EXPECT_EQ(r.label, "run-1");
    EXPECT_EQ(r.committed_before, "5000");
    EXPECT_EQ(r.committed_after, "6000");
    EXPECT_EQ(r.committed_delta, "1000");
    EXPECT_DOUBLE_EQ(r.actual_window_seconds, 10.0);
    EXPECT_DOUBLE_EQ(r.tps, 100.0);
    EXPECT_EQ(r.measured_at, "2026-04-10T12:00:00.000Z");
    EXPECT_EQ(r.finished_at, "2026-04-10T12:00:10.000Z");
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.verification, "skipped");
    EXPECT_EQ(r.extra["counterReadMs"], (Json::array({4, 4})));
    EXPECT_FALSE(r.extra.contains("aborted"));
    EXPECT_FALSE(r.extra.contains("warmupSeconds"));
}

TEST(EpochResult, RateUsesTheRealWindowNotTheConfiguredOne) {
    auto o = ten_second_window();
    o.after = read_at(6000, kT0 + 8000);  // stop-epoch cut it short
    o.finished_ms = kT0 + 8000;
    o.aborted = true;
    const auto r = build_epoch_result(o);
    EXPECT_DOUBLE_EQ(r.window_seconds, 10.0);
    EXPECT_DOUBLE_EQ(r.actual_window_seconds, 8.0);
    EXPECT_DOUBLE_EQ(r.tps, 125.0);
    EXPECT_EQ(r.extra["aborted"], true);
}

TEST(EpochResult, ACounterThatWentBackwardsAtAnEdgeHasNoNumbers) {
    auto o = ten_second_window();
    o.after = read_at(40, kT0 + 10000, 4, true);
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.committed_delta, "0");
    EXPECT_EQ(r.tps, 0);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->find("went backwards from 5000 to 40 during the window (its series vanished)"),
              std::string::npos)
        << *r.error;
    EXPECT_NE(r.error->find("no valid throughput"), std::string::npos);
}

TEST(EpochResult, AResetSeenOnlyByATimelineSampleVoidsTheDeltaToo) {
    auto o = ten_second_window();
    o.samples = {read_at(5100, kT0 + 1000), read_at(12, kT0 + 2000), read_at(9000, kT0 + 3000)};
    o.after = read_at(9500, kT0 + 10000);  // climbed past the start again
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.committed_delta, "0");
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->find("went backwards from 5100 to 12 2000 ms into the window"), std::string::npos) << *r.error;
}

TEST(EpochResult, AnAbsentSeriesAtTheStartIsZeroAndFlagged) {
    auto o = ten_second_window();
    o.before = read_at(0, kT0, 4, true);
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.committed_delta, "6000");
    EXPECT_EQ(r.extra["counterSeriesAbsentAtStart"], true);
    EXPECT_FALSE(r.error);
}

TEST(EpochResult, NoWindowWhenTheFirstReadNeverHappened) {
    auto o = ten_second_window();
    o.before.reset();
    o.after.reset();
    o.finished_ms = kT0 + 500;
    o.runner_error = "Missing start acknowledgements from: b";
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.measured_at, r.finished_at);
    EXPECT_EQ(r.actual_window_seconds, 0);
    EXPECT_EQ(r.committed_before, "0");
    EXPECT_EQ(r.committed_delta, "0");
    EXPECT_EQ(r.error, "Missing start acknowledgements from: b");
    EXPECT_FALSE(r.extra.contains("counterReadMs"));
    EXPECT_FALSE(r.extra.contains("timeline"));
    // The summary still names who sent nothing.
    EXPECT_TRUE(has_warning_with(r, "generators \"a\", \"b\" report no client counts"));
}

TEST(EpochResult, AFailedEndReadKeepsTheStartAndHasNoDelta) {
    auto o = ten_second_window();
    o.after.reset();
    o.finished_ms = kT0 + 10003;
    o.runner_error = "metrics unreachable";
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.committed_before, "5000");
    EXPECT_EQ(r.committed_after, "0");
    EXPECT_EQ(r.committed_delta, "0");
    EXPECT_DOUBLE_EQ(r.actual_window_seconds, 10.003);
    EXPECT_FALSE(r.extra.contains("timeline"));
}

TEST(EpochResult, LostParticipantsComeFirstInTheError) {
    auto o = ten_second_window();
    o.runner_error = "Missing stop acknowledgements from: b";
    o.lost_errors = {"generator b lost: silent for 10.0 s during measure"};
    o.after = read_at(10, kT0 + 10000);
    const auto r = build_epoch_result(o);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->rfind("generator b lost: silent for 10.0 s during measure; Missing stop acknowledgements from: "
                             "b; committed transfer counter went backwards",
                             0),
              0u)
        << *r.error;
}

TEST(EpochResult, TimelineStepsEndWithTheWindowsEndRead) {
    auto o = ten_second_window();
    o.after = read_at(6000, kT0 + 3000);
    o.finished_ms = kT0 + 3000;
    // The last sample answered after the end read: it belongs to no step.
    o.samples = {read_at(5200, kT0 + 1000), read_at(5500, kT0 + 2000), read_at(6100, kT0 + 3100)};
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["timeline"], (Json::array({{{"t", 1000}, {"committed", 200}, {"tps", 200.0}},
                                                 {{"t", 2000}, {"committed", 500}, {"tps", 300.0}},
                                                 {{"t", 3000}, {"committed", 1000}, {"tps", 500.0}}})));
}

TEST(EpochResult, NoTimelineWhenSamplingIsOff) {
    auto o = ten_second_window();
    o.options.sample_ms = 0;
    EXPECT_FALSE(build_epoch_result(o).extra.contains("timeline"));
}

TEST(EpochResult, ClientCountsCoverTheWindowAndCrossCheckTheServer) {
    auto o = ten_second_window();
    stats::IntervalRecorder a;
    for (int s = 0; s < 10; ++s)
        for (int i = 0; i < 50; ++i) a.record_success(kT0 + s * 1000 + 10, 900);
    o.stop_reports["a"] = {{"intervals", a.to_json()}, {"counters", {{"committed", 500}}}};
    o.stop_reports["b"] = {{"intervals", a.to_json()}, {"counters", {{"committed", 500}}}};
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["clientCommitted"], 1000);
    EXPECT_DOUBLE_EQ(r.extra["clientServerRatio"].get<double>(), 1.0);
    EXPECT_FALSE(has_warning_with(r, "differ"));
    // The file keeps each report without its bulky intervals.
    EXPECT_FALSE(r.extra["generatorReports"]["a"].contains("intervals"));
    EXPECT_EQ(r.extra["generatorReports"]["a"]["counters"]["committed"], 500);
}

TEST(EpochResult, DroppedConnectionsAreNamedPerGenerator) {
    auto o = ten_second_window();
    o.stop_reports["b"] = {{"counters", {{"disconnects", 3}, {"reopened", 2}, {"reopenFailures", 1}}}};
    o.stop_reports["a"] = {{"counters", {{"disconnects", 0}}}};
    const auto r = build_epoch_result(o);
    EXPECT_TRUE(has_warning_with(r,
                                 "generator b: connections dropped during the epoch (3 calls lost as disconnects, 2 "
                                 "connections reopened, 1 reopen attempts failed)"));
    EXPECT_FALSE(has_warning_with(r, "generator a: connections dropped"));
}

// Issue 14: a server that answered garbage was taken for one that restarted.
TEST(EpochResult, ProtocolErrorsAreNamedAsTheCauseInsteadOfARestartGuess) {
    auto o = ten_second_window();
    o.stop_reports["a"] = {{"counters",
                            {{"attempted", 80},
                             {"errors", 80},
                             {"disconnects", 80},
                             {"reopened", 80},
                             {"protocolErrors", 80},
                             {"protocolErrorsByKind", {{"decode", 50}, {"unknownMessageTag", 30}}}}}};
    o.stop_reports["b"] = {{"counters", {{"disconnects", 3}, {"reopened", 2}}}};
    const auto r = build_epoch_result(o);
    EXPECT_TRUE(has_warning_with(r,
                                 "generator a: the server sent 80 messages it could not take (protocol errors: decode "
                                 "50, unknownMessageTag 30), and each closed its connection (80 calls lost as "
                                 "disconnects, 80 connections reopened, 0 reopen attempts failed): its answers are not "
                                 "the v2/v3 BSATN protocol"))
        << r.extra["warnings"];
    EXPECT_FALSE(has_warning_with(r, "generator a: connections dropped"));
    // Without protocol errors the guess stays: nothing better is known.
    EXPECT_TRUE(has_warning_with(r,
                                 "generator b: connections dropped during the epoch (3 calls lost as disconnects, 2 "
                                 "connections reopened, 0 reopen attempts failed): did the server restart or shed "
                                 "load?"));
    // The result's per-generator entry names them too.
    EXPECT_EQ(r.extra["perGenerator"]["a"]["protocolErrors"], 80) << r.extra["perGenerator"];
    EXPECT_EQ(r.extra["perGenerator"]["a"]["protocolErrorsByKind"], (Json{{"decode", 50}, {"unknownMessageTag", 30}}));
    EXPECT_EQ(r.extra["perGenerator"]["b"]["protocolErrors"], 0);
    EXPECT_FALSE(r.extra["perGenerator"]["b"].contains("protocolErrorsByKind"));
}

TEST(EpochResult, ManifestRecordsCoordinatorServerAndGenerators) {
    auto o = ten_second_window();
    o.options.server_url = "ws://db:3000";
    o.options.database = "keynote";
    o.options.warmup_seconds = 2;
    o.database_identity = "c200abc";
    o.manifests["a"].hostname = "load-1";
    o.workload = compare_workloads(o.manifests);
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["warmupSeconds"], 2.0);
    const auto& m = r.extra["manifest"];
    EXPECT_EQ(m["toolVersion"], std::string(control::tool_version()));
    EXPECT_EQ(m["coordinator"]["hostname"], "control-host");
    EXPECT_EQ(m["coordinator"]["windowSeconds"], 10.0);
    EXPECT_EQ(m["server"], (Json{{"url", "ws://db:3000"}, {"database", "keynote"}, {"databaseIdentity", "c200abc"}}));
    EXPECT_EQ(m["startedAt"], "2026-04-10T11:59:58.000Z");
    EXPECT_EQ(m["generators"]["a"]["hostname"], "load-1");
    EXPECT_TRUE(m["workload"].is_null());
    // A participant that stated no workload is a warning, not a guess.
    EXPECT_TRUE(has_warning_with(r, "sent no workload manifest")) << r.extra["warnings"];
}

TEST(EpochResult, AnUnknownServerIsNullNotEmpty) {
    const auto r = build_epoch_result(ten_second_window());
    EXPECT_EQ(r.extra["manifest"]["server"],
              (Json{{"url", nullptr}, {"database", nullptr}, {"databaseIdentity", nullptr}}));
}

TEST(EpochResult, VerificationOutcomeIsCarriedOver) {
    auto o = ten_second_window();
    o.verification = "failed";
    o.verification_error = "sum of balances 999 != 1000";
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.verification, "failed");
    EXPECT_EQ(r.verification_error, "sum of balances 999 != 1000");
}

TEST(EpochResult, AReadWithoutTimesTakesTheCoordinatorsClock) {
    stdbhttp::CounterRead r;
    r.committed = 7;
    EXPECT_EQ(observe(r, 1234).at_ms, 1234);
    r.received_at_ms = 99;
    EXPECT_EQ(observe(r, 1234).at_ms, 99);
}

TEST(EpochResult, AClientServerGapBeyondTheToleranceIsNamed) {
    auto o = ten_second_window();  // the server committed 1000
    o.stop_reports["a"] = report_with(45);
    o.stop_reports["b"] = report_with(45);  // the clients saw 900
    const auto r = build_epoch_result(o);
    EXPECT_DOUBLE_EQ(r.extra["clientServerRatio"].get<double>(), 0.9);
    EXPECT_TRUE(has_reason(r, "client_server_mismatch",
                           "the generators saw 900 commits in the window, the server counted 1000 (allowed gap 20): "
                           "the server committed transfers the generators did not send"))
        << r.extra["reasons"];
}

TEST(EpochResult, SlowCounterReadsWidenTheCrossCheckByWhatTheirRoundTripsAllow) {
    // 100/s on the server, 950 seen by the clients: 50 apart. 2% of 1000 is
    // 20; round trips of 4 ms allow 0.4 more, so this warns...
    auto o = ten_second_window();
    o.participant_ids = {"a"};
    o.stop_reports["a"] = report_with(95);
    EXPECT_TRUE(has_reason(build_epoch_result(o), "client_server_mismatch"));
    // ...but two reads of 400 ms each may have happened 400 ms (40
    // transfers) later or earlier than the coordinator takes them: 60 in all.
    o.before = read_at(5000, kT0, 400);
    o.after = read_at(6000, kT0 + 10000, 400);
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["verdict"], "valid") << r.extra["reasons"];
    EXPECT_EQ(r.extra["counterReadMs"], Json::array({400, 400}));
}

TEST(EpochResult, TheGapWarningSaysWhatTheRoundTripsAllowed) {
    auto o = ten_second_window();
    o.before = read_at(5000, kT0, 200);
    o.after = read_at(6000, kT0 + 10000, 200);
    o.participant_ids = {"a"};
    o.stop_reports["a"] = report_with(50);  // 500 of 1000: far beyond 20 + 20
    const auto r = build_epoch_result(o);
    EXPECT_TRUE(has_reason(r, "client_server_mismatch", "(allowed gap 40)")) << r.extra["reasons"];
    EXPECT_EQ(r.extra["reasons"][0]["edgeAllowance"], 20.0);
}

TEST(EpochResult, AClockOffsetBeyondTheCoordinatorsLimitIsNamed) {
    auto o = ten_second_window();
    o.options.max_clock_offset_ms = 50;
    o.stop_reports["a"] = report_with(50, 80.0);
    o.stop_reports["b"] = report_with(50, 10.0);
    const auto r = build_epoch_result(o);
    EXPECT_TRUE(has_warning_with(r, "generator \"a\" clock offset 80.0 ms exceeds --max-clock-offset-ms 50"));
    EXPECT_FALSE(has_warning_with(r, "generator \"b\" clock offset"));
}

TEST(EpochResult, AReportWithoutIntervalsIsNamed) {
    auto o = ten_second_window();
    o.stop_reports["a"] = report_with(50);
    o.stop_reports["b"] = {{"counters", {{"committed", 500}}}};
    EXPECT_TRUE(has_warning_with(build_epoch_result(o), "generator \"b\" reports no client counts"));
}

TEST(EpochResult, MixedWorkloadsAreNamedInTheResult) {
    auto o = ten_second_window();
    for (const auto* id : {"a", "b"}) {
        control::RegisterManifest m;
        m.tool_version = std::string(control::tool_version());
        m.workload = {{"alpha", std::string(id) == "a" ? 1.5 : 0.0}};
        o.manifests[id].manifest = m;
        o.manifests[id].negotiated_protocol = "v3";
    }
    o.workload = compare_workloads(o.manifests);
    EXPECT_TRUE(has_warning_with(build_epoch_result(o), "the participants' workloads differ"));
}

TEST(EpochResult, AnAbortedEpochIsMarked) {
    auto o = ten_second_window();
    EXPECT_FALSE(build_epoch_result(o).extra.contains("aborted"));
    o.aborted = true;
    EXPECT_EQ(build_epoch_result(o).extra["aborted"], true);
}

TEST(EpochResult, AnEpochLoadIsRecordedWithItsSharesAndTiming) {
    auto o = ten_second_window();
    o.options.window_seconds = 10;  // as apply_epoch_timing left it
    o.connections = {{"a", {40, 40}}, {"b", {24, 24}}};
    o.manifests["a"] = {};
    o.manifests["b"] = {};
    control::EpochLoadRequest request;
    request.connections = 16;
    request.alpha = 2;
    o.load = request;
    control::LoadAssignment a_share;
    a_share.connections = 10;
    a_share.alpha = 2;
    control::LoadAssignment b_share = a_share;
    b_share.connections = 6;
    o.assignments = {{"a", a_share}, {"b", b_share}};
    o.timing.window_seconds = 10;
    o.stop_reports["a"] = {{"settings", {{"connections", 10}, {"alpha", 2}}}};
    o.stop_reports["b"] = {{"load", {{"mode", "closed"}, {"maxInflight", 1}, {"connections", 6}}},
                           {"settings", {{"connections", 24}, {"alpha", 2}}}};
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["epochLoad"],
              (Json{{"request", {{"connections", 16}, {"alpha", 2}}},
                    {"assignments",
                     {{"a", {{"connections", 10}, {"alpha", 2}}}, {"b", {{"connections", 6}, {"alpha", 2}}}}},
                    {"windowSeconds", 10}}));
    EXPECT_EQ(r.participant_connections, 16u) << "load.connections before settings.connections";
    EXPECT_EQ(r.window_seconds, 10);
    EXPECT_EQ(r.extra["manifest"]["generators"]["b"]["epochLoad"], (Json{{"connections", 6}, {"alpha", 2}}));
    EXPECT_EQ(r.extra["manifest"]["coordinator"]["windowSeconds"], 10);
    EXPECT_EQ(r.extra["verdict"], "valid") << r.extra["reasons"];

    // Timing alone: epochLoad has no shares, and participantConnections is
    // what the participants opened, as without one.
    o.load.reset();
    o.assignments.clear();
    o.timing = {};
    o.timing.warmup_seconds = 0;
    const auto t = build_epoch_result(o);
    EXPECT_EQ(t.extra["epochLoad"],
              (Json{{"request", Json::object()}, {"assignments", Json::object()}, {"warmupSeconds", 0}}));
    EXPECT_EQ(t.participant_connections, 64u);
    // Neither: no epochLoad at all.
    o.timing = {};
    EXPECT_FALSE(build_epoch_result(o).extra.contains("epochLoad"));
}

TEST(EpochResult, LittlesLawCountsTheConnectionsEachParticipantRan) {
    auto o = ten_second_window();
    o.participant_ids = {"a"};
    o.connections = {{"a", {64, 64}}};
    control::LoadAssignment share;
    share.connections = 4;
    o.assignments = {{"a", share}};
    auto report = report_with(100);
    report["settings"] = {{"connections", 4}};
    report["load"] = {{"mode", "closed"}, {"maxInflight", 2}, {"connections", 4}};
    o.stop_reports["a"] = report;
    const auto r = build_epoch_result(o);
    ASSERT_TRUE(r.extra.contains("littlesLaw")) << r.extra;
    EXPECT_EQ(r.extra["littlesLaw"]["inflightCapacity"], 8) << "4 connections ran x 2 in flight, not 64 opened";
}

namespace {

// A ten-second window sampled every second, the counter growing by each of
// `rates` (commits/s) in turn from 5000.
EpochObservations sampled_window(const std::vector<double>& rates) {
    auto o = ten_second_window();
    double counter = 5000;
    o.samples.clear();
    for (std::size_t i = 0; i + 1 < rates.size(); ++i) {
        counter += rates[i];
        o.samples.push_back(
            read_at(static_cast<std::uint64_t>(counter), kT0 + 1000 * static_cast<std::int64_t>(i + 1)));
    }
    counter += rates.back();
    o.after = read_at(static_cast<std::uint64_t>(counter), kT0 + 1000 * static_cast<std::int64_t>(rates.size()));
    o.finished_ms = o.after->at_ms;
    return o;
}

}  // namespace

TEST(EpochResult, WindowStabilityOfASteadyWindow) {
    const auto r = build_epoch_result(sampled_window({100, 100, 100, 100, 100, 100, 100, 100, 100, 100}));
    ASSERT_TRUE(r.extra.contains("windowStability")) << r.extra.dump();
    const auto& w = r.extra["windowStability"];
    EXPECT_EQ(w["samples"], 10);
    EXPECT_EQ(w["cv"], 0.0);
    EXPECT_EQ(w["slopePerSecond"], 0.0);
    EXPECT_EQ(w["relativeSlopePerSecond"], 0.0);
    EXPECT_FALSE(w.contains("warning"));
    EXPECT_FALSE(has_warning_with(r, "decayed"));
}

TEST(EpochResult, AWindowWithoutSamplesIsTooShortToClassify) {
    // The fixture's two edge reads: one step, no slope, no classification.
    const auto r = build_epoch_result(ten_second_window());
    const auto& w = r.extra["windowStability"];
    EXPECT_EQ(w["samples"], 1);
    EXPECT_EQ(w["cv"], 0.0);
    EXPECT_TRUE(w["slopePerSecond"].is_null());
    EXPECT_FALSE(w.contains("warning"));
    EXPECT_NE(w["note"].get<std::string>().find("at least 3"), std::string::npos) << w;
}

TEST(EpochResult, ADecayingWindowIsAWarningNotAReason) {
    const auto r = build_epoch_result(sampled_window({145, 135, 125, 115, 105, 95, 85, 75, 65, 55}));
    const auto& w = r.extra["windowStability"];
    EXPECT_EQ(w["warning"], "decaying");
    EXPECT_EQ(w["slopePerSecond"], -10.0);
    EXPECT_EQ(w["relativeSlopePerSecond"], -0.1);
    EXPECT_TRUE(has_warning_with(r, "throughput decayed inside the window")) << r.extra["warnings"];
    EXPECT_FALSE(has_reason(r, "throughput_collapsed"));
}

TEST(EpochResult, ACollapsedWindowIsInvalid) {
    const auto r = build_epoch_result(sampled_window({130, 130, 130, 130, 130, 130, 130, 130, 0, 0}));
    EXPECT_EQ(r.extra["windowStability"]["warning"], "collapsed");
    EXPECT_TRUE(has_reason(r, "throughput_collapsed", "the last quarter of the window ran at")) << r.extra.dump(2);
    // The numbers behind it are the stability figures.
    for (const auto& reason : r.extra["reasons"])
        if (reason["code"] == "throughput_collapsed") {
            EXPECT_EQ(reason["samples"], 10);
        }
}

TEST(EpochResult, NoWindowStabilityWithoutADelta) {
    auto o = ten_second_window();
    o.after = read_at(10, kT0 + 10000);  // went backwards
    EXPECT_FALSE(build_epoch_result(o).extra.contains("windowStability"));
    o = ten_second_window();
    o.after.reset();
    EXPECT_FALSE(build_epoch_result(o).extra.contains("windowStability"));
}

TEST(EpochResult, AnAutoWarmupIsReportedWithItsRates) {
    auto o = ten_second_window();
    o.options.warmup_auto = true;
    o.options.stable_cv = 0.1;
    o.options.stable_seconds = 2;
    o.warmup = WarmupObservation{4.0021, true, 0.01234567, {10.4, 250.6, 99.5, 100.4}};
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["warmup"], (Json{{"mode", "auto"},
                                       {"seconds", 4.002},
                                       {"stable", true},
                                       {"cv", 0.0123},
                                       {"rates", {10, 251, 100, 100}},
                                       {"stableCv", 0.1},
                                       {"stableSeconds", 2.0},
                                       {"warmupMaxSeconds", 60.0}}));
    EXPECT_EQ(r.extra["warmupSeconds"], 4.002);
    EXPECT_FALSE(has_reason(r, "not_steady"));
}

TEST(EpochResult, AFixedWarmupKeepsItsKey) {
    auto o = ten_second_window();
    o.options.warmup_seconds = 3;
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["warmupSeconds"], 3.0);
    EXPECT_EQ(r.extra["warmup"], (Json{{"mode", "fixed"}, {"seconds", 3.0}}));
    // No warmup at all: neither key, as before.
    const auto none = build_epoch_result(ten_second_window());
    EXPECT_FALSE(none.extra.contains("warmup"));
    EXPECT_FALSE(none.extra.contains("warmupSeconds"));
}
