// The original harness's command lines and inputs, with our real tools on
// 127.0.0.1: its DEVELOP.md's coordinator and control lines (`--` from pnpm,
// `--verify 1`, options after the control command) run an epoch; bool flags
// take the original's values; all three tools read ./.env without letting it
// override the real environment; and stop-epoch against the original
// coordinator, which has no stop route, says so (a fake server answers 404
// the way the original does, so no Node is needed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_server.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
namespace bn = benchdist::net;
namespace bt = benchdist::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kInitialBalance = 1000000;
// Never connected to: the coordinator reaches SpacetimeDB only during an epoch.
const std::string kNoServer = "ws://127.0.0.1:9";

struct Run {
    int rc = -1;
    std::string out;
};

// Runs a tool to completion (bounded) in `dir` (the test's own when empty).
Run run_tool(const std::string& tool, std::vector<std::string> args, std::map<std::string, std::string> env = {},
             const fs::path& dir = {}) {
    args.insert(args.begin(), bt::bin_path(tool));
    bt::Subprocess p(std::move(args), std::move(env), dir);
    const auto rc = p.wait_exit(90s);
    return {rc.value_or(-1), p.output()};
}

Run control(std::vector<std::string> args, std::map<std::string, std::string> env = {}, const fs::path& dir = {}) {
    return run_tool("bench-dist-control", std::move(args), std::move(env), dir);
}

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// A coordinator that never reaches SpacetimeDB, for its startup line.
std::unique_ptr<bt::CoordinatorProcess> idle_coordinator(std::vector<std::string> args,
                                                         std::map<std::string, std::string> env = {}) {
    return std::make_unique<bt::CoordinatorProcess>(
        bt::CoordinatorOptions{.stdb_url = kNoServer, .args = std::move(args), .env = std::move(env)});
}

}  // namespace

// templates/keynote-2/DEVELOP.md of the original, with a 3 s window and a
// free port: `pnpm run bench-dist-coordinator -- --test test-1 ... --verify 1
// ...`, then `pnpm run bench-dist-control -- status --coordinator-url URL`
// and `... -- start-epoch --coordinator-url URL --label run-1`.
TEST(OriginalCommandLines, DevelopMdLinesRunAVerifiedEpoch) {
    bt::Rig rig({.tag = "original-cli",
                 .seed = std::make_pair(std::uint64_t{1000}, kInitialBalance),
                 .coordinator_args = std::nullopt});
    auto& coordinator = rig.start_coordinator(
        {"--", "--test", "test-1", "--connector", "spacetimedb", "--window-seconds", "3", "--verify", "1",
         "--stdb-compression", "none", "--start-ack-timeout-seconds", "10", "--stop-ack-timeout-seconds", "5",
         "--align-window-ms", "0", "--initial-balance", std::to_string(kInitialBalance)});
    EXPECT_TRUE(bt::contains(coordinator.process().output(), " verify=on ")) << coordinator.process().output();
    rig.start_generator("gen-a");
    rig.wait_ready(1);

    const auto status = control({"--", "status", "--coordinator-url", coordinator.url()});
    EXPECT_EQ(status.rc, 0) << status.out;
    EXPECT_TRUE(bt::contains(status.out, "phase=idle")) << status.out;
    EXPECT_TRUE(bt::contains(status.out, "gen-a")) << status.out;

    const auto start = control({"--", "start-epoch", "--coordinator-url", coordinator.url(), "--label", "run-1"});
    EXPECT_EQ(start.rc, 0) << start.out;
    EXPECT_TRUE(bt::contains(start.out, "waiting for epoch 1 to complete")) << start.out;
    const auto r = rig.wait_result(1);
    EXPECT_EQ(r.label, "run-1");
    EXPECT_FALSE(r.error) << r.error.value_or("");
    EXPECT_EQ(r.verification, "passed") << r.verification_error.value_or("");
}

TEST(OriginalCommandLines, CoordinatorBoolFlagsTakeTheOriginalsValues) {
    struct Case {
        std::vector<std::string> args;
        std::string verify, allow_mixed;
    };
    for (const auto& c : std::vector<Case>{{{}, "off", "off"},
                                           {{"--verify"}, "on", "off"},
                                           {{"--verify", "1", "--allow-mixed", "yes"}, "on", "on"},
                                           {{"--verify", "TRUE", "--window-seconds", "5"}, "on", "off"},
                                           {{"--verify", "off", "--allow-mixed"}, "off", "on"},
                                           {{"--verify=false", "--allow-mixed=0"}, "off", "off"},
                                           {{"--verify", "--verify", "no"}, "off", "off"}}) {
        const auto coordinator = idle_coordinator(c.args);
        const auto out = coordinator->process().output();
        EXPECT_TRUE(bt::contains(out, " verify=" + c.verify + " ")) << out;
        EXPECT_TRUE(bt::contains(out, " allow_mixed=" + c.allow_mixed + " ")) << out;
    }
    for (const auto& bad : std::vector<std::string>{"maybe", "2", "enable"}) {
        const auto run = run_tool("bench-dist-coordinator", {"--port", "0", "--verify", bad});
        EXPECT_EQ(run.rc, 2) << run.out;
        EXPECT_TRUE(bt::contains(run.out, "--verify")) << run.out;
        EXPECT_TRUE(bt::contains(run.out, "1, true, yes, on, 0, false, no, off")) << run.out;
    }
}

TEST(OriginalCommandLines, GeneratorBoolFlagTakesAValue) {
    const auto bad = run_tool("bench-dist-generator", {"--concurrency", "1", "--exit-on-coordinator-loss", "perhaps"});
    EXPECT_EQ(bad.rc, 2) << bad.out;
    EXPECT_TRUE(bt::contains(bad.out, "--exit-on-coordinator-loss")) << bad.out;
    // With a value and a bare `--`, it parses and goes on to fail on the
    // coordinator nobody runs: exit 1 after --control-retries attempts.
    const auto good = run_tool("bench-dist-generator",
                               {"--", "--concurrency", "1", "--exit-on-coordinator-loss", "1", "--control-retries", "1",
                                "--coordinator-url", "http://127.0.0.1:9", "--poll-ms", "10", "--stdb-url", kNoServer});
    EXPECT_EQ(good.rc, 1) << good.out;
}

// bench-dist-control's own options (--coordinator-url, --auth-token, --json)
// before or after the command, and --json with the original's values.
TEST(OriginalCommandLines, ControlOptionsGoBeforeOrAfterTheCommand) {
    const std::string token = "bdTok-original-cli-" + std::to_string(::getpid());
    const auto coordinator = idle_coordinator({}, {{"BENCH_DIST_TOKEN", token}});
    const auto url = coordinator->url();

    const auto after = control({"status", "--coordinator-url", url, "--auth-token", token, "--json"});
    ASSERT_EQ(after.rc, 0) << after.out;
    EXPECT_EQ(bc::Json::parse(after.out).at("phase"), "idle") << after.out;

    const auto before = control({"--json", "1", "--coordinator-url", url, "status", "--auth-token", token});
    ASSERT_EQ(before.rc, 0) << before.out;
    EXPECT_EQ(bc::Json::parse(before.out).at("phase"), "idle") << before.out;

    // A command name after --json is the command, not the flag's value.
    const auto command_after = control({"--json", "status", "--coordinator-url", url, "--auth-token", token});
    ASSERT_EQ(command_after.rc, 0) << command_after.out;
    EXPECT_EQ(bc::Json::parse(command_after.out).at("phase"), "idle") << command_after.out;

    const auto text = control({"--auth-token", token, "status", "--json", "off", "--coordinator-url", url});
    EXPECT_EQ(text.rc, 0) << text.out;
    EXPECT_TRUE(bt::contains(text.out, "phase=idle epoch=-")) << text.out;

    const auto generators = control({"generators", "--coordinator-url", url, "--auth-token", token});
    EXPECT_EQ(generators.rc, 0) << generators.out;
    const auto stop = control({"stop-epoch", "--auth-token", token, "--coordinator-url", url});
    EXPECT_EQ(stop.rc, 0) << stop.out;
    EXPECT_TRUE(bt::contains(stop.out, "No epoch is running")) << stop.out;

    // Without the token (it went after the command, so it counts): refused.
    const auto refused = control({"status", "--coordinator-url", url});
    EXPECT_EQ(refused.rc, 1) << refused.out;
    EXPECT_TRUE(bt::contains(refused.out, "401")) << refused.out;

    const auto bad = control({"status", "--json", "maybe", "--coordinator-url", url});
    EXPECT_EQ(bad.rc, 2) << bad.out;
    EXPECT_TRUE(bt::contains(bad.out, "--json")) << bad.out;
}

// The original coordinator has no POST /admin/stop-epoch: its router answers
// 404 {"error": "Unknown route: POST /admin/stop-epoch"} (wire notes §8.5).
TEST(OriginalCoordinator, StopEpochSaysItHasNoStopRoute) {
    bn::HttpServer original({}, [](bn::HttpRequest req, bn::Respond respond) {
        bn::HttpResponse res;
        res.status = 404;
        res.content_type = "application/json; charset=utf-8";
        res.body = bc::Json{{"error", "Unknown route: " + req.method + " " + req.path}}.dump(2) + "\n";
        respond(std::move(res));
    });
    original.start();
    const std::string url = "http://127.0.0.1:" + std::to_string(original.port());

    const auto stop = control({"--coordinator-url", url, "stop-epoch"});
    EXPECT_EQ(stop.rc, 1) << stop.out;
    EXPECT_TRUE(bt::contains(stop.out, "has no stop route")) << stop.out;
    EXPECT_TRUE(bt::contains(stop.out, "original harness")) << stop.out;
    EXPECT_TRUE(bt::contains(stop.out, "runs to its end")) << stop.out;
    EXPECT_FALSE(bt::contains(stop.out, "failed: 404")) << stop.out;

    // Another 404 (a wrong path prefix, say) is not taken for the original.
    const auto elsewhere = control({"--coordinator-url", url + "/prefix", "stop-epoch"});
    EXPECT_EQ(elsewhere.rc, 1) << elsewhere.out;
    EXPECT_TRUE(bt::contains(elsewhere.out, "failed: 404")) << elsewhere.out;
    EXPECT_FALSE(bt::contains(elsewhere.out, "has no stop route")) << elsewhere.out;
    original.stop();
}

// The original coordinator ignores since/waitMs and answers /state at once,
// with no version: start-epoch must then poll every --poll-ms, as the
// original control did, not back to back (it sent ~2000 requests in a 3.5 s
// epoch before).
TEST(OriginalCoordinator, StartEpochPollsItEveryPollMsNotBackToBack) {
    std::atomic<int> polls{0};
    std::atomic<std::int64_t> started_ms{0};
    const auto now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    };
    constexpr std::int64_t kEpochMs = 1500;
    bn::HttpServer original({}, [&](bn::HttpRequest req, bn::Respond respond) {
        bc::CoordinatorState s;
        s.phase = bc::Phase::Measure;
        s.current_epoch = 1;
        s.participants = {"gen-a"};
        if (req.method == "GET" && req.path == "/state") {
            ++polls;
            if (now_ms() - started_ms.load() >= kEpochMs) {
                bc::EpochResult r;
                r.epoch = 1;
                r.verification = "passed";
                r.committed_delta = "100";
                s.phase = bc::Phase::Idle;
                s.current_epoch.reset();
                s.participants.clear();
                s.last_result = r;
            }
        } else if (req.method == "POST" && req.path == "/admin/start-epoch") {
            started_ms = now_ms();
        }
        auto j = bc::to_json(s);
        j.erase("version");  // the original has none
        if (req.path == "/admin/start-epoch")
            j = bc::Json{{"started", true}, {"message", "Epoch 1 started"}, {"state", j}};
        bn::HttpResponse res;
        res.content_type = "application/json; charset=utf-8";
        res.body = j.dump(2) + "\n";
        respond(std::move(res));
    });
    original.start();
    const std::string url = "http://127.0.0.1:" + std::to_string(original.port());

    const auto run = control({"start-epoch", "--coordinator-url", url, "--poll-ms", "100"});
    original.stop();
    EXPECT_EQ(run.rc, 0) << run.out;
    EXPECT_TRUE(bt::contains(run.out, "epoch=1")) << run.out;
    // 1.5 s at one poll per 100 ms is about 15; allow slow machines room,
    // but not the thousands of an unpaced loop.
    EXPECT_GE(polls.load(), 3) << run.out;
    EXPECT_LE(polls.load(), 40) << run.out;
}

// A malformed line makes each tool warn, naming the file and line, even
// when it only prints its version: proof that each reads ./.env first.
TEST(DotenvFile, EveryToolReadsItFromTheWorkingDirectory) {
    bt::TempDir dir("dotenv-every-tool");
    write_file(dir.path() / ".env", "# settings\nBD_TEST_UNUSED=1\nthis line is no assignment\n");
    for (const std::string tool : {"bench-dist-coordinator", "bench-dist-generator", "bench-dist-control"}) {
        const auto run = run_tool(tool, {"--version"}, {}, dir.path());
        EXPECT_EQ(run.rc, 0) << tool << ": " << run.out;
        EXPECT_TRUE(bt::contains(run.out, tool + ": warning: .env line 3: expected KEY=VALUE")) << run.out;
        EXPECT_FALSE(bt::contains(run.out, "no assignment")) << run.out;
    }
    // No .env: not a word about it.
    bt::TempDir empty("dotenv-none");
    const auto quiet = run_tool("bench-dist-control", {"--version"}, {}, empty.path());
    EXPECT_EQ(quiet.rc, 0) << quiet.out;
    EXPECT_FALSE(bt::contains(quiet.out, ".env")) << quiet.out;
}

TEST(DotenvFile, CoordinatorTakesItsVariablesAndTheEnvironmentWins) {
    bt::TempDir dir("dotenv-coordinator");
    write_file(dir.path() / ".env",
               "export STDB_MODULE=\"from-dotenv\"   # quoted, with a comment\n"
               "STDB_URL=ws://127.0.0.1:9/\n"
               "STDB_COMPRESSION=gzip\n");
    const std::vector<std::string> argv{bt::bin_path("bench-dist-coordinator"), "--port", "0", "--results-dir",
                                        (dir.path() / "results").string()};
    {
        bt::Subprocess p(argv, {}, dir.path());
        bt::wait_listening(p, "bench-dist-coordinator");
        const auto out = p.output();
        EXPECT_TRUE(bt::contains(out, " module=from-dotenv ")) << out;
        EXPECT_TRUE(bt::contains(out, " compression=gzip ")) << out;
        EXPECT_TRUE(bt::contains(out, " stdb=ws://127.0.0.1:9 ")) << out;
    }
    {
        bt::Subprocess p(argv, {{"STDB_MODULE", "from-environment"}}, dir.path());
        bt::wait_listening(p, "bench-dist-coordinator");
        const auto out = p.output();
        EXPECT_TRUE(bt::contains(out, " module=from-environment ")) << out;
        EXPECT_TRUE(bt::contains(out, " compression=gzip ")) << out;
    }
    {  // and a flag beats both, as before
        auto flagged = argv;
        flagged.insert(flagged.end(), {"--stdb-module", "from-flag"});
        bt::Subprocess p(flagged, {{"STDB_MODULE", "from-environment"}}, dir.path());
        bt::wait_listening(p, "bench-dist-coordinator");
        EXPECT_TRUE(bt::contains(p.output(), " module=from-flag ")) << p.output();
    }
}

// The token and the coordinator's URL from .env: a generator joins, control
// reads the state; a token in the real environment beats the file's.
TEST(DotenvFile, GeneratorAndControlTakeTheTokenFromIt) {
    const std::string token = "bdTok-dotenv-" + std::to_string(::getpid()) + "-5e1d";
    bt::Rig rig({.tag = "dotenv-token", .coordinator_args = std::nullopt});
    auto& coordinator = rig.start_coordinator({}, 0, {{"BENCH_DIST_TOKEN", token}});
    bt::TempDir dir("dotenv-token");
    write_file(dir.path() / ".env", "BENCH_DIST_TOKEN='" + token +
                                        "'\nBENCH_DIST_COORDINATOR_URL=" + coordinator.url() + " # this coordinator\n");

    bt::Subprocess generator(bt::generator_argv(coordinator.url(), rig.stdb_url(), {.id = "gen-dotenv"}), {},
                             dir.path());
    // The rig's own calls carry no token, so control does the waiting.
    const auto ready = control({"wait-ready", "--generators", "1", "--timeout", "60"}, {}, dir.path());
    ASSERT_EQ(ready.rc, 0) << ready.out << "\ngenerator:\n" << generator.output();

    const auto status = control({"status"}, {}, dir.path());
    EXPECT_EQ(status.rc, 0) << status.out;
    EXPECT_TRUE(bt::contains(status.out, "gen-dotenv")) << status.out;

    const auto overridden = control({"status"}, {{"BENCH_DIST_TOKEN", "not-the-token"}}, dir.path());
    EXPECT_EQ(overridden.rc, 1) << overridden.out;
    EXPECT_TRUE(bt::contains(overridden.out, "401")) << overridden.out;
    EXPECT_TRUE(bt::contains(overridden.out, "the one given differs")) << overridden.out;

    for (const auto& out : {status.out, overridden.out, generator.output(), coordinator.process().output()})
        EXPECT_FALSE(bt::contains(out, token));
}
