// Server faults with real processes on 127.0.0.1: the stand-in killed and
// restarted on the same port in the middle of an epoch (the generator's
// connections are reopened with backoff and counted, and the result names
// both the dropped connections and the restart, with no throughput), and a
// server that is down when a generator starts (a clear error naming the URL
// and the flag to fix, a non-zero exit, no hang).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <csignal>
#include <filesystem>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_client.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
namespace bc = benchdist::control;
namespace bn = benchdist::net;
using benchdist::testing::bin_path;
using benchdist::testing::port_from_listening_line;
using benchdist::testing::Subprocess;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int start_and_get_port(Subprocess& p, const std::string& what) {
    const auto line = p.wait_for_line([](const std::string& l) { return contains(l, "listening on http://"); }, 30s);
    if (!line) throw std::runtime_error(what + " did not start:\n" + p.output());
    return port_from_listening_line(*line).value();
}

std::unique_ptr<Subprocess> start_standin(int port) {
    return std::make_unique<Subprocess>(std::vector<std::string>{
        bin_path("stdb-standin"), "--listen", "127.0.0.1:" + std::to_string(port), "--database", "test-1"});
}

void seed(int port) {
    const auto r = bn::http_request({.method = "POST",
                                     .url = "http://127.0.0.1:" + std::to_string(port) + "/v1/database/test-1/call/seed",
                                     .body = "[1000,1000000]",
                                     .content_type = "application/json",
                                     .timeout = 10s});
    if (r.status != 200) throw std::runtime_error("seeding the stand-in failed: " + r.body);
}

// A port that was free a moment ago.
int free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io,
                                            boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

struct Coordinator {
    std::unique_ptr<Subprocess> process;
    int port = 0;

    Coordinator(const std::string& stdb_url, const fs::path& results, const std::string& window) {
        process = std::make_unique<Subprocess>(std::vector<std::string>{
            bin_path("bench-dist-coordinator"), "--bind", "127.0.0.1", "--port", "0", "--stdb-url", stdb_url,
            "--stdb-module", "test-1", "--window-seconds", window, "--start-ack-timeout-seconds", "10",
            "--stop-ack-timeout-seconds", "20", "--sample-ms", "200", "--align-window-ms", "0", "--results-dir",
            results.string()});
        port = start_and_get_port(*process, "bench-dist-coordinator");
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
    bn::ClientResponse call(const std::string& method, const std::string& path, const std::string& body = {}) {
        return bn::http_request({.method = method, .url = url() + path, .body = body,
                                 .content_type = body.empty() ? "" : "application/json", .timeout = 40s});
    }
    bc::CoordinatorState wait_state(const std::function<bool(const bc::CoordinatorState&)>& pred,
                                    std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        auto s = bc::coordinator_state_from_json(bc::Json::parse(call("GET", "/admin/status").body));
        while (!pred(s)) {
            if (Clock::now() > deadline) {
                throw std::runtime_error("condition not reached; last state:\n" + bc::pretty(bc::to_json(s)) +
                                         "\ncoordinator output:\n" + process->output());
            }
            const auto body = call("GET", "/state?since=" + std::to_string(s.version) + "&waitMs=200").body;
            s = bc::coordinator_state_from_json(bc::Json::parse(body));
        }
        return s;
    }
};

fs::path temp_dir(const std::string& what) {
    static int counter = 0;
    auto dir = fs::temp_directory_path() /
               ("bench-dist-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir);
    return dir;
}

std::vector<std::string> generator_argv(const std::string& coord_url, const std::string& stdb_url) {
    return {bin_path("bench-dist-generator"), "--coordinator-url", coord_url, "--id", "gen-a", "--concurrency", "4",
            "--accounts", "1000", "--pairs", "20000", "--stdb-url", stdb_url, "--stdb-module", "test-1", "--poll-ms",
            "100", "--threads", "1"};
}

}  // namespace

TEST(ServerFault, StandinRestartMidEpochIsReconnectedCountedAndNamedInTheResult) {
    const auto dir = temp_dir("server-fault");
    auto standin = start_standin(0);
    const int stdb_port = start_and_get_port(*standin, "stdb-standin");
    seed(stdb_port);
    const std::string stdb_url = "ws://127.0.0.1:" + std::to_string(stdb_port);
    Coordinator coord(stdb_url, dir / "results", "6");
    Subprocess gen(generator_argv(coord.url(), stdb_url));
    coord.wait_state(
        [](const bc::CoordinatorState& s) {
            return !s.generators.empty() && s.generators[0].local_state == bc::GeneratorState::Ready;
        },
        60s);
    ASSERT_EQ(coord.call("POST", "/admin/start-epoch", "{}").status, 200u);
    coord.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 30s);

    // The server dies under load and comes back on the same port, empty.
    standin->signal(SIGKILL);
    ASSERT_TRUE(standin->wait_exit(10s));
    standin = start_standin(stdb_port);
    ASSERT_EQ(start_and_get_port(*standin, "restarted stdb-standin"), stdb_port);
    seed(stdb_port);

    const auto s = coord.wait_state(
        [](const bc::CoordinatorState& st) { return st.last_result && st.last_result->epoch == 1 && !st.current_epoch; },
        60s);
    const auto& r = *s.last_result;
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
    ASSERT_EQ(coord.call("POST", "/admin/start-epoch", "{}").status, 200u);
    const auto s2 = coord.wait_state(
        [](const bc::CoordinatorState& st) { return st.last_result && st.last_result->epoch == 2 && !st.current_epoch; },
        60s);
    EXPECT_FALSE(s2.last_result->error) << s2.last_result->error.value_or("");
    EXPECT_GT(std::stoull(s2.last_result->committed_delta), 0u);
    std::error_code ignored;
    fs::remove_all(dir, ignored);
}

TEST(ServerFault, ServerDownAtStartIsAClearErrorAndANonZeroExitWithoutAHang) {
    const auto dir = temp_dir("server-down");
    const int port = free_port();
    const std::string stdb_url = "ws://127.0.0.1:" + std::to_string(port);
    Coordinator coord(stdb_url, dir / "results", "2");
    const auto t0 = Clock::now();
    Subprocess gen(generator_argv(coord.url(), stdb_url));
    const auto code = gen.wait_exit(15s);
    ASSERT_TRUE(code.has_value()) << "generator hangs with its server down:\n" << gen.output();
    EXPECT_EQ(*code, 1) << gen.output();
    // Refused at once, well inside the 10 s connect timeout.
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
    EXPECT_TRUE(contains(gen.output(), "cannot connect to " + stdb_url)) << gen.output();
    EXPECT_TRUE(contains(gen.output(), "--stdb-url")) << gen.output();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
}
