// `bench-dist-generator run` (no coordinator) against a real stdb-standin on
// 127.0.0.1: the JSON it prints agrees with the server's own counter and
// commit log, carries the generator's resource use, names another client
// loading the same database, and the run refuses clearly what it cannot do
// (an unreachable server, a hard open-file limit too low for --concurrency).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "benchdist/control/protocol.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
namespace bt = benchdist::testing;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> run_argv(const std::string& stdb_url, std::vector<std::string> extra) {
    std::vector<std::string> argv{bt::bin_path("bench-dist-generator"),
                                  "run",
                                  "--stdb-url",
                                  stdb_url,
                                  "--accounts",
                                  "1000",
                                  "--pairs",
                                  "20000",
                                  "--threads",
                                  "1",
                                  "--id",
                                  "local"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
}

// Runs to completion; the exit code, stdout+stderr.
std::pair<int, std::string> run_to_end(std::vector<std::string> argv) {
    bt::Subprocess p(std::move(argv));
    const auto rc = p.wait_exit(90s);
    return {rc.value_or(-1), p.output()};
}

// The JSON object of the output: from the first line that is exactly "{"
// to the line that is exactly "}" (log lines go around it).
bc::Json result_of(const std::string& output) {
    const auto begin = output.find("\n{\n");
    const auto end = output.rfind("\n}");
    if (begin == std::string::npos || end == std::string::npos || end < begin) {
        throw std::runtime_error("no JSON result in:\n" + output);
    }
    return bc::Json::parse(output.substr(begin + 1, end - begin + 2));
}

}  // namespace

TEST(LocalRun, MeasuresTheServersCounterAndItsOwnCost) {
    bt::Rig rig({.tag = "local-run", .commit_log = true, .coordinator_args = std::nullopt});
    const auto before = rig.standin().committed();
    const auto [rc, out] =
        run_to_end(run_argv(rig.stdb_url(), {"--concurrency", "8", "--seconds", "2", "--warmup-seconds", "0.5",
                                             "--server-pid", std::to_string(rig.standin().process().pid())}));
    ASSERT_EQ(rc, 0) << out;
    const auto r = result_of(out);
    const auto delta = r["committedDelta"].get<std::uint64_t>();
    EXPECT_GT(delta, 100u) << out;
    // The counter reads bracket the window: more was committed in all (warm-up, edges).
    EXPECT_GE(rig.standin().committed() - before, delta);
    EXPECT_NEAR(r["tps"].get<double>(), static_cast<double>(delta) / r["window"]["seconds"].get<double>(),
                0.001 * r["tps"].get<double>() + 0.1);
    EXPECT_NEAR(r["window"]["seconds"].get<double>(), 2.0, 0.25);
    EXPECT_EQ(r["client"]["errors"], 0) << out;
    // The client's count over the same whole seconds agrees with the server's.
    EXPECT_NEAR(r["clientServerRatio"].get<double>(), 1.0, 0.05) << out;
    EXPECT_EQ(r["latency"]["kind"], "service time (closed loop)");
    EXPECT_GT(r["latency"]["count"].get<std::uint64_t>(), 0u);
    EXPECT_LE(r["latency"]["p50"].get<std::uint64_t>(), r["latency"]["p99"].get<std::uint64_t>());

    const auto& res = r["resources"];
    EXPECT_EQ(res["connections"], 8);
    EXPECT_GT(res["openSeconds"].get<double>(), 0.0);
    EXPECT_GT(res["cpuUsPerCommitted"].get<double>(), 0.0);
    EXPECT_GT(res["rssIdleBytes"].get<std::uint64_t>(), 0u);
    EXPECT_TRUE(res["rssPerConnectionLoadedBytes"].is_number()) << res.dump();
    EXPECT_GE(res["openFileLimit"]["soft"].get<std::uint64_t>(), 8u);
    const auto& server = r["server"];
    EXPECT_EQ(server["identity"], rig.standin().identity("test-1"));
    ASSERT_TRUE(server.contains("process")) << out;
    EXPECT_GT(server["process"]["cpuUsPerCommitted"].get<double>(), 0.0);
    EXPECT_TRUE(r["warnings"].empty()) << r["warnings"].dump();
}

TEST(LocalRun, PipelinedRunsReportTheirKind) {
    bt::Rig rig({.tag = "local-run-pipe", .coordinator_args = std::nullopt});
    const auto [rc, out] =
        // Aligned, as by default: the client/server cross-check assumes an
        // even rate inside the edge seconds otherwise, which a 1 s window
        // with a ramping pipeline does not have.
        run_to_end(run_argv(rig.stdb_url(), {"--concurrency", "2", "--max-inflight", "8", "--seconds", "1",
                                             "--warmup-seconds", "0.5"}));
    ASSERT_EQ(rc, 0) << out;
    const auto r = result_of(out);
    EXPECT_EQ(r["latency"]["kind"], "service time (closed loop, 8 in flight per connection)");
    EXPECT_EQ(r["workload"]["maxInflight"], 8);
    EXPECT_GT(r["committedDelta"].get<std::uint64_t>(), 0u);
}

TEST(LocalRun, AnUnreachableServerIsAClearError) {
    const int port = bt::free_port();
    const auto [rc, out] =
        run_to_end(run_argv("ws://127.0.0.1:" + std::to_string(port), {"--concurrency", "2", "--seconds", "1"}));
    EXPECT_EQ(rc, 1) << out;
    EXPECT_TRUE(bt::contains(out, "127.0.0.1:" + std::to_string(port))) << out;
    EXPECT_TRUE(bt::contains(out, "--stdb-url")) << out;
}

TEST(LocalRun, AHardFileLimitTooLowForTheConcurrencyIsRefusedUpFront) {
    bt::Rig rig({.tag = "local-run-nofile", .coordinator_args = std::nullopt});
    std::string command = "ulimit -n 200 && exec";
    for (const auto& arg : run_argv(rig.stdb_url(), {"--concurrency", "500", "--seconds", "1"}))
        command += " '" + arg + "'";
    const auto [rc, out] = run_to_end({"/bin/bash", "-c", command});
    EXPECT_EQ(rc, 2) << out;
    EXPECT_TRUE(bt::contains(out, "--concurrency 500")) << out;
    EXPECT_TRUE(bt::contains(out, "hard limit is 200")) << out;
    EXPECT_EQ(rig.standin().committed(), 0u) << "nothing may have been loaded";
}

// The client/server check is what tells a user that the server's figure is
// not all theirs: transfers posted over HTTP during the run are counted by
// the server and not by the generator, and the result says so.
TEST(LocalRun, AnotherClientOnTheDatabaseMakesTheRunInvalid) {
    bt::Rig rig({.tag = "local-run-other", .coordinator_args = std::nullopt});
    bt::Subprocess run(run_argv(rig.stdb_url(), {"--concurrency", "1", "--seconds", "3", "--warmup-seconds", "0.5",
                                                 "--no-align-window"}));
    // The other client: sequential HTTP calls for as long as the run lasts
    // (bounded in count and time).
    int posted = 0;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (run.running() && posted < 200000 && std::chrono::steady_clock::now() < deadline) {
        const auto response = rig.standin().post("/v1/database/test-1/call/transfer", "[3,4,1]");
        ASSERT_EQ(response.status, 200u) << response.body;
        ++posted;
    }
    const auto rc = run.wait_exit(30s);
    EXPECT_EQ(rc.value_or(-1), 1) << run.output();
    const auto r = result_of(run.output());
    ASSERT_GT(posted, 0);
    std::printf("posted %d transfers over HTTP; clientServerRatio %.4f\n", posted,
                r["clientServerRatio"].get<double>());
    // The server counted both clients, the generator only itself.
    EXPECT_LT(r["clientServerRatio"].get<double>(), 0.98) << "posted " << posted << "\n" << run.output();
    EXPECT_EQ(r["verdict"], "invalid");
    bool named = false;
    for (const auto& x : r["reasons"])
        named = named || (x["code"] == "client_server_mismatch" &&
                          bt::contains(x["message"].get<std::string>(), "another client wrote"));
    EXPECT_TRUE(named) << r["reasons"].dump() << " (posted " << posted << ")";
    EXPECT_TRUE(bt::contains(run.output(), "verdict: INVALID")) << run.output();
    EXPECT_TRUE(r["counterReadMs"].is_array()) << r.dump();
}
