// Liveness with real processes on 127.0.0.1 and short leases (2 s): a
// generator frozen with SIGSTOP during `measure` is marked lost and the epoch
// flagged naming it within its lease, and it rejoins after SIGCONT; a
// generator whose coordinator dies stops loading within its lease (the
// stand-in's counter stops), keeps re-registering, and takes part again once
// a coordinator is back on the same port.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <map>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/server_api.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
namespace bc = benchdist::control;
namespace bn = benchdist::net;
namespace stdb = benchdist::stdb;
using benchdist::testing::bin_path;
using benchdist::testing::port_from_listening_line;
using benchdist::testing::Subprocess;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kLease = "2";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int start_and_get_port(Subprocess& p, const std::string& what) {
    const auto line = p.wait_for_line([](const std::string& l) { return contains(l, "listening on http://"); }, 30s);
    if (!line) throw std::runtime_error(what + " did not start:\n" + p.output());
    return port_from_listening_line(*line).value();
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

class LivenessCluster {
public:
    explicit LivenessCluster(int window = 6)
        : window_seconds(window),
          dir_(fs::temp_directory_path() / ("bench-dist-liveness-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(counter_++))) {
        fs::create_directories(dir_);
        standin_ = std::make_unique<Subprocess>(
            std::vector<std::string>{bin_path("stdb-standin"), "--listen", "127.0.0.1:0", "--database", "test-1"});
        stdb_port_ = start_and_get_port(*standin_, "stdb-standin");
        const auto seeded = bn::http_request({.method = "POST",
                                              .url = "http://127.0.0.1:" + std::to_string(stdb_port_) +
                                                     "/v1/database/test-1/call/seed",
                                              .body = "[1000,1000000]",
                                              .content_type = "application/json",
                                              .timeout = 10s});
        if (seeded.status != 200) throw std::runtime_error("seeding the stand-in failed: " + seeded.body);
        identity_ = stdb::fetch_database_identity(endpoint(), "test-1", 10s);
        start_coordinator(0);
    }
    ~LivenessCluster() {
        generators_.clear();
        coordinator_.reset();
        standin_.reset();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    // port 0: a free one; otherwise the port a killed coordinator had.
    void start_coordinator(int port) {
        coordinator_ = std::make_unique<Subprocess>(std::vector<std::string>{
            bin_path("bench-dist-coordinator"), "--bind", "127.0.0.1", "--port", std::to_string(port), "--stdb-url",
            stdb_url(), "--stdb-module", "test-1", "--window-seconds", std::to_string(window_seconds),
            "--start-ack-timeout-seconds", "10", "--stop-ack-timeout-seconds", "30", "--lease-seconds", kLease,
            "--align-window-ms", "0", "--results-dir", (dir_ / "results").string()});
        coord_port_ = start_and_get_port(*coordinator_, "bench-dist-coordinator");
    }

    stdb::Endpoint endpoint() const { return stdb::parse_endpoint(stdb_url()); }
    std::string stdb_url() const { return "ws://127.0.0.1:" + std::to_string(stdb_port_); }
    std::string coord_url() const { return "http://127.0.0.1:" + std::to_string(coord_port_); }
    int coord_port() const { return coord_port_; }
    Subprocess& coordinator() { return *coordinator_; }
    void drop_coordinator() { coordinator_.reset(); }

    std::uint64_t server_committed() { return stdb::read_committed_transfers(endpoint(), identity_, 10s).committed; }

    bn::ClientResponse coord(const std::string& method, const std::string& path, const std::string& body = {}) {
        return bn::http_request({.method = method, .url = coord_url() + path, .body = body,
                                 .content_type = body.empty() ? "" : "application/json", .timeout = 40s});
    }
    bc::CoordinatorState state() {
        return bc::coordinator_state_from_json(bc::Json::parse(coord("GET", "/admin/status").body));
    }

    Subprocess& start_generator(const std::string& id, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{bin_path("bench-dist-generator"), "--coordinator-url", coord_url(), "--id", id,
                                      "--concurrency", "2", "--accounts", "1000", "--pairs", "20000", "--stdb-url",
                                      stdb_url(), "--stdb-module", "test-1", "--poll-ms", "100", "--threads", "1"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        generators_[id] = std::make_unique<Subprocess>(argv);
        return *generators_[id];
    }
    Subprocess& generator(const std::string& id) { return *generators_.at(id); }

    bc::CoordinatorState wait_state(const std::function<bool(const bc::CoordinatorState&)>& pred,
                                    std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        auto s = state();
        while (!pred(s)) {
            if (Clock::now() > deadline) {
                throw std::runtime_error("condition not reached; last state:\n" + bc::pretty(bc::to_json(s)) +
                                         "\ncoordinator output:\n" + coordinator_->output());
            }
            const auto body = coord("GET", "/state?since=" + std::to_string(s.version) + "&waitMs=200").body;
            s = bc::coordinator_state_from_json(bc::Json::parse(body));
        }
        return s;
    }
    void wait_ready(std::size_t n) {
        wait_state(
            [n](const bc::CoordinatorState& s) {
                std::size_t ready = 0;
                for (const auto& g : s.generators) ready += g.local_state == bc::GeneratorState::Ready;
                return ready >= n;
            },
            60s);
    }
    bc::StartEpochResponse start_epoch() {
        return bc::start_epoch_response_from_json(bc::Json::parse(coord("POST", "/admin/start-epoch", "{}").body));
    }
    bc::EpochResult wait_result(std::uint64_t epoch, std::chrono::milliseconds timeout = 90s) {
        const auto s = wait_state(
            [epoch](const bc::CoordinatorState& st) {
                return st.last_result && st.last_result->epoch == epoch && st.current_epoch != epoch;
            },
            timeout);
        return *s.last_result;
    }

    int window_seconds;

private:
    static inline int counter_ = 0;
    fs::path dir_;
    std::unique_ptr<Subprocess> standin_;
    std::unique_ptr<Subprocess> coordinator_;
    std::map<std::string, std::unique_ptr<Subprocess>> generators_;
    std::string identity_;
    int stdb_port_ = 0;
    int coord_port_ = 0;
};

bool lost_named(const bc::CoordinatorState& s, const std::string& id) {
    for (const auto& e : s.current_epoch_errors)
        if (contains(e, "generator " + id + " lost: silent for")) return true;
    return false;
}

}  // namespace

TEST(Liveness, StoppedGeneratorIsFlaggedWithinItsLeaseAndRejoinsAfterSigcont) {
    LivenessCluster c;
    c.start_generator("gen-a");
    c.start_generator("gen-b");
    c.wait_ready(2);
    EXPECT_EQ(c.state().lease_seconds, 2.0);
    ASSERT_TRUE(c.start_epoch().started);
    c.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 30s);

    c.generator("gen-b").signal(SIGSTOP);
    const auto stopped_at = Clock::now();
    // Lease 2 s, plus at most one long-poll (a third of the lease) that
    // counts as contact when it is answered, plus scheduling slack.
    const auto flagged = c.wait_state([](const bc::CoordinatorState& s) { return lost_named(s, "gen-b"); }, 10s);
    const double flagged_after = seconds_since(stopped_at);
    EXPECT_LT(flagged_after, 2.0 + 0.7 + 1.3) << "flagged only after " << flagged_after << " s";
    EXPECT_EQ(flagged.phase, bc::Phase::Measure) << "flagged at once, not at the end of the window";
    for (const auto& g : flagged.generators)
        EXPECT_EQ(g.local_state, g.id == "gen-b" ? bc::GeneratorState::Lost : bc::GeneratorState::Running) << g.id;
    EXPECT_TRUE(contains(c.coordinator().output(), "generator gen-b lost: silent for")) << c.coordinator().output();

    // The result comes at the window's end: the 30 s stop-ack wait does not wait for gen-b.
    const auto r1 = c.wait_result(1, 25s);
    EXPECT_LT(seconds_since(stopped_at), 20.0);
    ASSERT_TRUE(r1.error.has_value());
    EXPECT_TRUE(contains(*r1.error, "generator gen-b lost: silent for")) << *r1.error;
    EXPECT_TRUE(contains(*r1.error, "s during measure")) << *r1.error;
    EXPECT_FALSE(contains(*r1.error, "Missing stop acknowledgements")) << *r1.error;

    // Named explicitly while lost: refused, saying why.
    const auto refused = bc::start_epoch_response_from_json(
        bc::Json::parse(c.coord("POST", "/admin/start-epoch", R"({"generatorIds":["gen-a","gen-b"]})").body));
    EXPECT_FALSE(refused.started);
    EXPECT_TRUE(contains(refused.message, "lost")) << refused.message;

    c.generator("gen-b").signal(SIGCONT);
    c.wait_ready(2);
    ASSERT_TRUE(c.start_epoch().started);
    const auto r2 = c.wait_result(2);
    EXPECT_FALSE(r2.error) << r2.error.value_or("");
    EXPECT_EQ(r2.participant_ids, (std::vector<std::string>{"gen-a", "gen-b"}));
    EXPECT_GT(std::stoull(r2.committed_delta), 0u);
}

TEST(Liveness, GeneratorStopsLoadingWithinItsLeaseWhenItsCoordinatorDiesAndRejoinsANewOne) {
    LivenessCluster c(30);  // the coordinator dies long before the window ends
    auto& gen = c.start_generator("gen-a");
    c.wait_ready(1);
    ASSERT_TRUE(c.start_epoch().started);
    c.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 30s);
    // Loading: the server's counter moves.
    const auto loading_from = c.server_committed();
    {
        const auto deadline = Clock::now() + 10s;
        while (c.server_committed() <= loading_from + 50 && Clock::now() < deadline) {
            // each read is an HTTP round trip: the loop paces itself
        }
        ASSERT_GT(c.server_committed(), loading_from + 50) << gen.output();
    }

    const int port = c.coord_port();
    c.coordinator().signal(SIGKILL);
    const auto killed_at = Clock::now();
    const auto fenced = gen.wait_for_line([](const std::string& l) { return contains(l, "lost the coordinator at"); }, 10s);
    ASSERT_TRUE(fenced) << gen.output();
    const double fenced_after = seconds_since(killed_at);
    // The lease is renewed by the last answer before the kill (at most one
    // long-poll, a quarter of the lease, earlier).
    EXPECT_LT(fenced_after, 2.0 + 1.0) << *fenced;
    EXPECT_TRUE(contains(*fenced, "stopping load")) << *fenced;
    // Calls in flight at the fence finish (or time out) before this line.
    ASSERT_TRUE(gen.wait_for_line([](const std::string& l) { return contains(l, "load stopped, connections kept open"); },
                                  15s))
        << gen.output();

    // The load stopped: the counter holds still while the generator keeps
    // trying to re-register (three failed attempts take about a second).
    const auto after_fence = c.server_committed();
    ASSERT_TRUE(gen.wait_for_line([](const std::string& l) { return contains(l, "re-register attempt 3 failed"); }, 15s))
        << gen.output();
    EXPECT_EQ(c.server_committed(), after_fence) << "transfers went on after the fence";
    EXPECT_TRUE(gen.running()) << "it must keep trying, not exit:\n" << gen.output();

    // A coordinator back on the same port: the generator registers and takes part.
    c.drop_coordinator();
    c.window_seconds = 2;
    c.start_coordinator(port);
    c.wait_ready(1);
    ASSERT_TRUE(gen.wait_for_line([](const std::string& l) { return contains(l, "re-registered with the coordinator"); },
                                  5s))
        << gen.output();
    ASSERT_TRUE(c.start_epoch().started);
    const auto r = c.wait_result(1);
    EXPECT_FALSE(r.error) << r.error.value_or("");
    EXPECT_EQ(r.participant_ids, std::vector<std::string>{"gen-a"});
    EXPECT_GT(std::stoull(r.committed_delta), 0u);
}
