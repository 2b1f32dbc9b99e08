// Interoperability with the original TypeScript harness, both revisions:
// 5c6f308b7 ("first": phase warmup, --warmup-seconds, no /started) and
// eb0645ced^ ("final": phase starting, the /started barrier). The original
// is played by the Node doubles in tests/support/original/ (coordinator.mjs,
// generator.mjs, control.mjs, each with --revision first|final; see their
// headers for what they reproduce and where they deviate), and every mix an
// operator could run is checked end to end on 127.0.0.1: original
// generators and control against our coordinator, our generators and
// control against the original coordinator, mixed fleets, and the
// original's DEVELOP.md command lines with our binaries. Each epoch must
// complete, verify, and flag nobody (no lost generator, no missing
// acknowledgement), with a positive committed delta.
//
// The OriginalDoubles tests run the doubles only against each other, so a
// failure in an interop test can be told apart from a broken double.
//
// Node and the doubles' directory come from CMake (BENCHDIST_NODE_EXECUTABLE,
// BENCHDIST_ORIGINAL_DOUBLES_DIR); the doubles load the official SDK from
// tests/conformance/node_modules.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "rig.hpp"

namespace fs = std::filesystem;
namespace bc = benchdist::control;
using namespace benchdist::testing;
using namespace std::chrono_literals;
using Json = bc::Json;

namespace {

// What SEED_INITIAL_BALANCE defaults to in the original and in our
// coordinator: seeding with it lets both verify without extra flags.
constexpr std::int64_t kInitialBalance = 10000000;
constexpr std::uint64_t kAccounts = 1000;

enum class Revision { First, Final };

std::string revision_name(Revision r) { return r == Revision::First ? "first" : "final"; }
// For GoogleTest's messages ("GetParam() = final").
void PrintTo(Revision r, std::ostream* out) { *out << revision_name(r); }

// node <doubles dir>/<script> --revision <r> <args...>
std::vector<std::string> original_argv(const std::string& script, Revision r, const std::vector<std::string>& args) {
    std::vector<std::string> argv{BENCHDIST_NODE_EXECUTABLE,
                                  (fs::path(BENCHDIST_ORIGINAL_DOUBLES_DIR) / script).string(), "--revision",
                                  revision_name(r)};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

// An original generator double: 2 connections, accounts [0, 1000), polls
// every 250 ms (the original's default is 1000; shorter keeps tests short).
std::unique_ptr<Subprocess> start_original_generator(Revision r, const std::string& id,
                                                     const std::string& coordinator_url, const std::string& stdb_url) {
    return std::make_unique<Subprocess>(
        original_argv("generator.mjs", r,
                      {"--id", id, "--coordinator-url", coordinator_url, "--concurrency", "2", "--accounts",
                       std::to_string(kAccounts), "--poll-ms", "250", "--stdb-url", stdb_url}));
}

struct Finished {
    int code = -1;
    std::string output;
};

// Runs a command to its end (bounded); throws with its output when it hangs.
Finished finish(Subprocess& p, const std::string& what, std::chrono::milliseconds timeout = 60s) {
    const auto code = p.wait_exit(timeout);
    if (!code)
        throw std::runtime_error(what + " did not finish within " + std::to_string(timeout.count()) + " ms:\n" +
                                 p.output());
    return {*code, p.output()};
}

Finished run(std::vector<std::string> argv, const std::string& what, std::chrono::milliseconds timeout = 60s) {
    Subprocess p(std::move(argv));
    return finish(p, what, timeout);
}

std::vector<std::string> lines_containing(const std::string& text, const std::string& part) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
        if (contains(line, part)) out.push_back(line);
    return out;
}

std::size_t count_lines(const std::string& text, const std::string& part) {
    return lines_containing(text, part).size();
}

// head, then each flag followed by its value, in the order given.
std::vector<std::string> command_line(std::vector<std::string> head,
                                      const std::vector<std::pair<std::string, std::string>>& flags) {
    for (const auto& [flag, value] : flags) {
        head.push_back(flag);
        head.push_back(value);
    }
    return head;
}

// The epoch's result file in a results directory (ours or the original's:
// both name it <test>-<connector>-epoch-<NNN>-<finishedAt>.json).
Json result_file(const fs::path& dir, std::uint64_t epoch) {
    char tag[32];
    std::snprintf(tag, sizeof tag, "-epoch-%03llu-", static_cast<unsigned long long>(epoch));
    std::vector<fs::path> found;
    if (fs::exists(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (contains(e.path().filename().string(), tag) && e.path().extension() == ".json")
                found.push_back(e.path());
    if (found.size() != 1)
        throw std::runtime_error("expected one result file of epoch " + std::to_string(epoch) + " in " + dir.string() +
                                 ", found " + std::to_string(found.size()));
    return Json::parse(read_file(found.front()));
}

// What every epoch here must show: it completed and verified, nobody was
// flagged, and the server committed transfers in the window.
void expect_clean_result(const Json& r, const std::vector<std::string>& participants, double window_seconds) {
    SCOPED_TRACE(r.dump(2));
    EXPECT_EQ(r.value("verification", ""), "passed");
    EXPECT_FALSE(r.contains("error"));
    EXPECT_FALSE(r.contains("verificationError"));
    EXPECT_EQ(r.value("participantIds", Json::array()), Json(participants));
    EXPECT_EQ(r.value("windowSeconds", 0.0), window_seconds);
    const auto delta = std::stoull(r.value("committedDelta", std::string("0")));
    EXPECT_GT(delta, 0u);
    const double actual = r.value("actualWindowSeconds", 0.0);
    EXPECT_GE(actual, window_seconds);
    EXPECT_LT(actual, window_seconds + 2.0);
    EXPECT_GT(r.value("tps", 0.0), 0.0);
    if (actual > 0) {
        EXPECT_NEAR(r.value("tps", 0.0), static_cast<double>(delta) / actual, 0.01);
    }
    EXPECT_FALSE(contains(lower(r.dump()), "lost"));
    EXPECT_FALSE(contains(lower(r.dump()), "missing start"));
    EXPECT_FALSE(contains(lower(r.dump()), "missing stop"));
}

// Our coordinator after the epoch: no generator lost, nothing flagged.
void expect_nobody_flagged(CoordinatorProcess& coordinator) {
    const auto s = coordinator.state();
    for (const auto& g : s.generators)
        EXPECT_NE(bc::generator_state_name(g.local_state), "lost") << g.id << "\n" << coordinator.process().output();
    EXPECT_TRUE(s.current_epoch_errors.empty());
    EXPECT_FALSE(contains(coordinator.process().output(), "lost: silent")) << coordinator.process().output();
}

// Our coordinator's wait for n ready generators, cut short when one of the
// generator processes exits (one that refused its command line would
// otherwise be waited for until the deadline); throws with its output then.
void wait_ready(CoordinatorProcess& coordinator, std::size_t n, const std::vector<Subprocess*>& generators,
                std::chrono::milliseconds timeout = 60s) {
    const auto some_exited = [&] {
        for (auto* g : generators)
            if (!g->running()) return true;
        return false;
    };
    coordinator.wait_state(
        [&](const bc::CoordinatorState& s) {
            std::size_t ready = 0;
            for (const auto& g : s.generators) ready += g.local_state == bc::GeneratorState::Ready ? 1 : 0;
            return ready >= n || some_exited();
        },
        timeout, std::to_string(n) + " generators ready");
    for (auto* g : generators)
        if (!g->running()) throw std::runtime_error("a generator exited before it was ready:\n" + g->output());
}

// The original coordinator double on a free port, with --log-requests so
// acknowledgements can be counted, verification on and a 2 s window.
class OriginalCoordinator {
public:
    OriginalCoordinator(Revision r, const std::string& stdb_url, const fs::path& results_dir,
                        const std::vector<std::string>& extra = {}) {
        // Acknowledgement timeouts of 10 s instead of 60, so an epoch a
        // generator never acknowledges still ends (with an error) in time.
        // The first revision ignores --start-ack-timeout-seconds.
        auto args = command_line({}, {{"--bind", "127.0.0.1"},
                                      {"--port", "0"},
                                      {"--stdb-url", stdb_url},
                                      {"--results-dir", results_dir.string()},
                                      {"--verify", "1"},
                                      {"--window-seconds", "2"},
                                      {"--start-ack-timeout-seconds", "10"},
                                      {"--stop-ack-timeout-seconds", "10"}});
        args.push_back("--log-requests");
        args.insert(args.end(), extra.begin(), extra.end());
        process_ = std::make_unique<Subprocess>(original_argv("coordinator.mjs", r, args));
        port_ = wait_listening(*process_, "the original coordinator double");
    }

    std::string url(const std::string& path = {}) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    Subprocess& process() { return *process_; }

    // Waits for the request log line "request <request>", e.g.
    // "POST /ready id=gen-a".
    void wait_request(const std::string& request, std::chrono::milliseconds timeout = 30s) {
        const std::string line = "[coordinator] request " + request;
        if (!process_->wait_for_line([&](const std::string& l) { return l == line; }, timeout))
            throw std::runtime_error("the original coordinator double never logged \"" + line + "\":\n" +
                                     process_->output());
    }
    std::size_t count_requests(const std::string& request) const {
        const std::string line = "[coordinator] request " + request;
        std::istringstream in(process_->output());
        std::size_t n = 0;
        for (std::string l; std::getline(in, l);) n += l == line ? 1 : 0;
        return n;
    }
    // The epoch's result, once the double wrote it.
    Json wait_result(std::uint64_t epoch, std::chrono::milliseconds timeout = 30s) {
        const std::string prefix = "[coordinator] wrote epoch " + std::to_string(epoch) + " result to ";
        const auto line =
            process_->wait_for_line([&](const std::string& l) { return l.rfind(prefix, 0) == 0; }, timeout);
        if (!line) throw std::runtime_error("no result of epoch " + std::to_string(epoch) + ":\n" + process_->output());
        return Json::parse(read_file(line->substr(prefix.size())));
    }
    bc::StartEpochResponse start_epoch(const std::string& body) {
        const auto r = http_call("POST", url("/admin/start-epoch"), body);
        if (r.status != 200)
            throw std::runtime_error("start-epoch answered " + std::to_string(r.status) + ": " + r.body);
        return bc::start_epoch_response_from_json(Json::parse(r.body));
    }

private:
    std::unique_ptr<Subprocess> process_;
    int port_ = 0;
};

// A seeded stand-in and a private directory, for tests that start the
// original coordinator double (Rig starts only ours).
struct StandinOnly {
    explicit StandinOnly(const std::string& tag, std::uint64_t accounts = kAccounts) : dir(tag) {
        standin.seed(accounts, kInitialBalance);
    }
    TempDir dir;
    StandinProcess standin;
};

RigOptions rig_with(const std::string& tag, std::vector<std::string> coordinator_args) {
    return {.tag = tag,
            .seed = std::make_pair(kAccounts, kInitialBalance),
            .coordinator_args = std::move(coordinator_args),
            .long_poll = 250ms,
            .generator = {.concurrency = 2, .accounts = static_cast<int>(kAccounts)}};
}

}  // namespace

// ---- the doubles against each other -------------------------------------

class OriginalDoubles : public ::testing::TestWithParam<Revision> {};

// The routes' wire format as §8.5 gives it: pretty JSON plus a newline,
// the original's status codes and error texts, /started only in "final".
TEST_P(OriginalDoubles, AnswerWithTheOriginalsStatusCodesAndTexts) {
    const Revision r = GetParam();
    TempDir dir("orig-routes");
    OriginalCoordinator coordinator(r, "ws://127.0.0.1:1", dir.path() / "results");

    const auto health = http_call("GET", coordinator.url("/healthz"));
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(health.body, "{\n  \"ok\": true\n}\n");
    EXPECT_EQ(health.header("content-type").value_or(""), "application/json; charset=utf-8");

    const auto unknown = http_call("GET", coordinator.url("/nope?x=1"));
    EXPECT_EQ(unknown.status, 404u);
    EXPECT_EQ(unknown.body, "{\n  \"error\": \"Unknown route: GET /nope\"\n}\n");

    const auto not_registered = http_call("POST", coordinator.url("/ready"), R"({"id":"x","openedConnections":1})");
    EXPECT_EQ(not_registered.status, 400u);
    EXPECT_EQ(not_registered.body, "{\n  \"error\": \"Unknown generator \\\"x\\\"\"\n}\n");

    const auto empty = http_call("POST", coordinator.url("/register"), " ");
    EXPECT_EQ(empty.status, 400u);
    EXPECT_EQ(empty.body, "{\n  \"error\": \"Request body is empty\"\n}\n");

    const auto registered =
        http_call("POST", coordinator.url("/register"), R"({"id":"x","hostname":"h","desiredConnections":3})");
    ASSERT_EQ(registered.status, 200u);
    const auto state = Json::parse(registered.body);
    std::vector<std::string> keys;
    for (const auto& [k, v] : state.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"phase", "currentEpoch", "currentLabel", "participants", "test",
                                              "connector", "generators", "lastResult"}));
    EXPECT_EQ(
        state["generators"][0].dump(),
        R"({"id":"x","hostname":"h","desiredConnections":3,"openedConnections":0,"localState":"registered","activeEpoch":null})");

    const auto none_ready = coordinator.start_epoch(R"({"label":"l"})");
    EXPECT_FALSE(none_ready.started);
    EXPECT_EQ(none_ready.message, "No ready generators available for the next epoch");
    const auto named = coordinator.start_epoch(R"({"generatorIds":["x","y"]})");
    EXPECT_EQ(named.message, "Requested generators are not ready: x, y");

    const auto started = http_call("POST", coordinator.url("/started"), R"({"id":"x","epoch":1})");
    if (r == Revision::First) {
        EXPECT_EQ(started.status, 404u);
        EXPECT_EQ(started.body, "{\n  \"error\": \"Unknown route: POST /started\"\n}\n");
    } else {
        EXPECT_EQ(started.status, 400u);
        EXPECT_EQ(started.body, "{\n  \"error\": \"Generator \\\"x\\\" acknowledged unexpected epoch 1\"\n}\n");
    }
    // The default warm-up (the first revision's 15 s), or the start-ack
    // timeout given above.
    const auto listening = lines_containing(coordinator.process().output(), "listening on");
    ASSERT_EQ(listening.size(), 1u);
    EXPECT_TRUE(contains(listening[0], r == Revision::First ? " warmup=15s " : " start_ack_timeout=10s "))
        << listening[0];
}

// Two original generators, the original control and the original
// coordinator run an epoch together: the baseline the interop tests compare
// against.
TEST_P(OriginalDoubles, RunAnEpochTogether) {
    const Revision r = GetParam();
    StandinOnly s("orig-self");
    const std::vector<std::string> extra =
        r == Revision::First ? std::vector<std::string>{"--warmup-seconds", "1"} : std::vector<std::string>{};
    OriginalCoordinator coordinator(r, s.standin.ws_url(), s.dir.path() / "results", extra);
    auto gen_a = start_original_generator(r, "orig-a", coordinator.url(), s.standin.ws_url());
    auto gen_b = start_original_generator(r, "orig-b", coordinator.url(), s.standin.ws_url());
    coordinator.wait_request("POST /ready id=orig-a");
    coordinator.wait_request("POST /ready id=orig-b");

    const auto status = run(original_argv("control.mjs", r, {"status", "--coordinator-url", coordinator.url()}),
                            "original control status");
    EXPECT_EQ(status.code, 0) << status.output;
    EXPECT_TRUE(contains(status.output, "orig-a host=")) << status.output;
    EXPECT_EQ(count_lines(status.output, "state=ready opened=2/2 active_epoch=-"), 2u) << status.output;

    const auto control = run(original_argv("control.mjs", r,
                                           {"--", "start-epoch", "--coordinator-url", coordinator.url(), "--label",
                                            "self-" + revision_name(r), "--poll-ms", "250"}),
                             "original control start-epoch");
    EXPECT_EQ(control.code, 0) << control.output;
    EXPECT_TRUE(contains(control.output, "Epoch 1 started\nphase=" +
                                             std::string(r == Revision::First ? "warmup" : "starting") + " epoch=1"))
        << control.output;
    EXPECT_TRUE(contains(control.output, "waiting for epoch 1 to complete...")) << control.output;
    EXPECT_TRUE(contains(control.output, " verification=passed")) << control.output;

    const auto result = coordinator.wait_result(1);
    expect_clean_result(result, {"orig-a", "orig-b"}, 2);
    std::vector<std::string> keys;
    for (const auto& [k, v] : result.items()) keys.push_back(k);
    std::vector<std::string> want{"epoch", "label", "test", "connector"};
    if (r == Revision::First) want.push_back("warmupSeconds");
    for (const char* k :
         {"windowSeconds", "actualWindowSeconds", "participantIds", "participantConnections", "measuredAt",
          "finishedAt", "committedBefore", "committedAfter", "committedDelta", "tps", "verification"})
        want.push_back(k);
    EXPECT_EQ(keys, want);
    EXPECT_EQ(result["participantConnections"], 4);
    for (const std::string id : {"orig-a", "orig-b"}) {
        EXPECT_EQ(coordinator.count_requests("POST /stopped id=" + id + " epoch=1"), 1u)
            << coordinator.process().output();
        EXPECT_EQ(coordinator.count_requests("POST /started id=" + id + " epoch=1"), r == Revision::Final ? 1u : 0u)
            << coordinator.process().output();
    }

    // SIGTERM during an epoch: the generator stops its load, acknowledges
    // with /stopped, closes its connections and exits 0.
    ASSERT_TRUE(coordinator.start_epoch("{}").started);
    ASSERT_TRUE(
        gen_a->wait_for_line([](const std::string& l) { return l == "[generator orig-a] starting epoch 2"; }, 10s))
        << gen_a->output();
    gen_a->signal(SIGTERM);
    EXPECT_EQ(finish(*gen_a, "orig-a after SIGTERM", 10s).code, 0) << gen_a->output();
    EXPECT_EQ(coordinator.count_requests("POST /stopped id=orig-a epoch=2"), 1u) << coordinator.process().output();
}

INSTANTIATE_TEST_SUITE_P(Revision, OriginalDoubles, ::testing::Values(Revision::First, Revision::Final),
                         [](const auto& info) { return revision_name(info.param); });

// ---- original generators and control with our coordinator ---------------

// 1. The final revision's generators speak to the coordinator only at
// /register, /ready, /started and /stopped (their GET /state names nobody),
// so a coordinator that leased them would mark them lost between epochs.
// With a 1 s lease, a start more than a lease after /ready and a 3 s window
// (longer than the lease), nobody may be marked lost. The warmup after the
// barrier must stay in phase starting: these generators keep their load
// only in starting and measure, so a `warmup` phase would stop it and leave
// the window without load (delta 0).
TEST(OriginalInterop, OriginalFinalGeneratorsAndControlAreNotMarkedLostByOurLease) {
    Rig rig(rig_with("orig-lease",
                     {"--lease-seconds", "1", "--warmup-seconds", "0.5", "--window-seconds", "3", "--verify"}));
    auto& coordinator = rig.coordinator();
    auto gen_a = start_original_generator(Revision::Final, "orig-a", coordinator.url(), rig.stdb_url());
    auto gen_b = start_original_generator(Revision::Final, "orig-b", coordinator.url(), rig.stdb_url());
    coordinator.add_diagnostics([&] { return "orig-a:\n" + gen_a->output() + "\norig-b:\n" + gen_b->output(); });
    wait_ready(coordinator, 2, {gen_a.get(), gen_b.get()});
    const auto ready = coordinator.state();
    ASSERT_TRUE(ready.server_time_ms);
    // Not a sleep: the coordinator's own clock, read with each answer.
    const std::int64_t ready_at = *ready.server_time_ms;
    const auto later = coordinator.wait_state(
        [&](const bc::CoordinatorState& s) { return s.server_time_ms.value_or(0) - ready_at > 1500; }, 10s,
        "one and a half leases after /ready");
    for (const auto& g : later.generators) EXPECT_EQ(bc::generator_state_name(g.local_state), "ready") << g.id;

    Subprocess control(
        original_argv("control.mjs", Revision::Final,
                      {"start-epoch", "--coordinator-url", coordinator.url(), "--label", "lease", "--poll-ms", "250"}));
    const auto done = finish(control, "the original control's start-epoch");
    EXPECT_EQ(done.code, 0) << done.output;
    ASSERT_TRUE(contains(done.output, "Epoch 1 started")) << done.output;
    EXPECT_TRUE(contains(done.output, " verification=passed")) << done.output;
    EXPECT_FALSE(contains(lower(done.output), "lost")) << done.output;
    EXPECT_FALSE(contains(done.output, " error=")) << done.output;

    expect_clean_result(result_file(rig.results_dir(), 1), {"orig-a", "orig-b"}, 3);
    expect_nobody_flagged(coordinator);
}

// 2. The first revision's generators start on phase "warmup" and never post
// /started: our coordinator, told to play that revision, must warm up
// without a start barrier.
TEST(OriginalInterop, OriginalFirstRevisionGeneratorsWithOurCoordinatorPlayingIt) {
    Rig rig(rig_with("orig-first-gens",
                     {"--original-revision", "first", "--warmup-seconds", "1", "--window-seconds", "2", "--verify"}));
    auto& coordinator = rig.coordinator();
    auto gen_a = start_original_generator(Revision::First, "orig-a", coordinator.url(), rig.stdb_url());
    auto gen_b = start_original_generator(Revision::First, "orig-b", coordinator.url(), rig.stdb_url());
    coordinator.add_diagnostics([&] { return "orig-a:\n" + gen_a->output() + "\norig-b:\n" + gen_b->output(); });
    wait_ready(coordinator, 2, {gen_a.get(), gen_b.get()});

    const auto started = coordinator.start_epoch(R"({"label":"first"})");
    ASSERT_TRUE(started.started) << started.message;
    EXPECT_EQ(bc::phase_name(started.state.phase), "warmup");
    // That revision knew no "starting" generator state.
    for (const auto& g : started.state.generators)
        EXPECT_NE(bc::generator_state_name(g.local_state), "starting") << g.id;

    coordinator.wait_result(1);
    const auto result = result_file(rig.results_dir(), 1);
    expect_clean_result(result, {"orig-a", "orig-b"}, 2);
    EXPECT_EQ(result.value("warmupSeconds", 0.0), 1.0);
    expect_nobody_flagged(coordinator);
}

// ---- our generators with the original coordinator -----------------------

namespace {

// 3 and 4: two of our generators against the original coordinator double.
// Each must post exactly one /stopped for the epoch (a generator that
// restarted its load would post more) and, in "final", one /started.
void our_generators_against_original_coordinator(Revision r) {
    StandinOnly s("orig-coord-" + revision_name(r));
    OriginalCoordinator coordinator(r, s.standin.ws_url(), s.dir.path() / "results",
                                    r == Revision::First ? std::vector<std::string>{"--warmup-seconds", "1"}
                                                         : std::vector<std::string>{});
    const GeneratorOptions a{.id = "gen-a", .concurrency = 2, .accounts = static_cast<int>(kAccounts)};
    const GeneratorOptions b{.id = "gen-b", .concurrency = 2, .accounts = static_cast<int>(kAccounts)};
    Subprocess gen_a(generator_argv(coordinator.url(), s.standin.ws_url(), a));
    Subprocess gen_b(generator_argv(coordinator.url(), s.standin.ws_url(), b));
    const auto outputs = [&] {
        return "coordinator:\n" + coordinator.process().output() + "\ngen-a:\n" + gen_a.output() + "\ngen-b:\n" +
               gen_b.output();
    };
    coordinator.wait_request("POST /ready id=gen-a");
    coordinator.wait_request("POST /ready id=gen-b");

    const auto started = coordinator.start_epoch(R"({"label":"ours"})");
    ASSERT_TRUE(started.started) << started.message;
    const auto result = coordinator.wait_result(1);
    expect_clean_result(result, {"gen-a", "gen-b"}, 2);
    EXPECT_EQ(result["participantConnections"], 4);
    for (const std::string id : {"gen-a", "gen-b"}) {
        EXPECT_EQ(coordinator.count_requests("POST /stopped id=" + id + " epoch=1"), 1u) << outputs();
        if (r == Revision::Final) {
            EXPECT_EQ(coordinator.count_requests("POST /started id=" + id + " epoch=1"), 1u) << outputs();
        }
    }
}

}  // namespace

TEST(OriginalInterop, OurGeneratorsWithTheOriginalFinalCoordinator) {
    our_generators_against_original_coordinator(Revision::Final);
}

// /started is a 404 there: the load must keep running through the epoch.
TEST(OriginalInterop, OurGeneratorsWithTheOriginalFirstRevisionCoordinator) {
    our_generators_against_original_coordinator(Revision::First);
}

// ---- our control with the original coordinator --------------------------

// 5. Commands as the original's usage writes them (the command first, then
// --coordinator-url). status and start-epoch work; stop-epoch meets a
// coordinator without the route: it says so, exits 1, and the epoch runs
// its full window.
class OriginalInteropControl : public ::testing::TestWithParam<Revision> {};

TEST_P(OriginalInteropControl, StatusStartAndAStopItCannotDo) {
    const Revision r = GetParam();
    StandinOnly s("orig-control-" + revision_name(r));
    OriginalCoordinator coordinator(r, s.standin.ws_url(), s.dir.path() / "results",
                                    r == Revision::First ? std::vector<std::string>{"--warmup-seconds", "1"}
                                                         : std::vector<std::string>{});
    auto gen = start_original_generator(r, "orig-a", coordinator.url(), s.standin.ws_url());
    coordinator.wait_request("POST /ready id=orig-a");
    const std::string control = bin_path("bench-dist-control");

    const auto status = run({control, "status", "--coordinator-url", coordinator.url()}, "bench-dist-control status");
    EXPECT_EQ(status.code, 0) << status.output;
    EXPECT_TRUE(contains(status.output, "phase=idle epoch=- label=-")) << status.output;
    EXPECT_TRUE(contains(status.output, "  orig-a host=")) << status.output;
    EXPECT_TRUE(contains(status.output, "state=ready opened=2/2 active_epoch=-")) << status.output;

    Subprocess start(
        {control, "start-epoch", "--coordinator-url", coordinator.url(), "--label", "ours-" + revision_name(r)});
    ASSERT_TRUE(
        start.wait_for_line([](const std::string& l) { return contains(l, "waiting for epoch 1 to complete"); }, 30s))
        << start.output();

    const auto stop =
        run({control, "stop-epoch", "--coordinator-url", coordinator.url()}, "bench-dist-control stop-epoch");
    EXPECT_EQ(stop.code, 1) << stop.output;
    EXPECT_TRUE(contains(lower(stop.output), "route")) << stop.output;
    EXPECT_TRUE(contains(lower(stop.output), "its end")) << stop.output;

    const auto done = finish(start, "bench-dist-control start-epoch");
    EXPECT_EQ(done.code, 0) << done.output;
    EXPECT_TRUE(contains(done.output, " verification=passed")) << done.output;
    const auto result = coordinator.wait_result(1);
    expect_clean_result(result, {"orig-a"}, 2);
    EXPECT_EQ(result.value("label", ""), "ours-" + revision_name(r));
    EXPECT_EQ(coordinator.count_requests("POST /stopped id=orig-a epoch=1"), 1u) << coordinator.process().output();
}

INSTANTIATE_TEST_SUITE_P(Revision, OriginalInteropControl, ::testing::Values(Revision::First, Revision::Final),
                         [](const auto& info) { return revision_name(info.param); });

// ---- mixed fleets with our coordinator ----------------------------------

// 6 and 7: one of ours and one original generator. The original reports no
// client counts, so the result must not compare a client count that lacks
// its transfers with the server's (no clientServerRatio), and must say once
// that this generator reported none.
class OriginalInteropMixedFleet : public ::testing::TestWithParam<Revision> {};

TEST_P(OriginalInteropMixedFleet, VerifiesFlagsNobodyAndNamesTheGeneratorWithoutClientCounts) {
    const Revision r = GetParam();
    std::vector<std::string> args{"--window-seconds", "2", "--verify"};
    if (r == Revision::First) args.insert(args.begin(), {"--original-revision", "first", "--warmup-seconds", "1"});
    Rig rig(rig_with("orig-mixed-" + revision_name(r), args));
    auto& ours = rig.start_generator("gen-a");
    auto original = start_original_generator(r, "orig-b", rig.coordinator().url(), rig.stdb_url());
    rig.coordinator().add_diagnostics([&] { return "gen-a:\n" + ours.output() + "\norig-b:\n" + original->output(); });
    wait_ready(rig.coordinator(), 2, {&ours, original.get()});

    const auto started = rig.start_epoch(R"({"label":"mixed"})");
    ASSERT_TRUE(started.started) << started.message;
    rig.wait_result(1);
    const auto result = result_file(rig.results_dir(), 1);
    expect_clean_result(result, {"gen-a", "orig-b"}, 2);
    expect_nobody_flagged(rig.coordinator());

    EXPECT_FALSE(result.contains("clientServerRatio")) << result.dump(2);
    std::size_t naming = 0;
    for (const auto& w : result.value("warnings", Json::array())) {
        const auto text = w.get<std::string>();
        naming += contains(text, "orig-b") && contains(lower(text), "client") ? 1 : 0;
    }
    EXPECT_EQ(naming, 1u) << result.value("warnings", Json::array()).dump(2);
}

INSTANTIATE_TEST_SUITE_P(Revision, OriginalInteropMixedFleet, ::testing::Values(Revision::First, Revision::Final),
                         [](const auto& info) { return revision_name(info.param); });

// ---- the original's instructions with our binaries ----------------------

// 8. DEVELOP.md of the final revision, steps 3 to 6, with our binaries in
// place of `pnpm run <tool> --`. Every flag is kept as written except the
// ports and URLs (free ports on 127.0.0.1), --concurrency (2 instead of
// 2500) and --window-seconds (2 instead of 30). gen-b keeps the bare `--`
// pnpm passes through, which the original's parser skipped. Step 2's seed
// (100000 accounts of 10000000) is done over HTTP; the coordinator runs in
// a private directory, since its default --results-dir is relative.
TEST(OriginalInterop, TheOriginalDevelopMdStepsRunWithOurBinaries) {
    StandinOnly s("orig-develop", 100000);
    const std::string stdb_url = s.standin.ws_url();
    const int port = free_port();
    const std::string coordinator_url = "http://127.0.0.1:" + std::to_string(port);

    // Step 3.
    const auto step3 = command_line({"/usr/bin/env", "-C", s.dir.path().string(), bin_path("bench-dist-coordinator")},
                                    {{"--test", "test-1"},
                                     {"--connector", "spacetimedb"},
                                     {"--window-seconds", "2"},
                                     {"--verify", "1"},
                                     {"--stdb-url", stdb_url},
                                     {"--stdb-module", "test-1"},
                                     {"--stdb-compression", "none"},
                                     {"--bind", "127.0.0.1"},
                                     {"--port", std::to_string(port)}});
    const ArgvWrapper as_written = [&](std::vector<std::string>) { return step3; };
    CoordinatorProcess coordinator({.stdb_url = stdb_url, .port = port, .long_poll = 250ms, .wrap = as_written});

    // Step 4, machines 1 and 2.
    const auto step4 = [&](const std::string& id, bool bare_dashes) {
        std::vector<std::string> head{bin_path("bench-dist-generator")};
        if (bare_dashes) head.push_back("--");
        return command_line(std::move(head), {{"--id", id},
                                              {"--coordinator-url", coordinator_url},
                                              {"--test", "test-1"},
                                              {"--connector", "spacetimedb"},
                                              {"--concurrency", "2"},
                                              {"--accounts", "100000"},
                                              {"--alpha", "1.5"},
                                              {"--open-parallelism", "128"},
                                              {"--control-retries", "3"},
                                              {"--stdb-url", stdb_url},
                                              {"--stdb-module", "test-1"},
                                              {"--stdb-compression", "none"}});
    };
    Subprocess gen_a(step4("gen-a", false));
    Subprocess gen_b(step4("gen-b", true));
    coordinator.add_diagnostics([&] { return "gen-a:\n" + gen_a.output() + "\ngen-b:\n" + gen_b.output(); });
    wait_ready(coordinator, 2, {&gen_a, &gen_b}, 90s);

    // Step 5.
    const std::string control = bin_path("bench-dist-control");
    const auto status = run({control, "status", "--coordinator-url", coordinator_url}, "step 5 (status)");
    EXPECT_EQ(status.code, 0) << status.output;
    EXPECT_EQ(count_lines(status.output, "state=ready opened=2/2"), 2u) << status.output;

    // Step 6.
    const auto epoch =
        run({control, "start-epoch", "--coordinator-url", coordinator_url, "--label", "run-1"}, "step 6 (start-epoch)");
    EXPECT_EQ(epoch.code, 0) << epoch.output;
    EXPECT_TRUE(contains(epoch.output, " verification=passed")) << epoch.output;

    const auto result = result_file(s.dir.path() / "runs" / "distributed", 1);
    expect_clean_result(result, {"gen-a", "gen-b"}, 2);
    EXPECT_EQ(result.value("label", ""), "run-1");
    expect_nobody_flagged(coordinator);
}
