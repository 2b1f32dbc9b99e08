#include "benchdist/coordinator/coordinator.hpp"

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <stdexcept>

#include "benchdist/coordinator/manifest.hpp"
#include "benchdist/text/printable.hpp"
#include "coordinator/epoch_runner.hpp"

namespace benchdist::coordinator {

using control::Phase;
using Steady = std::chrono::steady_clock;

namespace {

std::string system_hostname() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
    return name;
}

// The log sink, behind the one escaping step: messages quote ids, labels
// and texts from the server and the generators, any of which may hold a
// newline or a terminal escape sequence.
EventLog escaping(EventLog sink) {
    if (!sink) return sink;
    return [sink = std::move(sink)](const std::string& message) { sink(text::printable(message)); };
}

}  // namespace

std::int64_t system_wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t steady_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch()).count();
}

Coordinator::Coordinator(CoordinatorOptions options, std::shared_ptr<CounterSource> counter,
                         std::shared_ptr<Verifier> verifier, WallClock clock, EventLog log, MonotonicClock mono_clock)
    : options_(std::move(options)),
      counter_(std::move(counter)),
      verifier_(std::move(verifier)),
      clock_(std::move(clock)),
      log_(escaping(std::move(log))),
      mono_clock_(std::move(mono_clock)),
      store_(options_.results_dir),
      campaigns_(options_.results_dir),
      sm_(options_.test, options_.connector, options_.revision) {
    if (!counter_) throw std::invalid_argument("Coordinator needs a CounterSource");
    if (options_.verify && !verifier_)
        throw std::invalid_argument("Coordinator: verify is on but no Verifier was given");
    if (options_.hostname.empty()) options_.hostname = system_hostname();
    notifier_ = std::thread([this] { notifier_loop(); });
}

Coordinator::~Coordinator() { shutdown(); }

control::CoordinatorState Coordinator::snapshot_now() const {
    auto s = sm_.snapshot();
    s.server_time_ms = clock_();
    if (options_.lease_seconds > 0) s.lease_seconds = options_.lease_seconds;
    return s;
}

control::CoordinatorState Coordinator::view_now(const std::string& id) const {
    auto s = sm_.view_of(id);
    s.server_time_ms = clock_();
    if (options_.lease_seconds > 0) s.lease_seconds = options_.lease_seconds;
    return s;
}

control::CoordinatorState Coordinator::answer_locked(StateView view, const std::string& id) const {
    return view == StateView::Self ? view_now(id) : snapshot_now();
}

std::uint64_t Coordinator::version_of(StateView view) const {
    return view == StateView::Self ? sm_.view_version() : sm_.version();
}

std::int64_t Coordinator::lease_ms() const {
    if (!(options_.lease_seconds > 0)) return 0;
    return std::max<std::int64_t>(1, std::llround(std::min(options_.lease_seconds, 365.0 * 24 * 3600) * 1000.0));
}

void Coordinator::heard_from(const std::string& id) {
    sm_.touch(id, clock_());
    sm_.heard_from(id, mono_clock_());
    // Only a lease that starts running (a first contact, a lost generator
    // back) can end before the notifier's next lease check.
    if (const auto lease = lease_ms(); lease > 0) {
        const auto expiry = sm_.next_lease_expiry(lease);
        if (expiry && *expiry < notifier_lease_check_ms_) cv_.notify_all();
    }
}

std::vector<std::string> Coordinator::expire_leases_locked() {
    std::vector<std::string> lines;
    const auto lease = lease_ms();
    if (lease == 0) return lines;
    for (const auto& lost : sm_.expire_leases(mono_clock_(), lease)) {
        lines.push_back(lost.message + (lost.participant ? ": the running epoch is flagged and does not wait for its "
                                                           "stop acknowledgement"
                                                         : ": left out of new epochs until it speaks again"));
    }
    if (!lines.empty()) cv_.notify_all();
    return lines;
}

void Coordinator::check_leases() {
    std::vector<std::string> lines;
    {
        std::lock_guard lock(mu_);
        lines = expire_leases_locked();
    }
    for (const auto& line : lines) log(line);
}

std::chrono::milliseconds Coordinator::max_generator_wait() const {
    const auto lease = lease_ms();
    // A third of the lease leaves room for the round trip and the next poll.
    return lease == 0 ? std::chrono::milliseconds::max()
                      : std::chrono::milliseconds(std::max<std::int64_t>(1, lease / 3));
}

void Coordinator::log(const std::string& message) const {
    if (log_) log_(message);
}

template <typename Change>
control::CoordinatorState Coordinator::apply_generator_request(const std::string& id, StateView view, Change change) {
    std::lock_guard lock(mu_);
    change();
    cv_.notify_all();
    return answer_locked(view, id);
}

// Contact is recorded before the state machine judges the request (a
// refused request still shows the generator alive), except on /register,
// which is what makes the id known.
control::CoordinatorState Coordinator::register_generator(const control::RegisterRequest& request, StateView view) {
    return apply_generator_request(request.id, view, [&] {
        sm_.register_generator(request, clock_());
        heard_from(request.id);
    });
}

control::CoordinatorState Coordinator::ready(const control::ReadyRequest& request, StateView view) {
    return apply_generator_request(request.id, view, [&] {
        heard_from(request.id);
        sm_.mark_ready(request, clock_());
    });
}

control::CoordinatorState Coordinator::started(const control::EpochAckRequest& request, StateView view) {
    return apply_generator_request(request.id, view, [&] {
        heard_from(request.id);
        sm_.acknowledge_started(request, clock_());
    });
}

control::CoordinatorState Coordinator::stopped(const control::EpochAckRequest& request, StateView view) {
    return apply_generator_request(request.id, view, [&] {
        heard_from(request.id);
        sm_.acknowledge_stopped(request, clock_());
    });
}

control::CoordinatorState Coordinator::state(const std::optional<std::string>& touch_id) {
    std::lock_guard lock(mu_);
    if (touch_id) heard_from(*touch_id);
    return snapshot_now();
}

control::CoordinatorState Coordinator::state_view(const std::string& id) {
    std::lock_guard lock(mu_);
    heard_from(id);
    return view_now(id);
}

control::StartEpochResponse Coordinator::start_epoch(const control::StartEpochRequest& request) {
    control::StartEpochResponse response;
    std::thread finished_runner;
    {
        std::lock_guard lock(mu_);
        if (shutting_down_) {
            response.message = "Coordinator is shutting down";
        } else {
            const auto outcome = sm_.start_epoch(request, options_.default_generator_ids, options_.allow_mixed);
            response.started = outcome.started;
            response.message = outcome.message;
            if (!outcome.workload_differences.empty())
                response.extra["workloadDifferences"] = differences_to_json(outcome.workload_differences);
            if (!outcome.load_refusals.empty())
                response.extra["loadRefusals"] = load_refusals_to_json(outcome.load_refusals);
            if (outcome.started) {
                // The previous runner already recorded its result (the
                // machine is idle only after that); join it outside the lock.
                finished_runner = std::move(runner_);
                auto epoch_options = apply_epoch_timing(options_, sm_.active()->timing);
                const auto started_ms = clock_();
                const auto& active = *sm_.active();
                live_.begin_epoch({outcome.epoch, active.label, active.participants, started_ms,
                                   epoch_options.warmup_seconds, epoch_options.warmup_auto,
                                   epoch_options.window_seconds});
                runner_ = std::thread([this, options = std::move(epoch_options), epoch = outcome.epoch,
                                       started_ms]() mutable { run_epoch(std::move(options), epoch, started_ms); });
                cv_.notify_all();
            }
        }
        response.state = snapshot_now();
    }
    if (finished_runner.joinable()) finished_runner.join();
    if (response.started) {
        log(response.message + " with " + join_ids(response.state.participants) +
            (response.state.current_label ? " label=" + *response.state.current_label : std::string()));
    } else if (response.extra.contains("workloadDifferences") || response.extra.contains("loadRefusals")) {
        log(response.message);
    }
    return response;
}

StopEpochOutcome Coordinator::stop_epoch() {
    std::lock_guard lock(mu_);
    const auto& active = sm_.active();
    if (!active) return {false, "No epoch is running"};
    const auto epoch = active->epoch;
    if (!sm_.request_abort()) return {true, "Epoch " + std::to_string(epoch) + " is already stopping"};
    cv_.notify_all();
    return {true, "Epoch " + std::to_string(epoch) + " stop requested"};
}

control::CoordinatorState Coordinator::set_included(const std::vector<std::string>& ids, bool included) {
    std::lock_guard lock(mu_);
    sm_.set_included(ids, included);
    cv_.notify_all();
    return snapshot_now();
}

std::vector<control::GeneratorSnapshot> Coordinator::generators() const {
    std::lock_guard lock(mu_);
    return sm_.generators();
}

void Coordinator::watch(std::uint64_t since, std::chrono::milliseconds wait,
                        std::function<void(const control::CoordinatorState&)> on_state,
                        const std::optional<std::string>& touch_id) {
    std::unique_lock lock(mu_);
    if (touch_id) heard_from(*touch_id);
    if (since != sm_.version() || shutting_down_ || wait.count() <= 0) {
        auto snapshot = snapshot_now();
        lock.unlock();
        on_state(snapshot);
        return;
    }
    if (hub_.add(StateView::Full, since, Steady::now() + wait, {since, std::move(on_state), {}, touch_id},
                 notifier_wake_at_))
        cv_.notify_all();
}

void Coordinator::watch_rendered(std::uint64_t since, std::chrono::milliseconds wait, StateView view,
                                 RenderedAnswer on_answer, const std::optional<std::string>& touch_id) {
    if (view == StateView::Self && !touch_id) throw RequestRejected("the generator view needs the generator's id");
    std::unique_lock lock(mu_);
    if (view == StateView::Self && !sm_.is_known(*touch_id))
        throw RequestRejected("Unknown generator \"" + *touch_id + "\"");
    if (touch_id) heard_from(*touch_id);
    if (since != version_of(view) || shutting_down_ || wait.count() <= 0) {
        const auto state = answer_locked(view, touch_id.value_or(std::string()));
        lock.unlock();
        on_answer(state, control::compact(control::to_json(state)));
        return;
    }
    if (hub_.add(view, since, Steady::now() + wait, {since, {}, std::move(on_answer), touch_id}, notifier_wake_at_))
        cv_.notify_all();
}

std::size_t Coordinator::progress(const control::ProgressReport& report) {
    std::lock_guard lock(mu_);
    if (!sm_.is_known(report.id)) throw RequestRejected("Unknown generator \"" + report.id + "\"");
    heard_from(report.id);
    const auto taken = live_.add_progress(report, clock_());
    if (!live_waiters_.empty()) cv_.notify_all();
    return taken;
}

control::Json Coordinator::live_locked(std::uint64_t since) const {
    return live_.to_json(since, {std::string(control::phase_name(sm_.phase())), sm_.active().has_value()});
}

control::Json Coordinator::live_json(std::uint64_t since) {
    std::lock_guard lock(mu_);
    live_.finalize(clock_());
    return live_locked(since);
}

void Coordinator::watch_live(std::uint64_t since, std::chrono::milliseconds wait,
                             std::function<void(const control::Json&)> on_answer) {
    std::unique_lock lock(mu_);
    if (since != live_.version() || shutting_down_ || wait.count() <= 0) {
        live_.finalize(clock_());
        auto body = live_locked(since);
        lock.unlock();
        on_answer(body);
        return;
    }
    const auto deadline = Steady::now() + wait;
    live_waiters_.push_back({since, deadline, std::move(on_answer)});
    if (deadline < notifier_wake_at_) cv_.notify_all();
}

MetricsView Coordinator::metrics_view() const {
    std::lock_guard lock(mu_);
    MetricsView m;
    m.state = snapshot_now();
    if (const auto read = live_.last_server_read()) {
        m.server_committed = read->committed;
        m.server_tps = read->tps;
        m.server_read_ms = read->at_ms;
    }
    m.in_window = live_.in_window();
    m.latency = live_.latency();
    m.latency_epoch = live_.epoch();
    return m;
}

void Coordinator::answer(std::unique_lock<std::mutex>& lock, LongPollHub::Due due) {
    // The answer is contact too: the poll ended alive.
    for (const auto& w : due.full)
        if (w.touch_id) heard_from(*w.touch_id);
    for (const auto& w : due.self) heard_from(*w.touch_id);
    auto batch = LongPollHub::prepare(
        std::move(due), [this] { return snapshot_now(); }, [this](const std::string& id) { return view_now(id); });
    lock.unlock();
    batch.deliver();
    lock.lock();
}

bool Coordinator::answer_live(std::unique_lock<std::mutex>& lock, Steady::time_point now) {
    if (live_waiters_.empty()) return false;
    std::vector<std::pair<LiveWaiter, control::Json>> due;
    bool finalized = false;
    for (auto it = live_waiters_.begin(); it != live_waiters_.end();) {
        if (it->since != live_.version() || it->deadline <= now || shutting_down_) {
            if (!finalized) {
                live_.finalize(clock_());
                finalized = true;
            }
            auto body = live_locked(it->since);
            due.emplace_back(std::move(*it), std::move(body));
            it = live_waiters_.erase(it);
        } else {
            ++it;
        }
    }
    if (due.empty()) return false;
    lock.unlock();
    for (auto& [waiter, body] : due) waiter.on_answer(body);
    lock.lock();
    return true;
}

void Coordinator::notifier_loop() {
    std::unique_lock lock(mu_);
    // Time in which this thread should have run and did not means the
    // process was stopped (SIGSTOP, swap, a paused VM). A stop can land in
    // either part of a pass: in the wait, which then ends far past its
    // deadline, or in the work before it, which takes microseconds when the
    // process runs (and after which the next deadline is computed afresh,
    // so the wait's lateness alone would miss such a stop).
    std::optional<Steady::time_point> pass_began;        // the previous pass
    Steady::duration pass_work{};                        // its work, up to its wait
    std::optional<Steady::time_point> timed_wait_until;  // its wait's deadline, if it waited with one
    for (;;) {
        const auto now_at_top = Steady::now();
        if (pass_began) {
            Steady::duration not_running{};
            if (timed_wait_until) {
                not_running = pass_work + std::max(Steady::duration{}, now_at_top - *timed_wait_until);
            } else {
                not_running = now_at_top - *pass_began;  // no timed wait: the whole pass was work
            }
            const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(not_running);
            if (late >= kStallThreshold) {
                // Before the leases are checked: the silence was ours.
                sm_.coordinator_stalled(mono_clock_(), late.count());
                cv_.notify_all();
                lock.unlock();
                char seconds[32];
                std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(late.count()) / 1000.0);
                log(std::string("this coordinator did not run for ") + seconds +
                    " s (stopped, swapped out or a paused VM): every generator's lease restarts now, and a running "
                    "epoch is marked invalid (coordinator_stalled)");
                lock.lock();
            }
            timed_wait_until.reset();
        }
        pass_began = now_at_top;
        notifier_wake_at_ = Steady::time_point::min();
        notifier_lease_check_ms_ = std::numeric_limits<std::int64_t>::min();
        // Leases first: a generator lost now shows up in the answers below.
        const auto lost_lines = expire_leases_locked();
        if (!lost_lines.empty()) {
            lock.unlock();
            for (const auto& line : lost_lines) log(line);
            lock.lock();
        }
        const auto now = Steady::now();
        LongPollHub::Due due;
        hub_.take_due(StateView::Full, sm_.version(), now, shutting_down_, due);
        hub_.take_due(StateView::Self, sm_.view_version(), now, shutting_down_, due);
        if (!due.empty()) {
            answer(lock, std::move(due));
            continue;
        }
        if (answer_live(lock, now)) continue;
        if (shutting_down_) return;
        auto next_deadline = Steady::time_point::max();
        auto lease_check_ms = std::numeric_limits<std::int64_t>::max();
        if (const auto lease = lease_ms(); lease > 0) {
            if (const auto expiry = sm_.next_lease_expiry(lease)) {
                // One ms past the expiry: a lease ends when silence exceeds it.
                const auto in_ms =
                    std::min<std::int64_t>(std::max<std::int64_t>(1, *expiry - mono_clock_() + 1), 3600000);
                next_deadline = now + std::chrono::milliseconds(in_ms);
                lease_check_ms = *expiry + 1;
            }
        }
        if (const auto held = hub_.next_deadline()) next_deadline = std::min(next_deadline, *held);
        for (const auto& w : live_waiters_) next_deadline = std::min(next_deadline, w.deadline);
        // While an epoch runs, wake at least this often, so a stall of the
        // process is noticed even when nothing else is due.
        if (sm_.active()) next_deadline = std::min(next_deadline, now + kStallProbe);
        notifier_wake_at_ = next_deadline;
        notifier_lease_check_ms_ = lease_check_ms;
        pass_work = Steady::now() - *pass_began;
        if (next_deadline == Steady::time_point::max()) {
            cv_.wait(lock);
            pass_began.reset();  // an untimed wait may last any time: nothing to measure against
        } else {
            // Checked however the wait ended: after a SIGCONT the epoch
            // runner's overdue step notifies at once, and a wake by notify
            // far past the deadline is as late as a timeout.
            cv_.wait_until(lock, next_deadline);
            timed_wait_until = next_deadline;
        }
    }
}

void Coordinator::run_epoch(CoordinatorOptions options, std::uint64_t epoch, std::int64_t started_ms) {
    EpochRunner runner(std::move(options), {mu_, cv_, sm_, live_, shutting_down_},
                       {*counter_, verifier_.get(), store_, clock_, log_});
    runner.run(epoch, started_ms);
}

bool Coordinator::wait_until(const std::function<bool(const control::CoordinatorState&)>& pred,
                             std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(sm_.snapshot()); });
}

void Coordinator::shutdown() {
    std::thread runner;
    {
        std::lock_guard lock(mu_);
        shutting_down_ = true;
        sm_.request_abort();
        cv_.notify_all();
        runner = std::move(runner_);
    }
    if (runner.joinable()) runner.join();
    if (notifier_.joinable()) notifier_.join();
}

}  // namespace benchdist::coordinator
