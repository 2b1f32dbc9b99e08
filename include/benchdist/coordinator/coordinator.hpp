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
#include <limits>
#include <map>
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

// Which state a generator route answers with: the full state (every
// generator listed; the original's format) or the asking generator's
// compact view (control::SelfView; GET /state?id=<id>&view=self), whose
// cost does not grow with the fleet.
enum class StateView { Full, Self };

// A long-poll's answer and its compact JSON (control::compact(to_json(state))),
// rendered once per distinct answer in a batch and shared by every waiter
// that gets the same one.
using RenderedAnswer = std::function<void(const control::CoordinatorState& state, const std::string& compact_json)>;

class Coordinator {
public:
    // `verifier` may be null when options.verify is false.
    Coordinator(CoordinatorOptions options, std::shared_ptr<CounterSource> counter, std::shared_ptr<Verifier> verifier,
                WallClock clock = system_wall_clock_ms, EventLog log = {},
                MonotonicClock mono_clock = steady_clock_ms);
    ~Coordinator();
    Coordinator(const Coordinator&) = delete;
    Coordinator& operator=(const Coordinator&) = delete;

    // Generator routes; throw CoordinatorError for a 400. StateView::Self
    // answers the requesting generator's view instead of the full state.
    control::CoordinatorState register_generator(const control::RegisterRequest& request,
                                                 StateView view = StateView::Full);
    control::CoordinatorState ready(const control::ReadyRequest& request, StateView view = StateView::Full);
    control::CoordinatorState started(const control::EpochAckRequest& request, StateView view = StateView::Full);
    control::CoordinatorState stopped(const control::EpochAckRequest& request, StateView view = StateView::Full);
    // GET /state; a known `touch_id` records contact.
    control::CoordinatorState state(const std::optional<std::string>& touch_id = std::nullopt);
    // GET /state?id=<id>&view=self: records contact and answers id's view;
    // CoordinatorError `Unknown generator "<id>"` for an unknown id.
    control::CoordinatorState state_view(const std::string& id);

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
    // The same with the answer's text rendered once per batch. With
    // StateView::Self `touch_id` is required, `since` is compared with the
    // view's version (EpochStateMachine::view_version()) and an unknown id
    // throws CoordinatorError before anything is held. Registering a
    // watcher is O(log waiters) and does not wake the notifier unless it
    // is due before the notifier's next planned wake-up.
    void watch_rendered(std::uint64_t since, std::chrono::milliseconds wait, StateView view,
                        RenderedAnswer on_answer, const std::optional<std::string>& touch_id);

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
    // A held long-poll: answered through on_state (watch()) or on_rendered
    // (watch_rendered()).
    struct Watcher {
        std::uint64_t since;
        std::function<void(const control::CoordinatorState&)> on_state;
        RenderedAnswer on_rendered;
        std::optional<std::string> touch_id;
    };
    // Held long-polls of one StateView, by deadline (the notifier answers
    // the expired prefix), and the version their `since` was checked
    // against, so a version change answers them without a scan per wake-up.
    struct WatcherSet {
        std::multimap<std::chrono::steady_clock::time_point, Watcher> by_deadline;
        std::uint64_t version = 0;
    };

    // What the timeline sampler shares with the runner, under mu_.
    struct Sampling {
        bool window_closed = false;
        std::vector<stdb::CounterRead> reads;
    };

    // sm_.snapshot() stamped with the wall clock; callers hold mu_.
    control::CoordinatorState snapshot_now() const;
    // sm_.view_of(id) stamped the same way; callers hold mu_.
    control::CoordinatorState view_now(const std::string& id) const;
    // What a generator route answers; callers hold mu_.
    control::CoordinatorState answer_locked(StateView view, const std::string& id) const;
    std::uint64_t version_of(StateView view) const;
    WatcherSet& watchers_of(StateView view) { return view == StateView::Self ? self_watchers_ : full_watchers_; }
    void add_watcher(StateView view, std::uint64_t since, std::chrono::milliseconds wait, Watcher watcher);
    // Moves the watchers of `set` that are due (version moved past their
    // since, deadline passed, or shutdown) into `due`. Callers hold mu_.
    void take_due(WatcherSet& set, std::uint64_t version, std::chrono::steady_clock::time_point now,
                  std::vector<Watcher>& due);
    // Answers due watchers outside the lock: one full snapshot and at most
    // one rendering per distinct view. Called with `lock` held; returns
    // with it held.
    void answer(std::unique_lock<std::mutex>& lock, std::vector<Watcher> full_due, std::vector<Watcher> self_due);
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
    WatcherSet full_watchers_;
    WatcherSet self_watchers_;
    // When the notifier will wake next on its own (steady clock), and the
    // monotonic ms at which it will next check leases: a new watcher or a
    // lease that ends earlier wakes it, nothing else needs to.
    std::chrono::steady_clock::time_point notifier_wake_at_ = std::chrono::steady_clock::time_point::min();
    std::int64_t notifier_lease_check_ms_ = std::numeric_limits<std::int64_t>::min();
    bool shutting_down_ = false;
    std::thread runner_;
    std::thread notifier_;
};

}  // namespace benchdist::coordinator
