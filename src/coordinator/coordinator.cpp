#include "benchdist/coordinator/coordinator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <unistd.h>

#include "benchdist/control/version.hpp"
#include "benchdist/coordinator/manifest.hpp"
#include "benchdist/coordinator/result_summary.hpp"

namespace benchdist::coordinator {

using control::Phase;
using Steady = std::chrono::steady_clock;

namespace {

Steady::duration seconds_to_duration(double seconds) {
    if (!(seconds > 0)) return Steady::duration::zero();
    // Cap absurd values instead of overflowing the clock (a year is plenty).
    seconds = std::min(seconds, 365.0 * 24 * 3600);
    return std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(seconds));
}

std::string append_error(const std::optional<std::string>& existing, const std::string& more) {
    return existing ? *existing + "; " + more : more;
}

// Thrown inside the runner when an abort arrives before the window opened.
class EpochAborted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string system_hostname() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
    return name;
}

// Summary warnings first (they are about the numbers), then ours.
void append_warnings(control::Json& extra, const std::vector<std::string>& warnings) {
    if (warnings.empty()) return;
    auto& list = extra["warnings"];
    if (!list.is_array()) list = control::Json::array();
    for (const auto& w : warnings) list.push_back(w);
}

// A count from a generator report's "counters", 0 when absent or not a count.
std::uint64_t report_count(const control::Json& report, const char* key) {
    const auto counters = report.find("counters");
    if (counters == report.end() || !counters->is_object()) return 0;
    const auto it = counters->find(key);
    if (it == counters->end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) return 0;
    return it->get<std::uint64_t>();
}

// Connections the server dropped are a fault of the run, not of the numbers'
// arithmetic: name them per generator so nobody reads a dip as the server's
// steady rate.
std::vector<std::string> connection_fault_warnings(const control::Json& reports) {
    std::vector<std::string> out;
    for (const auto& [id, report] : reports.items()) {
        const auto disconnects = report_count(report, "disconnects");
        const auto reopened = report_count(report, "reopened");
        const auto failures = report_count(report, "reopenFailures");
        if (disconnects == 0 && reopened == 0 && failures == 0) continue;
        out.push_back("generator " + id + ": connections dropped during the epoch (" + std::to_string(disconnects) +
                      " calls lost as disconnects, " + std::to_string(reopened) + " connections reopened, " +
                      std::to_string(failures) + " reopen attempts failed): did the server restart or shed load?");
    }
    return out;
}

control::Json string_or_null(const std::string& s) { return s.empty() ? control::Json(nullptr) : control::Json(s); }

}  // namespace

control::Json coordinator_options_json(const CoordinatorOptions& o) {
    control::Json j;
    j["test"] = o.test;
    j["connector"] = o.connector;
    j["resultsDir"] = o.results_dir.string();
    j["warmupSeconds"] = o.warmup_seconds;
    j["startAckTimeoutSeconds"] = o.start_ack_timeout_seconds;
    j["windowSeconds"] = o.window_seconds;
    j["stopAckTimeoutSeconds"] = o.stop_ack_timeout_seconds;
    j["verify"] = o.verify;
    j["generatorIds"] = o.default_generator_ids;
    j["sampleMs"] = o.sample_ms;
    j["maxClockOffsetMs"] = o.max_clock_offset_ms;
    j["allowMixed"] = o.allow_mixed;
    j["alignWindowMs"] = o.align_window_ms;
    j["leaseSeconds"] = o.lease_seconds;
    for (const auto& [k, v] : o.other_options.items())
        if (!j.contains(k)) j[k] = v;
    return j;
}

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
      log_(std::move(log)),
      mono_clock_(std::move(mono_clock)),
      store_(options_.results_dir),
      sm_(options_.test, options_.connector) {
    if (!counter_) throw std::invalid_argument("Coordinator needs a CounterSource");
    if (options_.verify && !verifier_) throw std::invalid_argument("Coordinator: verify is on but no Verifier was given");
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
    return lease == 0 ? std::chrono::milliseconds::max() : std::chrono::milliseconds(std::max<std::int64_t>(1, lease / 3));
}

void Coordinator::log(const std::string& message) const {
    if (log_) log_(message);
}

control::CoordinatorState Coordinator::register_generator(const control::RegisterRequest& request, StateView view) {
    std::lock_guard lock(mu_);
    sm_.register_generator(request, clock_());
    heard_from(request.id);
    cv_.notify_all();
    return answer_locked(view, request.id);
}

control::CoordinatorState Coordinator::ready(const control::ReadyRequest& request, StateView view) {
    std::lock_guard lock(mu_);
    heard_from(request.id);
    sm_.mark_ready(request, clock_());
    cv_.notify_all();
    return answer_locked(view, request.id);
}

control::CoordinatorState Coordinator::started(const control::EpochAckRequest& request, StateView view) {
    std::lock_guard lock(mu_);
    heard_from(request.id);
    sm_.acknowledge_started(request, clock_());
    cv_.notify_all();
    return answer_locked(view, request.id);
}

control::CoordinatorState Coordinator::stopped(const control::EpochAckRequest& request, StateView view) {
    std::lock_guard lock(mu_);
    heard_from(request.id);
    sm_.acknowledge_stopped(request, clock_());
    cv_.notify_all();
    return answer_locked(view, request.id);
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
            if (outcome.started) {
                // The previous runner already recorded its result (the
                // machine is idle only after that); join it outside the lock.
                finished_runner = std::move(runner_);
                runner_ = std::thread(
                    [this, epoch = outcome.epoch, started_ms = clock_()] { run_epoch(epoch, started_ms); });
                cv_.notify_all();
            }
        }
        response.state = snapshot_now();
    }
    if (finished_runner.joinable()) finished_runner.join();
    if (response.started) {
        log(response.message + " with " + join_ids(response.state.participants) +
            (response.state.current_label ? " label=" + *response.state.current_label : std::string()));
    } else if (response.extra.contains("workloadDifferences")) {
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
    add_watcher(StateView::Full, since, wait, Watcher{since, std::move(on_state), {}, touch_id});
}

void Coordinator::watch_rendered(std::uint64_t since, std::chrono::milliseconds wait, StateView view,
                                 RenderedAnswer on_answer, const std::optional<std::string>& touch_id) {
    if (view == StateView::Self && !touch_id) throw CoordinatorError("the generator view needs the generator's id");
    std::unique_lock lock(mu_);
    if (view == StateView::Self && !sm_.is_known(*touch_id))
        throw CoordinatorError("Unknown generator \"" + *touch_id + "\"");
    if (touch_id) heard_from(*touch_id);
    if (since != version_of(view) || shutting_down_ || wait.count() <= 0) {
        const auto state = answer_locked(view, touch_id.value_or(std::string()));
        lock.unlock();
        on_answer(state, control::compact(control::to_json(state)));
        return;
    }
    add_watcher(view, since, wait, Watcher{since, {}, std::move(on_answer), touch_id});
}

void Coordinator::add_watcher(StateView view, std::uint64_t since, std::chrono::milliseconds wait, Watcher watcher) {
    const auto deadline = Steady::now() + wait;
    auto& set = watchers_of(view);
    // A set that is empty has no version checked yet: it starts at `since`,
    // which is the current version (or the watcher was answered at once).
    if (set.by_deadline.empty()) set.version = since;
    set.by_deadline.emplace(deadline, std::move(watcher));
    // Long-polls of one length arrive in deadline order: the notifier
    // already sleeps until an earlier one, so waking it would only cost a
    // scan per request.
    if (deadline < notifier_wake_at_) cv_.notify_all();
}

void Coordinator::take_due(WatcherSet& set, std::uint64_t version, Steady::time_point now, std::vector<Watcher>& due) {
    auto& held = set.by_deadline;
    if (shutting_down_) {
        for (auto& [deadline, w] : held) due.push_back(std::move(w));
        held.clear();
        return;
    }
    if (version != set.version) {
        // Every held watcher waited on an older version, except those added
        // after the change but before this pass (their since is current).
        for (auto it = held.begin(); it != held.end();) {
            if (it->second.since != version) {
                due.push_back(std::move(it->second));
                it = held.erase(it);
            } else {
                ++it;
            }
        }
        set.version = version;
    }
    while (!held.empty() && held.begin()->first <= now) {
        due.push_back(std::move(held.begin()->second));
        held.erase(held.begin());
    }
}

void Coordinator::answer(std::unique_lock<std::mutex>& lock, std::vector<Watcher> full_due,
                         std::vector<Watcher> self_due) {
    // The answer is contact too: the poll ended alive.
    for (const auto& w : full_due)
        if (w.touch_id) heard_from(*w.touch_id);
    for (const auto& w : self_due) heard_from(*w.touch_id);
    std::optional<control::CoordinatorState> full;
    if (!full_due.empty()) full = snapshot_now();
    // A view's text depends only on these fields of the generator (the rest
    // is the same for everyone in one batch), so a fleet gets a handful of
    // distinct answers, each built once.
    struct Distinct {
        control::SelfView key;
        control::CoordinatorState state;
        std::string text;
    };
    std::vector<Distinct> distinct;
    std::vector<std::size_t> which;
    which.reserve(self_due.size());
    for (const auto& w : self_due) {
        auto view = view_now(*w.touch_id);
        const auto& v = *view.self;
        auto it = std::find_if(distinct.begin(), distinct.end(), [&](const Distinct& d) {
            return d.key.participant == v.participant && d.key.included == v.included &&
                   d.key.local_state == v.local_state;
        });
        if (it == distinct.end()) {
            distinct.push_back(Distinct{v, std::move(view), {}});
            it = std::prev(distinct.end());
        }
        which.push_back(static_cast<std::size_t>(it - distinct.begin()));
    }
    lock.unlock();
    std::string full_text;
    for (auto& w : full_due) {
        if (w.on_state) {
            w.on_state(*full);
        } else {
            if (full_text.empty()) full_text = control::compact(control::to_json(*full));
            w.on_rendered(*full, full_text);
        }
    }
    for (auto& d : distinct) d.text = control::compact(control::to_json(d.state));
    for (std::size_t i = 0; i < self_due.size(); ++i) {
        const auto& d = distinct[which[i]];
        self_due[i].on_rendered(d.state, d.text);
    }
    lock.lock();
}

void Coordinator::notifier_loop() {
    std::unique_lock lock(mu_);
    for (;;) {
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
        std::vector<Watcher> full_due;
        std::vector<Watcher> self_due;
        take_due(full_watchers_, sm_.version(), now, full_due);
        take_due(self_watchers_, sm_.view_version(), now, self_due);
        if (!full_due.empty() || !self_due.empty()) {
            answer(lock, std::move(full_due), std::move(self_due));
            continue;
        }
        if (shutting_down_) return;
        auto next_deadline = Steady::time_point::max();
        auto lease_check_ms = std::numeric_limits<std::int64_t>::max();
        if (const auto lease = lease_ms(); lease > 0) {
            if (const auto expiry = sm_.next_lease_expiry(lease)) {
                // One ms past the expiry: a lease ends when silence exceeds it.
                const auto in_ms = std::min<std::int64_t>(std::max<std::int64_t>(1, *expiry - mono_clock_() + 1), 3600000);
                next_deadline = now + std::chrono::milliseconds(in_ms);
                lease_check_ms = *expiry + 1;
            }
        }
        for (const auto* set : {&full_watchers_, &self_watchers_})
            if (!set->by_deadline.empty()) next_deadline = std::min(next_deadline, set->by_deadline.begin()->first);
        notifier_wake_at_ = next_deadline;
        notifier_lease_check_ms_ = lease_check_ms;
        if (next_deadline == Steady::time_point::max()) {
            cv_.wait(lock);
        } else {
            cv_.wait_until(lock, next_deadline);
        }
    }
}

bool Coordinator::wait_until(const std::function<bool(const control::CoordinatorState&)>& pred,
                             std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(sm_.snapshot()); });
}

void Coordinator::sample_counter(Sampling& sampling, Steady::time_point window_start, Steady::time_point window_end) {
    const auto period = std::chrono::duration_cast<Steady::duration>(std::chrono::milliseconds(options_.sample_ms));
    auto next = window_start + period;
    std::unique_lock lock(mu_);
    for (;;) {
        // A sample at the window's end would only repeat the end read.
        if (next >= window_end) return;
        wait_or_abort(lock, next, [&] { return sampling.window_closed; });
        if (sampling.window_closed || shutting_down_ || (sm_.active() && sm_.active()->abort_requested)) return;
        lock.unlock();
        std::optional<stdb::CounterRead> read;
        try {
            read = counter_->read();
        } catch (const std::exception&) {
            // A failed sample leaves a longer step in the timeline; the
            // window's own reads decide whether the epoch has numbers.
        }
        lock.lock();
        if (read) sampling.reads.push_back(*read);
        // Keep the samples on the grid of the window's start; a read slower
        // than the period skips the slots it overran.
        const auto now = Steady::now();
        next += period;
        while (next <= now) next += period;
    }
}

template <typename Pred>
bool Coordinator::wait_or_abort(std::unique_lock<std::mutex>& lock, Steady::time_point deadline, Pred pred) {
    return cv_.wait_until(lock, deadline, [&] {
        return shutting_down_ || (sm_.active() && sm_.active()->abort_requested) || pred();
    });
}

void Coordinator::run_epoch(std::uint64_t epoch, std::int64_t started_ms) {
    control::EpochResult r;
    r.epoch = epoch;
    r.test = options_.test;
    r.connector = options_.connector;
    r.window_seconds = options_.window_seconds;
    ManifestsById manifests;
    WorkloadComparison workload;
    {
        std::lock_guard lock(mu_);
        const auto& a = *sm_.active();
        r.label = a.label;
        r.participant_ids = a.participants;
        r.participant_connections = a.participant_connections;
        manifests = a.manifests;
        workload = a.workload;
    }
    if (options_.warmup_seconds > 0) r.extra["warmupSeconds"] = options_.warmup_seconds;

    std::optional<stdb::CounterRead> before;
    std::optional<stdb::CounterRead> after;
    std::optional<std::int64_t> measured_ms;
    std::optional<std::int64_t> finished_ms;
    bool stop_phase_entered = false;
    bool window_aborted = false;
    Sampling sampling;
    std::thread sampler;

    auto aborted = [this] { return sm_.active() && sm_.active()->abort_requested; };
    auto enter_stop_and_wait_acks = [&] {
        std::unique_lock lock(mu_);
        sm_.set_phase(Phase::Stop);
        cv_.notify_all();
        stop_phase_entered = true;
        const auto deadline = Steady::now() + seconds_to_duration(options_.stop_ack_timeout_seconds);
        // Only shutdown cuts this wait: verification must not race writers.
        cv_.wait_until(lock, deadline, [&] { return shutting_down_ || sm_.missing_stop_acks().empty(); });
        return sm_.missing_stop_acks();
    };
    auto read_time = [this](const stdb::CounterRead& read) {
        return read.received_at_ms != 0 ? read.received_at_ms : clock_();
    };

    try {
        counter_->begin_epoch();
        {
            std::unique_lock lock(mu_);
            const auto deadline = Steady::now() + seconds_to_duration(options_.start_ack_timeout_seconds);
            // A participant lost meanwhile will not ack: stop waiting for it.
            wait_or_abort(lock, deadline, [&] {
                return sm_.missing_start_acks().empty() || !sm_.active()->errors.empty();
            });
            if (aborted() || shutting_down_) throw EpochAborted("Epoch aborted before the measurement window opened");
            if (!sm_.active()->errors.empty())
                throw std::runtime_error("not measured: a participant was lost before the window opened");
            const auto missing = sm_.missing_start_acks();
            if (!missing.empty()) throw std::runtime_error("Missing start acknowledgements from: " + join_ids(missing));
            if (options_.warmup_seconds > 0) {
                sm_.set_phase(Phase::Warmup);
                cv_.notify_all();
                const auto warm_until = Steady::now() + seconds_to_duration(options_.warmup_seconds);
                wait_or_abort(lock, warm_until, [] { return false; });
                if (aborted() || shutting_down_)
                    throw EpochAborted("Epoch aborted before the measurement window opened");
            }
            if (options_.align_window_ms > 0) {
                const std::int64_t now_ms = clock_();
                const std::int64_t step = options_.align_window_ms;
                const std::int64_t wait_ms = (step - now_ms % step) % step;
                wait_or_abort(lock, Steady::now() + std::chrono::milliseconds(wait_ms), [] { return false; });
                if (aborted() || shutting_down_)
                    throw EpochAborted("Epoch aborted before the measurement window opened");
            }
        }

        before = counter_->read();
        measured_ms = read_time(*before);
        {
            std::unique_lock lock(mu_);
            sm_.set_phase(Phase::Measure);
            cv_.notify_all();
            // The window runs from the moment the first read returned; an
            // abort closes it early.
            const auto window_start = Steady::now();
            const auto window_end = window_start + seconds_to_duration(options_.window_seconds);
            if (options_.sample_ms > 0) {
                sampler = std::thread([this, &sampling, window_start, window_end] {
                    sample_counter(sampling, window_start, window_end);
                });
            }
            wait_or_abort(lock, window_end, [] { return false; });
            window_aborted = aborted();
            sampling.window_closed = true;
            cv_.notify_all();
        }
        log("epoch " + std::to_string(epoch) + ": measurement window " + (window_aborted ? "cut short by stop-epoch" : "closed"));
        after = counter_->read();
        finished_ms = read_time(*after);

        const auto missing = enter_stop_and_wait_acks();
        if (!missing.empty()) {
            r.error = "Missing stop acknowledgements from: " + join_ids(missing);
            log("epoch " + std::to_string(epoch) + ": " + *r.error);
        }

        if (options_.verify) {
            try {
                const auto outcome = verifier_->verify();
                r.verification = outcome.passed ? "passed" : "failed";
                if (!outcome.passed) r.verification_error = outcome.reason;
            } catch (const std::exception& e) {
                r.verification = "failed";
                r.verification_error = std::string("verification could not run: ") + e.what();
            }
        }
    } catch (const std::exception& e) {
        r.error = append_error(r.error, e.what());
        if (!finished_ms) finished_ms = clock_();
        if (!stop_phase_entered) {
            const auto missing = enter_stop_and_wait_acks();
            if (!missing.empty()) r.error = *r.error + "; missing stop acknowledgements from: " + join_ids(missing);
        }
    }

    // The sampler ends at once when the window closed, unless a read is in
    // flight; by now the stop-ack wait has usually outlasted that.
    if (sampler.joinable()) {
        {
            std::lock_guard lock(mu_);
            sampling.window_closed = true;
            cv_.notify_all();
        }
        sampler.join();
    }

    // Participants lost during the epoch come first in the error: they are
    // why the rest may look odd (missing reports, a lower rate).
    {
        std::lock_guard lock(mu_);
        if (sm_.active() && !sm_.active()->errors.empty()) {
            std::string lost;
            for (const auto& e : sm_.active()->errors) lost += (lost.empty() ? "" : "; ") + e;
            r.error = r.error ? lost + "; " + *r.error : lost;
        }
    }

    // Numbers: only from two successful reads, and never a silent zero for
    // a counter that went backwards.
    std::optional<std::uint64_t> server_delta;
    if (measured_ms) {
        r.measured_at = control::iso8601_millis(*measured_ms);
        r.actual_window_seconds =
            (finished_ms && *finished_ms >= *measured_ms) ? static_cast<double>(*finished_ms - *measured_ms) / 1000.0 : 0;
    } else {
        r.measured_at = control::iso8601_millis(*finished_ms);
        r.actual_window_seconds = 0;
    }
    r.finished_at = control::iso8601_millis(*finished_ms);
    if (before) r.committed_before = std::to_string(before->committed);
    if (after) r.committed_after = std::to_string(after->committed);
    // A counter that dropped anywhere in the window -- at a timeline sample
    // even if the end read climbed past the start again -- means the server
    // restarted (or the database was republished) inside it: the delta of
    // the edge reads would be meaningless.
    std::optional<std::string> counter_reset;
    if (before && after) {
        const stdb::CounterRead* prev = &*before;
        for (const auto& read : sampling.reads) {
            if (read.committed < prev->committed) {
                const auto at_ms = measured_ms ? read_time(read) - *measured_ms : 0;
                counter_reset = "committed transfer counter went backwards from " + std::to_string(prev->committed) +
                                " to " + std::to_string(read.committed) + " " + std::to_string(at_ms) +
                                " ms into the window" + (read.series_absent ? " (its series vanished)" : "") +
                                ": the server restarted (or the database was republished) during the window; this "
                                "epoch has no valid throughput";
                break;
            }
            prev = &read;
        }
    }
    if (before && after) {
        if (counter_reset) {
            r.error = append_error(r.error, *counter_reset);
        } else if (after->committed >= before->committed) {
            const std::uint64_t delta = after->committed - before->committed;
            server_delta = delta;
            r.committed_delta = std::to_string(delta);
            r.tps = r.actual_window_seconds > 0 ? static_cast<double>(delta) / r.actual_window_seconds : 0;
        } else {
            r.error = append_error(r.error, "committed transfer counter went backwards from " +
                                                std::to_string(before->committed) + " to " +
                                                std::to_string(after->committed) + " during the window" +
                                                (after->series_absent ? " (its series vanished)" : "") +
                                                ": the server restarted (or the database was republished) during "
                                                "the window; this epoch has no valid throughput");
        }
        // How long each read took bounds how uncertain the window edges are.
        r.extra["counterReadMs"] = control::Json::array(
            {before->received_at_ms - before->sent_at_ms, after->received_at_ms - after->sent_at_ms});
        if (before->series_absent) r.extra["counterSeriesAbsentAtStart"] = true;
    }
    control::Json reports = control::Json::object();
    {
        std::lock_guard lock(mu_);
        if (sm_.active() && sm_.active()->abort_requested) r.extra["aborted"] = true;
        if (sm_.active())
            for (const auto& [id, report] : sm_.active()->stop_reports) reports[id] = report;
    }
    // The per-interval arrays are merged into the summary and left out of
    // the file: hours of per-second histograms per generator would dwarf
    // everything else in it.
    if (!reports.empty()) r.extra["generatorReports"] = strip_intervals(reports);
    {
        std::optional<SummaryWindow> window;
        if (measured_ms && finished_ms && *finished_ms > *measured_ms) window = SummaryWindow{*measured_ms, *finished_ms};
        SummaryOptions summary_options;
        summary_options.max_clock_offset_ms = options_.max_clock_offset_ms;
        const auto summary =
            summarize_generator_reports(reports, r.participant_ids, window, server_delta, summary_options);
        for (const auto& [key, value] : summary.items()) r.extra[key] = value;
    }
    append_warnings(r.extra, connection_fault_warnings(reports));
    if (options_.sample_ms > 0 && before && after && measured_ms) {
        // Each point: ms since measuredAt, committed since the window's
        // first read, and the rate since the previous point (the window's
        // end read is the last point, so the last step is not lost).
        control::Json timeline = control::Json::array();
        std::int64_t prev_t = 0;
        std::int64_t prev_committed = 0;
        const auto add_point = [&](const stdb::CounterRead& read) {
            const std::int64_t t = read_time(read) - *measured_ms;
            const std::int64_t committed =
                static_cast<std::int64_t>(read.committed) - static_cast<std::int64_t>(before->committed);
            const double tps = t > prev_t ? static_cast<double>(committed - prev_committed) * 1000.0 /
                                                static_cast<double>(t - prev_t)
                                          : 0.0;
            timeline.push_back({{"t", t}, {"committed", committed}, {"tps", std::round(tps * 100.0) / 100.0}});
            prev_t = t;
            prev_committed = committed;
        };
        const std::int64_t end_ms = read_time(*after);
        for (const auto& read : sampling.reads) {
            const auto t = read_time(read);
            // A read that answered after the window closed belongs to no step.
            if (t > *measured_ms && t < end_ms) add_point(read);
        }
        add_point(*after);
        r.extra["timeline"] = std::move(timeline);
    }
    append_warnings(r.extra, manifest_warnings(workload, manifests, control::tool_version()));
    {
        control::Json coordinator{{"hostname", options_.hostname}};
        const auto coordinator_options = coordinator_options_json(options_);
        for (const auto& [k, v] : coordinator_options.items()) coordinator[k] = v;
        // The identity begin_epoch() resolved; null when it failed.
        const auto identity = counter_->database_identity();
        control::Json manifest;
        manifest["toolVersion"] = std::string(control::tool_version());
        manifest["coordinator"] = std::move(coordinator);
        manifest["server"] = {{"url", string_or_null(options_.server_url)},
                              {"database", string_or_null(options_.database)},
                              {"databaseIdentity", identity ? control::Json(*identity) : control::Json(nullptr)}};
        manifest["startedAt"] = control::iso8601_millis(started_ms);
        manifest["generators"] = generator_entries(manifests);
        manifest["workload"] = workload.common;
        r.extra["manifest"] = std::move(manifest);
    }

    try {
        const auto path = store_.write(r);
        log("epoch " + std::to_string(epoch) + ": delta=" + r.committed_delta + " tps=" + std::to_string(r.tps) +
            " verification=" + r.verification + (r.error ? " error=" + *r.error : std::string()) + " -> " +
            path.string());
    } catch (const std::exception& e) {
        r.error = append_error(r.error, std::string("result file not written: ") + e.what());
        log("epoch " + std::to_string(epoch) + ": " + *r.error);
    }

    std::lock_guard lock(mu_);
    sm_.finish_epoch(std::move(r));
    cv_.notify_all();
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
