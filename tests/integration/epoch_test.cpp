// Whole epochs with real processes on 127.0.0.1: stdb-standin, a coordinator
// and generators, driven over the coordinator's HTTP routes. Checks what an
// operator relies on: TPS agrees with the stand-in's ground truth, late and
// dead generators are handled, bad requests are refused, verification bites.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/standin/commit_log.hpp"
#include "rig.hpp"

namespace fs = std::filesystem;
namespace bc = benchdist::control;
namespace bn = benchdist::net;
using namespace benchdist::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kInitialBalance = 1000000;

// test-1 and test-2 seeded, a commit log, and a coordinator measuring test-1
// over 2 s windows with verification; generators get 4 connections.
class Cluster : public benchdist::testing::Rig {
public:
    Cluster()
        : Rig({.tag = "epoch",
               .standin = {.databases = {"test-1", "test-2"}, .args = {"--debug-routes"}},
               .commit_log = true,
               .seed = std::make_pair(std::uint64_t{1000}, kInitialBalance),
               .coordinator_args = std::vector<std::string>{"--window-seconds", "2", "--start-ack-timeout-seconds",
                                                            "10", "--stop-ack-timeout-seconds", "5", "--verify",
                                                            "--initial-balance", std::to_string(kInitialBalance)}}) {}

    std::string coord_url() { return coordinator().url(); }
    bn::ClientResponse call_stdb(const std::string& path, const std::string& json) {
        return standin().post(path, json);
    }
};

}  // namespace

TEST(Epoch, TwoGeneratorsMatchGroundTruthAndAnotherDatabaseDoesNotLeak) {
    Cluster c;
    c.start_generator("gen-a");
    c.start_generator("gen-b");
    c.wait_ready(2);
    const auto started = c.start_epoch(R"({"label":"it"})");
    ASSERT_TRUE(started.started) << started.message;
    EXPECT_EQ(started.message, "Epoch 1 started");
    // Commit transfers on test-2 while test-1 is measured: they must not count.
    c.wait_phase(bc::Phase::Measure);
    for (int i = 0; i < 200; ++i) c.call_stdb("/v1/database/test-2/call/transfer", "[1,2,1]");
    const auto r = c.wait_result(1);
    EXPECT_FALSE(r.error) << r.error.value_or("");
    EXPECT_EQ(r.verification, "passed") << r.verification_error.value_or("");
    EXPECT_EQ(r.participant_ids, (std::vector<std::string>{"gen-a", "gen-b"}));
    EXPECT_EQ(r.label.value_or(""), "it");
    const auto delta = std::stoull(r.committed_delta);
    ASSERT_GT(delta, 100u);
    EXPECT_NEAR(r.tps, static_cast<double>(delta) / r.actual_window_seconds, 1e-6 * r.tps);

    // Each generator's own report rides along: counters and settings.
    ASSERT_TRUE(r.extra.contains("generatorReports")) << bc::pretty(bc::to_json(r));
    std::uint64_t client_committed = 0;
    for (const char* id : {"gen-a", "gen-b"}) {
        const auto& report = r.extra["generatorReports"][id];
        client_committed += report["counters"]["committed"].get<std::uint64_t>();
        EXPECT_EQ(report["settings"]["confirmedReads"], "server default (true on v2/v3)");
        EXPECT_EQ(report["settings"]["compression"], "none");
        // The process's CPU over its load, against the threads that carried it.
        ASSERT_TRUE(report.contains("resources")) << report.dump();
        EXPECT_GT(report["resources"]["wallUs"].get<std::uint64_t>(), 0u);
        EXPECT_GE(report["resources"]["threads"].get<std::uint64_t>(), 1u);
    }
    // Whether the generators limited the throughput is always said.
    ASSERT_TRUE(r.extra.contains("generatorLimited")) << bc::pretty(bc::to_json(r));
    EXPECT_TRUE(r.extra["generatorLimited"]["limited"].is_boolean());
    std::printf("  generatorLimited: %s\n", r.extra["generatorLimited"].dump().c_str());
    // Generators load a little before and after the window too.
    EXPECT_GE(client_committed, delta);

    // Ground truth: the stand-in's commit log, test-1 only, over the window.
    std::vector<benchdist::standin::CommitRecord> records;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    const auto window_end = iso_to_micros(r.finished_at);
    // The log is written in the background; wait until it has passed the window.
    for (;;) {
        records = benchdist::standin::read_commit_log(c.commit_log_path());
        std::int64_t newest = 0;
        for (const auto& rec : records) newest = std::max(newest, rec.commit_time_us);
        if (newest >= window_end || std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(50ms);  // polling a file for a condition, bounded by the deadline
    }
    const auto window_start = iso_to_micros(r.measured_at);
    const auto truth = benchdist::standin::count_commits(records, "test-1", window_start, window_end);
    // Each edge is the time the counter's answer arrived; the server read
    // it somewhere within that request's round trip (counterReadMs) before.
    // Under load a round trip is tens of ms, hundreds of transfers at
    // speed, so the delta must lie between the commits surely inside the
    // window and those possibly inside it (1 ms each side for the ms
    // timestamps), not within a fixed 1% of one of them.
    ASSERT_TRUE(r.extra.contains("counterReadMs")) << bc::pretty(bc::to_json(r));
    const std::int64_t start_read_us = r.extra["counterReadMs"][0].get<std::int64_t>() * 1000;
    const std::int64_t end_read_us = r.extra["counterReadMs"][1].get<std::int64_t>() * 1000;
    const auto surely_in =
        benchdist::standin::count_commits(records, "test-1", window_start + 1000, window_end - end_read_us - 1000);
    const auto possibly_in =
        benchdist::standin::count_commits(records, "test-1", window_start - start_read_us - 1000, window_end + 1000);
    EXPECT_GE(delta, surely_in) << "coordinator delta " << delta << " vs commit log " << truth;
    EXPECT_LE(delta, possibly_in) << "coordinator delta " << delta << " vs commit log " << truth;
    std::printf("epoch 1: commit log bracket [%llu, %llu] (counter reads took %lld and %lld ms)\n",
                static_cast<unsigned long long>(surely_in), static_cast<unsigned long long>(possibly_in),
                static_cast<long long>(start_read_us / 1000), static_cast<long long>(end_read_us / 1000));
    std::printf("epoch 1: committedDelta %llu, commit log %llu over [%s, %s), tps %.1f\n",
                static_cast<unsigned long long>(delta), static_cast<unsigned long long>(truth), r.measured_at.c_str(),
                r.finished_at.c_str(), r.tps);

    // Result file written with the original name pattern, and parseable.
    bool found = false;
    for (const auto& e : fs::directory_iterator(c.dir() / "results")) {
        const auto name = e.path().filename().string();
        if (name.rfind("test-1-spacetimedb-epoch-001-", 0) == 0 && e.path().extension() == ".json") {
            std::ifstream in(e.path());
            const auto parsed = bc::epoch_result_from_json(bc::Json::parse(in));
            EXPECT_EQ(parsed.committed_delta, r.committed_delta);
            found = true;
        }
    }
    EXPECT_TRUE(found);
}

TEST(Epoch, LateGeneratorJoinsOnlyTheNextEpochAndBusyIsRefused) {
    Cluster c;
    c.start_generator("gen-a");
    c.wait_ready(1);
    ASSERT_TRUE(c.start_epoch().started);
    c.start_generator("gen-late");
    const auto busy = c.start_epoch();
    EXPECT_FALSE(busy.started);
    EXPECT_EQ(busy.message.rfind("Coordinator is busy in phase ", 0), 0u) << busy.message;
    const auto r1 = c.wait_result(1);
    EXPECT_EQ(r1.participant_ids, (std::vector<std::string>{"gen-a"}));
    c.wait_ready(2);
    ASSERT_TRUE(c.start_epoch().started);
    const auto r2 = c.wait_result(2);
    EXPECT_EQ(r2.participant_ids, (std::vector<std::string>{"gen-a", "gen-late"}));
    EXPECT_FALSE(r2.error) << r2.error.value_or("");
}

TEST(Epoch, KilledGeneratorIsNamedAndTheNextEpochSucceeds) {
    Cluster c;
    c.start_generator("gen-a");
    c.start_generator("gen-b");
    c.wait_ready(2);
    ASSERT_TRUE(c.start_epoch().started);
    c.wait_phase(bc::Phase::Measure);
    c.generator("gen-b").signal(SIGKILL);
    const auto r1 = c.wait_result(1);
    ASSERT_TRUE(r1.error.has_value());
    EXPECT_TRUE(contains(*r1.error, "gen-b")) << *r1.error;
    EXPECT_EQ(c.coord("GET", "/healthz").status, 200u);

    c.drop_generator("gen-b");
    c.start_generator("gen-b");
    c.wait_ready(2);
    ASSERT_TRUE(c.start_epoch().started);
    const auto r2 = c.wait_result(2);
    EXPECT_FALSE(r2.error) << r2.error.value_or("");
    EXPECT_EQ(r2.verification, "passed");
}

TEST(Epoch, BadRequestsGetJson400s) {
    Cluster c;
    auto r = c.coord("POST", "/ready", R"({"id":"nope","openedConnections":1})");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(bc::Json::parse(r.body)["error"], "Unknown generator \"nope\"");
    r = c.coord("POST", "/register", "{not json");
    EXPECT_EQ(r.status, 400u);
    EXPECT_TRUE(bc::Json::parse(r.body).contains("error"));
    r = c.coord("GET", "/nope");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(bc::Json::parse(r.body)["error"], "Unknown route: GET /nope");
    const auto none = c.start_epoch();
    EXPECT_FALSE(none.started);
    EXPECT_EQ(none.message, "No ready generators available for the next epoch");
}

TEST(Epoch, VerificationFailsAfterTheBalancesAreCorrupted) {
    Cluster c;
    c.start_generator("gen-a");
    c.wait_ready(1);
    ASSERT_EQ(c.call_stdb("/v1/debug/database/test-1/corrupt?id=0&delta=7", "").status, 200u);
    ASSERT_TRUE(c.start_epoch().started);
    const auto r = c.wait_result(1);
    EXPECT_EQ(r.verification, "failed");
    EXPECT_TRUE(contains(r.verification_error.value_or(""), "total_balance mismatch"))
        << r.verification_error.value_or("");
}

TEST(Epoch, GeneratorStopsLoadingWhenItsCoordinatorDies) {
    Cluster c;
    // The old behaviour, now opt-in (by default it re-registers: liveness_test).
    auto& gen = c.start_generator("gen-a", {"--exit-on-coordinator-loss"});
    c.wait_ready(1);
    ASSERT_TRUE(c.start_epoch().started);
    c.wait_phase(bc::Phase::Measure);
    c.coordinator().process().signal(SIGKILL);
    // --poll-ms 100 and 3 control retries: it must give up within seconds.
    const auto code = gen.wait_exit(20s);
    ASSERT_TRUE(code.has_value()) << "generator still running after its coordinator died:\n" << gen.output();
    EXPECT_EQ(*code, 1);
    EXPECT_TRUE(contains(gen.output(), "cannot reach coordinator")) << gen.output();
    // And the server sees no more transfers from it.
    auto committed = [&] { return bn::http_request({.url = c.standin().http_url("/v1/metrics")}).body; };
    const auto before = committed();
    const auto after = committed();
    EXPECT_EQ(before, after);
}

TEST(Epoch, ControlCliRunsAnEpochAndStopEpochAbortsOne) {
    Cluster c;
    c.start_generator("gen-a");
    {
        Subprocess wait({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "wait-ready",
                         "--generators", "1", "--timeout", "60"});
        ASSERT_EQ(wait.wait_exit(70s), 0) << wait.output();
    }
    {
        Subprocess run({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "start-epoch", "--label",
                        "cli", "--poll-ms", "200", "--timeout", "60"});
        ASSERT_EQ(run.wait_exit(70s), 0) << run.output();
        EXPECT_TRUE(contains(run.output(), "Epoch 1 started")) << run.output();
        EXPECT_TRUE(contains(run.output(), "waiting for epoch 1 to complete...")) << run.output();
        EXPECT_TRUE(contains(run.output(), "epoch=1 tps=")) << run.output();
        EXPECT_TRUE(contains(run.output(), "verification=passed")) << run.output();
    }
    {
        // A long epoch, ended early with stop-epoch: the result is still written, marked aborted.
        ASSERT_TRUE(c.start_epoch().started);
        c.wait_phase(bc::Phase::Measure);
        Subprocess stop({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "stop-epoch"});
        ASSERT_EQ(stop.wait_exit(30s), 0) << stop.output();
        const auto r = c.wait_result(2);
        EXPECT_EQ(r.extra.value("aborted", false), true) << bc::pretty(bc::to_json(r));
        EXPECT_LT(r.actual_window_seconds, 2.0);
    }
    {
        Subprocess status({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "status"});
        ASSERT_EQ(status.wait_exit(30s), 0) << status.output();
        EXPECT_TRUE(contains(status.output(), "phase=idle epoch=- label=-")) << status.output();
        EXPECT_TRUE(contains(status.output(), "gen-a host=")) << status.output();
    }
    {
        Subprocess bad({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "frobnicate"});
        EXPECT_EQ(bad.wait_exit(30s), 2) << bad.output();
    }
}
