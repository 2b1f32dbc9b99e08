// Text from outside -- ids, host names and labels in requests, error texts
// and states from a coordinator, answers from a server -- against the real
// tools on 127.0.0.1 (issue 14, items 3, 5 and 7):
//  - the coordinator refuses names that break their rules (a newline, an
//    escape sequence, a NUL, a megabyte) at the door, so they never reach
//    its log or bench-dist-control's tables;
//  - bench-dist-control and bench-dist-generator escape whatever a
//    coordinator that checks nothing (the original harness's, played here
//    by an in-process server) sends them;
//  - every tool refuses an option value it cannot use (a malformed URL, a
//    negative timeout, NaN, one account) as a usage error: exit 2, naming
//    the flag, before it contacts anything.
// docs/reliability.md lists the cases under "Names and text from outside".
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_server.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
namespace bn = benchdist::net;
namespace bt = benchdist::testing;
using namespace std::chrono_literals;

namespace {

// Never answers: the tools under test must not need it.
const std::string kNowhere = "http://127.0.0.1:9";
const std::string kNoServer = "ws://127.0.0.1:9";

// A line a hostile name would forge into a log or a table.
const std::string kForged = "\nepoch=1 tps=99999.00 delta=1 verification=passed";

// Output of a tool: only printable ASCII and line ends, and no forged line.
::testing::AssertionResult clean(const std::string& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto c = static_cast<unsigned char>(out[i]);
        if (c != '\n' && (c < 0x20 || c > 0x7e)) {
            return ::testing::AssertionFailure()
                   << "byte 0x" << std::hex << int(c) << " at offset " << std::dec << i << " in:\n"
                   << out;
        }
    }
    if (bt::contains(out, "\nepoch=1 tps=99999.00")) return ::testing::AssertionFailure() << "forged line in:\n" << out;
    return ::testing::AssertionSuccess();
}

bn::HttpResponse json_answer(unsigned status, const bc::Json& body) {
    bn::HttpResponse res;
    res.status = status;
    res.content_type = "application/json; charset=utf-8";
    res.body = body.dump(2) + "\n";
    return res;
}

}  // namespace

// The coordinator refuses every hostile name with 400 and keeps its state;
// neither its log nor `bench-dist-control status`/`generators` ever shows
// one. Before, each was registered and printed raw (a forged
// `verification=passed` line, terminal escapes), and a label with an
// escape sequence started an epoch and went to the log as it was.
TEST(HostileNames, AreRefusedAtTheDoorAndNeverReachTheLogOrTheTables) {
    bt::TempDir dir("hostile-names");
    bt::CoordinatorProcess coordinator(
        {.stdb_url = kNoServer, .results_dir = dir.path() / "results", .args = {"--lease-seconds", "0"}});
    // gen-a is ready, so a start-epoch that got through would start an epoch.
    ASSERT_EQ(coordinator
                  .call("POST", "/register", R"({"id":"gen-a","hostname":"load1.internal","desiredConnections":1})")
                  .status,
              200u);
    ASSERT_EQ(coordinator.call("POST", "/ready", R"({"id":"gen-a","openedConnections":1})").status, 200u);

    const std::vector<std::string> ids{"gen-b" + kForged, "gen-b\x1b[2J\x1b[31m", std::string("gen-b\0hidden", 12),
                                       "gen-b\r", std::string(1000000, 'b')};
    for (const auto& id : ids) {
        const auto name = bt::contains(id, "\n") ? "forged line" : std::to_string(id.size()) + " bytes";
        const auto reg = coordinator.call("POST", "/register",
                                          bc::Json{{"id", id}, {"hostname", "h"}, {"desiredConnections", 1}}.dump());
        EXPECT_EQ(reg.status, 400u) << name << ": " << reg.body.substr(0, 300);
        EXPECT_TRUE(bt::contains(reg.body, "is not a valid generator id")) << reg.body.substr(0, 300);
        EXPECT_LT(reg.body.size(), 1000u) << "the answer repeats the id";
        for (const auto& [path, body] :
             std::vector<std::pair<std::string, bc::Json>>{{"/ready", {{"id", id}, {"openedConnections", 1}}},
                                                           {"/started", {{"id", id}, {"epoch", 1}}},
                                                           {"/stopped", {{"id", id}, {"epoch", 1}}},
                                                           {"/admin/start-epoch", {{"generatorIds", {id}}}},
                                                           {"/admin/include", {{"generatorIds", {id}}}},
                                                           {"/admin/exclude", {{"generatorIds", {id}}}}}) {
            const auto r = coordinator.call("POST", path, body.dump());
            EXPECT_EQ(r.status, 400u) << path << " " << name << ": " << r.body.substr(0, 300);
        }
    }
    const auto host = coordinator.call(
        "POST", "/register",
        bc::Json{{"id", "gen-c"}, {"hostname", "h\x1b]0;owned\x07" + kForged}, {"desiredConnections", 1}}.dump());
    EXPECT_EQ(host.status, 400u) << host.body;
    EXPECT_TRUE(bt::contains(host.body, "\\\"hostname\\\" is not a valid host name")) << host.body;
    const auto state = coordinator.call("GET", "/state?id=gen-a%0Aphase%3Didle%1B%5B2J");
    EXPECT_EQ(state.status, 400u) << state.body;
    for (const auto& label : {std::string("run\x1b[2J") + kForged, std::string(257, 'l')}) {
        const auto start = coordinator.call("POST", "/admin/start-epoch", bc::Json{{"label", label}}.dump());
        EXPECT_EQ(start.status, 400u) << start.body;
        EXPECT_TRUE(bt::contains(start.body, "\\\"label\\\"")) << start.body;
    }
    // Absurd connection counts.
    EXPECT_EQ(coordinator
                  .call("POST", "/register",
                        R"({"id":"gen-d","hostname":"h","desiredConnections":18446744073709551615})")
                  .status,
              400u);
    const auto above = coordinator.call("POST", "/ready", R"({"id":"gen-a","openedConnections":2})");
    EXPECT_EQ(above.status, 400u) << above.body;
    EXPECT_TRUE(bt::contains(above.body, "openedConnections 2 above its desiredConnections 1")) << above.body;

    const auto s = coordinator.state();
    ASSERT_EQ(s.generators.size(), 1u);
    EXPECT_EQ(s.generators[0].id, "gen-a");
    EXPECT_EQ(s.generators[0].opened_connections, 1u);
    EXPECT_FALSE(s.current_epoch);
    EXPECT_FALSE(s.last_result);

    for (const std::string command : {"status", "generators"}) {
        const auto run =
            bt::run_tool("bench-dist-control", {"--coordinator-url", coordinator.url(), command}, {}, {}, 30s);
        EXPECT_EQ(run.rc, 0) << run.out;
        EXPECT_TRUE(bt::contains(run.out, "gen-a")) << run.out;
        EXPECT_TRUE(clean(run.out));
    }
    EXPECT_TRUE(clean(coordinator.process().output()));
    EXPECT_FALSE(bt::contains(coordinator.process().output(), std::string(1000, 'b')));
}

// What a coordinator that checks nothing may send: the original harness's
// stores any id, host name and label, and quotes them back. Every text
// bench-dist-control prints from it is escaped -- status, the generators
// table, start-epoch's message and result (label, error, warnings,
// verificationError), stop-epoch's message and an error body that is not
// JSON. JSON output (--json) stays JSON.
TEST(HostileNames, ControlEscapesWhatAnUncheckingCoordinatorSends) {
    bc::CoordinatorState hostile;
    hostile.version = 1;
    hostile.current_label = "label\x1b[2J" + kForged;
    bc::GeneratorSnapshot g;
    g.id = "gen-a" + kForged;
    g.hostname = std::string("host\0hidden", 11);
    g.last_seen_at = "2026-04-10T12:00:00.000Z\x1b[0m";
    hostile.generators.push_back(g);
    bc::EpochResult r;
    r.epoch = 1;
    r.label = "run\x1b]0;owned\x07";
    r.committed_delta = "1";
    r.verification = "failed";
    r.verification_error = "mismatch\x1b[1m" + kForged;
    r.error = "boom\r" + kForged;
    r.extra["warnings"] = bc::Json::array({"warn\x1b[31m" + kForged,
                                           "c1 \xC2\x9B"
                                           "31m"});
    auto finished = hostile;
    finished.version = 2;
    finished.last_result = r;
    auto running = hostile;
    running.phase = bc::Phase::Measure;
    running.current_epoch = 1;

    bn::HttpServer fake({}, [&](bn::HttpRequest req, bn::Respond respond) {
        if (req.path == "/admin/status") return respond(json_answer(200, bc::to_json(finished)));
        if (req.path == "/state") return respond(json_answer(200, bc::to_json(finished)));
        if (req.path == "/admin/start-epoch") {
            return respond(json_answer(200, bc::Json{{"started", true},
                                                     {"message", "Epoch 1 started\x1b[31m" + kForged},
                                                     {"state", bc::to_json(running)}}));
        }
        if (req.path == "/admin/stop-epoch") {
            return respond(json_answer(200, bc::Json{{"stopping", true},
                                                     {"message", "stopping\x1b[2J" + kForged},
                                                     {"state", bc::to_json(running)}}));
        }
        bn::HttpResponse broken;  // /admin/include: not JSON at all
        broken.status = 400;      // a 5xx would be retried for 30 s (bench-dist-control retries them)
        broken.content_type = "text/plain";
        broken.body = std::string("\x1b[2Jproxy error\0", 17) + kForged;  // NUL, then a forged line
        respond(std::move(broken));
    });
    fake.start();
    const std::string url = "http://127.0.0.1:" + std::to_string(fake.port());
    const auto control = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--coordinator-url", url});
        return bt::run_tool("bench-dist-control", std::move(args), {}, {}, 30s);
    };

    const auto status = control({"status"});
    EXPECT_EQ(status.rc, 0) << status.out;
    EXPECT_TRUE(clean(status.out));
    EXPECT_TRUE(
        bt::contains(status.out, "gen-a\\x0Aepoch=1 tps=99999.00 delta=1 verification=passed host=host\\x00hidden"))
        << status.out;
    EXPECT_TRUE(bt::contains(status.out, "label=label\\x1B[2J\\x0Aepoch=1")) << status.out;

    const auto table = control({"generators"});
    EXPECT_EQ(table.rc, 0) << table.out;
    EXPECT_TRUE(clean(table.out));
    EXPECT_TRUE(bt::contains(table.out, "2026-04-10T12:00:00.000Z\\x1B[0m")) << table.out;

    const auto start = control({"start-epoch", "--poll-ms", "10"});
    EXPECT_EQ(start.rc, 1) << start.out;  // the result has an error
    EXPECT_TRUE(clean(start.out));
    EXPECT_TRUE(bt::contains(start.out, "Epoch 1 started\\x1B[31m\\x0Aepoch=1")) << start.out;
    EXPECT_TRUE(bt::contains(start.out, "error=boom\\x0D\\x0Aepoch=1")) << start.out;
    EXPECT_TRUE(bt::contains(start.out, "verification_error=mismatch\\x1B[1m\\x0Aepoch=1")) << start.out;
    EXPECT_TRUE(bt::contains(start.out, "  - warn\\x1B[31m\\x0Aepoch=1")) << start.out;
    EXPECT_TRUE(bt::contains(start.out, "  - c1 \\xC2\\x9B31m")) << start.out;

    const auto stop = control({"stop-epoch"});
    EXPECT_EQ(stop.rc, 0) << stop.out;
    EXPECT_TRUE(clean(stop.out));
    EXPECT_TRUE(bt::contains(stop.out, "stopping\\x1B[2J\\x0Aepoch=1")) << stop.out;

    const auto include = control({"include", "--generator-ids", "gen-a"});
    EXPECT_EQ(include.rc, 1) << include.out;
    EXPECT_TRUE(clean(include.out));
    // The failure travels as an exception whose what() ends at the NUL.
    EXPECT_TRUE(bt::contains(include.out, "not JSON: \\x1B[2Jproxy error")) << include.out;

    // --json prints JSON, which escapes control characters its own way
    // (\u001b); text beyond ASCII stays UTF-8 there, as JSON.stringify writes it.
    const auto json = control({"status", "--json"});
    EXPECT_EQ(json.rc, 0) << json.out;
    for (const char c : json.out) EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << json.out;
    EXPECT_EQ(bc::coordinator_state_from_json(bc::Json::parse(json.out)).generators.at(0).id, g.id);
    fake.stop();
}

// The generator logs the coordinator's refusal escaped.
TEST(HostileNames, GeneratorEscapesTheCoordinatorsErrorText) {
    bn::HttpServer fake({}, [](bn::HttpRequest, bn::Respond respond) {
        respond(json_answer(400, bc::Json{{"error", "refused\x1b[31m" + kForged}}));
    });
    fake.start();
    const auto run = bt::run_tool("bench-dist-generator",
                                  {"--coordinator-url", "http://127.0.0.1:" + std::to_string(fake.port()), "--id",
                                   "gen-a", "--concurrency", "1", "--accounts", "1000", "--pairs", "1000", "--threads",
                                   "1", "--stdb-url", kNoServer},
                                  {}, {}, 30s);
    fake.stop();
    EXPECT_EQ(run.rc, 1) << run.out;
    EXPECT_TRUE(clean(run.out));
    EXPECT_TRUE(bt::contains(run.out, "failed: 400 refused\\x1B[31m\\x0Aepoch=1 tps=99999.00")) << run.out;
}

// =====================================================================================
// Usage errors: exit 2 naming the flag, before anything is contacted
// =====================================================================================

struct UsageCase {
    const char* name;
    const char* tool;
    std::vector<std::string> args;
    std::vector<std::string> says;  // what the message must contain
    std::map<std::string, std::string> env = {};
};

// bench-dist-generator's command line for a usage case: `set` replaces or
// adds flags of one that reaches nothing and gives up at once (without the
// fix a case ends with exit 1, "cannot reach coordinator", rather than
// hang); `tail` goes last (e.g. the `run` command).
std::vector<std::string> generator_args(std::map<std::string, std::string> set, std::vector<std::string> tail = {}) {
    std::map<std::string, std::string> flags{{"--coordinator-url", kNowhere},
                                             {"--stdb-url", kNoServer},
                                             {"--concurrency", "1"},
                                             {"--id", "gen-a"},
                                             {"--pairs", "100"},
                                             {"--control-retries", "1"}};
    for (auto& [flag, value] : set) flags[flag] = value;
    std::vector<std::string> args{"--exit-on-coordinator-loss"};
    for (const auto& [flag, value] : flags) args.insert(args.end(), {flag, value});
    args.insert(args.end(), tail.begin(), tail.end());
    return args;
}

std::vector<std::string> control_args(std::vector<std::string> more) {
    std::vector<std::string> args{"--coordinator-url", kNowhere};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

const std::vector<UsageCase> kUsageCases{
    // bench-dist-generator
    {"GeneratorOpTimeoutZero",
     "bench-dist-generator",
     generator_args({{"--op-timeout-ms", "0"}}),
     {"--op-timeout-ms", "1 to 86400000"}},
    {"GeneratorOpTimeoutNegative",
     "bench-dist-generator",
     generator_args({{"--op-timeout-ms", "-5"}}),
     {"--op-timeout-ms", "1 to 86400000"}},
    {"GeneratorAlphaNegative",
     "bench-dist-generator",
     generator_args({{"--alpha", "-1"}}),
     {"--alpha", "must be a number from 0 to 10"}},
    {"GeneratorAlphaNaN", "bench-dist-generator", generator_args({{"--alpha", "nan"}}), {"--alpha", "got `nan`"}},
    {"GeneratorOneAccount",
     "bench-dist-generator",
     generator_args({{"--accounts", "1"}}),
     {"--accounts", "must be at least 2", "two distinct accounts"}},
    {"GeneratorOneAccountFromTheEnvironment",
     "bench-dist-generator",
     generator_args({}),
     {"--accounts", "must be at least 2"},
     {{"SEED_ACCOUNTS", "1"}}},
    {"GeneratorRunOneAccount",
     "bench-dist-generator",
     generator_args({{"--accounts", "1"}}, {"run", "--seconds", "1"}),
     {"--accounts", "two distinct accounts"}},
    {"GeneratorRunSecondsNaN",
     "bench-dist-generator",
     generator_args({}, {"run", "--seconds", "nan"}),
     {"--seconds", "0.1 to 86400"}},
    {"GeneratorConcurrencyAbsurd",
     "bench-dist-generator",
     generator_args({{"--concurrency", "1000001"}}),
     {"--concurrency", "1 to 1000000"}},
    {"GeneratorCoordinatorUrlNotAUrl",
     "bench-dist-generator",
     generator_args({{"--coordinator-url", "not a url"}}),
     {"--coordinator-url", "whitespace", "expected http://HOST[:PORT][/PATH]"}},
    {"GeneratorCoordinatorUrlFtp",
     "bench-dist-generator",
     generator_args({{"--coordinator-url", "ftp://h:21"}}),
     {"--coordinator-url", "unsupported scheme \"ftp\""}},
    {"GeneratorIdWithEscape",
     "bench-dist-generator",
     generator_args({{"--id", "gen\x1b[31m"}}),
     {"--id", "is not a valid generator id", "\\x1B"}},
    {"GeneratorHostnameWithNewline",
     "bench-dist-generator",
     generator_args({{"--hostname", "load1" + kForged}}),
     {"--hostname", "is not a valid host name"}},
    {"GeneratorLeaseNaN", "bench-dist-generator", generator_args({{"--lease-seconds", "nan"}}), {"--lease-seconds"}},
    {"GeneratorRateNaN", "bench-dist-generator", generator_args({{"--rate", "nan"}}), {"--rate", "0 to 1000000000"}},
    {"GeneratorPollZero", "bench-dist-generator", generator_args({{"--poll-ms", "0"}}), {"--poll-ms", "10 to 600000"}},
    // bench-dist-control
    {"ControlTimeoutNegative",
     "bench-dist-control",
     control_args({"start-epoch", "--timeout", "-5"}),
     {"--timeout", "must be a number from 0 to 31536000, got `-5`"}},
    {"ControlWaitReadyTimeoutNegative",
     "bench-dist-control",
     control_args({"wait-ready", "--generators", "1", "--timeout", "-1"}),
     {"--timeout"}},
    {"ControlWaitReadyNoGenerators",
     "bench-dist-control",
     control_args({"wait-ready", "--generators", "0"}),
     {"--generators", "1 to 1000000"}},
    {"ControlCoordinatorUrlNotAUrl",
     "bench-dist-control",
     {"--coordinator-url", "not a url", "status"},
     {"--coordinator-url", "expected http://HOST[:PORT][/PATH]"}},
    {"ControlCoordinatorUrlFtp",
     "bench-dist-control",
     {"status", "--coordinator-url", "ftp://h"},
     {"--coordinator-url", "unsupported scheme \"ftp\""}},
    {"ControlCoordinatorUrlFromTheEnvironment",
     "bench-dist-control",
     {"status"},
     {"--coordinator-url", "no scheme"},
     {{"BENCH_DIST_COORDINATOR_URL", "localhost:8080"}}},
    {"ControlLabelWithEscape",
     "bench-dist-control",
     control_args({"start-epoch", "--label", "run\x1b[2J"}),
     {"--label", "holds a control character"}},
    {"ControlLabelTooLong",
     "bench-dist-control",
     control_args({"start-epoch", "--label", std::string(300, 'l')}),
     {"--label", "is 300 bytes long"}},
    {"ControlGeneratorIdsWithNewline",
     "bench-dist-control",
     control_args({"start-epoch", "--generator-ids", "gen-a,gen-b" + kForged}),
     {"--generator-ids", "is not a valid generator id"}},
    {"ControlExcludeBadId",
     "bench-dist-control",
     control_args({"exclude", "--generator-ids", "a b"}),
     {"--generator-ids", "byte 2 is \\x20"}},
    {"ControlSeedOneAccount",
     "bench-dist-control",
     {"seed", "--stdb-url", kNoServer, "--accounts", "1", "--initial-balance", "100"},
     {"--accounts", "two distinct accounts"}},
    {"ControlSeedZeroBalance",
     "bench-dist-control",
     {"seed", "--stdb-url", kNoServer, "--accounts", "10", "--initial-balance", "0"},
     {"--initial-balance"}},
    // bench-dist-coordinator: these would start it (and NaN windows never end).
    {"CoordinatorWindowNaN",
     "bench-dist-coordinator",
     {"--port", "0", "--window-seconds", "nan"},
     {"--window-seconds", "0.001 to 31536000"}},
    {"CoordinatorLeaseNaN",
     "bench-dist-coordinator",
     {"--port", "0", "--lease-seconds", "nan"},
     {"--lease-seconds", "0 to 86400"}},
    {"CoordinatorPortTooLarge", "bench-dist-coordinator", {"--port", "70000"}, {"--port", "0 to 65535"}},
    {"CoordinatorDefaultIdsBad",
     "bench-dist-coordinator",
     {"--port", "0", "--generator-ids", "gen-a, gen b"},
     {"--generator-ids", "is not a valid generator id"}},
};

class UsageErrors : public ::testing::TestWithParam<UsageCase> {};

TEST_P(UsageErrors, ExitTwoNamingTheFlag) {
    const auto& tc = GetParam();
    const auto run = bt::run_tool(tc.tool, tc.args, tc.env, {}, 10s);
    EXPECT_EQ(run.rc, 2) << run.out;
    for (const auto& part : tc.says)
        EXPECT_TRUE(bt::contains(run.out, part)) << "no \"" << part << "\" in:\n" << run.out;
    EXPECT_TRUE(clean(run.out));
}

INSTANTIATE_TEST_SUITE_P(Cases, UsageErrors, ::testing::ValuesIn(kUsageCases),
                         [](const ::testing::TestParamInfo<UsageCase>& info) { return std::string(info.param.name); });
