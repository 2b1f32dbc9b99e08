// The epoch runner, long-polling and the HTTP routes, with a fake counter
// and verifier and millisecond windows. Waits are on the coordinator's own
// condition variable (wait_until), never sleeps.
#include "benchdist/coordinator/coordinator.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <sstream>
#include <tuple>

#include "benchdist/control/version.hpp"
#include "benchdist/coordinator/routes.hpp"
#include "benchdist/stats/interval_recorder.hpp"

using namespace benchdist;
using namespace benchdist::coordinator;
using namespace std::chrono_literals;
using control::Phase;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kT0 = 1775822400000;  // 2026-04-10T12:00:00.000Z

// Reads from the epoch runner (the thread that called begin_epoch) take
// the window-edge values pushed with push(); reads from any other thread --
// the timeline sampler -- take those pushed with push_sample(), so a test
// decides exactly which value each side sees.
class FakeCounter : public CounterSource {
public:
    void begin_epoch() override {
        std::lock_guard lock(mu_);
        ++begins_;
        runner_ = std::this_thread::get_id();
        if (begin_error_) throw std::runtime_error(*begin_error_);
    }
    stdbhttp::CounterRead read() override {
        std::lock_guard lock(mu_);
        const bool sample = std::this_thread::get_id() != runner_;
        auto& queue = sample ? samples_queue_ : reads_queue_;
        ++(sample ? sample_reads_ : reads_);
        cv_.notify_all();
        if (queue.empty()) throw std::runtime_error("fake counter: no value queued");
        auto r = queue.front();
        queue.pop_front();
        return r;
    }
    void push(std::uint64_t committed, std::int64_t received_at_ms, bool absent = false) {
        std::lock_guard lock(mu_);
        reads_queue_.push_back(make_read(committed, received_at_ms, absent));
    }
    void push_sample(std::uint64_t committed, std::int64_t received_at_ms) {
        std::lock_guard lock(mu_);
        samples_queue_.push_back(make_read(committed, received_at_ms, false));
    }
    // Waits until the sampler tried at least n reads.
    bool wait_sample_reads(int n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, 2s, [&] { return sample_reads_ >= n; });
    }
    static stdbhttp::CounterRead make_read(std::uint64_t committed, std::int64_t received_at_ms, bool absent) {
        stdbhttp::CounterRead r;
        r.committed = committed;
        r.series_absent = absent;
        r.sent_at_ms = received_at_ms - 3;
        r.received_at_ms = received_at_ms;
        return r;
    }
    void fail_begin(std::string message) {
        std::lock_guard lock(mu_);
        begin_error_ = std::move(message);
    }
    int reads() const {
        std::lock_guard lock(mu_);
        return reads_;
    }
    std::optional<std::string> database_identity() const override {
        std::lock_guard lock(mu_);
        return identity_;
    }
    void set_identity(std::string identity) {
        std::lock_guard lock(mu_);
        identity_ = std::move(identity);
    }

private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<stdbhttp::CounterRead> reads_queue_;
    std::deque<stdbhttp::CounterRead> samples_queue_;
    std::thread::id runner_;
    std::optional<std::string> begin_error_;
    std::optional<std::string> identity_;
    int reads_ = 0;
    int sample_reads_ = 0;
    int begins_ = 0;
};

class FakeVerifier : public Verifier {
public:
    stdb::transfer::VerificationOutcome outcome{true, ""};
    std::optional<std::string> throw_message;
    stdb::transfer::VerificationOutcome verify() override {
        if (throw_message) throw std::runtime_error(*throw_message);
        return outcome;
    }
};

bool idle_with_result(const control::CoordinatorState& s, std::uint64_t epoch) {
    return !s.current_epoch && s.last_result && s.last_result->epoch == epoch;
}

class CoordinatorTest : public ::testing::Test {
protected:
    fs::path dir;
    std::shared_ptr<FakeCounter> counter = std::make_shared<FakeCounter>();
    std::shared_ptr<FakeVerifier> verifier = std::make_shared<FakeVerifier>();
    CoordinatorOptions options;
    std::unique_ptr<Coordinator> c;

    void SetUp() override {
        dir = fs::temp_directory_path() / ("benchdist-coordinator-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        options.results_dir = dir;
        options.window_seconds = 0.005;
        options.start_ack_timeout_seconds = 5;
        options.stop_ack_timeout_seconds = 5;
    }
    void TearDown() override {
        c.reset();
        fs::remove_all(dir);
    }
    void make() {
        c = std::make_unique<Coordinator>(options, counter, verifier, [] { return kT0; });
    }
    // Registers as our generators do: with a lease (holdsLease).
    void add(const std::string& id, std::uint64_t opened) {
        control::RegisterRequest r{id, id + "-host", opened};
        r.extra["manifest"] = control::Json{{"holdsLease", true}};
        c->register_generator(r);
        c->ready({id, opened});
    }
    bool wait_phase(Phase p) {
        return c->wait_until([p](const control::CoordinatorState& s) { return s.phase == p; }, 2000ms);
    }
    control::EpochResult wait_result(std::uint64_t epoch) {
        EXPECT_TRUE(
            c->wait_until([epoch](const control::CoordinatorState& s) { return idle_with_result(s, epoch); }, 2000ms));
        return *c->state().last_result;
    }
    std::vector<fs::path> result_files() const {
        std::vector<fs::path> out;
        if (!fs::exists(dir)) return out;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".json") out.push_back(e.path());
        return out;
    }
    // Starts the next epoch and acknowledges its start for each of ids.
    ::testing::AssertionResult start_acked(const std::vector<std::string>& ids, std::uint64_t epoch = 1) {
        const auto r = c->start_epoch({});
        if (!r.started) return ::testing::AssertionFailure() << "epoch " << epoch << " did not start: " << r.message;
        for (const auto& id : ids) c->started({id, epoch, {}});
        return ::testing::AssertionSuccess();
    }
    // Waits for the stop phase and acknowledges the stop for each of ids.
    ::testing::AssertionResult stop_acked(const std::vector<std::string>& ids, std::uint64_t epoch = 1) {
        if (!wait_phase(Phase::Stop))
            return ::testing::AssertionFailure() << "epoch " << epoch << " never reached stop";
        for (const auto& id : ids) c->stopped({id, epoch, {}});
        return ::testing::AssertionSuccess();
    }
    // Generator a alone over a long window sampled every millisecond, closed
    // by stop-epoch once both queued samples were taken: the counter reads
    // 1000 at the window's start, samples 1500 and second_sample, and reads
    // end_read at its end.
    void run_sampled_epoch(std::uint64_t second_sample, std::uint64_t end_read, control::EpochResult& result) {
        options.window_seconds = 60;
        options.sample_ms = 1;
        make();
        add("a", 10);
        counter->push(1000, kT0 + 10);
        counter->push_sample(1500, kT0 + 1010);
        counter->push_sample(second_sample, kT0 + 2010);
        counter->push(end_read, kT0 + 3010);
        ASSERT_TRUE(start_acked({"a"}));
        // A third attempt means both queued samples were taken and recorded.
        ASSERT_TRUE(counter->wait_sample_reads(3));
        EXPECT_TRUE(c->stop_epoch().stopping);
        ASSERT_TRUE(stop_acked({"a"}));
        result = wait_result(1);
    }
    // Runs one epoch with both acks from every participant.
    control::EpochResult run_acked_epoch(const std::vector<std::string>& ids, std::uint64_t epoch) {
        EXPECT_TRUE(start_acked(ids, epoch));
        EXPECT_TRUE(stop_acked(ids, epoch));
        return wait_result(epoch);
    }
};

}  // namespace

TEST_F(CoordinatorTest, NormalEpochComputesDeltaAndTpsFromTheReads) {
    make();
    add("a", 30);
    add("b", 20);
    counter->push(1000, kT0 + 10);
    counter->push(21000, kT0 + 2010);
    const auto r = run_acked_epoch({"a", "b"}, 1);
    EXPECT_FALSE(r.error) << *r.error;
    EXPECT_EQ(r.committed_before, "1000");
    EXPECT_EQ(r.committed_after, "21000");
    EXPECT_EQ(r.committed_delta, "20000");
    EXPECT_DOUBLE_EQ(r.actual_window_seconds, 2.0);
    EXPECT_DOUBLE_EQ(r.tps, 10000.0);
    EXPECT_EQ(r.measured_at, "2026-04-10T12:00:00.010Z");
    EXPECT_EQ(r.finished_at, "2026-04-10T12:00:02.010Z");
    EXPECT_EQ(r.participant_ids, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(r.participant_connections, 50u);
    EXPECT_EQ(r.verification, "skipped");
    EXPECT_FALSE(r.extra.contains("aborted"));
    EXPECT_EQ(r.extra["counterReadMs"], control::Json::array({3, 3}));

    const auto files = result_files();
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].filename(), "test-1-spacetimedb-epoch-001-2026-04-10T12-00-02-010Z.json");
    std::ifstream in(files[0]);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(control::epoch_result_from_json(control::Json::parse(text.str())).committed_delta, "20000");
    // Generators went back to ready and can run the next epoch.
    for (const auto& g : c->generators()) EXPECT_EQ(g.local_state, control::GeneratorState::Ready);
}

TEST_F(CoordinatorTest, TimelineSamplesTheCounterDuringTheWindow) {
    control::EpochResult r;
    ASSERT_NO_FATAL_FAILURE(run_sampled_epoch(3500, 4000, r));
    EXPECT_FALSE(r.error) << *r.error;
    EXPECT_EQ(r.committed_delta, "3000");
    // t since measuredAt; committed since the first read; tps since the
    // previous point; the window's end read closes the timeline.
    EXPECT_EQ(r.extra["timeline"], control::Json::parse(R"([
        {"t": 1000, "committed": 500, "tps": 500.0},
        {"t": 2000, "committed": 2500, "tps": 2000.0},
        {"t": 3000, "committed": 3000, "tps": 500.0}])"));
}

TEST_F(CoordinatorTest, TimelineIsOffWithSampleMsZero) {
    options.sample_ms = 0;
    make();
    add("a", 10);
    counter->push(1000, kT0 + 10);
    counter->push(2000, kT0 + 1010);
    const auto r = run_acked_epoch({"a"}, 1);
    EXPECT_FALSE(r.extra.contains("timeline"));
}

TEST_F(CoordinatorTest, ResultCarriesTheClientSummaryWithoutTheIntervals) {
    options.max_clock_offset_ms = 5;
    make();
    add("a", 10);
    add("b", 10);
    counter->push(1000, kT0);
    counter->push(1100, kT0 + 1000);
    stats::IntervalRecorder rec;
    for (int i = 0; i < 100; ++i) rec.record_success(kT0 + 500, 1000 + static_cast<std::uint64_t>(i));
    control::Json report{{"intervals", rec.to_json()},
                         {"clock", {{"offsetMs", 7.5}, {"rttMs", 0.4}, {"samples", 8}}},
                         {"counters", {{"committed", 100}}}};
    ASSERT_TRUE(start_acked({"a", "b"}));
    ASSERT_TRUE(wait_phase(Phase::Stop));
    c->stopped({"a", 1, report});
    c->stopped({"b", 1, {}});
    const auto r = wait_result(1);
    EXPECT_EQ(r.extra["generatorReports"],
              (control::Json{{"a", {{"clock", report["clock"]}, {"counters", report["counters"]}}}}));
    EXPECT_EQ(r.extra["clientCommitted"], 100);
    // b's count is not in clientCommitted, so there is no honest ratio.
    EXPECT_FALSE(r.extra.contains("clientServerRatio"));
    EXPECT_EQ(r.extra["latency"]["count"], 100);
    EXPECT_EQ(r.extra["latency"]["p50"], 1049);
    EXPECT_EQ(r.extra["perGenerator"]["a"]["clockOffsetMs"], 7.5);
    // The summary's warnings, then the manifest's (these generators sent none).
    ASSERT_EQ(r.extra["warnings"].size(), 3u) << r.extra["warnings"];
    EXPECT_NE(r.extra["warnings"][0].get<std::string>().find("\"a\" clock offset 7.5 ms"), std::string::npos);
    EXPECT_NE(r.extra["warnings"][1].get<std::string>().find("generator \"b\" reports no client counts"),
              std::string::npos);
    EXPECT_EQ(r.extra["warnings"][2].get<std::string>().rfind("generators a, b sent no workload manifest", 0), 0u);
    // The written file has the summary too.
    const auto files = result_files();
    ASSERT_EQ(files.size(), 1u);
    std::ifstream in(files[0]);
    const auto written = control::Json::parse(in);
    EXPECT_EQ(written["latency"], r.extra["latency"]);
    EXPECT_FALSE(written["generatorReports"]["a"].contains("intervals"));
}

TEST_F(CoordinatorTest, StateAnswersCarryTheServerTime) {
    make();
    EXPECT_EQ(c->state().server_time_ms, kT0);
    add("a", 1);
    EXPECT_EQ(c->start_epoch({}).state.server_time_ms, kT0);
}

TEST_F(CoordinatorTest, PhasesGoThroughWarmupWhenConfigured) {
    // Each phase long enough that the long-poll sees it even on a loaded
    // machine (at 2 ms the notifier sometimes answered only after measure;
    // a 5 ms window was missed under AddressSanitizer).
    options.warmup_seconds = 0.25;
    options.window_seconds = 0.3;
    make();
    add("a", 1);
    counter->push(0, kT0 + 1);
    counter->push(10, kT0 + 1001);
    std::vector<Phase> seen;
    ASSERT_TRUE(c->start_epoch({}).started);
    seen.push_back(c->state().phase);
    c->started({"a", 1, {}});
    // Collect every phase the state passes through via long-poll. The runner
    // may already have entered warmup when the ack returns, so the phase of
    // the version we start watching from counts too.
    const auto after_ack = c->state();
    std::uint64_t version = after_ack.version;
    if (after_ack.phase != seen.back()) seen.push_back(after_ack.phase);
    while (seen.back() != Phase::Stop) {
        std::promise<control::CoordinatorState> p;
        c->watch(version, 2000ms, [&p](const control::CoordinatorState& s) { p.set_value(s); });
        auto f = p.get_future();
        ASSERT_EQ(f.wait_for(3s), std::future_status::ready);
        const auto s = f.get();
        ASSERT_NE(s.version, version) << "timed out waiting for a change";
        version = s.version;
        if (s.phase != seen.back()) seen.push_back(s.phase);
    }
    c->stopped({"a", 1, {}});
    const auto r = wait_result(1);
    // The warmup after the barrier stays in `starting`: the original final
    // revision's generators stop their load on any other phase but measure.
    EXPECT_EQ(seen, (std::vector<Phase>{Phase::Starting, Phase::Measure, Phase::Stop}));
    EXPECT_EQ(r.extra["warmupSeconds"], 0.25);
    EXPECT_EQ(r.committed_delta, "10");
    EXPECT_EQ(c->state().phase, Phase::Idle);
}

TEST_F(CoordinatorTest, MissingStartAckIsAnErrorResultThatIsStillWritten) {
    options.start_ack_timeout_seconds = 0.01;
    options.stop_ack_timeout_seconds = 0.01;
    make();
    add("a", 1);
    add("b", 1);
    ASSERT_TRUE(start_acked({"a"}));
    const auto r = wait_result(1);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->rfind("Missing start acknowledgements from: b", 0), 0u) << *r.error;
    EXPECT_NE(r.error->find("; missing stop acknowledgements from: a, b"), std::string::npos) << *r.error;
    EXPECT_EQ(counter->reads(), 0) << "no measurement without every generator running";
    EXPECT_EQ(r.committed_delta, "0");
    EXPECT_EQ(r.tps, 0);
    EXPECT_EQ(r.actual_window_seconds, 0);
    EXPECT_EQ(result_files().size(), 1u);
}

TEST_F(CoordinatorTest, MissingStopAckIsReportedAndVerificationStillRuns) {
    options.stop_ack_timeout_seconds = 0.01;
    options.verify = true;
    make();
    add("a", 1);
    add("b", 1);
    counter->push(5, kT0);
    counter->push(15, kT0 + 1000);
    ASSERT_TRUE(start_acked({"a", "b"}));
    ASSERT_TRUE(stop_acked({"b"}));
    EXPECT_THROW(c->stopped({"a", 99, {}}), RequestRejected);  // an epoch that never ran does not count
    const auto r = wait_result(1);
    EXPECT_EQ(r.error, "Missing stop acknowledgements from: a");
    EXPECT_EQ(r.verification, "passed");
    EXPECT_EQ(r.committed_delta, "10");
}

TEST_F(CoordinatorTest, CounterGoingBackwardsIsAnErrorNotZero) {
    make();
    add("a", 1);
    counter->push(500, kT0);
    counter->push(100, kT0 + 1000);
    const auto r = run_acked_epoch({"a"}, 1);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->find("went backwards from 500 to 100"), std::string::npos) << *r.error;
    EXPECT_NE(r.error->find("restarted"), std::string::npos) << *r.error;
    EXPECT_EQ(r.committed_before, "500");
    EXPECT_EQ(r.committed_after, "100");
    EXPECT_EQ(r.committed_delta, "0");
    EXPECT_EQ(r.tps, 0);
}

TEST_F(CoordinatorTest, AbsentSeriesReadsAsZero) {
    make();
    add("a", 1);
    counter->push(0, kT0, /*absent=*/true);
    counter->push(300, kT0 + 500);
    const auto r = run_acked_epoch({"a"}, 1);
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.committed_before, "0");
    EXPECT_EQ(r.committed_delta, "300");
    EXPECT_DOUBLE_EQ(r.tps, 600.0);
    EXPECT_EQ(r.extra["counterSeriesAbsentAtStart"], true);
}

TEST_F(CoordinatorTest, VerificationFailureAndVerifierException) {
    options.verify = true;
    make();
    add("a", 1);
    verifier->outcome = {false, "spacetimedb verification failed: total_balance mismatch"};
    counter->push(0, kT0);
    counter->push(1, kT0 + 1000);
    auto r = run_acked_epoch({"a"}, 1);
    EXPECT_EQ(r.verification, "failed");
    EXPECT_EQ(r.verification_error, "spacetimedb verification failed: total_balance mismatch");
    EXPECT_FALSE(r.error);

    verifier->throw_message = "cannot reach ws://127.0.0.1:3000";
    counter->push(1, kT0 + 2000);
    counter->push(2, kT0 + 3000);
    r = run_acked_epoch({"a"}, 2);
    EXPECT_EQ(r.verification, "failed");
    ASSERT_TRUE(r.verification_error);
    EXPECT_NE(r.verification_error->find("cannot reach ws://127.0.0.1:3000"), std::string::npos);
}

// Log lines quote labels and the server's error texts; neither may write a
// control byte to the log (a forged second line, a terminal escape).
TEST_F(CoordinatorTest, LogLinesAreOnePrintableLineEach) {
    options.stop_ack_timeout_seconds = 0.01;
    std::mutex m;
    std::vector<std::string> lines;
    c = std::make_unique<Coordinator>(
        options, counter, verifier, [] { return kT0; },
        [&](const std::string& line) {
            std::lock_guard lock(m);
            lines.push_back(line);
        });
    add("a", 1);
    counter->fail_begin("server said \x1b[31m\nepoch=1 tps=1 verification=passed");
    control::StartEpochRequest request;
    request.label = "l\x1b]0;x\x07";
    ASSERT_TRUE(c->start_epoch(request).started);
    wait_result(1);
    c.reset();  // joins the runner: every line is in
    std::string all;
    for (const auto& line : lines) {
        all += line + "\n";
        for (const char ch : line) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << int(ch) << " in " << line;
    }
    EXPECT_NE(all.find("label=l\\x1B]0;x\\x07"), std::string::npos) << all;
    EXPECT_NE(all.find("server said \\x1B[31m\\x0Aepoch=1 tps=1 verification=passed"), std::string::npos) << all;
}

TEST_F(CoordinatorTest, UnknownDatabaseAtEpochStartIsAnEpochError) {
    options.stop_ack_timeout_seconds = 0.01;
    make();
    add("a", 1);
    counter->fail_begin("cannot resolve database \"nope\" on ws://127.0.0.1:3000: not found");
    ASSERT_TRUE(c->start_epoch({}).started);
    const auto r = wait_result(1);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->rfind("cannot resolve database \"nope\"", 0), 0u) << *r.error;
    EXPECT_EQ(result_files().size(), 1u);
}

TEST_F(CoordinatorTest, CounterReadFailureIsAnEpochError) {
    make();
    add("a", 1);
    counter->push(7, kT0);  // the second read has nothing queued and throws
    const auto r = run_acked_epoch({"a"}, 1);
    EXPECT_EQ(r.error, "fake counter: no value queued");
    EXPECT_EQ(r.committed_before, "7");
    EXPECT_EQ(r.committed_delta, "0");
}

TEST_F(CoordinatorTest, StopEpochClosesTheWindowEarlyAndMarksTheResult) {
    options.window_seconds = 600;  // only the abort can end this test quickly
    make();
    add("a", 1);
    counter->push(100, kT0);
    counter->push(160, kT0 + 3000);
    EXPECT_FALSE(c->stop_epoch().stopping);
    EXPECT_EQ(c->stop_epoch().message, "No epoch is running");
    ASSERT_TRUE(start_acked({"a"}));
    ASSERT_TRUE(wait_phase(Phase::Measure));
    const auto stop = c->stop_epoch();
    EXPECT_TRUE(stop.stopping);
    EXPECT_EQ(stop.message, "Epoch 1 stop requested");
    ASSERT_TRUE(stop_acked({"a"}));
    const auto r = wait_result(1);
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.extra["aborted"], true);
    EXPECT_EQ(r.committed_delta, "60");
    EXPECT_DOUBLE_EQ(r.tps, 20.0);
}

TEST_F(CoordinatorTest, StopEpochBeforeTheWindowOpensIsAnError) {
    options.stop_ack_timeout_seconds = 0.01;
    make();
    add("a", 1);
    ASSERT_TRUE(c->start_epoch({}).started);
    EXPECT_TRUE(c->stop_epoch().stopping);
    const auto r = wait_result(1);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->rfind("Epoch aborted before the measurement window opened", 0), 0u) << *r.error;
    EXPECT_EQ(r.extra["aborted"], true);
    EXPECT_EQ(counter->reads(), 0);
}

TEST_F(CoordinatorTest, ShutdownDuringAnEpochStillWritesTheResult) {
    options.window_seconds = 600;
    make();
    add("a", 1);
    counter->push(1, kT0);
    counter->push(2, kT0 + 1000);
    ASSERT_TRUE(start_acked({"a"}));
    ASSERT_TRUE(wait_phase(Phase::Measure));
    c->shutdown();
    const auto s = c->state();
    EXPECT_FALSE(s.current_epoch);
    ASSERT_TRUE(s.last_result);
    EXPECT_EQ(s.last_result->extra["aborted"], true);
    EXPECT_EQ(s.last_result->committed_delta, "1");
    EXPECT_EQ(result_files().size(), 1u);
    EXPECT_EQ(c->start_epoch({}).message, "Coordinator is shutting down");
}

TEST_F(CoordinatorTest, LateGeneratorJoinsTheNextEpoch) {
    make();
    add("a", 1);
    counter->push(0, kT0);
    counter->push(1, kT0 + 1000);
    ASSERT_TRUE(c->start_epoch({}).started);
    add("late", 9);
    c->started({"a", 1, {}});
    ASSERT_TRUE(stop_acked({"a"}));
    EXPECT_EQ(wait_result(1).participant_ids, (std::vector<std::string>{"a"}));
    counter->push(1, kT0 + 2000);
    counter->push(2, kT0 + 3000);
    const auto r = run_acked_epoch({"a", "late"}, 2);
    EXPECT_EQ(r.participant_ids, (std::vector<std::string>{"a", "late"}));
    EXPECT_EQ(r.participant_connections, 10u);
}

TEST_F(CoordinatorTest, WatchAnswersAtOnceOnChangeOrAtTheDeadline) {
    make();
    const auto v = c->state().version;
    // Different version: immediate, on this thread.
    bool immediate = false;
    c->watch(v - 1, 30000ms, [&](const control::CoordinatorState& s) {
        immediate = true;
        EXPECT_EQ(s.version, v);
    });
    EXPECT_TRUE(immediate);

    // Same version: answered when something changes.
    std::promise<control::CoordinatorState> changed;
    c->watch(v, 30000ms, [&](const control::CoordinatorState& s) { changed.set_value(s); });
    auto f = changed.get_future();
    EXPECT_EQ(f.wait_for(0ms), std::future_status::timeout);
    c->register_generator({"g", "h", 1});
    ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
    EXPECT_GT(f.get().version, v);

    // Nothing changes: answered at the deadline with the same version.
    const auto v2 = c->state().version;
    std::promise<control::CoordinatorState> timed_out;
    c->watch(v2, 5ms, [&](const control::CoordinatorState& s) { timed_out.set_value(s); });
    auto f2 = timed_out.get_future();
    ASSERT_EQ(f2.wait_for(2s), std::future_status::ready);
    EXPECT_EQ(f2.get().version, v2);

    // A touch (GET /state?id=) records contact without waking pollers.
    c->state(std::string("g"));
    EXPECT_EQ(c->state().version, v2);
}

// ---- HTTP routes, called without a socket ---------------------------------

namespace {

struct Answer {
    unsigned status = 0;
    control::Json body;
    net::HttpResponse raw;
};

net::HttpRequest request(std::string method, std::string target, std::string body = "") {
    net::HttpRequest r;
    r.method = std::move(method);
    r.target = target;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    r.body = std::move(body);
    return r;
}

std::future<Answer> call_async(const net::RequestHandler& h, net::HttpRequest req) {
    auto p = std::make_shared<std::promise<Answer>>();
    auto f = p->get_future();
    h(std::move(req), [p](net::HttpResponse res) {
        Answer a;
        a.status = res.status;
        a.body = control::Json::parse(res.body);
        a.raw = std::move(res);
        p->set_value(std::move(a));
    });
    return f;
}

Answer call(const net::RequestHandler& h, std::string method, std::string target, std::string body = "") {
    auto f = call_async(h, request(std::move(method), std::move(target), std::move(body)));
    EXPECT_EQ(f.wait_for(2s), std::future_status::ready);
    return f.get();
}

}  // namespace

TEST_F(CoordinatorTest, RoutesAnswerLikeTheOriginal) {
    make();
    const auto h = make_http_handler(*c);
    auto a = call(h, "GET", "/healthz");
    EXPECT_EQ(a.status, 200u);
    // The original's {"ok": true} first, then our addition (whether the
    // data routes need a token, for the dashboard).
    EXPECT_EQ(a.body, control::Json({{"ok", true}, {"authRequired", false}}));
    EXPECT_EQ(a.raw.content_type, "application/json; charset=utf-8");
    EXPECT_EQ(a.raw.body, "{\n  \"ok\": true,\n  \"authRequired\": false\n}\n");

    a = call(h, "GET", "/nope");
    EXPECT_EQ(a.status, 404u);
    EXPECT_EQ(a.body["error"], "Unknown route: GET /nope");
    a = call(h, "GET", "/register");
    EXPECT_EQ(a.status, 405u);
    EXPECT_EQ(a.body["error"], "Method GET not allowed on /register; use POST");

    a = call(h, "POST", "/register", "");
    EXPECT_EQ(a.status, 400u);
    EXPECT_EQ(a.body["error"], "Request body is empty");
    a = call(h, "POST", "/ready", R"({"id":"ghost","openedConnections":1})");
    EXPECT_EQ(a.status, 400u);
    EXPECT_EQ(a.body["error"], "Unknown generator \"ghost\"");

    a = call(h, "POST", "/register", R"({"id":"g1","hostname":"h1","desiredConnections":4})");
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.body["generators"][0]["localState"], "registered");
    a = call(h, "POST", "/admin/start-epoch");
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.body["started"], false);
    EXPECT_EQ(a.body["message"], "No ready generators available for the next epoch");
    call(h, "POST", "/ready", R"({"id":"g1","openedConnections":4})");

    a = call(h, "POST", "/admin/exclude", R"({"generatorIds":["g1"]})");
    EXPECT_EQ(a.body["generators"][0]["included"], false);
    a = call(h, "POST", "/admin/include", R"({"generatorIds":["g2"]})");
    EXPECT_EQ(a.status, 400u);
    EXPECT_EQ(a.body["error"], "Unknown generator \"g2\"");
    call(h, "POST", "/admin/include", R"({"generatorIds":["g1"]})");
    a = call(h, "GET", "/admin/generators");
    EXPECT_EQ(a.body["generators"][0]["id"], "g1");
    EXPECT_EQ(a.body["generators"][0]["included"], true);

    a = call(h, "POST", "/started", R"({"id":"g1","epoch":1})");
    EXPECT_EQ(a.status, 400u);
    EXPECT_EQ(a.body["error"], "Generator \"g1\" acknowledged unexpected epoch 1");

    a = call(h, "POST", "/admin/start-epoch", R"({"label":"x","generatorIds":["zz"]})");
    EXPECT_EQ(a.body["message"], "Requested generators are not ready: zz");
    a = call(h, "POST", "/admin/start-epoch", R"({"label":5})");
    EXPECT_EQ(a.status, 400u);
    // Stop the runner quickly: abort before the window opens.
    a = call(h, "POST", "/admin/start-epoch", "  ");
    EXPECT_EQ(a.body["started"], true);
    EXPECT_EQ(a.body["message"], "Epoch 1 started");
    EXPECT_EQ(a.body["state"]["phase"], "starting");
    EXPECT_EQ(a.body["state"]["participants"], control::Json::array({"g1"}));
    a = call(h, "POST", "/admin/start-epoch");
    EXPECT_EQ(a.body["message"], "Coordinator is busy in phase starting");
    a = call(h, "POST", "/admin/stop-epoch");
    EXPECT_EQ(a.body["stopping"], true);
    EXPECT_EQ(a.body["message"], "Epoch 1 stop requested");
    ASSERT_TRUE(wait_phase(Phase::Stop));
    a = call(h, "POST", "/stopped", R"({"id":"g1","epoch":1})");
    EXPECT_EQ(a.status, 200u);
    wait_result(1);
    a = call(h, "GET", "/admin/status");
    EXPECT_EQ(a.body["phase"], "idle");
    EXPECT_EQ(a.body["lastResult"]["epoch"], 1);
    EXPECT_EQ(a.body["lastResult"]["aborted"], true);
}

TEST_F(CoordinatorTest, StateRouteLongPolls) {
    make();
    const auto h = make_http_handler(*c);
    const auto v = call(h, "GET", "/state").body["version"].get<std::uint64_t>();

    // Different version: answered at once.
    auto a = call(h, "GET", "/state?since=0&waitMs=30000");
    EXPECT_EQ(a.body["version"], v);

    // Same version: held until a change, without holding the caller.
    auto pending = call_async(h, request("GET", "/state?since=" + std::to_string(v) + "&waitMs=30000"));
    EXPECT_EQ(pending.wait_for(0ms), std::future_status::timeout);
    call(h, "POST", "/register", R"({"id":"g1","hostname":"h1","desiredConnections":4})");
    ASSERT_EQ(pending.wait_for(2s), std::future_status::ready);
    const auto changed = pending.get();
    EXPECT_EQ(changed.status, 200u);
    EXPECT_GT(changed.body["version"].get<std::uint64_t>(), v);

    // Deadline.
    const auto v2 = changed.body["version"].get<std::uint64_t>();
    a = call(h, "GET", "/state?since=" + std::to_string(v2) + "&waitMs=5&id=g1");
    EXPECT_EQ(a.body["version"], v2);

    a = call(h, "GET", "/state?since=abc");
    EXPECT_EQ(a.status, 400u);
    EXPECT_EQ(a.body["error"], "query parameter \"since\" must be a non-negative integer, got \"abc\"");
}

// ---- manifest and workload checks ------------------------------------------

namespace {

control::Json workload_json(double alpha) {
    return control::Json{
        {"alpha", alpha},       {"accounts", 1000},      {"pairMode", "zipf"},        {"maxInflight", 1},
        {"rateMode", "closed"}, {"compression", "none"}, {"confirmedReads", nullptr}, {"protocol", "auto"}};
}

std::string register_body(const std::string& id, double alpha, int concurrency, bool applies_load = false) {
    control::RegisterRequest r{id, id + "-host", static_cast<std::uint64_t>(concurrency)};
    r.extra["manifest"] = control::Json{{"toolVersion", std::string(control::tool_version())},
                                        {"hostname", id + ".example"},
                                        {"pid", 4242},
                                        {"startedAt", "2026-04-10T11:59:00.000Z"},
                                        {"options", {{"concurrency", concurrency}, {"threads", 2}}},
                                        {"workload", workload_json(alpha)}};
    if (applies_load) r.extra["manifest"]["appliesEpochLoad"] = true;
    return control::to_json(r).dump();
}

std::string ready_body(const std::string& id, int opened) {
    return control::Json{{"id", id}, {"openedConnections", opened}, {"negotiatedProtocol", "v3.bsatn.spacetimedb"}}
        .dump();
}

// A current generator over HTTP: /register with its manifest, then /ready.
void join(const net::RequestHandler& h, const std::string& id, double alpha, int concurrency,
          bool applies_load = false) {
    EXPECT_EQ(call(h, "POST", "/register", register_body(id, alpha, concurrency, applies_load)).status, 200u);
    EXPECT_EQ(call(h, "POST", "/ready", ready_body(id, concurrency)).status, 200u);
}

}  // namespace

TEST_F(CoordinatorTest, DifferingWorkloadsAreRefusedWith409) {
    make();
    const auto h = make_http_handler(*c);
    join(h, "a", 1.5, 8);
    join(h, "b", 0.5, 32);
    auto a = call(h, "POST", "/admin/start-epoch", R"({"label":"mix"})");
    EXPECT_EQ(a.status, 409u);
    EXPECT_EQ(a.body["started"], false);
    const auto message = a.body["message"].get<std::string>();
    EXPECT_EQ(message,
              "Refusing to start: the participants' workloads differ -- \"alpha\": 1.5 on a vs 0.5 on b. Start every "
              "generator with the same options, or run bench-dist-coordinator with --allow-mixed.");
    EXPECT_EQ(a.body["error"], message);
    EXPECT_EQ(a.body["state"]["phase"], "idle");
    EXPECT_EQ(a.body["workloadDifferences"][0]["key"], "alpha");
    EXPECT_EQ(a.body["workloadDifferences"][0]["values"][1]["generatorIds"], control::Json::array({"b"}));
    // The body still reads as a StartEpochResponse.
    EXPECT_FALSE(control::start_epoch_response_from_json(a.body).started);
    EXPECT_TRUE(result_files().empty());

    // A generator that restarts with the same options resolves it.
    join(h, "b", 1.5, 32);
    a = call(h, "POST", "/admin/start-epoch", R"({"label":"same"})");
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.body["started"], true);
    EXPECT_TRUE(c->stop_epoch().stopping);
    ASSERT_TRUE(stop_acked({"a", "b"}));
    const auto r = wait_result(1);
    EXPECT_EQ(r.extra["manifest"]["workload"], workload_json(1.5));
}

TEST_F(CoordinatorTest, ResultCarriesTheManifest) {
    options.hostname = "coord-host";
    options.server_url = "ws://db.internal:3000";
    options.database = "test-1";
    options.other_options = {{"bind", "127.0.0.1"}, {"port", 8080}, {"windowSeconds", 999}};
    counter->set_identity("c200aabb");
    make();
    const auto h = make_http_handler(*c);
    join(h, "a", 1.5, 8);
    join(h, "b", 1.5, 32);
    counter->push(100, kT0 + 10);
    counter->push(200, kT0 + 1010);
    const auto r = run_acked_epoch({"a", "b"}, 1);
    ASSERT_TRUE(r.extra.contains("manifest"));
    const auto& m = r.extra["manifest"];
    EXPECT_EQ(std::prev(r.extra.end()).key(), "manifest") << "after every other addition";
    EXPECT_EQ(m["toolVersion"], std::string(control::tool_version()));
    EXPECT_EQ(m["coordinator"]["hostname"], "coord-host");
    EXPECT_EQ(m["coordinator"]["windowSeconds"], 0.005) << "other_options never override the real values";
    EXPECT_EQ(m["coordinator"]["allowMixed"], false);
    EXPECT_EQ(m["coordinator"]["sampleMs"], 1000);
    EXPECT_EQ(m["coordinator"]["bind"], "127.0.0.1");
    EXPECT_EQ(m["coordinator"]["port"], 8080);
    EXPECT_EQ(m["server"], (control::Json{{"url", "ws://db.internal:3000"},
                                          {"database", "test-1"},
                                          {"databaseIdentity", "c200aabb"}}));
    EXPECT_EQ(m["startedAt"], "2026-04-10T12:00:00.000Z");
    EXPECT_EQ(m["generators"]["a"]["hostname"], "a.example");
    EXPECT_EQ(m["generators"]["b"]["options"]["concurrency"], 32) << "concurrency may differ";
    EXPECT_EQ(m["generators"]["b"]["negotiatedProtocol"], "v3.bsatn.spacetimedb");
    EXPECT_EQ(m["workload"], workload_json(1.5));
    for (const auto& w : r.extra["warnings"]) {
        EXPECT_EQ(w.get<std::string>().find("workload"), std::string::npos) << w;
    }
    // The written file has it too.
    const auto files = result_files();
    ASSERT_EQ(files.size(), 1u);
    std::ifstream in(files[0]);
    EXPECT_EQ(control::Json::parse(in)["manifest"], m);
}

TEST_F(CoordinatorTest, AllowMixedStartsAndWarnsInTheResult) {
    options.allow_mixed = true;
    make();
    const auto h = make_http_handler(*c);
    join(h, "a", 1.5, 8);
    join(h, "b", 0.5, 8);
    counter->push(0, kT0);
    counter->push(10, kT0 + 1000);
    const auto r = run_acked_epoch({"a", "b"}, 1);
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.extra["manifest"]["workload"], nullptr);
    EXPECT_EQ(r.extra["manifest"]["coordinator"]["allowMixed"], true);
    EXPECT_EQ(r.extra["manifest"]["generators"]["b"]["workload"]["alpha"], 0.5);
    const auto& warnings = r.extra["warnings"];
    ASSERT_TRUE(warnings.is_array());
    // The summary's own warnings come first (neither generator sent intervals).
    ASSERT_GE(warnings.size(), 1u);
    EXPECT_EQ(warnings.back(),
              "the participants' workloads differ (the epoch was started with --allow-mixed, so its numbers mix "
              "them): \"alpha\": 1.5 on a vs 0.5 on b");
}

// ---- per-epoch load ----------------------------------------------------------

TEST_F(CoordinatorTest, ALoadSomeParticipantCannotRunIsRefusedWith409NamingEach) {
    make();
    const auto h = make_http_handler(*c);
    join(h, "a", 1.5, 8, true);
    join(h, "b", 1.5, 32);  // does not apply per-epoch load
    const auto a = call(h, "POST", "/admin/start-epoch", R"({"load": {"connectionsPerGenerator": 16}})");
    EXPECT_EQ(a.status, 409u);
    EXPECT_EQ(a.body["started"], false);
    const auto message = a.body["message"].get<std::string>();
    EXPECT_EQ(message,
              "Refusing to start: the epoch's load cannot be applied -- b does not apply per-epoch load: it is the "
              "original harness's generator or an older bench-dist-generator; leave it out with --generator-ids or "
              "exclude it; a's share is 16 active connections but it opened 8; ask for at most 8 connections per "
              "generator, start a with a larger --concurrency, or leave it out with --generator-ids.");
    EXPECT_EQ(a.body["error"], message);
    EXPECT_EQ(a.body["loadRefusals"].size(), 2u);
    EXPECT_EQ(a.body["loadRefusals"][0]["generator"], "b");
    EXPECT_EQ(a.body["state"]["phase"], "idle");
    EXPECT_FALSE(control::start_epoch_response_from_json(a.body).started);
    EXPECT_TRUE(result_files().empty());
    // Without a load, the same fleet starts as before.
    EXPECT_EQ(call(h, "POST", "/admin/start-epoch", "{}").status, 200u);
    EXPECT_TRUE(c->stop_epoch().stopping);
    ASSERT_TRUE(stop_acked({"a", "b"}));
    wait_result(1);
}

// The epoch runs its own window (the coordinator's is a minute), publishes
// each share until it ends, starts although the generators registered
// different alphas (the load sets it), and records all of it.
TEST_F(CoordinatorTest, AnEpochRunsItsOwnLoadAndTimingAndRecordsThem) {
    options.window_seconds = 60;
    make();
    const auto h = make_http_handler(*c);
    join(h, "a", 1.5, 8, true);
    join(h, "b", 0.5, 32, true);
    counter->push(100, kT0 + 10);
    counter->push(200, kT0 + 60);
    const auto started = call(h, "POST", "/admin/start-epoch",
                              R"({"label": "grid-1", "load": {"connections": 10, "rate": 100, "alpha": 1},
                                  "windowSeconds": 0.05})");
    ASSERT_EQ(started.status, 200u) << started.body;
    EXPECT_EQ(started.body["state"]["currentLoad"],
              (control::Json{{"a", {{"connections", 2}, {"rate", 20}, {"alpha", 1}}},
                             {"b", {{"connections", 8}, {"rate", 80}, {"alpha", 1}}}}));
    const auto view = call(h, "GET", "/state?id=b&view=self");
    EXPECT_EQ(view.body["load"], (control::Json{{"connections", 8}, {"rate", 80}, {"alpha", 1}}));
    c->started({"a", 1, {}});
    c->started({"b", 1, {}});
    ASSERT_TRUE(wait_phase(Phase::Stop)) << "the epoch's 0.05 s window, not the coordinator's 60 s";
    for (const auto& [id, n, alpha] : {std::tuple{"a", 2, 1.0}, std::tuple{"b", 8, 0.5}}) {
        control::Json report = {
            {"settings", {{"connections", n}, {"alpha", alpha}, {"maxInflight", 1}, {"rate", n * 10}}},
            {"load", {{"mode", "open"}, {"maxInflight", 1}, {"connections", n}, {"ratePerSecond", n * 10}}}};
        c->stopped({id, 1, report});
    }
    const auto r = wait_result(1);
    EXPECT_EQ(r.window_seconds, 0.05);
    EXPECT_EQ(r.participant_connections, 10u) << "what ran, not the 40 opened";
    EXPECT_EQ(r.extra["epochLoad"]["request"], (control::Json{{"connections", 10}, {"rate", 100}, {"alpha", 1}}));
    EXPECT_EQ(r.extra["epochLoad"]["assignments"]["b"]["connections"], 8);
    EXPECT_EQ(r.extra["epochLoad"]["windowSeconds"], 0.05);
    EXPECT_EQ(r.extra["manifest"]["coordinator"]["windowSeconds"], 0.05);
    EXPECT_EQ(r.extra["manifest"]["workload"]["alpha"], 1.0);
    EXPECT_EQ(r.extra["manifest"]["workload"]["rateMode"], "open");
    // b ran its own alpha: the one reason.
    EXPECT_EQ(r.extra["verdict"], "invalid");
    ASSERT_EQ(r.extra["reasons"].size(), 1u) << r.extra["reasons"];
    EXPECT_EQ(r.extra["reasons"][0]["code"], "load_not_applied");
    EXPECT_EQ(r.extra["reasons"][0]["generator"], "b");
    EXPECT_EQ(r.extra["reasons"][0]["field"], "alpha");
    // The shares are gone with the epoch.
    EXPECT_FALSE(call(h, "GET", "/state?id=b&view=self").body.contains("load"));
    EXPECT_FALSE(call(h, "GET", "/state").body.contains("currentLoad"));
}

TEST_F(CoordinatorTest, OlderGeneratorsWithoutManifestStillStartEpochs) {
    options.hostname = "coord-host";
    make();
    add("a", 3);  // no manifest, no negotiatedProtocol
    const auto h = make_http_handler(*c);
    join(h, "b", 1.5, 8);
    counter->push(0, kT0);
    counter->push(10, kT0 + 1000);
    const auto r = run_acked_epoch({"a", "b"}, 1);
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.committed_delta, "10");
    const auto& m = r.extra["manifest"];
    EXPECT_EQ(m["workload"], nullptr);
    EXPECT_EQ(m["generators"]["a"], (control::Json{{"hostname", "a-host"},
                                                   {"toolVersion", nullptr},
                                                   {"options", nullptr},
                                                   {"workload", nullptr},
                                                   {"negotiatedProtocol", nullptr}}));
    EXPECT_EQ(m["server"]["databaseIdentity"], nullptr) << "the fake resolved none";
    bool warned = false;
    for (const auto& w : r.extra["warnings"])
        warned = warned || w.get<std::string>().rfind("generator a sent no workload manifest", 0) == 0;
    EXPECT_TRUE(warned) << r.extra["warnings"];
}

// Liveness, with a fake monotonic clock: check_leases() stands in for the
// lease timer firing.
class CoordinatorLeaseTest : public CoordinatorTest {
protected:
    std::shared_ptr<std::atomic<std::int64_t>> mono = std::make_shared<std::atomic<std::int64_t>>(0);
    void make_with_lease(double seconds) {
        options.lease_seconds = seconds;
        c = std::make_unique<Coordinator>(
            options, counter, verifier, [] { return kT0; }, EventLog{}, [m = mono] { return m->load(); });
    }
    control::GeneratorState state_of(const std::string& id) {
        for (const auto& g : c->generators())
            if (g.id == id) return g.local_state;
        return control::GeneratorState::Registered;
    }
};

TEST_F(CoordinatorLeaseTest, StatePublishesTheLeaseAndCapsGeneratorPolls) {
    make_with_lease(9);
    EXPECT_EQ(c->state().lease_seconds, 9.0);
    EXPECT_EQ(control::to_json(c->state())["leaseSeconds"], 9);
    EXPECT_EQ(c->max_generator_wait(), 3000ms);
}

TEST_F(CoordinatorLeaseTest, ParticipantLostDuringMeasureFlagsTheEpochAtOnceAndIsNotAwaited) {
    options.window_seconds = 60;  // ended by stop-epoch once the loss is seen
    make_with_lease(10);
    add("a", 1);
    add("b", 1);
    counter->push(100, kT0);
    counter->push(300, kT0 + 1000);
    ASSERT_TRUE(start_acked({"a", "b"}));
    ASSERT_TRUE(wait_phase(Phase::Measure));
    mono->store(5000);
    c->state("a");  // a polls; b stays silent
    mono->store(10500);
    c->check_leases();
    const auto s = c->state();
    EXPECT_EQ(s.current_epoch_errors, (std::vector<std::string>{"generator b lost: silent for 10.5 s during measure"}));
    EXPECT_EQ(state_of("b"), control::GeneratorState::Lost);
    EXPECT_EQ(s.phase, Phase::Measure) << "the window runs on for the others";
    // The stop-ack wait (5 s here) does not wait for b: the result comes at once.
    EXPECT_TRUE(c->stop_epoch().stopping);
    ASSERT_TRUE(stop_acked({"a"}));
    const auto r = wait_result(1);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(*r.error, "generator b lost: silent for 10.5 s during measure");
    EXPECT_EQ(r.committed_delta, "200");

    // Lost: refused by name, left out by default; back when it speaks.
    const auto named = c->start_epoch({std::nullopt, std::vector<std::string>{"b"}});
    EXPECT_FALSE(named.started);
    EXPECT_NE(named.message.find("lost"), std::string::npos) << named.message;
    c->state("b");
    EXPECT_EQ(state_of("b"), control::GeneratorState::Ready);
}

TEST_F(CoordinatorLeaseTest, ParticipantLostBeforeStartingEndsTheStartWaitEarly) {
    options.start_ack_timeout_seconds = 60;
    make_with_lease(10);
    add("a", 1);
    add("b", 1);
    ASSERT_TRUE(c->start_epoch({}).started);
    mono->store(4000);
    c->started({"a", 1, {}});
    mono->store(10001);
    c->check_leases();
    ASSERT_TRUE(stop_acked({"a"}));
    const auto r = wait_result(1);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->rfind("generator b lost: silent for 10.0 s during starting; ", 0), 0u) << *r.error;
    EXPECT_NE(r.error->find("not measured"), std::string::npos) << *r.error;
    EXPECT_EQ(counter->reads(), 0) << "no window was opened";
}

TEST_F(CoordinatorLeaseTest, LongPollCountsAsContactAtItsStartAndItsEnd) {
    make_with_lease(10);
    add("a", 1);
    mono->store(8000);
    std::promise<void> answered;
    c->watch(
        c->state().version, 300ms, [&](const control::CoordinatorState&) { answered.set_value(); }, std::string("a"));
    mono->store(9000);
    ASSERT_EQ(answered.get_future().wait_for(5s), std::future_status::ready);
    // Heard at 9000 (the answer), so still alive at 19000, lost after.
    mono->store(19000);
    c->check_leases();
    EXPECT_EQ(state_of("a"), control::GeneratorState::Ready);
    mono->store(19001);
    c->check_leases();
    EXPECT_EQ(state_of("a"), control::GeneratorState::Lost);
}

TEST_F(CoordinatorLeaseTest, LeaseZeroNeverLosesAnyone) {
    make_with_lease(0);
    add("a", 1);
    mono->store(1000000000);
    c->check_leases();
    EXPECT_EQ(state_of("a"), control::GeneratorState::Ready);
    EXPECT_FALSE(c->state().lease_seconds);
}

TEST_F(CoordinatorTest, CounterDropAtASampleIsARestartEvenWhenTheEndReadClimbedPast) {
    control::EpochResult r;
    ASSERT_NO_FATAL_FAILURE(run_sampled_epoch(40, 5000, r));  // 40: the server restarted
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->find("went backwards from 1500 to 40 2000 ms into the window"), std::string::npos) << *r.error;
    EXPECT_NE(r.error->find("restarted"), std::string::npos) << *r.error;
    EXPECT_EQ(r.committed_delta, "0");
    EXPECT_EQ(r.tps, 0);
}

TEST_F(CoordinatorTest, DroppedConnectionsInAReportAreNamedInTheWarnings) {
    make();
    add("a", 1);
    counter->push(0, kT0);
    counter->push(100, kT0 + 1000);
    ASSERT_TRUE(start_acked({"a"}));
    ASSERT_TRUE(wait_phase(Phase::Stop));
    control::Json report{
        {"counters",
         {{"attempted", 10}, {"committed", 8}, {"disconnects", 2}, {"reopened", 1}, {"reopenFailures", 3}}}};
    c->stopped({"a", 1, report});
    const auto r = wait_result(1);
    ASSERT_TRUE(r.extra.contains("warnings")) << control::pretty(control::to_json(r));
    bool named = false;
    for (const auto& w : r.extra["warnings"])
        named = named || w.get<std::string>().find(
                             "generator a: connections dropped during the epoch (2 calls lost "
                             "as disconnects, 1 connections reopened, 3 reopen attempts failed)") != std::string::npos;
    EXPECT_TRUE(named) << r.extra["warnings"].dump();
}

// ---- the original harness's first revision (--original-revision first) ----

TEST_F(CoordinatorTest, FirstRevisionEpochRunsWarmupThenMeasureWithoutStartAcknowledgements) {
    options.revision = OriginalRevision::First;
    options.warmup_seconds = 0.05;
    make();
    add("a", 30);
    counter->push(1000, kT0 + 10);
    counter->push(3000, kT0 + 2010);
    const auto r0 = c->start_epoch({});
    ASSERT_TRUE(r0.started) << r0.message;
    // The first revision's phase from the start: generators start on it.
    EXPECT_EQ(r0.state.phase, Phase::Warmup);
    ASSERT_EQ(c->generators().size(), 1u);
    EXPECT_EQ(c->generators()[0].local_state, control::GeneratorState::Running);
    // No /started from anyone, and still the window opens and closes.
    ASSERT_TRUE(stop_acked({"a"}));
    const auto r = wait_result(1);
    EXPECT_FALSE(r.error) << *r.error;
    EXPECT_EQ(r.committed_delta, "2000");
    EXPECT_EQ(r.extra["warmupSeconds"], 0.05);
    EXPECT_EQ(r.extra["manifest"]["coordinator"]["originalRevision"], "first");
}

TEST_F(CoordinatorTest, FirstRevisionResultsCarryWarmupSecondsEvenWhenZero) {
    options.revision = OriginalRevision::First;
    make();
    add("a", 1);
    counter->push(10, kT0 + 10);
    counter->push(20, kT0 + 2010);
    ASSERT_TRUE(c->start_epoch({}).started);
    ASSERT_TRUE(stop_acked({"a"}));
    const auto r = wait_result(1);
    EXPECT_FALSE(r.error) << *r.error;
    EXPECT_EQ(r.extra["warmupSeconds"], 0);
}

TEST_F(CoordinatorTest, FinalRevisionStillWaitsForTheStartBarrier) {
    options.start_ack_timeout_seconds = 0.05;
    make();
    add("a", 1);
    ASSERT_TRUE(c->start_epoch({}).started);
    EXPECT_EQ(c->state().phase, Phase::Starting);
    ASSERT_TRUE(stop_acked({"a"}));
    const auto r = wait_result(1);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(*r.error, "Missing start acknowledgements from: a");
}

TEST_F(CoordinatorLeaseTest, AnOriginalGeneratorIsNeverLostForSilenceBecauseItHoldsNoLease) {
    options.window_seconds = 60;
    make_with_lease(10);
    // The original harness registers with no manifest and polls /state
    // without its id: nothing renews a lease between /ready and /stopped.
    c->register_generator({"orig", "orig-host", 5});
    c->ready({"orig", 5});
    counter->push(100, kT0);
    counter->push(300, kT0 + 1000);
    ASSERT_TRUE(start_acked({"orig"}));
    ASSERT_TRUE(wait_phase(Phase::Measure));
    mono->store(120000);
    c->check_leases();
    EXPECT_EQ(state_of("orig"), control::GeneratorState::Running);
    EXPECT_TRUE(c->state().current_epoch_errors.empty());
    EXPECT_TRUE(c->stop_epoch().stopping);
    ASSERT_TRUE(stop_acked({"orig"}));
    const auto r = wait_result(1);
    EXPECT_FALSE(r.error) << *r.error;
}

TEST_F(CoordinatorTest, AutoWarmupOpensTheWindowOnceTheRateIsSteady) {
    // Reads every 10 ms of real time; the rates come from the reads' own
    // times, one second apart: 1000/s, then 2000/s twice (steady over 2 s).
    options.warmup_auto = true;
    options.stable_cv = 0.05;
    options.stable_seconds = 2;
    options.warmup_max_seconds = 30;
    options.warmup_read_ms = 10;
    make();
    add("a", 1);
    for (const auto& [committed, at] : std::vector<std::pair<std::uint64_t, std::int64_t>>{
             {0, 0}, {1000, 1000}, {3000, 2000}, {5000, 3000}, {5100, 3050}, {9100, 5050}})
        counter->push(committed, kT0 + at);
    const auto r = run_acked_epoch({"a"}, 1);
    // Four warmup reads; the window's edges are the last two.
    EXPECT_EQ(r.committed_before, "5100");
    EXPECT_EQ(r.committed_delta, "4000");
    ASSERT_TRUE(r.extra.contains("warmup")) << r.extra.dump();
    const auto& w = r.extra["warmup"];
    EXPECT_EQ(w["mode"], "auto");
    EXPECT_EQ(w["stable"], true);
    EXPECT_EQ(w["cv"], 0.0);
    EXPECT_EQ(w["rates"], control::Json::array({1000, 2000, 2000}));
    EXPECT_LT(w["seconds"].get<double>(), 30.0);
    EXPECT_EQ(r.extra["manifest"]["coordinator"]["warmupAuto"], true);
    EXPECT_EQ(r.extra["manifest"]["coordinator"]["stableSeconds"], 2.0);
    for (const auto& reason : r.extra["reasons"]) EXPECT_NE(reason["code"], "not_steady");
}

TEST_F(CoordinatorTest, AutoWarmupThatNeverSettlesOpensTheWindowAtTheCapAndIsNotSteady) {
    options.warmup_auto = true;
    options.stable_cv = 0.05;
    options.stable_seconds = 2;
    options.warmup_max_seconds = 0.1;
    options.warmup_read_ms = 10;
    make();
    add("a", 1);
    // Alternating 1000/s and 3000/s for longer than the cap can use; what
    // is left is read as the window's edges.
    std::uint64_t committed = 0;
    for (int i = 0; i < 200; ++i) {
        counter->push(committed, kT0 + 1000 * i);
        committed += i % 2 == 0 ? 1000 : 3000;
    }
    const auto r = run_acked_epoch({"a"}, 1);
    const auto& w = r.extra["warmup"];
    EXPECT_EQ(w["stable"], false) << w;
    EXPECT_GE(w["seconds"].get<double>(), 0.1);
    EXPECT_GE(w["rates"].size(), 1u);
    EXPECT_EQ(r.extra["verdict"], "invalid");
    bool not_steady = false;
    for (const auto& reason : r.extra["reasons"]) not_steady = not_steady || reason["code"] == "not_steady";
    EXPECT_TRUE(not_steady) << r.extra["reasons"];
}

TEST_F(CoordinatorTest, AutoWarmupEndsAtOnceOnStopEpoch) {
    options.warmup_auto = true;
    options.warmup_max_seconds = 30;
    options.warmup_read_ms = 10;
    make();
    add("a", 1);
    for (int i = 0; i < 3000; ++i) counter->push(static_cast<std::uint64_t>(i) * 1000 * (i % 2 + 1), kT0 + 1000 * i);
    ASSERT_TRUE(start_acked({"a"}));
    EXPECT_TRUE(c->stop_epoch().stopping);
    ASSERT_TRUE(stop_acked({"a"}));
    const auto r = wait_result(1);
    EXPECT_EQ(r.extra["aborted"], true);
    EXPECT_FALSE(r.extra.contains("warmup"));
}
