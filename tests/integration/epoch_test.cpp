// Whole epochs with real processes on 127.0.0.1: stdb-standin, a coordinator
// and generators, driven over the coordinator's HTTP routes. Checks what an
// operator relies on: TPS agrees with the stand-in's ground truth, late and
// dead generators are handled, bad requests are refused, verification bites.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/standin/commit_log.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
namespace bc = benchdist::control;
namespace bn = benchdist::net;
using benchdist::testing::bin_path;
using benchdist::testing::port_from_listening_line;
using benchdist::testing::Subprocess;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kInitialBalance = 1000000;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int start_and_get_port(Subprocess& p, const std::string& what) {
    const auto line = p.wait_for_line([](const std::string& l) { return contains(l, "listening on http://"); }, 30s);
    if (!line) throw std::runtime_error(what + " did not start:\n" + p.output());
    return port_from_listening_line(*line).value();
}

// "2026-04-10T12:00:33.224Z" -> microseconds since the epoch.
std::int64_t iso_to_micros(const std::string& iso) {
    std::tm tm{};
    int millis = 0;
    std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                &tm.tm_sec, &millis);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm)) * 1000000 + millis * 1000;
}

class Cluster {
public:
    Cluster() : dir_(fs::temp_directory_path() / ("bench-dist-epoch-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
        fs::create_directories(dir_);
        standin_ = std::make_unique<Subprocess>(std::vector<std::string>{
            bin_path("stdb-standin"), "--listen", "127.0.0.1:0", "--database", "test-1", "--database", "test-2",
            "--debug-routes", "--commit-log", (dir_ / "commits.log").string()});
        stdb_port_ = start_and_get_port(*standin_, "stdb-standin");
        for (const char* db : {"test-1", "test-2"}) {
            call_stdb(std::string("/v1/database/") + db + "/call/seed", "[1000," + std::to_string(kInitialBalance) + "]");
        }
        coordinator_ = std::make_unique<Subprocess>(std::vector<std::string>{
            bin_path("bench-dist-coordinator"), "--bind", "127.0.0.1", "--port", "0", "--stdb-url", stdb_url(),
            "--stdb-module", "test-1", "--window-seconds", "2", "--start-ack-timeout-seconds", "10",
            "--stop-ack-timeout-seconds", "5", "--verify", "--initial-balance", std::to_string(kInitialBalance),
            "--results-dir", (dir_ / "results").string()});
        coord_port_ = start_and_get_port(*coordinator_, "bench-dist-coordinator");
    }
    ~Cluster() {
        generators_.clear();
        coordinator_.reset();
        standin_.reset();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    std::string stdb_url() const { return "ws://127.0.0.1:" + std::to_string(stdb_port_); }
    std::string coord_url() const { return "http://127.0.0.1:" + std::to_string(coord_port_); }
    const fs::path& dir() const { return dir_; }
    Subprocess& coordinator() { return *coordinator_; }

    bn::ClientResponse call_stdb(const std::string& path, const std::string& json) {
        auto r = bn::http_request({.method = "POST", .url = "http://127.0.0.1:" + std::to_string(stdb_port_) + path,
                                   .body = json, .content_type = "application/json", .timeout = 10s});
        return r;
    }

    bn::ClientResponse coord(const std::string& method, const std::string& path, const std::string& body = {}) {
        return bn::http_request({.method = method, .url = coord_url() + path, .body = body,
                                 .content_type = body.empty() ? "" : "application/json", .timeout = 40s});
    }

    bc::CoordinatorState state() { return bc::coordinator_state_from_json(bc::Json::parse(coord("GET", "/admin/status").body)); }

    Subprocess& start_generator(const std::string& id, int concurrency = 4, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{
            bin_path("bench-dist-generator"), "--coordinator-url", coord_url(), "--id", id, "--concurrency",
            std::to_string(concurrency), "--accounts", "1000", "--pairs", "20000", "--stdb-url", stdb_url(),
            "--stdb-module", "test-1", "--poll-ms", "100", "--threads", "1"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        generators_[id] = std::make_unique<Subprocess>(argv);
        return *generators_[id];
    }
    Subprocess* generator(const std::string& id) { return generators_.at(id).get(); }
    void drop_generator(const std::string& id) { generators_.erase(id); }

    // Waits until the coordinator's state satisfies pred (bounded).
    bc::CoordinatorState wait_state(const std::function<bool(const bc::CoordinatorState&)>& pred, std::chrono::seconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        auto s = state();
        while (!pred(s)) {
            if (std::chrono::steady_clock::now() > deadline) {
                throw std::runtime_error("condition not reached; last state:\n" + bc::pretty(bc::to_json(s)) +
                                         "\ncoordinator output:\n" + coordinator_->output());
            }
            const auto body = coord("GET", "/state?since=" + std::to_string(s.version) + "&waitMs=500").body;
            s = bc::coordinator_state_from_json(bc::Json::parse(body));
        }
        return s;
    }

    bc::CoordinatorState wait_ready(std::size_t n) {
        return wait_state([n](const bc::CoordinatorState& s) {
            std::size_t ready = 0;
            for (const auto& g : s.generators) ready += g.local_state == bc::GeneratorState::Ready;
            return ready >= n;
        }, 60s);
    }

    bc::StartEpochResponse start_epoch(const std::string& body = "{}") {
        return bc::start_epoch_response_from_json(bc::Json::parse(coord("POST", "/admin/start-epoch", body).body));
    }

    bc::EpochResult wait_result(std::uint64_t epoch) {
        const auto s = wait_state([epoch](const bc::CoordinatorState& st) {
            return st.last_result && st.last_result->epoch == epoch && st.current_epoch != epoch;
        }, 90s);
        return *s.last_result;
    }

private:
    static inline int counter_ = 0;
    fs::path dir_;
    std::unique_ptr<Subprocess> standin_;
    std::unique_ptr<Subprocess> coordinator_;
    std::map<std::string, std::unique_ptr<Subprocess>> generators_;
    int stdb_port_ = 0;
    int coord_port_ = 0;
};

}  // namespace

TEST(Epoch, TwoGeneratorsMatchGroundTruthAndAnotherDatabaseDoesNotLeak) {
    Cluster c;
    c.start_generator("gen-a");
    c.start_generator("gen-b");
    c.wait_ready(2);
    const auto started = c.start_epoch(R"({"label":"it"})");
    ASSERT_TRUE(started.started) << started.message;
    EXPECT_EQ(started.message, "Epoch 1 started");
    // Commit transfers on test-2 while test-1 is measured: they must not count.
    c.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 30s);
    for (int i = 0; i < 200; ++i) c.call_stdb("/v1/database/test-2/call/transfer", "[1,2,1]");
    const auto r = c.wait_result(1);
    EXPECT_FALSE(r.error) << r.error.value_or("");
    EXPECT_EQ(r.verification, "passed") << r.verification_error.value_or("");
    EXPECT_EQ(r.participant_ids, (std::vector<std::string>{"gen-a", "gen-b"}));
    EXPECT_EQ(r.label.value_or(""), "it");
    const auto delta = std::stoull(r.committed_delta);
    ASSERT_GT(delta, 100u);
    EXPECT_NEAR(r.tps, static_cast<double>(delta) / r.actual_window_seconds, 1e-6 * r.tps);

    // Each generator's own report rides along: counters and settings.
    ASSERT_TRUE(r.extra.contains("generatorReports")) << bc::pretty(bc::to_json(r));
    std::uint64_t client_committed = 0;
    for (const char* id : {"gen-a", "gen-b"}) {
        const auto& report = r.extra["generatorReports"][id];
        client_committed += report["counters"]["committed"].get<std::uint64_t>();
        EXPECT_EQ(report["settings"]["confirmedReads"], "server default (true on v2/v3)");
        EXPECT_EQ(report["settings"]["compression"], "none");
    }
    // Generators load a little before and after the window too.
    EXPECT_GE(client_committed, delta);

    // Ground truth: the stand-in's commit log, test-1 only, over the window.
    std::vector<benchdist::standin::CommitRecord> records;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    const auto window_end = iso_to_micros(r.finished_at);
    // The log is written in the background; wait until it has passed the window.
    for (;;) {
        records = benchdist::standin::read_commit_log(c.dir() / "commits.log");
        std::int64_t newest = 0;
        for (const auto& rec : records) newest = std::max(newest, rec.commit_time_us);
        if (newest >= window_end || std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(50ms);  // polling a file for a condition, bounded by the deadline
    }
    const auto truth = benchdist::standin::count_commits(records, "test-1", iso_to_micros(r.measured_at), window_end);
    EXPECT_NEAR(static_cast<double>(delta), static_cast<double>(truth), 0.01 * static_cast<double>(truth))
        << "coordinator delta " << delta << " vs commit log " << truth;
    std::printf("epoch 1: committedDelta %llu, commit log %llu over [%s, %s), tps %.1f\n",
                static_cast<unsigned long long>(delta), static_cast<unsigned long long>(truth), r.measured_at.c_str(),
                r.finished_at.c_str(), r.tps);

    // Result file written with the original name pattern, and parseable.
    bool found = false;
    for (const auto& e : fs::directory_iterator(c.dir() / "results")) {
        const auto name = e.path().filename().string();
        if (name.rfind("test-1-spacetimedb-epoch-001-", 0) == 0 && e.path().extension() == ".json") {
            std::ifstream in(e.path());
            const auto parsed = bc::epoch_result_from_json(bc::Json::parse(in));
            EXPECT_EQ(parsed.committed_delta, r.committed_delta);
            found = true;
        }
    }
    EXPECT_TRUE(found);
}

TEST(Epoch, LateGeneratorJoinsOnlyTheNextEpochAndBusyIsRefused) {
    Cluster c;
    c.start_generator("gen-a");
    c.wait_ready(1);
    ASSERT_TRUE(c.start_epoch().started);
    c.start_generator("gen-late");
    const auto busy = c.start_epoch();
    EXPECT_FALSE(busy.started);
    EXPECT_EQ(busy.message.rfind("Coordinator is busy in phase ", 0), 0u) << busy.message;
    const auto r1 = c.wait_result(1);
    EXPECT_EQ(r1.participant_ids, (std::vector<std::string>{"gen-a"}));
    c.wait_ready(2);
    ASSERT_TRUE(c.start_epoch().started);
    const auto r2 = c.wait_result(2);
    EXPECT_EQ(r2.participant_ids, (std::vector<std::string>{"gen-a", "gen-late"}));
    EXPECT_FALSE(r2.error) << r2.error.value_or("");
}

TEST(Epoch, KilledGeneratorIsNamedAndTheNextEpochSucceeds) {
    Cluster c;
    c.start_generator("gen-a");
    c.start_generator("gen-b");
    c.wait_ready(2);
    ASSERT_TRUE(c.start_epoch().started);
    c.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 30s);
    c.generator("gen-b")->signal(SIGKILL);
    const auto r1 = c.wait_result(1);
    ASSERT_TRUE(r1.error.has_value());
    EXPECT_TRUE(contains(*r1.error, "gen-b")) << *r1.error;
    EXPECT_EQ(c.coord("GET", "/healthz").status, 200u);

    c.drop_generator("gen-b");
    c.start_generator("gen-b");
    c.wait_ready(2);
    ASSERT_TRUE(c.start_epoch().started);
    const auto r2 = c.wait_result(2);
    EXPECT_FALSE(r2.error) << r2.error.value_or("");
    EXPECT_EQ(r2.verification, "passed");
}

TEST(Epoch, BadRequestsGetJson400s) {
    Cluster c;
    auto r = c.coord("POST", "/ready", R"({"id":"nope","openedConnections":1})");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(bc::Json::parse(r.body)["error"], "Unknown generator \"nope\"");
    r = c.coord("POST", "/register", "{not json");
    EXPECT_EQ(r.status, 400u);
    EXPECT_TRUE(bc::Json::parse(r.body).contains("error"));
    r = c.coord("GET", "/nope");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(bc::Json::parse(r.body)["error"], "Unknown route: GET /nope");
    const auto none = c.start_epoch();
    EXPECT_FALSE(none.started);
    EXPECT_EQ(none.message, "No ready generators available for the next epoch");
}

TEST(Epoch, VerificationFailsAfterTheBalancesAreCorrupted) {
    Cluster c;
    c.start_generator("gen-a");
    c.wait_ready(1);
    ASSERT_EQ(c.call_stdb("/v1/debug/database/test-1/corrupt?id=0&delta=7", "").status, 200u);
    ASSERT_TRUE(c.start_epoch().started);
    const auto r = c.wait_result(1);
    EXPECT_EQ(r.verification, "failed");
    EXPECT_TRUE(contains(r.verification_error.value_or(""), "total_balance mismatch")) << r.verification_error.value_or("");
}

TEST(Epoch, GeneratorStopsLoadingWhenItsCoordinatorDies) {
    Cluster c;
    // The old behaviour, now opt-in (by default it re-registers: liveness_test).
    auto& gen = c.start_generator("gen-a", 4, {"--exit-on-coordinator-loss"});
    c.wait_ready(1);
    ASSERT_TRUE(c.start_epoch().started);
    c.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 30s);
    c.coordinator().signal(SIGKILL);
    // --poll-ms 100 and 3 control retries: it must give up within seconds.
    const auto code = gen.wait_exit(20s);
    ASSERT_TRUE(code.has_value()) << "generator still running after its coordinator died:\n" << gen.output();
    EXPECT_EQ(*code, 1);
    EXPECT_TRUE(contains(gen.output(), "cannot reach coordinator")) << gen.output();
    // And the server sees no more transfers from it.
    auto committed = [&] {
        const auto body = bn::http_request({.url = "http://127.0.0.1:" + c.stdb_url().substr(c.stdb_url().rfind(':') + 1) + "/v1/metrics"}).body;
        return body;
    };
    const auto before = committed();
    const auto after = committed();
    EXPECT_EQ(before, after);
}

TEST(Epoch, ControlCliRunsAnEpochAndStopEpochAbortsOne) {
    Cluster c;
    c.start_generator("gen-a");
    {
        Subprocess wait({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "wait-ready", "--generators",
                         "1", "--timeout", "60"});
        ASSERT_EQ(wait.wait_exit(70s), 0) << wait.output();
    }
    {
        Subprocess run({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "start-epoch", "--label",
                        "cli", "--poll-ms", "200", "--timeout", "60"});
        ASSERT_EQ(run.wait_exit(70s), 0) << run.output();
        EXPECT_TRUE(contains(run.output(), "Epoch 1 started")) << run.output();
        EXPECT_TRUE(contains(run.output(), "waiting for epoch 1 to complete...")) << run.output();
        EXPECT_TRUE(contains(run.output(), "epoch=1 tps=")) << run.output();
        EXPECT_TRUE(contains(run.output(), "verification=passed")) << run.output();
    }
    {
        // A long epoch, ended early with stop-epoch: the result is still written, marked aborted.
        ASSERT_TRUE(c.start_epoch().started);
        c.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 30s);
        Subprocess stop({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "stop-epoch"});
        ASSERT_EQ(stop.wait_exit(30s), 0) << stop.output();
        const auto r = c.wait_result(2);
        EXPECT_EQ(r.extra.value("aborted", false), true) << bc::pretty(bc::to_json(r));
        EXPECT_LT(r.actual_window_seconds, 2.0);
    }
    {
        Subprocess status({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "status"});
        ASSERT_EQ(status.wait_exit(30s), 0) << status.output();
        EXPECT_TRUE(contains(status.output(), "phase=idle epoch=- label=-")) << status.output();
        EXPECT_TRUE(contains(status.output(), "gen-a host=")) << status.output();
    }
    {
        Subprocess bad({bin_path("bench-dist-control"), "--coordinator-url", c.coord_url(), "frobnicate"});
        EXPECT_EQ(bad.wait_exit(30s), 2) << bad.output();
    }
}
