// The coordinator process's core, as a façade over its parts: the epoch
// state machine (epoch_state.hpp) behind one lock, the held long-polls
// (long_poll_hub.hpp) answered by a notifier thread when the state changes
// or a deadline passes, generator leases checked by the same thread, and
// the epoch runner (epoch_runner.hpp, one thread per epoch) whose
// observations build_epoch_result (epoch_result.hpp) turns into the result.
// No HTTP in here: routes.hpp maps requests onto these methods.
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
#include "benchdist/coordinator/campaign_store.hpp"
#include "benchdist/coordinator/clock_and_log.hpp"
#include "benchdist/coordinator/coordinator_options.hpp"
#include "benchdist/coordinator/epoch_sources.hpp"
#include "benchdist/coordinator/epoch_state.hpp"
#include "benchdist/coordinator/live_series.hpp"
#include "benchdist/coordinator/long_poll_hub.hpp"
#include "benchdist/coordinator/result_store.hpp"

namespace benchdist::coordinator {

struct StopEpochOutcome {
    bool stopping = false;
    std::string message;
};

// What GET /metrics shows, taken under the coordinator's lock at once.
struct MetricsView {
    control::CoordinatorState state;
    // The last read of the server's committed counter (any epoch's), its
    // rate since the read before, and when it was made (unix ms).
    std::optional<std::uint64_t> server_committed;
    std::optional<double> server_tps;
    std::optional<std::int64_t> server_read_ms;
    bool in_window = false;
    // The merged client latency of the live epoch so far (its progress
    // reports), and which epoch that is.
    stats::LatencyHistogram latency;
    std::optional<std::uint64_t> latency_epoch;
};

class Coordinator {
public:
    // `verifier` may be null when options.verify is false. Every message
    // given to `log` (the coordinator's and its epoch runner's) is one line
    // of printable ASCII: ids, labels and the server's error texts in it
    // are escaped (text::printable), so no peer can forge a log line.
    Coordinator(CoordinatorOptions options, std::shared_ptr<CounterSource> counter, std::shared_ptr<Verifier> verifier,
                WallClock clock = system_wall_clock_ms, EventLog log = {}, MonotonicClock mono_clock = steady_clock_ms);
    ~Coordinator();
    Coordinator(const Coordinator&) = delete;
    Coordinator& operator=(const Coordinator&) = delete;

    // Generator routes; throw RequestRejected for a 400. StateView::Self
    // answers the requesting generator's view instead of the full state.
    control::CoordinatorState register_generator(const control::RegisterRequest& request,
                                                 StateView view = StateView::Full);
    control::CoordinatorState ready(const control::ReadyRequest& request, StateView view = StateView::Full);
    control::CoordinatorState started(const control::EpochAckRequest& request, StateView view = StateView::Full);
    control::CoordinatorState stopped(const control::EpochAckRequest& request, StateView view = StateView::Full);
    // GET /state; a known `touch_id` records contact.
    control::CoordinatorState state(const std::optional<std::string>& touch_id = std::nullopt);
    // GET /state?id=<id>&view=self: records contact and answers id's view;
    // RequestRejected `Unknown generator "<id>"` for an unknown id.
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
    // throws RequestRejected before anything is held. Registering a
    // watcher is O(log waiters) and does not wake the notifier unless it
    // is due before the notifier's next planned wake-up.
    void watch_rendered(std::uint64_t since, std::chrono::milliseconds wait, StateView view, RenderedAnswer on_answer,
                        const std::optional<std::string>& touch_id);

    // POST /progress: a participant's progress for the live view. Throws
    // RequestRejected for an unknown generator, ProgressRefused (409) for
    // the wrong epoch or a generator not taking part. Counts as contact.
    std::size_t progress(const control::ProgressReport& report);
    // GET /admin/live: `on_answer` gets the live JSON at once when its
    // version differs from `since` (or `wait` is 0), otherwise on the next
    // change or after `wait` (on the notifier thread, outside the lock).
    void watch_live(std::uint64_t since, std::chrono::milliseconds wait,
                    std::function<void(const control::Json&)> on_answer);
    control::Json live_json(std::uint64_t since = 0);
    MetricsView metrics_view() const;

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

    // The results directory as the dashboard reads it (the epoch history)
    // and the campaigns the control posts: files only, never under the
    // coordinator's lock, so a slow disk does not hold up an epoch.
    const ResultStore& result_store() const { return store_; }
    CampaignStore& campaign_store() { return campaigns_; }

private:
    // sm_.snapshot() stamped with the wall clock; callers hold mu_.
    control::CoordinatorState snapshot_now() const;
    // sm_.view_of(id) stamped the same way; callers hold mu_.
    control::CoordinatorState view_now(const std::string& id) const;
    // What a generator route answers; callers hold mu_.
    control::CoordinatorState answer_locked(StateView view, const std::string& id) const;
    std::uint64_t version_of(StateView view) const;
    // A generator route: `change` under the lock, then every waiter is
    // told and `id` gets its answer in `view`.
    template <typename Change>
    control::CoordinatorState apply_generator_request(const std::string& id, StateView view, Change change);
    // Answers the hub's due watchers outside the lock. Called with `lock`
    // held; returns with it held.
    void answer(std::unique_lock<std::mutex>& lock, LongPollHub::Due due);
    // The runner thread's body: EpochRunner over this coordinator's state,
    // with the epoch's own options (apply_epoch_timing).
    void run_epoch(CoordinatorOptions options, std::uint64_t epoch, std::int64_t started_ms);
    void notifier_loop();
    // Answers the held live requests that are due (the version moved, the
    // deadline passed, shutdown) outside the lock; whether there were any.
    // Called with `lock` held; returns with it held.
    bool answer_live(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point now);
    // The live view's JSON; callers hold mu_.
    control::Json live_locked(std::uint64_t since) const;
    // The notifier's stall watch: during an epoch it wakes at least every
    // kStallProbe, and a timed wait that ends kStallThreshold or more past
    // its deadline means this process did not run meanwhile. The threshold
    // is well above any scheduling delay of a busy host, so a slow machine
    // is not taken for a stopped coordinator.
    static constexpr std::chrono::milliseconds kStallProbe{500};
    static constexpr std::chrono::milliseconds kStallThreshold{3000};
    // Records contact from a generator (wall clock for lastSeenAt, monotonic
    // clock for its lease); callers hold mu_.
    void heard_from(const std::string& id);
    // expire_leases() with the current time; returns the log lines. Callers hold mu_.
    std::vector<std::string> expire_leases_locked();
    std::int64_t lease_ms() const;
    void log(const std::string& message) const;

    CoordinatorOptions options_;
    std::shared_ptr<CounterSource> counter_;
    std::shared_ptr<Verifier> verifier_;
    WallClock clock_;
    EventLog log_;
    MonotonicClock mono_clock_;
    ResultStore store_;
    CampaignStore campaigns_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    EpochStateMachine sm_;
    LongPollHub hub_;
    LiveSeries live_;
    // Held GET /admin/live requests, answered by the notifier.
    struct LiveWaiter {
        std::uint64_t since = 0;
        std::chrono::steady_clock::time_point deadline;
        std::function<void(const control::Json&)> on_answer;
    };
    std::vector<LiveWaiter> live_waiters_;
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
