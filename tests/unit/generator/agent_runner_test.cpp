// The agent loop against a fake coordinator, a fake load and a fake clock:
// what it calls, in which order, what it reports, and how it exits -- no
// sockets and no sleeping (a wait only moves the fake clock).
#include "benchdist/generator/agent_runner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace benchdist::generator {
namespace {

using control::CoordinatorState;
using control::Json;
using control::Phase;
using std::chrono::milliseconds;
using Kind = CoordinatorError::Kind;

// Everything that happened, client calls and load events alike, in order.
using Events = std::vector<std::string>;

struct FakeClock final : AgentClock {
    Clock::time_point t = Clock::time_point{} + std::chrono::hours(1);
    std::vector<milliseconds> waits;
    bool stop = false;

    Clock::time_point now() override { return t; }
    bool wait_for(milliseconds d) override {
        waits.push_back(d);
        if (stop) return false;
        t += d;
        return true;
    }
    bool stop_requested() override { return stop; }
};

// The coordinator's compact view for this generator.
CoordinatorState view(Phase phase, std::optional<std::uint64_t> epoch, bool participant, std::uint64_t version) {
    CoordinatorState s;
    s.phase = phase;
    s.current_epoch = epoch;
    s.version = version;
    control::SelfView v;
    v.participant = participant;
    s.self = v;
    return s;
}

CoordinatorError unreachable(const std::string& route) {
    return CoordinatorError(Kind::Unreachable, route + " http://127.0.0.1:9/x: connection refused");
}

struct FakeClient final : ControlClient {
    FakeClient(Events& events, FakeClock& clock) : events_(events), clock_(clock) {}

    // Each handler gets how many calls of its route came before; the
    // defaults answer idle. A /state handler that is not given stops the
    // agent (as SIGINT would) so every test ends.
    std::function<CoordinatorState(int)> on_register, on_ready, on_started, on_stopped, on_state;
    std::vector<control::RegisterRequest> registers;
    std::vector<control::ReadyRequest> readies;
    std::vector<control::EpochAckRequest> starts, stops;
    std::vector<std::optional<std::uint64_t>> polled_since;
    std::vector<std::optional<std::chrono::steady_clock::time_point>> deadlines;
    std::optional<ControlExchange> exchange = ControlExchange{1000.0, 1002.0, 1011.0};
    std::string url = "http://127.0.0.1:9";

    CoordinatorState register_generator(const control::RegisterRequest& r) override {
        registers.push_back(r);
        return answer("register", on_register, registers.size());
    }
    CoordinatorState ready(const control::ReadyRequest& r) override {
        readies.push_back(r);
        return answer("ready", on_ready, readies.size());
    }
    CoordinatorState state(std::string_view) override {
        polled_since.push_back(std::nullopt);
        return poll();
    }
    CoordinatorState state(std::string_view, std::uint64_t since, milliseconds) override {
        polled_since.push_back(since);
        return poll();
    }
    CoordinatorState started(const control::EpochAckRequest& r) override {
        starts.push_back(r);
        return answer("started " + std::to_string(r.epoch), on_started, starts.size());
    }
    CoordinatorState stopped(const control::EpochAckRequest& r) override {
        stops.push_back(r);
        return answer("stopped " + std::to_string(r.epoch), on_stopped, stops.size());
    }
    const std::string& base_url() const override { return url; }
    void set_deadline(std::optional<std::chrono::steady_clock::time_point> d) override { deadlines.push_back(d); }
    const std::optional<ControlExchange>& last_exchange() const override { return exchange; }

private:
    CoordinatorState poll() {
        if (!on_state) {
            events_.push_back("state");
            clock_.stop = true;
            return view(Phase::Idle, std::nullopt, false, 1);
        }
        return answer("state", on_state, polled_since.size());
    }
    CoordinatorState answer(const std::string& event, const std::function<CoordinatorState(int)>& handler,
                            std::size_t count) {
        events_.push_back(event);
        if (!handler) return view(Phase::Idle, std::nullopt, false, 1);
        return handler(static_cast<int>(count) - 1);
    }

    Events& events_;
    FakeClock& clock_;
};

struct FakeLoad final : AgentLoad {
    explicit FakeLoad(Events& events) : events_(events) {}

    std::optional<std::uint64_t> running;
    LoadCounters load_counters;
    std::vector<stats::Interval> intervals;

    void open_connections() override { events_.push_back("open"); }
    void start(std::uint64_t epoch) override {
        events_.push_back("load start " + std::to_string(epoch));
        running = epoch;
        load_counters.attempted = 120;
        load_counters.committed = 118;
        load_counters.timeouts = 2;
        stats::Interval second;
        second.start_ms = 5000;
        second.totals.attempted = 120;
        second.totals.committed = 118;
        for (int i = 0; i < 118; ++i) second.totals.latency.record(900);
        second.totals.failures.timeouts = 2;
        intervals = {second};
    }
    bool stop() override {
        events_.push_back("load stop");
        running.reset();
        return true;
    }
    LoadCounters counters() const override { return load_counters; }
    std::vector<stats::Interval> take_intervals() override { return std::exchange(intervals, {}); }
    std::optional<std::int64_t> load_started_unix_ms() const override { return 5000; }
    std::optional<std::int64_t> load_stopped_unix_ms() const override { return 6000; }
    std::optional<std::uint64_t> running_epoch() const override { return running; }
    std::size_t live_connections() const override { return 4; }
    std::optional<stdb::ProtocolVersion> negotiated_protocol() const override { return stdb::ProtocolVersion::V3; }
    void close_all() override { events_.push_back("close"); }

private:
    Events& events_;
};

GeneratorConfig test_config() {
    GeneratorConfig c;
    c.id = "gen-a";
    c.hostname = "load-1";
    c.concurrency = 4;
    c.endpoint = stdb::parse_endpoint("ws://127.0.0.1:3000");
    c.poll_ms = 500;
    c.long_poll_ms = 1000;
    c.lease_seconds = 4;
    return c;
}

struct Rig {
    GeneratorConfig config = test_config();
    Events events;
    FakeClock clock;
    FakeClient client{events, clock};
    FakeLoad load{events};
    std::vector<std::string> logs;
    std::vector<std::string> errors;

    int run() {
        control::RegisterManifest manifest;
        manifest.tool_version = "0.1.0";
        manifest.workload = config.workload_json();
        AgentRunner runner(config, manifest, client, load, clock,
                           AgentSinks{[this](const std::string& s) { logs.push_back(s); },
                                      [this](const std::string& s) { errors.push_back(s); }},
                           7);
        return runner.run();
    }
    bool logged(const std::string& part) const {
        return std::any_of(logs.begin(), logs.end(),
                           [&](const std::string& s) { return s.find(part) != std::string::npos; });
    }
    std::size_t position(const std::string& event) const {
        return static_cast<std::size_t>(std::find(events.begin(), events.end(), event) - events.begin());
    }
};

// The states of one epoch from this generator's view: starting, measure,
// then stop. `then` answers every later poll.
std::function<CoordinatorState(int)> one_epoch(std::function<CoordinatorState(int)> then) {
    return [then](int n) {
        if (n == 0) return view(Phase::Starting, 1, true, 2);
        if (n == 1) return view(Phase::Measure, 1, true, 3);
        if (n == 2) return view(Phase::Stop, 1, true, 4);
        return then(n);
    };
}

// A /state handler that ends the test: stop requested, idle answered.
std::function<CoordinatorState(int)> then_stop(FakeClock& clock) {
    return [&clock](int) {
        clock.stop = true;
        return view(Phase::Idle, std::nullopt, false, 5);
    };
}

TEST(AgentRunner, RegistersWithItsManifestOpensAndReportsReady) {
    Rig rig;
    EXPECT_EQ(rig.run(), 0);
    ASSERT_EQ(rig.client.registers.size(), 1u);
    const auto& reg = rig.client.registers[0];
    EXPECT_EQ(reg.id, "gen-a");
    EXPECT_EQ(reg.desired_connections, 4u);
    const auto manifest = control::manifest_of(reg);
    ASSERT_TRUE(manifest);
    EXPECT_EQ(manifest->tool_version, "0.1.0");
    EXPECT_EQ(manifest->workload["rateMode"], "closed");
    ASSERT_EQ(rig.client.readies.size(), 1u);
    EXPECT_EQ(rig.client.readies[0].opened_connections, 4u);
    EXPECT_EQ(control::negotiated_protocol_of(rig.client.readies[0]), "v3.bsatn.spacetimedb");
    EXPECT_EQ(rig.events, (Events{"register", "open", "ready", "state", "close"}));
    EXPECT_TRUE(rig.logged("ready with 4 connections to "));
    EXPECT_TRUE(rig.logged("stop requested"));
}

TEST(AgentRunner, StartsAndStopsAnEpochAndReportsWhatItSaw) {
    Rig rig;
    rig.client.on_state = one_epoch(then_stop(rig.clock));
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(rig.events, (Events{"register", "open", "ready", "state", "load start 1", "started 1", "state", "state",
                                  "load stop", "stopped 1", "state", "close"}));
    ASSERT_EQ(rig.client.starts.size(), 1u);
    EXPECT_EQ(rig.client.starts[0].id, "gen-a");
    EXPECT_TRUE(rig.client.starts[0].extra.empty());
    ASSERT_EQ(rig.client.stops.size(), 1u);
    const auto report = control::stop_report_of(rig.client.stops[0]);
    ASSERT_TRUE(report.counters);
    EXPECT_EQ(report.counters->attempted, 120u);
    EXPECT_EQ(report.counters->committed, 118u);
    EXPECT_EQ(report.counters->timeouts, 2u);
    ASSERT_TRUE(report.intervals) << report.intervals_problem.value_or("");
    EXPECT_EQ(report.intervals->size(), 1u);
    ASSERT_TRUE(report.load);
    EXPECT_FALSE(report.load->open);
    EXPECT_EQ(report.load->started_at_ms, 5000.0);
    EXPECT_EQ(report.load->stopped_at_ms, 6000.0);
    ASSERT_TRUE(report.settings);
    EXPECT_EQ(report.settings->connections, 4u);
    // The clock estimate from the answers: 1011 - (1000 + 1002) / 2.
    ASSERT_TRUE(report.clock);
    EXPECT_EQ(report.clock->offset_ms, 10.0);
    EXPECT_EQ(report.clock->rtt_ms, 2.0);
    // The keys in the order generators have always sent them.
    std::vector<std::string> keys;
    for (const auto& [k, v] : rig.client.stops[0].extra.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"counters", "settings", "load", "intervals", "clock"}));
    EXPECT_TRUE(rig.logged("starting epoch 1"));
    EXPECT_TRUE(rig.logged("stopped epoch 1: attempted=120 committed=118 errors=2 timeouts=2 intervals=1"));
    // Long-polls after the first answer wait for a newer version.
    EXPECT_EQ(rig.client.polled_since, (std::vector<std::optional<std::uint64_t>>{std::nullopt, 2, 3, 4}));
    // While loading, every request ends by the lease.
    EXPECT_TRUE(std::any_of(rig.client.deadlines.begin(), rig.client.deadlines.end(),
                            [](const auto& d) { return d.has_value(); }));
}

TEST(AgentRunner, LosingTheCoordinatorFencesTheLoadAndReRegistersWithCappedBackoff) {
    Rig rig;
    rig.client.on_state = [&](int n) -> CoordinatorState {
        if (n == 0) return view(Phase::Starting, 1, true, 2);
        if (rig.client.registers.size() < 2) throw unreachable("GET");  // silent until re-registered
        rig.clock.stop = true;
        return view(Phase::Idle, std::nullopt, false, 9);
    };
    rig.client.on_register = [&](int n) -> CoordinatorState {
        if (n >= 1 && n <= 8) throw unreachable("POST");  // the re-registers
        return view(Phase::Idle, std::nullopt, false, 1);
    };
    EXPECT_EQ(rig.run(), 0);
    // Retried every --poll-ms within the lease, then fenced: the load stops
    // before the first re-register, and no /stopped is sent for the epoch.
    EXPECT_TRUE(rig.logged("GET /state: GET http://127.0.0.1:9/x: connection refused"));
    EXPECT_TRUE(
        rig.logged("lost the coordinator at http://127.0.0.1:9: no answer for 4.0 s (lease 4.0 s) "
                   "(connection refused); stopping load"));
    EXPECT_TRUE(rig.logged("load stopped, connections kept open; re-registering with backoff"));
    EXPECT_LT(rig.position("load stop"),
              std::find(rig.events.begin() + 4, rig.events.end(), "register") - rig.events.begin());
    EXPECT_TRUE(rig.client.stops.empty());
    EXPECT_EQ(std::count(rig.events.begin(), rig.events.end(), "open"), 1) << "connections are kept";
    EXPECT_TRUE(rig.logged("re-register attempt 1 failed (connection refused); next in "));
    EXPECT_TRUE(rig.logged("re-registered with the coordinator (attempt 9): taking part from the next epoch"));
    // The waits between re-registers double from 250 ms (half of each
    // randomised) up to the 10 s cap.
    std::vector<milliseconds> backoff(rig.clock.waits.end() - 8, rig.clock.waits.end());
    const std::vector<std::int64_t> steps{250, 500, 1000, 2000, 4000, 8000, 10000, 10000};
    for (std::size_t i = 0; i < steps.size(); ++i) {
        EXPECT_GE(backoff[i].count(), steps[i] / 2) << i;
        EXPECT_LE(backoff[i].count(), steps[i]) << i;
    }
    // Re-registering uses single attempts with no lease deadline.
    EXPECT_EQ(rig.client.registers.size(), 10u);
}

TEST(AgentRunner, ExitOnCoordinatorLossExitsAfterControlRetries) {
    Rig rig;
    rig.config.exit_on_coordinator_loss = true;
    rig.config.control_retries = 3;
    rig.client.on_state = [](int) -> CoordinatorState { throw unreachable("GET"); };
    EXPECT_EQ(rig.run(), 1);
    EXPECT_EQ(rig.client.polled_since.size(), 3u);
    ASSERT_EQ(rig.errors.size(), 1u);
    EXPECT_EQ(rig.errors[0],
              "error: cannot reach coordinator at http://127.0.0.1:9: connection refused -- is "
              "bench-dist-coordinator running and reachable?");
    EXPECT_EQ(rig.events.back(), "close");
}

TEST(AgentRunner, RefusedTokenIsNotRetriedAndExitsOne) {
    Rig rig;
    rig.client.on_register = [](int) -> CoordinatorState {
        throw CoordinatorError(Kind::Unauthorized,
                               "POST http://127.0.0.1:9/register: 401 missing or wrong bearer token", 401);
    };
    EXPECT_EQ(rig.run(), 1);
    EXPECT_EQ(rig.client.registers.size(), 1u);
    ASSERT_EQ(rig.errors.size(), 1u);
    EXPECT_EQ(rig.errors[0],
              "error: the coordinator at http://127.0.0.1:9 refused this generator (POST "
              "http://127.0.0.1:9/register: 401 missing or wrong bearer token) -- start bench-dist-generator with the "
              "coordinator's token: --auth-token or BENCH_DIST_TOKEN (none was given)");
    EXPECT_EQ(rig.events, (Events{"register", "close"}));

    Rig given;
    given.config.auth_token = "wrong";
    given.client.on_register = rig.client.on_register;
    EXPECT_EQ(given.run(), 1);
    EXPECT_NE(given.errors.at(0).find("(the one given differs)"), std::string::npos);
}

TEST(AgentRunner, ATooLargeReportIsSentAgainWithoutIntervals) {
    Rig rig;
    rig.client.on_state = one_epoch(then_stop(rig.clock));
    rig.client.on_stopped = [](int n) -> CoordinatorState {
        if (n == 0) throw CoordinatorError(Kind::Rejected, "POST http://127.0.0.1:9/stopped: 413 body too large", 413);
        return view(Phase::Idle, std::nullopt, false, 5);
    };
    EXPECT_EQ(rig.run(), 0);
    ASSERT_EQ(rig.client.stops.size(), 2u);
    EXPECT_TRUE(rig.client.stops[0].extra.contains("intervals"));
    EXPECT_FALSE(rig.client.stops[1].extra.contains("intervals"));
    EXPECT_EQ(rig.client.stops[1].extra["counters"], rig.client.stops[0].extra["counters"]);
    EXPECT_EQ(rig.client.stops[1].extra["load"], rig.client.stops[0].extra["load"]);
    EXPECT_TRUE(
        rig.logged("POST http://127.0.0.1:9/stopped: 413 body too large -- sending the report again without "
                   "per-second intervals"));
}

TEST(AgentRunner, AnUnknownGeneratorRegistersAgain) {
    Rig rig;
    rig.client.on_state = [&](int n) -> CoordinatorState {
        if (n == 0) return view(Phase::Starting, 1, true, 2);
        if (n == 1)
            throw CoordinatorError(Kind::UnknownGenerator,
                                   "GET http://127.0.0.1:9/state: 400 Unknown generator \"gen-a\"", 400);
        rig.clock.stop = true;
        return view(Phase::Idle, std::nullopt, false, 1);
    };
    EXPECT_EQ(rig.run(), 0);
    EXPECT_TRUE(rig.logged("the coordinator does not know this generator (restarted?): registering again"));
    EXPECT_EQ(rig.events, (Events{"register", "open", "ready", "state", "load start 1", "started 1", "state",
                                  "load stop", "register", "ready", "state", "close"}));
    // Registered afresh: the next poll does not wait on the old version.
    EXPECT_EQ(rig.client.polled_since.back(), std::nullopt);
}

TEST(AgentRunner, AStartAckRefusedStopsThatEpochsLoad) {
    Rig rig;
    rig.client.on_state = [&](int n) -> CoordinatorState {
        if (n == 0) return view(Phase::Starting, 1, true, 2);
        rig.clock.stop = true;
        return view(Phase::Idle, std::nullopt, false, 3);
    };
    rig.client.on_started = [](int) -> CoordinatorState {
        throw CoordinatorError(
            Kind::Rejected, "POST http://127.0.0.1:9/started: 400 Generator \"gen-a\" acknowledged unexpected epoch 1",
            400);
    };
    EXPECT_EQ(rig.run(), 0);
    EXPECT_TRUE(rig.logged("acknowledged unexpected epoch 1 -- stopping this epoch's load"));
    EXPECT_LT(rig.position("load stop"), rig.position("close"));
    EXPECT_TRUE(rig.client.stops.empty());
}

// SIGINT in each phase: the loop ends, a running epoch is stopped and
// reported, and the connections are closed; the exit code is 0.
TEST(AgentRunner, StopRequestedWhileIdle) {
    Rig rig;
    rig.client.on_state = then_stop(rig.clock);
    EXPECT_EQ(rig.run(), 0);
    EXPECT_TRUE(rig.client.stops.empty());
    EXPECT_TRUE(rig.logged("stop requested"));
    EXPECT_EQ(rig.events.back(), "close");
}

TEST(AgentRunner, StopRequestedWhileStarting) {
    Rig rig;
    rig.client.on_state = [](int) { return view(Phase::Starting, 1, true, 2); };
    rig.client.on_started = [&](int) {
        rig.clock.stop = true;
        return view(Phase::Starting, 1, true, 3);
    };
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(rig.events, (Events{"register", "open", "ready", "state", "load start 1", "started 1", "load stop",
                                  "stopped 1", "close"}));
    ASSERT_EQ(rig.client.stops.size(), 1u);
    EXPECT_TRUE(rig.client.stops[0].extra.contains("intervals"));
    // Reported without the lease deadline: the generator is leaving anyway.
    EXPECT_EQ(rig.client.deadlines.back(), std::nullopt);
}

TEST(AgentRunner, StopRequestedWhileMeasuring) {
    Rig rig;
    rig.client.on_state = [&](int n) {
        if (n == 0) return view(Phase::Starting, 1, true, 2);
        rig.clock.stop = true;
        return view(Phase::Measure, 1, true, 3);
    };
    EXPECT_EQ(rig.run(), 0);
    ASSERT_EQ(rig.client.stops.size(), 1u);
    EXPECT_EQ(control::stop_report_of(rig.client.stops[0]).counters->committed, 118u);
    EXPECT_LT(rig.position("load stop"), rig.position("stopped 1"));
}

TEST(AgentRunner, StopRequestedWhileStoppingEndsRetriesAndExitsZero) {
    Rig rig;
    rig.client.on_state = one_epoch(then_stop(rig.clock));
    rig.client.on_stopped = [&](int) -> CoordinatorState {
        rig.clock.stop = true;
        throw unreachable("POST");
    };
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(rig.client.stops.size(), 1u) << "a requested stop ends the retries at once";
    ASSERT_EQ(rig.errors.size(), 1u);
    EXPECT_NE(rig.errors[0].find("cannot reach coordinator"), std::string::npos);
    EXPECT_EQ(std::count(rig.events.begin(), rig.events.end(), "load stop"), 1);
    EXPECT_EQ(rig.events.back(), "close");
}

TEST(AgentRunner, ScheduleLineJudgesByTheSharedRule) {
    stats::Interval second;
    second.totals.send_lag.record(2000);  // 2 ms
    EXPECT_NE(schedule_line(100, 100, 0, 1000, {second}).find("schedule kept"), std::string::npos);
    EXPECT_NE(schedule_line(100, 97, 0, 1000, {second}).find("schedule NOT kept"), std::string::npos);
    stats::Interval late;
    late.totals.send_lag.record(20000);  // 20 ms
    EXPECT_NE(schedule_line(100, 100, 0, 1000, {late}).find("schedule NOT kept"), std::string::npos);
}

}  // namespace
}  // namespace benchdist::generator
