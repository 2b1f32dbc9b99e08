// Server faults with real processes on 127.0.0.1: the stand-in killed and
// restarted on the same port in the middle of an epoch (the generator's
// connections are reopened with backoff and counted, and the result names
// both the dropped connections and the restart, with no throughput), and a
// server that is down when a generator starts (a clear error naming the URL
// and the flag to fix, a non-zero exit, no hang), and a server that
// freezes without closing anything (found by the idle check, not the op
// timeout).
#include <gtest/gtest.h>

#include <csignal>

#include "benchdist/control/protocol.hpp"
#include "benchdist/generator/load_session.hpp"
#include "load_session_support.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
using namespace benchdist::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<StandinProcess> start_standin(int port) {
    auto s = std::make_unique<StandinProcess>(benchdist::testing::StandinOptions{.port = port});
    s->seed(1000, 1000000);
    return s;
}

// A coordinator that warms up for 1 s, samples the counter every 200 ms and
// waits up to 20 s for stop acknowledgements; the test polls it every 200 ms.
std::unique_ptr<CoordinatorProcess> start_coordinator(const std::string& stdb_url, const TempDir& dir,
                                                      const std::string& window) {
    return std::make_unique<CoordinatorProcess>(benchdist::testing::CoordinatorOptions{
        .stdb_url = stdb_url,
        .results_dir = dir.path() / "results",
        // A second of warm-up: the window's first read must see commits, or
        // an empty restarted server has nothing to read lower than (on a
        // loaded machine the first commits came after it).
        .args = {"--window-seconds", window, "--warmup-seconds", "1", "--start-ack-timeout-seconds", "10",
                 "--stop-ack-timeout-seconds", "20", "--sample-ms", "200", "--align-window-ms", "0"},
        .long_poll = 200ms});
}

}  // namespace

TEST(ServerFault, StandinRestartMidEpochIsReconnectedCountedAndNamedInTheResult) {
    TempDir dir("server-fault");
    auto standin = start_standin(0);
    const int stdb_port = standin->port();
    const std::string stdb_url = standin->ws_url();
    auto coord = start_coordinator(stdb_url, dir, "6");
    Subprocess gen(generator_argv(coord->url(), stdb_url));
    coord->wait_ready(1, 60s);
    ASSERT_EQ(coord->call("POST", "/admin/start-epoch", "{}").status, 200u);
    coord->wait_phase(bc::Phase::Measure, 30s);

    // The server dies under load and comes back on the same port, empty.
    standin->process().signal(SIGKILL);
    ASSERT_TRUE(standin->process().wait_exit(10s));
    standin.reset();
    standin = start_standin(stdb_port);
    ASSERT_EQ(standin->port(), stdb_port);

    const auto r = coord->wait_result(1, 60s);
    ASSERT_TRUE(r.error.has_value()) << bc::pretty(bc::to_json(r));
    EXPECT_TRUE(contains(*r.error, "went backwards")) << *r.error;
    EXPECT_TRUE(contains(*r.error, "the server restarted")) << *r.error;
    EXPECT_EQ(r.committed_delta, "0");
    EXPECT_EQ(r.tps, 0);

    // The generator saw the drop, reopened its connections and said so.
    const auto& counters = r.extra["generatorReports"]["gen-a"]["counters"];
    EXPECT_GE(counters["reopened"].get<std::uint64_t>(), 4u) << counters.dump();
    EXPECT_GT(counters["disconnects"].get<std::uint64_t>() + counters["reopenFailures"].get<std::uint64_t>(), 0u)
        << counters.dump();
    EXPECT_GT(counters["committed"].get<std::uint64_t>(), 0u) << counters.dump();
    bool warned = false;
    for (const auto& w : r.extra.value("warnings", bc::Json::array()))
        warned = warned || contains(w.get<std::string>(), "generator gen-a: connections dropped during the epoch");
    EXPECT_TRUE(warned) << r.extra.value("warnings", bc::Json::array()).dump();

    // The next epoch on the restarted server is clean.
    ASSERT_EQ(coord->call("POST", "/admin/start-epoch", "{}").status, 200u);
    const auto r2 = coord->wait_result(2, 60s);
    EXPECT_FALSE(r2.error) << r2.error.value_or("");
    EXPECT_GT(std::stoull(r2.committed_delta), 0u);
}

TEST(ServerFault, ServerDownAtStartIsAClearErrorAndANonZeroExitWithoutAHang) {
    TempDir dir("server-down");
    const int port = benchdist::testing::free_port();
    const std::string stdb_url = "ws://127.0.0.1:" + std::to_string(port);
    auto coord = start_coordinator(stdb_url, dir, "2");
    const auto t0 = Clock::now();
    Subprocess gen(generator_argv(coord->url(), stdb_url));
    const auto code = gen.wait_exit(15s);
    ASSERT_TRUE(code.has_value()) << "generator hangs with its server down:\n" << gen.output();
    EXPECT_EQ(*code, 1) << gen.output();
    // Refused at once, well inside the 10 s connect timeout.
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
    EXPECT_TRUE(contains(gen.output(), "cannot connect to " + stdb_url)) << gen.output();
    EXPECT_TRUE(contains(gen.output(), "--stdb-url")) << gen.output();
}

// A server that stops answering but closes nothing -- a frozen process, or
// a link cut without a reset -- leaves every call waiting for a result
// that never comes. The idle check (no frame for idle_timeout, then an
// unanswered ping) gives its connections up long before the op timeout,
// and once the server answers again they are reopened and commit.
TEST(ServerFault, FrozenServerIsGivenUpByTheIdleCheckAndRejoinedWhenItThaws) {
    auto standin = start_standin(0);
    auto options = test_session_options(standin->port(), "test-1", 2, 2);
    options.op_timeout = 60s;
    options.idle_timeout = 400ms;
    benchdist::generator::LoadSession session(options, small_pairs());
    session.open_all();
    session.start(1);
    ASSERT_TRUE(session.wait_for_committed(50, 10s)) << "no load before the freeze";

    const pid_t pid = standin->process().pid();
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    // Thawed on every path out of this test, so the stand-in can be stopped.
    struct Thaw {
        pid_t pid;
        ~Thaw() { ::kill(pid, SIGCONT); }
    } thaw{pid};
    const auto frozen_at = Clock::now();

    // One call was in flight on each connection: both end as Disconnected.
    const auto lost = wait_counters(
        session, [](const auto& c) { return c.disconnects >= 2; }, 15s);
    const auto noticed_after = Clock::now() - frozen_at;
    EXPECT_GE(lost.disconnects, 2u);
    EXPECT_EQ(lost.timeouts, 0u) << "the op timeout (60 s) must not be what ended the calls";
    // 1 to 1.5 idle timeouts after the last frame (0.4-0.6 s); the bound
    // leaves room for a loaded machine and is still far below the op timeout.
    EXPECT_LT(noticed_after, 10s);

    ASSERT_EQ(::kill(pid, SIGCONT), 0);
    const auto before = lost.committed;
    const auto resumed = wait_counters(
        session, [&](const auto& c) { return c.committed >= before + 50; }, 30s);
    EXPECT_GE(resumed.committed, before + 50) << "connections were not reopened after the server thawed";
    EXPECT_TRUE(session.stop());
}
