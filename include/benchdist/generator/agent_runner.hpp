// The generator's agent loop: registers with the coordinator, opens the
// connections, and runs transfer load whenever the coordinator's epoch
// includes it. Never keeps loading a server that no coordinator controls:
// when no control request succeeded for the lease (the coordinator's
// leaseSeconds, else --lease-seconds) the load stops at once -- no request
// may outlive the lease while load runs -- and the generator keeps its
// connections and re-registers with capped backoff; with
// --exit-on-coordinator-loss it closes them and exits 1 instead.
//
// /state is long-polled (since=<last version>, waitMs=--long-poll-ms), so a
// phase change reaches the generator as soon as the coordinator makes it.
// The wait is kept short (1 s by default) rather than tens of seconds
// because the blocking HTTP request cannot be interrupted: a stop request
// (SIGINT) is noticed when the poll returns, so the wait bounds how long an
// interrupted generator lingers. A coordinator without long-polling answers
// at once with an unchanged version; then the loop falls back to waiting
// --poll-ms between polls.
//
// The load starts when the coordinator names this generator in phase
// `starting` -- a start barrier: POST /started acknowledges that the load
// runs -- or `warmup`, which has no barrier to acknowledge (the original
// harness's first revision, or ours with --original-revision first; ours by
// default publishes warmup only after the barrier). A 404 on /started says
// the coordinator has no such route: the load runs on, and /started is not
// posted to it again. Any other refusal stops that epoch's load. Whatever
// stopped an epoch's load, that epoch is not started again (decide()'s
// ended epoch), so no refusal can turn the loop into start, stop, start on
// every poll; a refused /stopped is logged once and not sent again. Both
// memories last until this generator registers again. A refused /state
// (other than "Unknown generator") is not retried either: every revision
// has that route, so the generator cannot follow this coordinator, stops
// its load and exits 1 -- once, not a loop.
//
// An epoch that sets this generator's load (self.load in its /state view,
// or its entry in currentLoad) runs with it: each field set replaces the
// command line's option for that epoch only (GeneratorConfig::
// epoch_settings), and the next epoch without one runs as the command line
// says again. The load applies it before /started, so the start barrier
// also waits for new pairs to be computed.
//
// While its load runs, the generator takes the load's new intervals about
// once a second (kProgressPeriod: the long-poll waits no longer than the
// next tick), keeps them for the stop report, hands them to
// AgentSinks::on_tick and posts them to /progress for the coordinator's
// live view. Progress is best effort: a failed post is not retried (the
// next /state poll finds out whether the coordinator is gone), a 409 (an
// epoch it is not running) is logged once per epoch, and a 404 (a
// coordinator without the route, as the original harness) stops the posts
// until this generator registers again. The stop report carries every
// interval whatever happened to the posts.
//
// /register carries the manifest; /ready names the protocol the server
// chose; /stopped carries the StopReport (control/generator_report.hpp):
// the settings and load the epoch actually ran, this process's CPU over the
// load, and this host's clock offset to the coordinator, since the
// intervals are stamped with this host's clock.
//
// The runner decides and sequences; it reaches the coordinator, the load
// and time only through the interfaces below (the tool wires in the HTTP
// client, the LoadSession and the stop flag), so unit tests drive every
// path -- lease loss, refusals, a stop in each phase -- with fakes, no
// sockets and no sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "benchdist/control/generator_report.hpp"
#include "benchdist/generator/agent.hpp"
#include "benchdist/generator/clock_offset.hpp"
#include "benchdist/generator/coordinator_client.hpp"
#include "benchdist/generator/generator_config.hpp"
#include "benchdist/generator/load_counters.hpp"
#include "benchdist/generator/resource_usage.hpp"
#include "benchdist/stats/interval.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::generator {

// What the agent needs of the load (LoadSession in the tool).
class AgentLoad {
public:
    virtual ~AgentLoad() = default;
    // Opens every connection (the tool logs progress).
    virtual void open_connections() = 0;
    // Starts the epoch's load with these settings (its alpha and accounts
    // name the pairs to walk: computed now when the load holds no such
    // pairs yet). Returns what runs: the settings with the connections
    // capped at those open.
    virtual EpochLoadSettings start(std::uint64_t epoch, const EpochLoadSettings& settings) = 0;
    // Worker threads that carry the running (or last) epoch's load: the
    // capacity its CPU use is measured against.
    virtual std::size_t load_threads() const = 0;
    // Stops issuing and waits for calls in flight; false when some worker
    // was still busy after the op timeout.
    virtual bool stop() = 0;
    virtual LoadCounters counters() const = 0;
    // The intervals recorded since the last call, moved out.
    virtual std::vector<stats::Interval> take_intervals() = 0;
    // The same without the seconds still being recorded
    // (LoadSession::take_finished_intervals): what a tick takes while the
    // load runs, so it never stalls the load.
    virtual std::vector<stats::Interval> take_finished_intervals() = 0;
    virtual std::optional<std::int64_t> load_started_unix_ms() const = 0;
    virtual std::optional<std::int64_t> load_stopped_unix_ms() const = 0;
    virtual std::optional<std::uint64_t> running_epoch() const = 0;
    virtual std::size_t live_connections() const = 0;
    virtual std::optional<stdb::ProtocolVersion> negotiated_protocol() const = 0;
    virtual void close_all() = 0;
};

// Time as the agent sees it: a steady clock, and waits that end early when
// a stop (SIGINT/SIGTERM) is requested.
class AgentClock {
public:
    using Clock = std::chrono::steady_clock;
    virtual ~AgentClock() = default;
    virtual Clock::time_point now() = 0;
    // False when a stop was requested (before or during the wait).
    virtual bool wait_for(std::chrono::milliseconds d) = 0;
    virtual bool stop_requested() = 0;
};

// What the agent saw of its load at one progress tick: about once a second
// while an epoch's load runs, and once when it stops.
struct LoadTick {
    std::optional<std::uint64_t> epoch;  // the running epoch (none at the stop's tick)
    LoadCounters counters;               // the epoch's so far
    std::size_t open_connections = 0;
    // The intervals taken from the load since the previous tick: deltas,
    // to be merged by start (stats::merge_into).
    std::vector<stats::Interval> intervals;
};

struct AgentSinks {
    // A progress line (the tool prefixes "[generator <id>] ").
    std::function<void(const std::string&)> log;
    // A line for stderr, already starting with "error: ".
    std::function<void(const std::string&)> error;
    // Every progress tick, on the agent's thread (e.g. for --metrics-listen); may be empty.
    std::function<void(const LoadTick&)> on_tick;
};

class AgentRunner {
public:
    static constexpr std::chrono::milliseconds kProgressPeriod{1000};

    // `jitter_seed` seeds the re-register backoff's jitter (the tool uses
    // its pid, so generators that failed together spread out).
    AgentRunner(const GeneratorConfig& config, control::RegisterManifest manifest, ControlClient& client,
                AgentLoad& load, AgentClock& clock, AgentSinks sinks, std::uint32_t jitter_seed);

    // Follows the coordinator until a stop is requested or a failure ends
    // it; closes the connections and returns the exit code (0 ok, 1 failure).
    int run();

private:
    // One epoch's load once stopped.
    struct StoppedLoad {
        LoadCounters counters;
        std::vector<stats::Interval> intervals;
        std::optional<std::int64_t> started_ms;
        std::optional<std::int64_t> stopped_ms;
        EpochLoadSettings ran;
        control::ReportResources resources;
    };

    template <typename Call>
    auto call_control(const std::string& label, Call&& call);
    void note_clock(bool immediate_answer);
    double last_rtt_ms() const;
    StoppedLoad stop_load();
    // Takes the load's new intervals into taken_ and tells on_tick; posts
    // them when `post`.
    void tick(bool post);
    void post_progress(std::uint64_t epoch, std::vector<stats::Interval> fresh);
    control::StopReport stop_report(StoppedLoad&& stopped) const;
    control::EpochAckRequest stopped_request(std::uint64_t epoch, const control::StopReport& report,
                                             bool with_intervals) const;
    void post_stopped(std::uint64_t epoch, StoppedLoad&& stopped);
    void acknowledge_start(std::uint64_t epoch);
    void register_and_ready(bool open);
    void reconnect();
    void poll_once();
    void on_lost_coordinator(const CoordinatorError& e);
    void report_failure(const CoordinatorError& e);

    const GeneratorConfig& config_;
    control::RegisterManifest manifest_;
    ControlClient& client_;
    AgentLoad& load_;
    AgentClock& clock_;
    AgentSinks sinks_;
    std::minstd_rand rng_;

    ControlLease lease_;
    bool reconnecting_ = false;  // single attempts while re-registering with backoff
    ClockOffsetEstimator clock_offset_;
    std::optional<std::uint64_t> running_;
    // What the running (or last) epoch's load runs with, and this process's
    // resource use when it started.
    EpochLoadSettings running_settings_;
    ResourceSnapshot running_since_;
    // The last epoch whose load ran and stopped: decide() never starts it
    // again. Forgotten, like no_started_route_, when registering again.
    std::optional<std::uint64_t> ended_;
    // POST /started answered 404: this coordinator has no start barrier.
    bool no_started_route_ = false;
    // POST /progress answered 404 (no live view there), or 409 for this
    // epoch (logged once); forgotten like no_started_route_.
    bool no_progress_route_ = false;
    std::optional<std::uint64_t> progress_refused_epoch_;
    // The running epoch's intervals taken so far (for the stop report),
    // the last tick's new ones at the stop (posted before /stopped), and
    // when the next tick is due.
    std::vector<stats::Interval> taken_;
    std::vector<stats::Interval> last_fresh_;
    AgentClock::Clock::time_point next_tick_{};
    // Version of the last /state answer acted on; the next poll waits for a
    // newer one. A plain pair rather than std::optional: GCC 12 at -O2
    // reports a bogus maybe-uninitialized read of the optional's payload.
    std::uint64_t seen_version_ = 0;
    bool have_version_ = false;
};

// Retrying helps only when the coordinator did not answer (or answered 5xx).
bool is_retryable(const std::exception& e);

// "POST http://h:p/ready: connection refused" -> "connection refused".
std::string cause_of(const std::string& message);

// "connections=64 inflight=8 rate=5000/s alpha=1.5 accounts=100000", for logs.
std::string describe(const EpochLoadSettings& s);

// One line on whether open-loop load kept its schedule (stats::ScheduleRule,
// as the coordinator judges it), so an operator sees it on the load machine.
std::string schedule_line(double rate, std::uint64_t attempted, std::optional<std::int64_t> started_ms,
                          std::optional<std::int64_t> stopped_ms, const std::vector<stats::Interval>& intervals);

}  // namespace benchdist::generator
