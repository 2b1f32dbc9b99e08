#include "benchdist/coordinator/live_series.hpp"

#include <gtest/gtest.h>

namespace benchdist::coordinator {
namespace {

using control::Json;

LiveEpochInfo epoch_info(std::uint64_t epoch = 3) {
    return {epoch, "run \"a\"", {"gen-a", "gen-b"}, 100000, 2.0, false, 10.0};
}

// One second of a generator's load: `committed` calls of `latency_us` each,
// `disconnects` failed.
stats::Interval second(std::int64_t start_ms, std::uint64_t committed, std::uint64_t latency_us,
                       std::uint64_t disconnects = 0) {
    stats::Interval i;
    i.start_ms = start_ms;
    i.totals.attempted = committed + disconnects;
    i.totals.committed = committed;
    i.totals.failures.disconnects = disconnects;
    for (std::uint64_t n = 0; n < committed; ++n) i.totals.latency.record(latency_us);
    return i;
}

control::ProgressReport report(std::string id, std::uint64_t epoch, std::vector<stats::Interval> intervals) {
    return {std::move(id), epoch, 8, std::move(intervals)};
}

const LiveContext kRunning{"measure", true};

const Json* second_at(const Json& live, std::int64_t t) {
    for (const auto& s : live["seconds"])
        if (s["t"] == t) return &s;
    return nullptr;
}

TEST(LiveSeries, BeforeAnyEpochItSaysSo) {
    LiveSeries live;
    const auto j = live.to_json(0, {"idle", false});
    EXPECT_TRUE(j["epoch"].is_null());
    EXPECT_TRUE(j["seconds"].empty());
    EXPECT_EQ(j["phase"], "idle");
    EXPECT_THROW(live.add_progress(report("gen-a", 1, {second(1000, 1, 100)}), 2000), ProgressRefused);
}

TEST(LiveSeries, MergesGeneratorsPerSecondAndPartsOfASecond) {
    LiveSeries live;
    live.begin_epoch(epoch_info());
    live.add_progress(report("gen-a", 3, {second(101000, 100, 200)}), 101500);
    live.add_progress(report("gen-b", 3, {second(101000, 50, 400, 2)}), 101600);
    // The rest of gen-a's second arrives with its next report.
    live.add_progress(report("gen-a", 3, {second(101000, 10, 200), second(102000, 120, 300)}), 102500);
    const auto j = live.to_json(0, kRunning);
    EXPECT_EQ(j["epoch"], 3);
    EXPECT_EQ(j["label"], "run \"a\"");
    EXPECT_TRUE(j["full"]);
    ASSERT_EQ(j["seconds"].size(), 2u);
    const Json& first = *second_at(j, 101000);
    EXPECT_EQ(first["committed"], 160);
    EXPECT_EQ(first["attempted"], 162);
    EXPECT_EQ(first["tps"], 160.0);
    EXPECT_EQ(first["errors"]["disconnects"], 2);
    EXPECT_EQ(first["errors"]["total"], 2);
    EXPECT_EQ(first["p50"], 200);
    EXPECT_EQ(first["max"], 400);
    EXPECT_EQ(first["generators"]["gen-a"]["committed"], 110);
    EXPECT_EQ(first["generators"]["gen-b"]["errors"], 2);
    EXPECT_EQ(first["generators"]["gen-b"]["p99"], 400);
    EXPECT_EQ(j["generators"]["gen-a"]["committed"], 230);
    EXPECT_EQ(j["generators"]["gen-a"]["connections"], 8);
    EXPECT_EQ(j["generators"]["gen-a"]["lastProgressMs"], 102500);
    EXPECT_EQ(j["totals"]["committed"], 280);
    EXPECT_EQ(j["totals"]["errors"], 2);
    // gen-b has posted nothing past 101000, so 101000 may still grow: no
    // complete second yet.
    EXPECT_TRUE(j["totals"]["clientTps"].is_null());
    live.add_progress(report("gen-b", 3, {second(102000, 30, 400)}), 102600);
    EXPECT_EQ(live.to_json(0, kRunning)["totals"]["clientTps"], 160.0)
        << "every generator reported past 101000: it is the last complete second";
}

TEST(LiveSeries, RefusesOtherEpochsAndNonParticipantsWithoutTakingAnything) {
    LiveSeries live;
    live.begin_epoch(epoch_info(3));
    EXPECT_THROW(live.add_progress(report("gen-a", 2, {second(101000, 1, 100)}), 101500), ProgressRefused);
    EXPECT_THROW(live.add_progress(report("gen-z", 3, {second(101000, 1, 100)}), 101500), ProgressRefused);
    auto other_digits = second(101000, 1, 100);
    other_digits.totals.latency = stats::LatencyHistogram(2);
    other_digits.totals.latency.record(100);
    EXPECT_THROW(live.add_progress(report("gen-a", 3, {second(101000, 5, 100), other_digits}), 101500),
                 control::ProtocolError);
    const auto j = live.to_json(0, kRunning);
    EXPECT_TRUE(j["seconds"].empty()) << "a refused report leaves nothing behind";
    EXPECT_EQ(j["totals"]["committed"], 0);
}

TEST(LiveSeries, SinceGivesOnlyWhatChangedAndANewEpochGivesEverything) {
    LiveSeries live;
    live.begin_epoch(epoch_info());
    live.add_progress(report("gen-a", 3, {second(101000, 10, 100)}), 101500);
    live.add_server_read(101200, 5000, false);
    const auto v = live.version();
    live.add_progress(report("gen-a", 3, {second(102000, 20, 100)}), 102500);
    live.add_server_read(102200, 5500, false);
    const auto j = live.to_json(v, kRunning);
    EXPECT_FALSE(j["full"]);
    ASSERT_EQ(j["seconds"].size(), 1u);
    EXPECT_EQ(j["seconds"][0]["t"], 102000);
    ASSERT_EQ(j["server"].size(), 1u);
    EXPECT_EQ(j["server"][0]["committed"], 5500);
    EXPECT_EQ(j["server"][0]["tps"], 500.0);
    EXPECT_EQ(live.to_json(live.version(), kRunning)["seconds"].size(), 0u);

    const auto before_new_epoch = live.version();
    live.begin_epoch(epoch_info(4));
    live.add_progress(report("gen-b", 4, {second(201000, 1, 100)}), 201500);
    const auto k = live.to_json(before_new_epoch, kRunning);
    EXPECT_TRUE(k["full"]) << "a client that saw the last epoch gets all of this one";
    EXPECT_EQ(k["epoch"], 4);
    ASSERT_EQ(k["seconds"].size(), 1u);
    EXPECT_TRUE(k["server"].empty());
    // A version from another coordinator process, ahead of this one.
    EXPECT_TRUE(live.to_json(live.version() + 100, kRunning)["full"]);
}

TEST(LiveSeries, OldSecondsKeepTheirPercentilesWithoutHistograms) {
    LiveSeries live(LiveLimits{3600, 5000});
    live.begin_epoch(epoch_info());
    live.add_progress(report("gen-a", 3, {second(101000, 99, 100), second(101000, 1, 9000)}), 101500);
    live.finalize(110000);
    // A late part of a finalized second counts, but its latency cannot join.
    live.add_progress(report("gen-a", 3, {second(101000, 5, 50000)}), 110000);
    const auto j = live.to_json(0, kRunning);
    const Json& s = *second_at(j, 101000);
    EXPECT_EQ(s["committed"], 105);
    EXPECT_EQ(s["p50"], 100);
    EXPECT_EQ(s["max"], 9000);
    EXPECT_EQ(s["generators"]["gen-a"]["p50"], 100);
    // The epoch's merged latency still has everything.
    EXPECT_EQ(live.latency().count(), 105u);
    EXPECT_TRUE(j["totals"]["clientTps"].is_null()) << "the newest second may be partial: no rate from it";
}

TEST(LiveSeries, KeepsAtMostMaxSeconds) {
    LiveSeries live(LiveLimits{4, 5000});
    live.begin_epoch(epoch_info());
    for (int i = 0; i < 10; ++i) {
        live.add_progress(report("gen-a", 3, {second(100000 + 1000 * i, 1, 100)}), 100500 + 1000 * i);
        live.add_server_read(100000 + 1000 * i, static_cast<std::uint64_t>(i), false);
    }
    const auto j = live.to_json(0, kRunning);
    ASSERT_EQ(j["seconds"].size(), 4u);
    EXPECT_EQ(j["seconds"][0]["t"], 106000);
    EXPECT_EQ(j["server"].size(), 4u);
    EXPECT_EQ(j["totals"]["committed"], 10) << "totals count everything";
}

TEST(LiveSeries, StagesWindowAndResult) {
    LiveSeries live;
    live.begin_epoch(epoch_info());
    EXPECT_EQ(live.to_json(0, kRunning)["stage"], "barrier");
    live.set_stage(LiveStage::Warmup, 100500);
    live.add_server_read(100600, 1000, false);
    live.window_opened(102600);
    live.add_server_read(102600, 3000, true);
    EXPECT_TRUE(live.in_window());
    live.window_closed(112600);
    live.set_stage(LiveStage::Stopping, 112700);
    auto j = live.to_json(0, {"stop", true});
    EXPECT_EQ(j["stage"], "stopping");
    EXPECT_EQ(j["warmupStartMs"], 100500);
    EXPECT_EQ(j["windowStartMs"], 102600);
    EXPECT_EQ(j["windowEndMs"], 112600);
    EXPECT_FALSE(live.in_window());
    EXPECT_EQ(j["server"][1]["inWindow"], true);
    EXPECT_EQ(j["server"][1]["tps"], 1000.0);
    EXPECT_EQ(j["totals"]["serverTps"], 1000.0);
    EXPECT_TRUE(j["result"].is_null());

    control::EpochResult r;
    r.epoch = 3;
    r.tps = 1234.5;
    r.extra["verdict"] = "invalid";
    r.extra["reasons"] = Json::array({Json{{"code", "not_steady"}, {"message", "m"}}});
    live.finished(r, 113000);
    j = live.to_json(0, {"idle", false});
    EXPECT_EQ(j["stage"], "done");
    EXPECT_EQ(j["finishedAtMs"], 113000);
    EXPECT_EQ(j["result"]["verdict"], "invalid");
    EXPECT_EQ(j["result"]["tps"], 1234.5);
    EXPECT_EQ(j["result"]["reasons"][0]["code"], "not_steady");
    EXPECT_FALSE(live.running());
    EXPECT_THROW(live.add_progress(report("gen-a", 3, {second(113000, 1, 100)}), 113500), ProgressRefused)
        << "nothing is taken once the epoch is over";
}

TEST(LiveSeries, ACounterThatWentBackHasNoRate) {
    LiveSeries live;
    live.begin_epoch(epoch_info());
    live.add_server_read(1000, 500, false);
    live.add_server_read(2000, 100, false);
    ASSERT_TRUE(live.last_server_read());
    EXPECT_FALSE(live.last_server_read()->tps);
}

}  // namespace
}  // namespace benchdist::coordinator
