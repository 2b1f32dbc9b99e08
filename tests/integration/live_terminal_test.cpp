// bench-dist-control's live view (issue 16, item 2) with the real tool:
// `watch` and `start-epoch` on a pseudo-terminal (a block redrawn in place,
// a progress bar, colours unless NO_COLOR) and on a pipe (a timestamped
// line a second); against a fake coordinator that sends hostile text (none
// of it reaches the terminal raw), has no /admin/live, or is not there.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_server.hpp"
#include "rig.hpp"
#include "terminal_escapes.hpp"

extern char** environ;

namespace bc = benchdist::control;
namespace bn = benchdist::net;
namespace bt = benchdist::testing;
using namespace std::chrono_literals;

namespace {

struct TerminalRun {
    int rc = -1;      // -1: killed at the timeout
    std::string out;  // every byte written to the terminal
};

// Runs `argv` on a new pseudo-terminal of `columns` x 24 with `env` over
// the inherited environment, until it exits or `timeout` passes (then it is
// killed). `type` is asked after each read what to type into the terminal
// ("" for nothing), e.g. "\x03" for Ctrl-C.
TerminalRun run_on_terminal(std::vector<std::string> argv, std::map<std::string, std::string> env,
                            std::chrono::milliseconds timeout,
                            const std::function<std::string(const std::string&)>& type = {},
                            unsigned short columns = 100) {
    // Built before the fork: the test has threads, so the child may only exec.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        if (env.count(entry.substr(0, entry.find('='))) == 0) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : env_strings) cenv.push_back(e.data());
    cenv.push_back(nullptr);

    winsize size{};
    size.ws_col = columns;
    size.ws_row = 24;
    int master = -1;
    const pid_t pid = forkpty(&master, nullptr, nullptr, &size);
    if (pid < 0) throw std::runtime_error(std::string("forkpty: ") + std::strerror(errno));
    if (pid == 0) {
        execve(cargv[0], cargv.data(), cenv.data());
        _exit(127);
    }
    TerminalRun run;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) break;
        pollfd p{master, POLLIN, 0};
        const int ready = poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 200)));
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        char buf[4096];
        const auto n = read(master, buf, sizeof buf);
        if (n <= 0) break;  // EIO: the child and everything it started closed the terminal
        run.out.append(buf, static_cast<std::size_t>(n));
        if (type) {
            const auto keys = type(run.out);
            if (!keys.empty() && write(master, keys.data(), keys.size()) < 0) break;
        }
    }
    // The terminal closed (it exited) or the deadline passed: a bounded wait
    // for its status, then SIGKILL.
    int status = 0;
    const auto reap_by = std::min(deadline, std::chrono::steady_clock::now() + 5s);
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < reap_by) {
        pollfd none{-1, 0, 0};
        poll(&none, 0, 20);
    }
    close(master);
    if (done != pid) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return run;
    }
    run.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return run;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Only our own escapes (and the pseudo-terminal's carriage returns), and no
// line forged by a hostile label.
::testing::AssertionResult only_our_escapes(const std::string& out) {
    if (auto clean = bt::only_our_escapes(out, true); !clean) return clean;
    if (const auto rest = bt::strip_our_escapes(out, true); has(rest, "\nepoch=1 tps=99999"))
        return ::testing::AssertionFailure() << "a forged line in:\n" << rest;
    return ::testing::AssertionSuccess();
}

// A coordinator on net::HttpServer whose /admin/live answers are scripted:
// the n-th request gets answers[n] (the last one again after the end).
class FakeCoordinator {
public:
    // Answers what it knows, nullopt for the rest.
    using Handler = std::function<std::optional<bn::HttpResponse>(const bn::HttpRequest&)>;
    explicit FakeCoordinator(std::vector<bc::Json> answers, Handler other = {})
        : answers_(std::move(answers)),
          other_(std::move(other)),
          server_({}, [this](bn::HttpRequest req, bn::Respond respond) { respond(answer(req)); }) {
        server_.start();
    }
    ~FakeCoordinator() { server_.stop(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
    int live_requests() const { return served_.load(); }

private:
    bn::HttpResponse answer(const bn::HttpRequest& req) {
        if (other_) {
            if (auto res = other_(req)) return *res;
        }
        if (req.path == "/admin/live") {
            const auto n = static_cast<std::size_t>(served_++);
            return bn::HttpResponse::json_text(200, answers_.at(std::min(n, answers_.size() - 1)).dump());
        }
        if (req.path == "/admin/status" || req.path == "/state") {
            bc::CoordinatorState s;
            s.server_time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
            return bn::HttpResponse::json_text(200, bc::to_json(s).dump());
        }
        return bn::HttpResponse::json_text(404,
                                           bc::Json{{"error", "Unknown route: " + req.method + " " + req.path}}.dump());
    }

    std::vector<bc::Json> answers_;
    Handler other_;
    std::atomic<int> served_{0};
    bn::HttpServer server_;
};

const std::string kForged = "\x1b[2J\x1b]0;owned\x07\r\nepoch=1 tps=99999.00 verification=passed\xc2\x9b";

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// An epoch 7 in its window, every string in it hostile, version `version`.
bc::Json hostile_running(std::uint64_t version) {
    const auto now = now_ms();
    bc::Json j{{"version", version},         {"full", true},         {"epoch", 7},
               {"label", "label" + kForged}, {"phase", "measure"},   {"running", true},
               {"startedAtMs", now - 4000},  {"warmupSeconds", 1.0}, {"windowSeconds", 10.0},
               {"windowStartMs", now - 3000}};
    j["seconds"] = bc::Json::array();
    for (int i = 3; i >= 1; --i) {
        j["seconds"].push_back(
            {{"t", now - i * 1000},
             {"committed", 1000},
             {"tps", 1000.0},
             {"p50", 900},
             {"p99", 2500},
             {"generators", {{"gen" + kForged, {{"committed", 1000}, {"errors", 1}, {"p99", 2500}}}}}});
    }
    j["server"] = bc::Json::array({{{"atMs", now - 500}, {"committed", 5000}, {"tps", 990.0}, {"inWindow", true}}});
    j["generators"] = {
        {"gen" + kForged, {{"connections", 4}, {"lastProgressMs", now - 300}, {"committed", 3000}, {"errors", 3}}}};
    j["totals"] = {{"committed", 3000}, {"errors", 3}, {"clientTps", 1000.0}, {"serverTps", 990.0}};
    j["result"] = nullptr;
    return j;
}

bc::Json hostile_finished(std::uint64_t version) {
    auto j = hostile_running(version);
    j["running"] = false;
    j["phase"] = "idle";
    j["result"] = {{"verdict", "invalid"},
                   {"tps", 990.0},
                   {"reasons", {{{"code", "error_ratio" + kForged}, {"message", "errors" + kForged}}}}};
    return j;
}

std::vector<std::string> control_argv(const std::string& url, std::vector<std::string> args) {
    args.insert(args.begin(), {bt::bin_path("bench-dist-control"), "--coordinator-url", url});
    return args;
}

}  // namespace

// On a terminal: the block is drawn, redrawn in place (cursor up) once a
// second with a progress bar, the end and verdict are written once, in
// colour -- and nothing the coordinator sent reaches the terminal raw.
TEST(LiveTerminal, WatchOnATerminalRedrawsInPlaceAndEscapesTheCoordinator) {
    FakeCoordinator fake(
        {hostile_running(1), hostile_running(2), hostile_running(3), hostile_running(4), hostile_finished(5)});
    const auto run = run_on_terminal(control_argv(fake.url(), {"watch", "--epochs", "1"}),
                                     {{"TERM", "xterm"}, {"NO_COLOR", ""}}, 30s);
    EXPECT_EQ(run.rc, 1) << "one invalid epoch\n" << run.out;
    EXPECT_TRUE(std::regex_search(run.out, std::regex("measure(\x1b\\[0m)? \\[#+-+\\] \\d\\.\\d/10\\.0 s"))) << run.out;
    EXPECT_TRUE(std::regex_search(run.out, std::regex("\x1b\\[\\d+A"))) << "redrawn in place\n" << run.out;
    EXPECT_TRUE(has(run.out, "\x1b[K")) << run.out;
    EXPECT_TRUE(has(run.out, "\x1b[31mdone\x1b[0m: verdict INVALID")) << run.out;
    EXPECT_TRUE(has(run.out, "epoch 7 verdict: \x1b[31mINVALID\x1b[0m, 990.00 TPS")) << run.out;
    EXPECT_TRUE(has(run.out, "  - [error_ratio\\x1B[2J")) << run.out;
    EXPECT_TRUE(has(run.out, "gen\\x1B[2J")) << "the generators table\n" << run.out;
    EXPECT_TRUE(only_our_escapes(run.out));
    EXPECT_GE(fake.live_requests(), 5);
}

// NO_COLOR: the same block without a colour.
TEST(LiveTerminal, NoColorMeansNoColour) {
    FakeCoordinator fake({hostile_running(1), hostile_finished(2)});
    const auto run = run_on_terminal(control_argv(fake.url(), {"watch", "--epochs", "1"}),
                                     {{"TERM", "xterm"}, {"NO_COLOR", "1"}}, 30s);
    EXPECT_EQ(run.rc, 1) << run.out;
    EXPECT_TRUE(has(run.out, "done: verdict INVALID")) << run.out;
    EXPECT_FALSE(std::regex_search(run.out, std::regex("\x1b\\[\\d+m"))) << run.out;
    EXPECT_TRUE(only_our_escapes(run.out));
}

// Ctrl-C on the terminal ends watch (130), below its block.
TEST(LiveTerminal, CtrlCEndsWatch) {
    FakeCoordinator fake(std::vector<bc::Json>{hostile_running(1)});
    bool typed = false;
    const auto run = run_on_terminal(control_argv(fake.url(), {"watch"}), {{"TERM", "xterm"}}, 30s,
                                     [&](const std::string& out) -> std::string {
                                         if (typed || !has(out, "errors 3")) return "";
                                         typed = true;
                                         return "\x03";
                                     });
    EXPECT_TRUE(typed) << run.out;
    EXPECT_EQ(run.rc, 130) << run.out;
}

// Not a terminal: plain lines only, with no escape sequence at all, and the
// same hostile text escaped.
TEST(LiveTerminal, WatchOnAPipeWritesPlainLines) {
    FakeCoordinator fake({hostile_running(1), hostile_running(2), hostile_running(3), hostile_finished(4)});
    const auto run = bt::run_tool("bench-dist-control", {"--coordinator-url", fake.url(), "watch", "--epochs", "1"},
                                  {{"TERM", "xterm"}}, {}, 30s);
    EXPECT_EQ(run.rc, 1) << run.out;
    EXPECT_FALSE(has(run.out, "\x1b")) << run.out;
    EXPECT_TRUE(
        std::regex_search(run.out, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z epoch 7 \[label\\x1B\[2J)")))
        << run.out;
    EXPECT_TRUE(std::regex_search(
        run.out,
        std::regex(
            R"(Z epoch 7 \[.*\] measure \d+\.\d/10\.0 s \| server 990 TPS \| client 1000 TPS \| p50 0\.900 ms \| p99 2\.500 ms \| errors 3\n)")))
        << run.out;
    EXPECT_TRUE(has(run.out, "Z epoch 7 verdict: INVALID, 990.00 TPS\n  - [error_ratio\\x1B[2J")) << run.out;
    EXPECT_TRUE(only_our_escapes(run.out));
}

// --once: what the coordinator shows now, then exit 0.
TEST(LiveTerminal, WatchOnceShowsTheCurrentStateAndExits) {
    FakeCoordinator fake(std::vector<bc::Json>{hostile_running(1)});
    const auto run =
        bt::run_tool("bench-dist-control", {"--coordinator-url", fake.url(), "watch", "--once"}, {}, {}, 30s);
    EXPECT_EQ(run.rc, 0) << run.out;
    EXPECT_TRUE(has(run.out, "running: warmup 1.0 s, window 10.0 s, 1 generator")) << run.out;
    EXPECT_TRUE(has(run.out, "| server 990 TPS |")) << run.out;
    const auto json =
        bt::run_tool("bench-dist-control", {"--coordinator-url", fake.url(), "watch", "--once", "--json"}, {}, {}, 30s);
    EXPECT_EQ(json.rc, 0) << json.out;
    EXPECT_EQ(bc::Json::parse(json.out)["epoch"], 7) << json.out;
}

// The coordinator goes away while watch follows it (stopped, as an
// operator would): exit 1 at once, naming it.
TEST(LiveTerminal, WatchExitsWhenTheCoordinatorGoesAway) {
    bt::TempDir dir("live-gone");
    auto coordinator = std::make_unique<bt::CoordinatorProcess>(
        bt::CoordinatorOptions{.stdb_url = "ws://127.0.0.1:9", .results_dir = dir.path() / "results"});
    const auto url = coordinator->url();
    bt::Subprocess watch(control_argv(url, {"watch"}));
    ASSERT_TRUE(watch.wait_for_line([](const std::string& l) { return has(l, "idle: waiting for an epoch"); }, 30s))
        << watch.output();
    const auto t0 = std::chrono::steady_clock::now();
    coordinator.reset();
    EXPECT_EQ(watch.wait_exit(40s), 1) << watch.output();
    EXPECT_LT(bt::seconds_since(t0), 10.0) << watch.output();
    EXPECT_TRUE(has(watch.output(), "bench-dist-control: watch: cannot reach coordinator at " + url)) << watch.output();
}

// No coordinator: exit 1 at once, saying where it looked and what to check.
TEST(LiveTerminal, WatchWithoutACoordinatorFailsClearly) {
    const auto url = "http://127.0.0.1:" + std::to_string(bt::free_port());
    const auto t0 = std::chrono::steady_clock::now();
    const auto run = bt::run_tool("bench-dist-control", {"--coordinator-url", url, "watch"}, {}, {}, 30s);
    EXPECT_EQ(run.rc, 1) << run.out;
    EXPECT_TRUE(has(run.out, "cannot reach coordinator at " + url)) << run.out;
    EXPECT_TRUE(has(run.out, "is bench-dist-coordinator running")) << run.out;
    EXPECT_LT(bt::seconds_since(t0), 10.0) << run.out;
}

// A coordinator without the route (older, or the original harness's):
// watch says so and exits 1; start-epoch waits for its epoch as before,
// without a word about it.
TEST(LiveTerminal, ACoordinatorWithoutTheLiveRoute) {
    bc::CoordinatorState running;
    running.phase = bc::Phase::Measure;
    running.current_epoch = 1;
    running.version = 5;
    bc::CoordinatorState finished;
    bc::EpochResult r;
    r.epoch = 1;
    r.verification = "passed";
    r.committed_delta = "100";
    finished.last_result = r;
    finished.version = 6;
    FakeCoordinator fake({}, [&](const bn::HttpRequest& req) -> std::optional<bn::HttpResponse> {
        if (req.path == "/admin/live")
            return bn::HttpResponse::json_text(404, bc::Json{{"error", "Unknown route: GET /admin/live"}}.dump());
        if (req.path == "/admin/start-epoch")
            return bn::HttpResponse::json_text(
                200,
                bc::Json{{"started", true}, {"message", "Epoch 1 started"}, {"state", bc::to_json(running)}}.dump());
        if (req.path == "/state" || req.path == "/admin/status")
            return bn::HttpResponse::json_text(200, bc::to_json(finished).dump());
        return std::nullopt;
    });
    const auto watch = bt::run_tool("bench-dist-control", {"--coordinator-url", fake.url(), "watch"}, {}, {}, 30s);
    EXPECT_EQ(watch.rc, 1) << watch.out;
    EXPECT_TRUE(has(watch.out, "has no live series (GET /admin/live answered 404)")) << watch.out;
    const auto start = bt::run_tool("bench-dist-control",
                                    {"--coordinator-url", fake.url(), "start-epoch", "--poll-ms", "100"}, {}, {}, 30s);
    EXPECT_EQ(start.rc, 0) << start.out;
    EXPECT_TRUE(has(start.out, "waiting for epoch 1 to complete")) << start.out;
    EXPECT_TRUE(has(start.out, "verification=passed")) << start.out;
    EXPECT_FALSE(has(start.out, "live")) << start.out;
}

// ---- with the real coordinator and two generators on the stand-in --------

namespace {

// A 4 s window after 1 s of warmup, two generators ready.
std::unique_ptr<bt::Rig> two_generators(const std::string& tag) {
    auto rig = std::make_unique<bt::Rig>(
        bt::RigOptions{.tag = tag,
                       .coordinator_args = std::vector<std::string>{"--window-seconds", "4", "--warmup-seconds", "1"}});
    rig->start_generator("gen-a");
    rig->start_generator("gen-b");
    rig->wait_ready(2);
    return rig;
}

// One plain line of the window, as the tool writes it.
struct WindowLine {
    double at_s = 0;  // its timestamp, seconds since the Unix epoch
    double elapsed_s = 0;
    std::optional<double> server_tps, client_tps, p50_ms, p99_ms;
    std::uint64_t errors = 0;
};

std::optional<double> number_or_dash(const std::string& s) {
    if (s == "-") return std::nullopt;
    return std::stod(s);
}

// The "measure" lines of `epoch` in `out`.
std::vector<WindowLine> window_lines(const std::string& out, std::uint64_t epoch) {
    static const std::regex line(
        R"((\S+Z) epoch (\d+) measure (\d+\.\d)/4\.0 s \| server (\S+)(?: TPS)? \| client (\S+)(?: TPS)? \| )"
        R"(p50 (\S+)(?: ms)? \| p99 (\S+)(?: ms)? \| errors (\d+))");
    std::vector<WindowLine> lines;
    for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator(); ++it) {
        const auto& m = *it;
        if (std::stoull(m[2]) != epoch) continue;
        lines.push_back({.at_s = double(bt::iso_to_micros(m[1])) / 1e6,
                         .elapsed_s = std::stod(m[3]),
                         .server_tps = number_or_dash(m[4]),
                         .client_tps = number_or_dash(m[5]),
                         .p50_ms = number_or_dash(m[6]),
                         .p99_ms = number_or_dash(m[7]),
                         .errors = std::stoull(m[8])});
    }
    return lines;
}

// The lines come once a second, and their numbers are the epoch's:
// latencies are set, and the result's TPS -- the window's mean -- lies
// within the range of the per-second lines, the server's and the clients'
// alike. Not each line near the mean, nor a line's server and client
// figures near each other, nor even the two sides' means over the lines: on
// a shared machine the rate swings from second to second, and the client's
// last complete second trails the server's last read by up to one, so over
// three or four lines the two means differ by a second's swing (the clients'
// 19,346 against the server's 34,676 TPS once, under a parallel build).
void expect_a_line_a_second(const std::vector<WindowLine>& lines, double result_tps, const std::string& out) {
    ASSERT_GE(lines.size(), 3u) << "a 4 s window\n" << out;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const double gap = lines[i].at_s - lines[i - 1].at_s;
        EXPECT_GT(gap, 0.5) << "line " << i << "\n" << out;
        EXPECT_LT(gap, 1.8) << "line " << i << "\n" << out;
        EXPECT_GE(lines[i].elapsed_s, lines[i - 1].elapsed_s) << out;
    }
    std::vector<double> server, client;
    for (const auto& l : lines) {
        if (!l.server_tps || !l.client_tps || !l.p99_ms) continue;
        server.push_back(*l.server_tps);
        client.push_back(*l.client_tps);
        EXPECT_GT(*l.server_tps, 0) << out;
        EXPECT_GT(*l.p50_ms, 0) << out;
        EXPECT_GE(*l.p99_ms, *l.p50_ms) << out;
        EXPECT_EQ(l.errors, 0u) << out;
    }
    ASSERT_GE(server.size(), 2u) << "lines with every number\n" << out;
    for (const auto* side : {&server, &client}) {
        EXPECT_LE(*std::min_element(side->begin(), side->end()), 1.25 * result_tps) << out;
        EXPECT_GE(*std::max_element(side->begin(), side->end()), 0.75 * result_tps) << out;
    }
}

double result_tps(const std::string& out) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex(R"(epoch=\d+ tps=(\d+\.\d+))"))) return 0;
    return std::stod(m[1]);
}

}  // namespace

// start-epoch and watch, stdout to a pipe: a timestamped line a second
// through the window with plausible numbers, the verdict at the end.
TEST(LiveTerminal, StartEpochAndWatchOnAPipeWriteALineASecond) {
    const auto t0 = std::chrono::steady_clock::now();
    auto rig = two_generators("live-pipe");
    bt::Subprocess watch(control_argv(rig->coordinator().url(), {"watch", "--epochs", "1"}));
    // watch is following (its idle line is out) before the epoch starts.
    ASSERT_TRUE(watch.wait_for_line([](const std::string& l) { return has(l, "idle: waiting for an epoch"); }, 30s))
        << watch.output();
    const auto run =
        bt::run_tool("bench-dist-control",
                     {"--coordinator-url", rig->coordinator().url(), "start-epoch", "--timeout", "90"}, {}, {}, 120s);
    ASSERT_EQ(run.rc, 0) << run.out;
    const double tps = result_tps(run.out);
    ASSERT_GT(tps, 100) << run.out;
    EXPECT_FALSE(has(run.out, "\x1b")) << run.out;
    expect_a_line_a_second(window_lines(run.out, 1), tps, run.out);
    const auto done = run.out.find("Z epoch 1 done\n");
    ASSERT_NE(done, std::string::npos) << run.out;
    EXPECT_LT(done, run.out.find("verdict: valid")) << "the result after the live lines\n" << run.out;

    ASSERT_EQ(watch.wait_exit(30s), 0) << watch.output();
    const auto watched = watch.output();
    expect_a_line_a_second(window_lines(watched, 1), tps, watched);
    EXPECT_TRUE(
        std::regex_search(watched, std::regex(R"(Z epoch 1 started: warmup 1\.0 s, window 4\.0 s, 2 generators)")))
        << watched;
    EXPECT_TRUE(has(watched, "Z epoch 1 verdict: valid, ")) << watched;
    std::printf("start-epoch and watch on a pipe: %zu and %zu window lines, %.0f TPS, %.1f s in all\n",
                window_lines(run.out, 1).size(), window_lines(watched, 1).size(), tps, bt::seconds_since(t0));
}

// start-epoch on a terminal: the progress bar redrawn in place, the
// generators table, the verdict after it; and --no-live, the old quiet
// output.
TEST(LiveTerminal, StartEpochOnATerminalDrawsAProgressBar) {
    const auto t0 = std::chrono::steady_clock::now();
    auto rig = two_generators("live-tty");
    const auto run = run_on_terminal(control_argv(rig->coordinator().url(),
                                                  {"start-epoch", "--label", "tty run", "--timeout", "90"}),
                                     {{"TERM", "xterm"}, {"NO_COLOR", "1"}}, 120s);
    ASSERT_EQ(run.rc, 0) << run.out;
    EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(epoch 1 \[tty run\] measure \[#+-*\] \d\.\d/4\.0 s)")))
        << run.out;
    EXPECT_TRUE(std::regex_search(run.out, std::regex("\x1b\\[\\d+A"))) << "redrawn in place\n" << run.out;
    EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(gen-a +\d+ +\d+ )"))) << run.out;
    EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(gen-b +\d+ +\d+ )"))) << run.out;
    const auto done = run.out.find("epoch 1 [tty run] done: verdict valid");
    ASSERT_NE(done, std::string::npos) << run.out;
    EXPECT_NE(run.out.find("verdict: valid\r\n", done), std::string::npos) << "start-epoch's result after it\n"
                                                                           << run.out;
    EXPECT_TRUE(only_our_escapes(run.out));

    const auto quiet =
        run_on_terminal(control_argv(rig->coordinator().url(), {"start-epoch", "--no-live", "--timeout", "90"}),
                        {{"TERM", "xterm"}}, 120s);
    ASSERT_EQ(quiet.rc, 0) << quiet.out;
    EXPECT_FALSE(has(quiet.out, "\x1b")) << quiet.out;
    EXPECT_FALSE(has(quiet.out, "measure")) << quiet.out;
    EXPECT_TRUE(has(quiet.out, "waiting for epoch 2 to complete...")) << quiet.out;
    EXPECT_TRUE(has(quiet.out, "verdict: valid")) << quiet.out;

    // Ctrl-C during the window: the question comes below the block, the
    // answer stops the epoch, and the view goes on below it to the end.
    enum { Waiting, Asked, Answered } step = Waiting;
    const auto stopped =
        run_on_terminal(control_argv(rig->coordinator().url(), {"start-epoch", "--window", "30", "--timeout", "90"}),
                        {{"TERM", "xterm"}, {"NO_COLOR", "1"}}, 120s, [&](const std::string& out) -> std::string {
                            // Only once a whole measure frame is in (its closing
                            // clear-below): the terminal discards output not yet
                            // read when Ctrl-C comes (no NOFLSH), which would cut
                            // a frame we had seen only the first line of.
                            const auto measuring = out.find("epoch 3 measure [");
                            if (step == Waiting && measuring != std::string::npos &&
                                out.find("\x1b[J", measuring) != std::string::npos) {
                                step = Asked;
                                return "\x03";
                            }
                            if (step == Asked && has(out, "[y/N] ")) {
                                step = Answered;
                                return "y\r";
                            }
                            return "";
                        });
    EXPECT_EQ(step, Answered) << stopped.out;
    EXPECT_EQ(stopped.rc, 1) << "aborted: invalid\n" << stopped.out;
    const auto asked = stopped.out.find("stop epoch 3 now?");
    ASSERT_NE(asked, std::string::npos) << stopped.out;
    // The terminal echoes "^C" where the key came, before or after a frame.
    const auto without_echo = std::regex_replace(stopped.out, std::regex(R"(\^C)"), "");
    EXPECT_TRUE(std::regex_search(without_echo, std::regex(R"(\x1b\[K\r\n\x1b\[J\r\nstop epoch 3 now\?)")))
        << "below the block\n"
        << stopped.out;
    ASSERT_NE(stopped.out.find("epoch 3 done: verdict INVALID", asked), std::string::npos) << stopped.out;
    // The block after the answer is a new one: no cursor-up over the question.
    const auto after = stopped.out.substr(asked, stopped.out.find("epoch 3 ", asked) - asked);
    EXPECT_FALSE(std::regex_search(after, std::regex("\x1b\\[\\d+A"))) << after;
    EXPECT_TRUE(has(stopped.out, "[aborted]")) << stopped.out;
    EXPECT_TRUE(only_our_escapes(stopped.out));
    std::printf("start-epoch on a terminal, then --no-live, then stopped by Ctrl-C: %.1f s in all\n",
                bt::seconds_since(t0));
}

// A sweep shows each of its epochs as start-epoch does, each ending before
// the campaign's line for it.
TEST(LiveTerminal, SweepShowsEachEpoch) {
    const auto t0 = std::chrono::steady_clock::now();
    auto rig = two_generators("live-sweep");
    const auto run = bt::run_tool("bench-dist-control",
                                  {"--coordinator-url", rig->coordinator().url(), "sweep", "--vary", "connections=2,4",
                                   "--window", "2", "--warmup", "0", "--campaign-dir", (rig->dir() / "c").string(),
                                   "--campaign-id", "live", "--timeout", "90"},
                                  {}, {}, 180s);
    ASSERT_EQ(run.rc, 0) << run.out;
    for (const std::string epoch : {"1", "2"}) {
        const std::string label = "epoch " + epoch + " [live connections=" + (epoch == "1" ? "2" : "4") + " r1]";
        EXPECT_TRUE(
            std::regex_search(run.out, std::regex("Z " + std::regex_replace(label, std::regex(R"([\[\]])"), R"(\$&)") +
                                                  R"( measure \d\.\d/2\.0 s \| server )")))
            << run.out;
        const auto done = run.out.find("Z " + label + " done\n");
        ASSERT_NE(done, std::string::npos) << run.out;
        EXPECT_NE(run.out.find("\n" + label + ": valid", done), std::string::npos) << run.out;
    }
    std::printf("sweep of two points with live lines: %.1f s in all\n", bt::seconds_since(t0));
}
