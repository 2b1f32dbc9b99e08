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
    // POST /progress: recorded; `on_progress` may throw (a 404, a 409).
    std::vector<control::ProgressReport> progress_reports;
    std::function<void(const control::ProgressReport&)> on_progress;
    std::uint64_t progress(const control::ProgressReport& r) override {
        progress_reports.push_back(r);
        if (on_progress) on_progress(r);
        events_.push_back("progress " + std::to_string(r.epoch));
        return r.intervals.size();
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
    // What each start was asked to run, and how many connections are open
    // (an assignment above it is capped, as the session does).
    std::vector<EpochLoadSettings> started_with;
    std::size_t open = 4;

    EpochLoadSettings start(std::uint64_t epoch, const EpochLoadSettings& settings) override {
        events_.push_back("load start " + std::to_string(epoch));
        started_with.push_back(settings);
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
        EpochLoadSettings ran = settings;
        ran.connections = std::min(ran.connections, open);
        return ran;
    }
    std::size_t load_threads() const override { return 2; }
    bool stop() override {
        events_.push_back("load stop");
        running.reset();
        return true;
    }
    LoadCounters counters() const override { return load_counters; }
    std::vector<stats::Interval> take_intervals() override {
        ++full_takes;
        if (before_take) before_take();
        return std::exchange(intervals, {});
    }
    std::vector<stats::Interval> take_finished_intervals() override {
        ++finished_takes;
        if (before_take) before_take();
        return std::exchange(intervals, {});
    }
    int full_takes = 0;
    int finished_takes = 0;
    // Runs before every take_intervals: a test adds the load's next seconds.
    std::function<void()> before_take;
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
    std::vector<LoadTick> ticks;

    int run() {
        control::RegisterManifest manifest;
        manifest.tool_version = "0.1.0";
        manifest.workload = config.workload_json();
        AgentRunner runner(config, manifest, client, load, clock,
                           AgentSinks{[this](const std::string& s) { logs.push_back(s); },
                                      [this](const std::string& s) { errors.push_back(s); },
                                      [this](const LoadTick& t) { ticks.push_back(t); }},
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
    long count(const std::string& event) const { return std::count(events.begin(), events.end(), event); }
    long count_logged(const std::string& part) const {
        return std::count_if(logs.begin(), logs.end(),
                             [&](const std::string& s) { return s.find(part) != std::string::npos; });
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
    // The load's last intervals go to the live view just before /stopped.
    EXPECT_EQ(rig.events, (Events{"register", "open", "ready", "state", "load start 1", "started 1", "state", "state",
                                  "load stop", "progress 1", "stopped 1", "state", "close"}));
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
    EXPECT_EQ(keys, (std::vector<std::string>{"counters", "settings", "load", "intervals", "clock", "resources"}));
    // The process's CPU over the load, against the threads that carried it.
    ASSERT_TRUE(report.resources);
    EXPECT_EQ(report.resources->threads, 2u);
    EXPECT_TRUE(rig.logged("starting epoch 1"));
    EXPECT_TRUE(rig.logged("stopped epoch 1: attempted=120 committed=118 errors=2 timeouts=2 intervals=1"));
    // Long-polls after the first answer wait for a newer version.
    EXPECT_EQ(rig.client.polled_since, (std::vector<std::optional<std::uint64_t>>{std::nullopt, 2, 3, 4}));
    // While loading, every request ends by the lease.
    EXPECT_TRUE(std::any_of(rig.client.deadlines.begin(), rig.client.deadlines.end(),
                            [](const auto& d) { return d.has_value(); }));
}

// Epoch 1 sets this generator's load in its view, epoch 2 sets none.
std::function<CoordinatorState(int)> loaded_then_plain_epoch(FakeClock& clock, control::LoadAssignment load) {
    return [&clock, load](int n) {
        CoordinatorState s;
        switch (n) {
            case 0:
                s = view(Phase::Starting, 1, true, 2);
                s.self->load = load;
                return s;
            case 1:
                return view(Phase::Stop, 1, true, 3);
            case 2:
                return view(Phase::Starting, 2, true, 4);
            case 3:
                return view(Phase::Stop, 2, true, 5);
            default:
                clock.stop = true;
                return view(Phase::Idle, std::nullopt, false, 6);
        }
    };
}

TEST(AgentRunner, AnEpochsLoadOverridesTheCommandLineForThatEpochOnly) {
    Rig rig;
    rig.config.max_inflight = 2;
    rig.config.alpha = 1.5;
    rig.config.accounts = 1000;
    control::LoadAssignment load;
    load.connections = 3;
    load.inflight = 8;
    load.rate = 900;
    load.accounts = 2;  // alpha left out: the command line's
    rig.client.on_state = loaded_then_plain_epoch(rig.clock, load);
    EXPECT_EQ(rig.run(), 0);
    ASSERT_EQ(rig.load.started_with.size(), 2u);
    EXPECT_EQ(rig.load.started_with[0], (EpochLoadSettings{3, 8, 900, 1.5, 2}));
    // The next epoch without a load runs as the command line says again.
    EXPECT_EQ(rig.load.started_with[1], (EpochLoadSettings{4, 2, 0, 1.5, 1000}));
    EXPECT_TRUE(
        rig.logged("epoch 1 sets this generator's load: connections=3 inflight=8 rate=900/s alpha=1.5 "
                   "accounts=2"));

    // Each stop report says what that epoch ran.
    ASSERT_EQ(rig.client.stops.size(), 2u);
    const auto first = control::stop_report_of(rig.client.stops[0]);
    ASSERT_TRUE(first.settings && first.load);
    EXPECT_EQ(first.settings->connections, 3u);
    const Json& settings = rig.client.stops[0].extra["settings"];  // the coordinator reads only connections
    EXPECT_EQ(settings["maxInflight"], 8);
    EXPECT_EQ(settings["rate"], 900.0);
    EXPECT_EQ(settings["accounts"], 2);
    EXPECT_EQ(settings["alpha"], 1.5);
    EXPECT_TRUE(first.load->open);
    EXPECT_EQ(first.load->connections, 3u);
    EXPECT_EQ(first.load->max_inflight, 8u);
    EXPECT_EQ(first.load->rate_per_second, 900.0);
    EXPECT_TRUE(rig.logged("open loop: target 900/s"));
    const auto second = control::stop_report_of(rig.client.stops[1]);
    ASSERT_TRUE(second.settings && second.load);
    EXPECT_EQ(second.settings->connections, 4u);
    EXPECT_EQ(rig.client.stops[1].extra["settings"]["accounts"], 1000);
    EXPECT_EQ(rig.client.stops[1].extra["settings"]["rate"], nullptr);
    EXPECT_EQ(rig.client.stops[1].extra["settings"]["maxInflight"], 2);
    EXPECT_FALSE(second.load->open);
    EXPECT_EQ(second.load->max_inflight, 2u);
}

TEST(AgentRunner, TheFullStateAssignsLoadByIdAndMoreConnectionsThanOpenReportTheTruth) {
    Rig rig;
    rig.client.on_state = [&](int n) {
        CoordinatorState s;
        s.version = static_cast<std::uint64_t>(n) + 2;
        if (n >= 2) {
            rig.clock.stop = true;
            return s;
        }
        s.phase = n == 0 ? Phase::Starting : Phase::Stop;
        s.current_epoch = 1;
        s.participants = {"other", "gen-a"};
        control::LoadAssignment mine, theirs;
        mine.connections = 10;  // 4 are open
        theirs.connections = 1;
        s.current_load = {{"gen-a", mine}, {"other", theirs}};
        return s;
    };
    EXPECT_EQ(rig.run(), 0);
    ASSERT_EQ(rig.load.started_with.size(), 1u);
    EXPECT_EQ(rig.load.started_with[0].connections, 10u);
    ASSERT_EQ(rig.client.stops.size(), 1u);
    const auto report = control::stop_report_of(rig.client.stops[0]);
    ASSERT_TRUE(report.settings && report.load);
    EXPECT_EQ(report.settings->connections, 4u);
    EXPECT_EQ(report.load->connections, 4u);
}

TEST(AgentRunner, OwnLoadAssignmentReadsTheViewOrTheFullState) {
    control::LoadAssignment a;
    a.rate = 5;
    CoordinatorState full;
    full.current_load = {{"gen-a", a}};
    EXPECT_EQ(own_load_assignment(full, "gen-a"), a);
    EXPECT_FALSE(own_load_assignment(full, "gen-b"));
    CoordinatorState compact = view(Phase::Starting, 1, true, 2);
    EXPECT_FALSE(own_load_assignment(compact, "gen-a"));
    compact.self->load = a;
    EXPECT_EQ(own_load_assignment(compact, "gen-a"), a);
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
    EXPECT_TRUE(rig.logged(
        "acknowledged unexpected epoch 1 -- stopping epoch 1's load; this generator sits that epoch out (it is not "
        "started again)"));
    EXPECT_LT(rig.position("load stop"), rig.position("close"));
    EXPECT_TRUE(rig.client.stops.empty());
}

// One /state answer of a scripted coordinator: the phase and the current
// epoch, this generator a participant of it unless said otherwise.
struct Step {
    Phase phase;
    std::optional<std::uint64_t> epoch;
    bool participant = true;
    friend bool operator==(const Step&, const Step&) = default;
};

// `count` answers of each step, in order.
std::vector<Step> steps(std::initializer_list<std::pair<Step, int>> runs) {
    std::vector<Step> out;
    for (const auto& [step, count] : runs) out.insert(out.end(), static_cast<std::size_t>(count), step);
    return out;
}

// Answers script[n] on poll n, then ends the test (stop requested, idle).
// Our coordinator: the compact view, whose version moves only when the
// state does. The original harness (`original`): the full state, with no
// version, no leaseSeconds and no long-polling.
std::function<CoordinatorState(int)> scripted(FakeClock& clock, std::vector<Step> script, bool original = false) {
    return [&clock, script, original](int n) {
        if (n >= static_cast<int>(script.size())) {
            clock.stop = true;
            return view(Phase::Idle, std::nullopt, false, 1000);
        }
        const auto& s = script[static_cast<std::size_t>(n)];
        const bool member = s.epoch && s.participant;
        if (original) {
            CoordinatorState full;
            full.phase = s.phase;
            full.current_epoch = s.epoch;
            if (member) full.participants = {"other", "gen-a"};
            return full;
        }
        std::uint64_t version = 2;
        for (int i = 1; i <= n; ++i)
            version += script[static_cast<std::size_t>(i)] == script[static_cast<std::size_t>(i - 1)] ? 0 : 1;
        return view(s.phase, s.epoch, member, version);
    };
}

CoordinatorError no_started_route() {
    return CoordinatorError(Kind::Rejected, "POST http://127.0.0.1:9/started failed: 404 Unknown route: POST /started",
                            404);
}

std::vector<std::uint64_t> epochs_of(const std::vector<control::EpochAckRequest>& acks) {
    std::vector<std::uint64_t> out;
    for (const auto& a : acks) out.push_back(a.epoch);
    return out;
}

// The original harness's first revision: warmup, measure, stop, with no
// start barrier and no /started route. Measured against it, the generator
// posted /started on warmup, took the 404 for "the epoch moved on", stopped,
// and started again on the next poll: 478 restarts in 75 s, never a /stopped.
TEST(AgentRunner, TheOriginalFirstRevisionRunsEachEpochOnceFromWarmupWithoutAStartAck) {
    Rig rig;
    rig.client.on_state = scripted(rig.clock,
                                   steps({{{Phase::Warmup, 1}, 5},
                                          {{Phase::Measure, 1}, 3},
                                          {{Phase::Stop, 1}, 2},
                                          {{Phase::Idle, std::nullopt}, 2},
                                          {{Phase::Warmup, 2}, 3},
                                          {{Phase::Measure, 2}, 2},
                                          {{Phase::Stop, 2}, 1}}),
                                   true);
    rig.client.on_started = [](int) -> CoordinatorState { throw no_started_route(); };
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(rig.count("load start 1"), 1);
    EXPECT_EQ(rig.count("load start 2"), 1);
    EXPECT_EQ(rig.count("load stop"), 2);
    EXPECT_TRUE(rig.client.starts.empty()) << "warmup has no start barrier to acknowledge";
    EXPECT_EQ(epochs_of(rig.client.stops), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_LT(rig.position("load start 1"), rig.position("stopped 1"));
    EXPECT_LT(rig.position("stopped 1"), rig.position("load start 2"));
    EXPECT_TRUE(rig.logged("starting epoch 1 (phase warmup: no start barrier, so no /started)"));
    EXPECT_TRUE(rig.errors.empty());
}

// Ours with --original-revision first publishes warmup at once, too.
TEST(AgentRunner, AnEpochFirstSeenInWarmupStartsWithoutPostingStarted) {
    Rig rig;
    rig.client.on_state =
        scripted(rig.clock, steps({{{Phase::Warmup, 1}, 1}, {{Phase::Measure, 1}, 1}, {{Phase::Stop, 1}, 1}}));
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(rig.events, (Events{"register", "open", "ready", "state", "load start 1", "state", "state", "load stop",
                                  "progress 1", "stopped 1", "state", "close"}));
}

// Ours by default: starting (the barrier), then warmup once every
// participant acknowledged, then measure. One acknowledgement, one start.
TEST(AgentRunner, TheStartBarrierIsAcknowledgedOnceAndTheLoadRunsOnThroughWarmup) {
    Rig rig;
    rig.client.on_state = scripted(
        rig.clock,
        steps({{{Phase::Starting, 1}, 2}, {{Phase::Warmup, 1}, 2}, {{Phase::Measure, 1}, 2}, {{Phase::Stop, 1}, 1}}));
    EXPECT_EQ(rig.run(), 0);
    // A second into the load (two unchanged polls of --poll-ms 500) its
    // progress is posted; the stop has nothing newer to post.
    EXPECT_EQ(rig.events,
              (Events{"register", "open", "ready", "state", "load start 1", "started 1", "state", "state", "state",
                      "progress 1", "state", "state", "state", "load stop", "stopped 1", "state", "close"}));
    EXPECT_EQ(epochs_of(rig.client.starts), (std::vector<std::uint64_t>{1}));
}

// A coordinator that publishes `starting` but has no /started route: the
// 404 says the route is missing, not that the epoch is wrong. The load runs
// on, and /started is never posted to it again.
TEST(AgentRunner, ACoordinatorWithoutAStartedRouteIsToldOnceAndTheLoadRunsOn) {
    Rig rig;
    rig.client.on_state = scripted(rig.clock, steps({{{Phase::Starting, 1}, 4},
                                                     {{Phase::Measure, 1}, 2},
                                                     {{Phase::Stop, 1}, 1},
                                                     {{Phase::Idle, std::nullopt}, 1},
                                                     {{Phase::Starting, 2}, 3},
                                                     {{Phase::Measure, 2}, 1},
                                                     {{Phase::Stop, 2}, 1}}));
    rig.client.on_started = [](int) -> CoordinatorState { throw no_started_route(); };
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(epochs_of(rig.client.starts), (std::vector<std::uint64_t>{1})) << "a 404 is neither retried nor repeated";
    EXPECT_EQ(rig.count("load start 1"), 1);
    EXPECT_EQ(rig.count("load start 2"), 1);
    EXPECT_EQ(rig.count("load stop"), 2);
    EXPECT_EQ(epochs_of(rig.client.stops), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(rig.count_logged("the coordinator has no /started route"), 1);
    EXPECT_TRUE(rig.logged("starting epoch 2 (this coordinator has no /started route)"));
    EXPECT_TRUE(rig.logged(
        "the coordinator has no /started route (no start barrier, as in the original harness's first revision): "
        "epoch 1's load keeps running without a start acknowledgement, and none is posted to this coordinator "
        "again"));
    EXPECT_TRUE(rig.errors.empty());
}

// /started refused while the state goes on saying `starting` for that
// epoch: the load stops once and the epoch is not started again -- not a
// start, refuse, stop, start loop -- and the polls wait as usual.
TEST(AgentRunner, AnEpochWhoseStartAckWasRefusedIsNotStartedAgain) {
    Rig rig;
    rig.client.on_state = scripted(rig.clock, steps({{{Phase::Starting, 1}, 50}}));
    rig.client.on_started = [](int) -> CoordinatorState {
        throw CoordinatorError(Kind::Rejected,
                               "POST http://127.0.0.1:9/started failed: 400 Generator \"gen-a\" is not assigned to "
                               "epoch 1",
                               400);
    };
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(rig.client.polled_since.size(), 51u);
    EXPECT_EQ(rig.count("load start 1"), 1);
    EXPECT_EQ(rig.count("load stop"), 1);
    EXPECT_EQ(rig.client.starts.size(), 1u);
    EXPECT_TRUE(rig.client.stops.empty());
    EXPECT_EQ(rig.count_logged("is not assigned to epoch 1"), 1);
    EXPECT_EQ(std::count(rig.clock.waits.begin(), rig.clock.waits.end(), milliseconds(500)), 49);
}

// However the load of an epoch ended, that epoch is not started again,
// even if the coordinator names this generator for it once more.
TEST(AgentRunner, AnEpochThatEndedIsNotStartedAgain) {
    Rig rig;
    rig.client.on_state =
        scripted(rig.clock,
                 steps({{{Phase::Starting, 1}, 1}, {{Phase::Starting, 1, false}, 1}, {{Phase::Starting, 1}, 3}}));
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(rig.count("load start 1"), 1);
    EXPECT_EQ(epochs_of(rig.client.stops), (std::vector<std::uint64_t>{1}));
}

// A refused stop report is logged and not sent again (the same report would
// be refused again); the generator carries on with the next epoch instead
// of exiting.
TEST(AgentRunner, ARefusedStopReportIsLoggedAndTheGeneratorCarriesOn) {
    Rig rig;
    rig.client.on_state = scripted(rig.clock, steps({{{Phase::Starting, 1}, 1},
                                                     {{Phase::Stop, 1}, 1},
                                                     {{Phase::Idle, std::nullopt}, 1},
                                                     {{Phase::Starting, 2}, 1},
                                                     {{Phase::Stop, 2}, 1}}));
    rig.client.on_stopped = [](int n) -> CoordinatorState {
        if (n == 0)
            throw CoordinatorError(Kind::Rejected,
                                   "POST http://127.0.0.1:9/stopped failed: 400 Generator \"gen-a\" reported stopping "
                                   "unexpected epoch 1: no epoch has started yet",
                                   400);
        return view(Phase::Idle, std::nullopt, false, 100);
    };
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(epochs_of(rig.client.stops), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(rig.count_logged("reported stopping unexpected epoch 1"), 1);
    EXPECT_TRUE(rig.logged("the coordinator refused epoch 1's stop report ("));
    EXPECT_TRUE(rig.errors.empty());
}

// A /state refusal other than "Unknown generator" (or 401) is not a
// transient failure: retrying cannot help, and the generator cannot follow
// that coordinator. It stops its load and exits 1 -- once, not a loop.
TEST(AgentRunner, AStateRefusalStopsTheLoadAndExitsOne) {
    Rig rig;
    rig.client.on_state = [](int n) -> CoordinatorState {
        if (n == 0) return view(Phase::Starting, 1, true, 2);
        throw CoordinatorError(Kind::Rejected, "GET http://127.0.0.1:9/state failed: 400 \"since\" must be a count",
                               400);
    };
    EXPECT_EQ(rig.run(), 1);
    EXPECT_EQ(rig.client.polled_since.size(), 2u);
    EXPECT_EQ(rig.count("load stop"), 1);
    ASSERT_EQ(rig.errors.size(), 1u);
    EXPECT_EQ(rig.errors[0], "error: GET http://127.0.0.1:9/state failed: 400 \"since\" must be a count");
}

// The original harness publishes no leaseSeconds: the generator fences on
// its own --lease-seconds. Ours publishes one, which wins.
TEST(AgentRunner, FencesOnTheCoordinatorsLeaseOrItsOwnWhenTheCoordinatorPublishesNone) {
    for (const std::optional<double> published : {std::optional<double>(), std::optional<double>(2.0)}) {
        Rig rig;
        rig.client.on_state = [&](int n) -> CoordinatorState {
            if (n == 0) {
                auto s = view(Phase::Starting, 1, true, 2);
                s.lease_seconds = published;
                return s;
            }
            rig.clock.stop = rig.client.registers.size() >= 2;
            if (!rig.clock.stop) throw unreachable("GET");
            return view(Phase::Idle, std::nullopt, false, 9);
        };
        EXPECT_EQ(rig.run(), 0);
        const std::string lease = published ? "2.0" : "4.0";
        EXPECT_TRUE(rig.logged("no answer for " + lease + " s (lease " + lease + " s)")) << lease;
        EXPECT_EQ(rig.count("load stop"), 1);
    }
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

// Only a missing answer or a 5xx is worth retrying: a 404 (a route this
// coordinator lacks) or a 400 refusal would be answered the same again.
TEST(AgentRunner, OnlyNoAnswerOrAServerErrorIsRetried) {
    EXPECT_TRUE(is_retryable(unreachable("GET")));
    EXPECT_TRUE(is_retryable(CoordinatorError(Kind::Rejected, "503 busy", 503)));
    EXPECT_TRUE(is_retryable(CoordinatorError(Kind::BadResponse, "not a state", 200)));
    EXPECT_FALSE(is_retryable(no_started_route()));
    EXPECT_FALSE(is_retryable(CoordinatorError(Kind::Rejected, "400 not assigned", 400)));
    EXPECT_FALSE(is_retryable(CoordinatorError(Kind::UnknownGenerator, "400 Unknown generator", 400)));
    EXPECT_FALSE(is_retryable(CoordinatorError(Kind::Unauthorized, "401", 401)));
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

// ---- progress for the live view --------------------------------------------

namespace {

// A load that completes `per_second` calls in a new one-second interval at
// every take, as a LoadSession hands over its finished seconds.
void produce_a_second_per_take(Rig& rig, std::uint64_t per_second) {
    rig.load.before_take = [&rig, per_second, next = std::int64_t{10000}]() mutable {
        if (!rig.load.running_epoch()) return;
        stats::Interval second;
        second.start_ms = next;
        next += 1000;
        second.totals.attempted = per_second;
        second.totals.committed = per_second;
        for (std::uint64_t i = 0; i < per_second; ++i) second.totals.latency.record(500 + i);
        rig.load.intervals.push_back(std::move(second));
    };
}

std::uint64_t committed_in(const std::vector<stats::Interval>& intervals) {
    std::uint64_t n = 0;
    for (const auto& i : intervals) n += i.totals.committed;
    return n;
}

CoordinatorError progress_refused(unsigned status) {
    return CoordinatorError(Kind::Rejected,
                            "POST http://127.0.0.1:9/progress failed: " + std::to_string(status) + " refused", status);
}

}  // namespace

TEST(AgentRunner, ProgressPostsEachIntervalOnceAndTheStopReportKeepsThemAll) {
    Rig rig;
    produce_a_second_per_take(rig, 10);
    rig.client.on_state =
        scripted(rig.clock, steps({{{Phase::Starting, 1}, 1}, {{Phase::Measure, 1}, 8}, {{Phase::Stop, 1}, 1}}));
    EXPECT_EQ(rig.run(), 0);
    ASSERT_GE(rig.client.progress_reports.size(), 3u) << "about one post per second of load";
    std::vector<std::int64_t> posted_starts;
    std::uint64_t posted = 0;
    for (const auto& r : rig.client.progress_reports) {
        EXPECT_EQ(r.id, "gen-a");
        EXPECT_EQ(r.epoch, 1u);
        EXPECT_EQ(r.connections, 4u);
        EXPECT_LE(r.intervals.size(), control::ProgressReport::kMaxIntervals);
        for (const auto& i : r.intervals) posted_starts.push_back(i.start_ms);
        posted += committed_in(r.intervals);
    }
    // Deltas: no second is posted twice, and the posts add up to the load.
    auto unique = posted_starts;
    std::sort(unique.begin(), unique.end());
    EXPECT_EQ(std::adjacent_find(unique.begin(), unique.end()), unique.end());
    ASSERT_EQ(rig.client.stops.size(), 1u);
    const auto report = control::stop_report_of(rig.client.stops[0]);
    ASSERT_TRUE(report.intervals) << report.intervals_problem.value_or("");
    EXPECT_EQ(committed_in(*report.intervals), posted) << "the stop report has every interval posted";
    EXPECT_EQ(report.intervals->size(), posted_starts.size());
    // Every tick told the sink the same deltas, the last one at the stop.
    std::uint64_t ticked = 0;
    for (const auto& t : rig.ticks) ticked += committed_in(t.intervals);
    EXPECT_EQ(ticked, committed_in(*report.intervals));
    ASSERT_FALSE(rig.ticks.empty());
    EXPECT_EQ(rig.ticks.front().epoch, std::optional<std::uint64_t>(1));
    EXPECT_EQ(rig.ticks.back().epoch, std::nullopt);
    EXPECT_EQ(rig.ticks.front().open_connections, 4u);
    // While the load ran the ticks took only finished seconds (no call into
    // its threads); the stop took everything once.
    EXPECT_GE(rig.load.finished_takes, 3);
    EXPECT_EQ(rig.load.full_takes, 1);
}

TEST(AgentRunner, ACoordinatorWithoutProgressIsNotAskedAgainUntilTheNextRegister) {
    Rig rig;
    produce_a_second_per_take(rig, 5);
    rig.client.on_progress = [](const control::ProgressReport&) { throw progress_refused(404); };
    rig.client.on_state =
        scripted(rig.clock, steps({{{Phase::Starting, 1}, 1}, {{Phase::Measure, 1}, 8}, {{Phase::Stop, 1}, 1}}));
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(rig.client.progress_reports.size(), 1u);
    EXPECT_EQ(rig.count_logged("no /progress route"), 1);
    ASSERT_EQ(rig.client.stops.size(), 1u) << "the load and its stop report carry on";
    EXPECT_TRUE(rig.errors.empty());
}

TEST(AgentRunner, ARefusedProgressIsLoggedOnceAndTheEpochRunsOn) {
    Rig rig;
    produce_a_second_per_take(rig, 5);
    rig.client.on_progress = [](const control::ProgressReport&) { throw progress_refused(409); };
    rig.client.on_state =
        scripted(rig.clock, steps({{{Phase::Starting, 1}, 1}, {{Phase::Measure, 1}, 8}, {{Phase::Stop, 1}, 1}}));
    EXPECT_EQ(rig.run(), 0);
    EXPECT_EQ(rig.client.progress_reports.size(), 1u) << "not posted again for that epoch";
    EXPECT_EQ(rig.count_logged("no more progress for epoch 1"), 1);
    ASSERT_EQ(rig.client.stops.size(), 1u);
    const auto report = control::stop_report_of(rig.client.stops[0]);
    ASSERT_TRUE(report.intervals);
    EXPECT_GT(committed_in(*report.intervals), 118u);
}

TEST(AgentRunner, AFailedProgressPostIsNotRetriedAndDoesNotStopTheLoad) {
    Rig rig;
    produce_a_second_per_take(rig, 5);
    int calls = 0;
    rig.client.on_progress = [&calls](const control::ProgressReport&) {
        if (++calls == 1) throw unreachable("POST /progress");
    };
    rig.client.on_state =
        scripted(rig.clock, steps({{{Phase::Starting, 1}, 1}, {{Phase::Measure, 1}, 8}, {{Phase::Stop, 1}, 1}}));
    EXPECT_EQ(rig.run(), 0);
    EXPECT_GE(rig.client.progress_reports.size(), 2u) << "the next second is posted as usual";
    EXPECT_EQ(rig.count("load start 1"), 1);
    EXPECT_EQ(rig.count("load stop"), 1);
}

}  // namespace
}  // namespace benchdist::generator
