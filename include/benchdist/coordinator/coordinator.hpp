// The coordinator process's core: the epoch state machine behind one lock,
// the epoch runner (one thread per epoch that opens and closes the measured
// window, reads the server's counter, waits for acknowledgements, verifies
// and writes the result), and long-poll watchers that are answered when the
// state changes. Every wait is a timed wait on one condition variable, so an
// acknowledgement, an abort or shutdown ends it at once. No HTTP in here:
// routes.hpp maps requests onto these methods.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/coordinator/epoch_sources.hpp"
#include "benchdist/coordinator/epoch_state.hpp"
#include "benchdist/coordinator/result_store.hpp"

namespace benchdist::coordinator {

struct CoordinatorOptions {
    std::string test = "test-1";
    std::string connector = "spacetimedb";
    std::filesystem::path results_dir = "runs/distributed";
    // Seconds; fractions are honoured (tests use milliseconds).
    double warmup_seconds = 0;
    double start_ack_timeout_seconds = 60;
    double window_seconds = 60;
    double stop_ack_timeout_seconds = 60;
    bool verify = false;
    std::vector<std::string> default_generator_ids;  // --generator-ids
    // Counter samples during the measured window for the result's timeline,
    // every this many ms; 0 turns the timeline off.
    std::int64_t sample_ms = 1000;
    // Generators whose clock offset is larger get a warning in the result.
    double max_clock_offset_ms = 50;
    // Opens the measured window on the next multiple of this many ms of the
    // coordinator's wall clock (0: at once). Generators count outcomes in
    // intervals of their wall clock aligned the same way (1000 ms by
    // default), so an aligned window with a whole number of seconds covers
    // whole intervals and the client/server cross-check compares the same
    // span, without assuming the rate was even inside an edge interval.
    std::int64_t align_window_ms = 0;
    // Start epochs whose participants' workloads differ (the result warns)
    // instead of refusing them.
    bool allow_mixed = false;
    // A generator not heard from for this long (any request from it renews
    // it) is lost: left out of new epochs, and a running epoch it takes
    // part in is flagged at once. Published in /state as leaseSeconds so
    // generators fence their load on the same lease. 0 turns it off.
    double lease_seconds = 10;
    // For the result's manifest: the server as the operator named it, this
    // host's name (empty: the system's host name), and the command-line
    // options that are not fields above (bind, port, stdbUrl...), by
    // camelCase name; the fields above are recorded by the coordinator.
    std::string server_url;
    std::string database;
    std::string hostname;
    control::Json other_options = control::Json::object();
};

// Every field of `o` that is a command-line option, by camelCase name,
// followed by o.other_options: the "coordinator" part of the manifest.
control::Json coordinator_options_json(const CoordinatorOptions& o);

struct StopEpochOutcome {
    bool stopping = false;
    std::string message;
};

// Wall-clock time in unix milliseconds, for timestamps only (waits use the
// steady clock).
using WallClock = std::function<std::int64_t()>;
std::int64_t system_wall_clock_ms();

using EventLog = std::function<void(const std::string& message)>;

// A monotonic clock in ms for leases (tests inject a fake one and call
// Coordinator::check_leases()).
using MonotonicClock = std::function<std::int64_t()>;
std::int64_t steady_clock_ms();

class Coordinator {
public:
    // `verifier` may be null when options.verify is false.
    Coordinator(CoordinatorOptions options, std::shared_ptr<CounterSource> counter, std::shared_ptr<Verifier> verifier,
                WallClock clock = system_wall_clock_ms, EventLog log = {},
                MonotonicClock mono_clock = steady_clock_ms);
    ~Coordinator();
    Coordinator(const Coordinator&) = delete;
    Coordinator& operator=(const Coordinator&) = delete;

    // Generator routes; throw CoordinatorError for a 400.
    control::CoordinatorState register_generator(const control::RegisterRequest& request);
    control::CoordinatorState ready(const control::ReadyRequest& request);
    control::CoordinatorState started(const control::EpochAckRequest& request);
    control::CoordinatorState stopped(const control::EpochAckRequest& request);
    // GET /state; a known `touch_id` records contact.
    control::CoordinatorState state(const std::optional<std::string>& touch_id = std::nullopt);

    // Admin routes.
    control::StartEpochResponse start_epoch(const control::StartEpochRequest& request);
    StopEpochOutcome stop_epoch();
    control::CoordinatorState set_included(const std::vector<std::string>& ids, bool included);
    std::vector<control::GeneratorSnapshot> generators() const;

    // Long-poll: `on_state` gets the state at once when its version differs
    // from `since`, otherwise on the next change or after `wait` (on another
    // thread, never under the coordinator's lock).
    // A `touch_id` (a generator's long-poll) counts as contact when the
    // watch starts and again when it is answered.
    void watch(std::uint64_t since, std::chrono::milliseconds wait,
               std::function<void(const control::CoordinatorState&)> on_state,
               const std::optional<std::string>& touch_id = std::nullopt);

    // Marks generators whose lease ran out as lost, now. The coordinator
    // does this on its own when a lease runs out; tests with a fake
    // monotonic clock call it after moving the clock.
    void check_leases();
    // The longest a generator's long-poll may wait: well inside its lease,
    // so a poll in progress never outlasts it.
    std::chrono::milliseconds max_generator_wait() const;

    // Blocks until `pred` holds for the state or the timeout passes; returns
    // whether it held. For tests and for the executable's shutdown.
    bool wait_until(const std::function<bool(const control::CoordinatorState&)>& pred,
                    std::chrono::milliseconds timeout);

    // Aborts a running epoch (its result is still written), cuts the stop-ack
    // wait short, joins the runner, answers pending watchers. Idempotent.
    void shutdown();

    const CoordinatorOptions& options() const { return options_; }

private:
    struct Watcher {
        std::uint64_t since;
        std::chrono::steady_clock::time_point deadline;
        std::function<void(const control::CoordinatorState&)> on_state;
        std::optional<std::string> touch_id;
    };

    // What the timeline sampler shares with the runner, under mu_.
    struct Sampling {
        bool window_closed = false;
        std::vector<stdb::CounterRead> reads;
    };

    // sm_.snapshot() stamped with the wall clock; callers hold mu_.
    control::CoordinatorState snapshot_now() const;
    // `started_ms`: when start-epoch accepted it (the manifest's startedAt).
    void run_epoch(std::uint64_t epoch, std::int64_t started_ms);
    // Reads the counter every options_.sample_ms from `window_start` until
    // the window closes (or is aborted); runs on its own thread so a slow
    // read never delays the window's end.
    void sample_counter(Sampling& sampling, std::chrono::steady_clock::time_point window_start,
                        std::chrono::steady_clock::time_point window_end);
    void notifier_loop();
    // Records contact from a generator (wall clock for lastSeenAt, monotonic
    // clock for its lease); callers hold mu_.
    void heard_from(const std::string& id);
    // expire_leases() with the current time; returns the log lines. Callers hold mu_.
    std::vector<std::string> expire_leases_locked();
    std::int64_t lease_ms() const;
    // Timed wait on cv_ that also ends on abort (and shutdown).
    template <typename Pred>
    bool wait_or_abort(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point deadline, Pred pred);
    void log(const std::string& message) const;

    CoordinatorOptions options_;
    std::shared_ptr<CounterSource> counter_;
    std::shared_ptr<Verifier> verifier_;
    WallClock clock_;
    EventLog log_;
    MonotonicClock mono_clock_;
    ResultStore store_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    EpochStateMachine sm_;
    std::vector<Watcher> watchers_;
    bool shutting_down_ = false;
    std::thread runner_;
    std::thread notifier_;
};

}  // namespace benchdist::coordinator
