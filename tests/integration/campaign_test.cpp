// Campaigns with real processes: bench-dist-control sweep, saturate and
// start-epoch --runs against a coordinator, two generators and the
// stand-in. The usage errors need no coordinator at all.
//
// The sweep and runs tests pass with any coordinator (one that ignores the
// per-epoch `load` runs every point with the generators' own load). The
// saturation test expects the per-epoch load contract (the coordinator
// splitting `load.connections` over the generators, and `generatorLimited`
// in results): before that is merged its knee is wherever the generators'
// fixed load already saturates the stand-in.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
using namespace benchdist::testing;
using namespace std::chrono_literals;

namespace {

bc::Json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return bc::Json::parse(in);
}

// Every result file of the results directory, by epoch number.
std::map<std::uint64_t, bc::Json> results_by_epoch(const std::filesystem::path& dir) {
    std::map<std::uint64_t, bc::Json> out;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        if (name.rfind("test-1-", 0) != 0 || entry.path().extension() != ".json") continue;
        auto j = read_json(entry.path());
        out[j["epoch"].get<std::uint64_t>()] = j;
    }
    return out;
}

std::vector<std::string> control_argv(const Rig& rig, CoordinatorProcess& coordinator, std::vector<std::string> args) {
    std::vector<std::string> argv{"--coordinator-url", coordinator.url()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--poll-ms", "100", "--timeout", "120", "--campaign-dir", rig.results_dir().string()});
    return argv;
}

RigOptions two_generator_rig(const std::string& tag, std::vector<std::string> standin_args = {}) {
    RigOptions o;
    o.tag = tag;
    o.standin.args = std::move(standin_args);
    o.coordinator_args = std::vector<std::string>{"--window-seconds", "2", "--warmup-seconds", "0"};
    return o;
}

void start_two_generators(Rig& rig) {
    rig.start_generator("gen-a");
    rig.start_generator("gen-b");
    rig.wait_ready(2);
}

}  // namespace

TEST(CampaignCli, UsageErrorsExitTwoNamingTheProblem) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"sweep"}, "at least one --vary"},
        {{"sweep", "--vary", "conns=1,2"}, "unknown knob \"conns\""},
        {{"sweep", "--vary", "connections=1,1"}, "listed twice"},
        {{"sweep", "--vary", "alpha=nan"}, "alpha must be"},
        {{"sweep", "--vary", "connections=1", "--vary", "connectionsPerGenerator=2"}, "cannot be combined"},
        {{"sweep", "--vary", "alpha=0", "--campaign-id", "a/b"}, "--campaign-id"},
        {{"sweep", "--resume", "/nonexistent/campaign-x.json"}, "cannot read the campaign file"},
        {{"saturate"}, "at least one --slo"},
        {{"saturate", "--slo", "p99<=20xs"}, "unknown unit \"xs\""},
        {{"saturate", "--slo", "p99<=20ms", "--knob", "alpha"}, "--knob"},
        {{"saturate", "--slo", "p99<=20ms", "--start", "64", "--max", "8"}, "--max"},
        {{"saturate", "--slo", "p99<=20ms", "--connections", "8"}, "drop the flag"},
        {{"start-epoch", "--connections", "5", "--connections-per-generator", "3"}, "excludes"},
        {{"start-epoch", "--rate", "5", "--rate-per-generator", "3"}, "excludes"},
        {{"start-epoch", "--warmup", "soon"}, "--warmup"},
        {{"start-epoch", "--stable-cv", "0.1"}, "--warmup auto"},
        {{"start-epoch", "--alpha", "-1"}, "--alpha"},
        {{"start-epoch", "--inflight", "0"}, "--inflight"},
        {{"start-epoch", "--runs", "0"}, "--runs"},
        {{"start-epoch", "--runs", "2", "--label", "x"}, "drop --label"},
    };
    for (const auto& [args, expected] : cases) {
        auto argv = args;
        argv.insert(argv.end(), {"--coordinator-url", "http://127.0.0.1:1"});
        const auto run = run_tool("bench-dist-control", argv, {}, {}, 30s);
        std::string line;
        for (const auto& a : args) line += a + " ";
        EXPECT_EQ(run.rc, 2) << line << "\n" << run.out;
        EXPECT_NE(run.out.find(expected), std::string::npos) << line << "\nexpected: " << expected << "\n" << run.out;
    }
}

TEST(Campaign, SweepPointsMatchTheirEpochFiles) {
    Rig rig(two_generator_rig("campaign-sweep"));
    start_two_generators(rig);
    const auto run =
        run_tool("bench-dist-control",
                 control_argv(rig, rig.coordinator(),
                              {"sweep", "--vary", "connections=2,4", "--vary", "alpha=0,1.5", "--campaign-id", "grid"}),
                 {}, {}, 300s);
    ASSERT_EQ(run.rc, 0) << run.out;
    const auto campaign = read_json(rig.results_dir() / "campaign-grid.json");
    EXPECT_EQ(campaign["kind"], "sweep");
    EXPECT_EQ(campaign["status"], "complete");
    ASSERT_EQ(campaign["points"].size(), 4u);
    const auto results = results_by_epoch(rig.results_dir());
    std::set<std::uint64_t> epochs;
    for (const auto& point : campaign["points"]) {
        EXPECT_EQ(point["status"], "valid") << point.dump(2);
        ASSERT_EQ(point["epochs"].size(), 1u) << "a retried point (its first attempt invalid):\n" << point.dump(2);
        const auto& e = point["epochs"][0];
        const auto number = e["epoch"].get<std::uint64_t>();
        epochs.insert(number);
        ASSERT_TRUE(results.count(number)) << "no result file for epoch " << number;
        const auto& result = results.at(number);
        EXPECT_EQ(result["label"], "grid " + point["description"].get<std::string>() + " r1");
        EXPECT_EQ(result["label"], e["label"]);
        EXPECT_EQ(result["finishedAt"], e["resultFinishedAt"]);
        EXPECT_DOUBLE_EQ(result["tps"].get<double>(), e["tps"].get<double>());
        EXPECT_DOUBLE_EQ(point["tps"]["median"].get<double>(), std::round(e["tps"].get<double>() * 100) / 100);
        EXPECT_EQ(point["request"]["load"], point["values"]);
    }
    EXPECT_EQ(epochs.size(), 4u);
    EXPECT_EQ(campaign["points"][1]["description"], "connections=2 alpha=1.5");
}

TEST(Campaign, KilledSweepResumesWithoutRepeatingFinishedPoints) {
    Rig rig(two_generator_rig("campaign-resume"));
    start_two_generators(rig);
    auto argv = control_argv(rig, rig.coordinator(), {"sweep", "--vary", "alpha=0,0.5,1", "--campaign-id", "killed"});
    argv.insert(argv.begin(), bin_path("bench-dist-control"));
    {
        Subprocess sweep(argv);
        // The file is written before an epoch's line is printed.
        ASSERT_TRUE(
            sweep.wait_for_line([](const std::string& l) { return l.find(" r1]: valid") != std::string::npos; }, 120s))
            << sweep.output();
        sweep.signal(SIGKILL);
        sweep.wait_exit(10s);
    }
    const auto path = rig.results_dir() / "campaign-killed.json";
    const auto killed = read_json(path);
    EXPECT_EQ(killed["status"], "running");  // what a killed campaign leaves
    ASSERT_EQ(killed["points"][0]["status"], "valid");
    const auto first_epoch = killed["points"][0]["epochs"][0]["epoch"];
    // The epoch the kill left running ends on its own.
    rig.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Idle; }, 60s);

    const auto resumed =
        run_tool("bench-dist-control", control_argv(rig, rig.coordinator(), {"sweep", "--resume", path.string()}), {},
                 {}, 300s);
    ASSERT_EQ(resumed.rc, 0) << resumed.out;
    const auto done = read_json(path);
    EXPECT_EQ(done["status"], "complete");
    ASSERT_EQ(done["points"].size(), 3u);
    EXPECT_EQ(done["points"][0]["epochs"].size(), 1u);
    EXPECT_EQ(done["points"][0]["epochs"][0]["epoch"], first_epoch);
    std::set<std::uint64_t> epochs;
    for (const auto& p : done["points"]) {
        EXPECT_EQ(p["status"], "valid");
        for (const auto& e : p["epochs"]) epochs.insert(e["epoch"].get<std::uint64_t>());
    }
    EXPECT_EQ(epochs.size(), 3u);
}

TEST(Campaign, FirstCtrlCStopsAfterTheCurrentEpoch) {
    Rig rig(two_generator_rig("campaign-sigint"));
    start_two_generators(rig);
    auto argv = control_argv(rig, rig.coordinator(), {"sweep", "--vary", "alpha=0,0.5,1", "--campaign-id", "int"});
    argv.insert(argv.begin(), bin_path("bench-dist-control"));
    Subprocess sweep(argv);
    ASSERT_TRUE(
        sweep.wait_for_line([](const std::string& l) { return l.find("starting sweep") != std::string::npos; }, 30s))
        << sweep.output();
    rig.wait_state([](const bc::CoordinatorState& s) { return s.current_epoch.has_value(); }, 60s);
    sweep.signal(SIGINT);
    ASSERT_EQ(sweep.wait_exit(120s), 130) << sweep.output();
    const auto campaign = read_json(rig.results_dir() / "campaign-int.json");
    EXPECT_EQ(campaign["status"], "interrupted");
    // The epoch under way when Ctrl-C came was finished and recorded; no other started.
    EXPECT_EQ(campaign["points"][0]["status"], "valid");
    EXPECT_EQ(campaign["points"][1]["epochs"].size(), 0u);
    EXPECT_EQ(rig.state().phase, bc::Phase::Idle);
}

TEST(Campaign, SecondCtrlCStopsTheEpoch) {
    auto options = two_generator_rig("campaign-sigint2");
    options.coordinator_args = std::vector<std::string>{"--window-seconds", "60", "--warmup-seconds", "0"};
    Rig rig(options);
    start_two_generators(rig);
    auto argv = control_argv(rig, rig.coordinator(), {"sweep", "--vary", "alpha=0,1", "--campaign-id", "int2"});
    argv.insert(argv.begin(), bin_path("bench-dist-control"));
    Subprocess sweep(argv);
    rig.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 60s);
    sweep.signal(SIGINT);
    ASSERT_TRUE(sweep.wait_for_line(
        [](const std::string& l) { return l.find("Ctrl-C again stops that epoch now") != std::string::npos; }, 30s))
        << sweep.output();
    sweep.signal(SIGINT);
    // Well before the 60 s window would end.
    ASSERT_EQ(sweep.wait_exit(30s), 130) << sweep.output();
    const auto campaign = read_json(rig.results_dir() / "campaign-int2.json");
    EXPECT_EQ(campaign["status"], "interrupted");
    EXPECT_EQ(campaign["points"][0]["epochs"].size(), 0u);  // the aborted epoch is not part of the campaign
    const auto state = rig.wait_state([](const bc::CoordinatorState& s) { return s.last_result.has_value(); }, 60s);
    const auto verdict = state.last_result->extra.value("verdict", std::string());
    EXPECT_EQ(verdict, "invalid");
    EXPECT_NE(state.last_result->extra.dump().find("\"aborted\""), std::string::npos);
}

TEST(Campaign, RunsReportStatisticsOverValidRuns) {
    Rig rig(two_generator_rig("campaign-runs"));
    start_two_generators(rig);
    const auto run =
        run_tool("bench-dist-control",
                 control_argv(rig, rig.coordinator(), {"start-epoch", "--runs", "3", "--campaign-id", "r"}), {}, {},
                 300s);
    ASSERT_EQ(run.rc, 0) << run.out;
    EXPECT_NE(run.out.find("TPS over 3 valid runs: mean"), std::string::npos) << run.out;
    const auto campaign = read_json(rig.results_dir() / "campaign-r.json");
    EXPECT_EQ(campaign["kind"], "runs");
    EXPECT_EQ(campaign["tps"]["n"], 3);
    EXPECT_EQ(campaign["invalidRuns"], 0);
    EXPECT_EQ(campaign["points"][2]["epochs"][0]["label"], "r r3");
    EXPECT_LE(campaign["tps"]["min"].get<double>(), campaign["tps"]["median"].get<double>());
    EXPECT_LE(campaign["tps"]["median"].get<double>(), campaign["tps"]["max"].get<double>());
}

// With the stand-in's reducer taking 200 µs, the server commits at most
// 5,000 transfers/s. The knee must be within 10% of that, and the limit the
// server's. Expects the per-epoch load contract (see the top of the file):
// it cannot pass before the coordinator and generator sides are merged.
TEST(CapacityFidelity, SaturateFindsTheStandInsCapacity) {
    // Each reply is also held back 2 ms (without holding the database), so
    // one connection carries ~450/s and the curve climbs over several
    // doublings before the reducer's 5,000/s flattens it.
    Rig rig(two_generator_rig("campaign-saturate", {"--reducer-delay-us", "200", "--reply-delay-us", "2000"}));
    rig.start_generator(GeneratorOptions{.id = "gen-a", .concurrency = 64});
    rig.start_generator(GeneratorOptions{.id = "gen-b", .concurrency = 64});
    rig.wait_ready(2);
    const auto run =
        run_tool("bench-dist-control",
                 control_argv(rig, rig.coordinator(),
                              {"saturate", "--slo", "p99<=50ms", "--max", "128", "--campaign-id", "sat", "--json"}),
                 {}, {}, 600s);
    ASSERT_EQ(run.rc, 0) << run.out;
    const auto campaign = read_json(rig.results_dir() / "campaign-sat.json");
    EXPECT_EQ(campaign["limit"], "server") << campaign.dump(2);
    ASSERT_TRUE(campaign["knee"].is_object()) << campaign.dump(2);
    const double tps = campaign["knee"]["tps"].get<double>();
    EXPECT_GE(tps, 4500) << campaign.dump(2);
    EXPECT_LE(tps, 5500) << campaign.dump(2);
    EXPECT_TRUE(campaign["stopReason"] == "throughput_flat" || campaign["stopReason"] == "slo_broken");
    // The stand-in's cap holds at every point (its delay is a service time
    // on a queue), and the curve climbed to it over several loads.
    ASSERT_GE(campaign["curve"].size(), 4u) << campaign.dump(2);
    for (const auto& point : campaign["curve"]) {
        if (point.contains("tps")) {
            EXPECT_LE(point["tps"].get<double>(), 5100) << point;
        }
    }
}

// start-epoch's load flags reach every generator through the coordinator:
// each runs its share (2 connections, 3 in flight, half of 400 calls/s,
// pairs over 500 accounts at alpha 0) and says so in its report, the
// verdict holds it to that, and the next epoch without flags runs each
// generator's own command line again.
TEST(Campaign, StartEpochLoadFlagsAreRunByEveryGenerator) {
    Rig rig(two_generator_rig("campaign-flags"));
    start_two_generators(rig);
    const auto run = run_tool("bench-dist-control",
                              {"--coordinator-url",
                               rig.coordinator().url(),
                               "start-epoch",
                               "--connections-per-generator",
                               "2",
                               "--inflight",
                               "3",
                               "--rate",
                               "400",
                               "--accounts",
                               "500",
                               "--alpha",
                               "0",
                               "--window",
                               "3",
                               "--poll-ms",
                               "100",
                               "--timeout",
                               "120",
                               "--json"},
                              {}, {}, 180s);
    ASSERT_EQ(run.rc, 0) << run.out;
    const auto result = bc::Json::parse(run.out.substr(run.out.find('{')));
    EXPECT_EQ(result["verdict"], "valid") << result["reasons"];
    EXPECT_EQ(result["windowSeconds"], 3);
    EXPECT_EQ(result["participantConnections"], 4) << "2 ran on each, of the 4 each opened";
    for (const std::string id : {"gen-a", "gen-b"}) {
        const auto& share = result["epochLoad"]["assignments"][id];
        EXPECT_EQ(share["connections"], 2) << share;
        EXPECT_EQ(share["rate"], 200) << share;
        const auto& report = result["generatorReports"][id];
        EXPECT_EQ(report["load"]["mode"], "open") << report;
        EXPECT_EQ(report["load"]["connections"], 2) << report;
        EXPECT_EQ(report["load"]["maxInflight"], 3) << report;
        EXPECT_EQ(report["load"]["ratePerSecond"], 200) << report;
        EXPECT_EQ(report["settings"]["accounts"], 500) << report;
        EXPECT_EQ(report["settings"]["alpha"], 0) << report;
    }
    // About 400/s over the 3 s window.
    EXPECT_NEAR(result["tps"].get<double>(), 400, 80) << result["tps"];

    const auto plain = run_tool("bench-dist-control",
                                {"--coordinator-url", rig.coordinator().url(), "start-epoch", "--poll-ms", "100",
                                 "--timeout", "120", "--json"},
                                {}, {}, 180s);
    ASSERT_EQ(plain.rc, 0) << plain.out;
    const auto second = bc::Json::parse(plain.out.substr(plain.out.find('{')));
    EXPECT_FALSE(second.contains("epochLoad"));
    EXPECT_EQ(second["participantConnections"], 8);
    for (const std::string id : {"gen-a", "gen-b"}) {
        const auto& report = second["generatorReports"][id];
        EXPECT_EQ(report["load"]["mode"], "closed") << report;
        EXPECT_EQ(report["load"]["connections"], 4) << report;
        EXPECT_EQ(report["settings"]["accounts"], 1000) << report;
    }
}
