// A SpacetimeDB that refuses anonymous callers (stdb-standin --require-token)
// with real processes on 127.0.0.1: bench-dist-control, the coordinator (its
// identity lookup, metrics reads and verification subscription) and the
// generator all reach it with --stdb-token / STDB_TOKEN, and an epoch passes
// verification; without the token each one fails with a message naming the
// flag, and the token is in no output or result file.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "benchdist/control/protocol.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
namespace bt = benchdist::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kInitialBalance = 1000000;

bt::RigOptions token_rig_options() {
    bt::RigOptions o;
    o.tag = "stdb-token";
    o.standin.args = {"--require-token"};
    o.seed = std::nullopt;  // the rig seeds anonymously: seeded below with the token
    o.coordinator_args = std::nullopt;
    return o;
}

// A token the stand-in issued (POST /v1/identity stays open).
std::string issue_token(bt::Rig& rig) {
    const auto res = rig.standin().post("/v1/identity");
    EXPECT_EQ(res.status, 200u) << res.body;
    return bc::Json::parse(res.body).at("token").get<std::string>();
}

std::pair<int, std::string> run_seed(const bt::Rig& rig, std::map<std::string, std::string> env) {
    bt::Subprocess p({bt::bin_path("bench-dist-control"), "seed", "--stdb-url", rig.stdb_url(), "--stdb-module",
                      "test-1", "--accounts", "1000", "--initial-balance", std::to_string(kInitialBalance)},
                     std::move(env));
    const auto rc = p.wait_exit(60s);
    return {rc.value_or(-1), p.output()};
}

}  // namespace

TEST(StdbToken, EveryToolSendsItAndAnEpochPassesVerification) {
    bt::Rig rig(token_rig_options());
    const std::string token = issue_token(rig);

    const auto [anonymous_rc, anonymous_out] = run_seed(rig, {});
    EXPECT_EQ(anonymous_rc, 1) << anonymous_out;
    EXPECT_TRUE(bt::contains(anonymous_out, "401")) << anonymous_out;
    EXPECT_TRUE(bt::contains(anonymous_out, "--stdb-token")) << anonymous_out;
    const auto [seed_rc, seed_out] = run_seed(rig, {{"STDB_TOKEN", token}});
    ASSERT_EQ(seed_rc, 0) << seed_out;

    auto& coordinator = rig.start_coordinator({"--stdb-token", token, "--window-seconds", "1",
                                               "--start-ack-timeout-seconds", "10", "--stop-ack-timeout-seconds", "5",
                                               "--verify", "--initial-balance", std::to_string(kInitialBalance)});
    rig.start_generator("gen-a", {"--stdb-token", token});
    rig.wait_ready(1);
    ASSERT_TRUE(rig.start_epoch().started);
    const auto r = rig.wait_result(1);
    EXPECT_FALSE(r.error) << r.error.value_or("");
    EXPECT_EQ(r.verification, "passed") << r.verification_error.value_or("");
    EXPECT_GT(std::stoull(r.committed_delta), 0u);
    EXPECT_EQ(r.extra["manifest"]["coordinator"]["stdbToken"], "set") << bc::pretty(r.extra["manifest"]);

    // The token is in no output and no result file.
    EXPECT_FALSE(bt::contains(coordinator.process().output(), token));
    EXPECT_FALSE(bt::contains(rig.generator("gen-a").output(), token));
    for (const auto& entry : std::filesystem::recursive_directory_iterator(rig.results_dir())) {
        if (entry.is_regular_file()) {
            EXPECT_FALSE(bt::contains(bt::read_file(entry.path()), token)) << entry.path();
        }
    }
}

TEST(StdbToken, WithoutItTheCoordinatorsEpochAndTheGeneratorFailNamingTheFlag) {
    bt::Rig rig(token_rig_options());
    const std::string token = issue_token(rig);
    ASSERT_EQ(run_seed(rig, {{"STDB_TOKEN", token}}).first, 0);

    // A coordinator without it: the epoch's counter read is refused, and the
    // result's error says which flag is missing.
    rig.start_coordinator(
        {"--window-seconds", "1", "--start-ack-timeout-seconds", "10", "--stop-ack-timeout-seconds", "5"});
    // A generator without the token cannot open its connections: exit 1,
    // naming the flag (the WebSocket upgrade is refused with 401).
    auto& refused = rig.start_generator("gen-x");
    const auto rc = refused.wait_exit(60s);
    ASSERT_TRUE(rc.has_value()) << refused.output();
    EXPECT_EQ(*rc, 1) << refused.output();
    EXPECT_TRUE(bt::contains(refused.output(), "401")) << refused.output();
    EXPECT_TRUE(bt::contains(refused.output(), "--stdb-token")) << refused.output();
    // `run` looks the database up first: refused there, also naming it.
    bt::Subprocess run({bt::bin_path("bench-dist-generator"), "run", "--stdb-url", rig.stdb_url(), "--concurrency", "1",
                        "--seconds", "1", "--accounts", "1000", "--pairs", "1000"});
    const auto run_rc = run.wait_exit(60s);
    EXPECT_EQ(run_rc.value_or(-1), 1) << run.output();
    EXPECT_TRUE(bt::contains(run.output(), "--stdb-token")) << run.output();

    rig.start_generator("gen-a", {"--stdb-token", token});
    rig.wait_ready(1);
    const auto started = rig.start_epoch();
    if (started.started) {
        const auto r = rig.wait_result(1);
        ASSERT_TRUE(r.error) << bc::pretty(bc::to_json(r));
        EXPECT_TRUE(bt::contains(*r.error, "--stdb-token")) << *r.error;
    } else {
        EXPECT_TRUE(bt::contains(started.message, "--stdb-token")) << started.message;
    }
}
