#include "coordinator/epoch_runner.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "benchdist/stats/steady_state.hpp"

namespace benchdist::coordinator {

using control::Phase;

namespace {

std::chrono::steady_clock::duration seconds_to_duration(double seconds) {
    using Duration = std::chrono::steady_clock::duration;
    if (!(seconds > 0)) return Duration::zero();
    // Cap absurd values instead of overflowing the clock (a year is plenty).
    seconds = std::min(seconds, 365.0 * 24 * 3600);
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

// Thrown inside the runner when an abort arrives before the window opened.
class EpochAborted : public std::runtime_error {
public:
    EpochAborted() : std::runtime_error("Epoch aborted before the measurement window opened") {}
};

// Thrown when the start barrier timed out; the original's message.
class StartAcksMissing : public std::runtime_error {
public:
    explicit StartAcksMissing(std::vector<std::string> ids)
        : std::runtime_error("Missing start acknowledgements from: " + join_ids(ids)), ids_(std::move(ids)) {}
    const std::vector<std::string>& ids() const { return ids_; }

private:
    std::vector<std::string> ids_;
};

}  // namespace

EpochRunner::EpochRunner(CoordinatorOptions options, EpochRunnerShared shared, EpochRunnerIo io)
    : options_(std::move(options)), shared_(shared), io_(std::move(io)) {}

void EpochRunner::log(const std::string& message) const {
    if (io_.log) io_.log(message);
}

bool EpochRunner::aborted() const { return shared_.sm.active() && shared_.sm.active()->abort_requested; }

template <typename Pred>
bool EpochRunner::wait_or_abort(std::unique_lock<std::mutex>& lock, Steady::time_point deadline, Pred pred) {
    return shared_.cv.wait_until(lock, deadline, [&] { return shared_.shutting_down || aborted() || pred(); });
}

void EpochRunner::throw_if_cut_short() const {
    if (aborted() || shared_.shutting_down) throw EpochAborted();
}

void EpochRunner::throw_if_lost_before_window() const {
    if (!shared_.sm.active()->errors.empty())
        throw std::runtime_error("not measured: a participant was lost before the window opened");
}

std::optional<WarmupObservation> EpochRunner::wait_for_window(std::unique_lock<std::mutex>& lock) {
    auto& sm = shared_.sm;
    // The first revision has no start barrier: the state machine opened the
    // epoch in `warmup`, which is all the time generators get to start.
    if (options_.revision == OriginalRevision::Final) {
        const auto deadline = Steady::now() + seconds_to_duration(options_.start_ack_timeout_seconds);
        // A participant lost meanwhile will not ack: stop waiting for it.
        wait_or_abort(lock, deadline, [&] { return sm.missing_start_acks().empty() || !sm.active()->errors.empty(); });
        throw_if_cut_short();
        throw_if_lost_before_window();
        const auto missing = sm.missing_start_acks();
        if (!missing.empty()) throw StartAcksMissing(missing);
    }
    // The warmup keeps the phase the epoch opened with: `warmup` (first
    // revision), or `starting` (final): the final revision's generators keep
    // their load only in `starting` and `measure`, so a `warmup` phase
    // after the barrier would stop them and leave the window without load.
    std::optional<WarmupObservation> warmup;
    shared_.live.set_stage(LiveStage::Warmup, io_.clock());
    shared_.cv.notify_all();
    if (options_.warmup_auto) {
        warmup = auto_warmup(lock);
    } else if (options_.warmup_seconds > 0) {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", options_.warmup_seconds);
        log("epoch " + std::to_string(sm.active()->epoch) + ": warmup of " + seconds + " s before the window");
        start_warmup_sampler();
        wait_or_abort(lock, Steady::now() + seconds_to_duration(options_.warmup_seconds),
                      [&] { return !sm.active()->errors.empty(); });
        throw_if_cut_short();
        throw_if_lost_before_window();
    }
    if (options_.align_window_ms > 0) {
        const std::int64_t step = options_.align_window_ms;
        const std::int64_t wait_ms = (step - io_.clock() % step) % step;
        wait_or_abort(lock, Steady::now() + std::chrono::milliseconds(wait_ms), [] { return false; });
        throw_if_cut_short();
    }
    return warmup;
}

WarmupObservation EpochRunner::auto_warmup(std::unique_lock<std::mutex>& lock) {
    const auto epoch = std::to_string(shared_.sm.active()->epoch);
    const stats::SteadyRule rule{options_.stable_cv, options_.stable_seconds};
    char text[160];
    std::snprintf(text, sizeof text, "warmup until the commit rate is steady (CV <= %g over %g s, at most %g s)",
                  options_.stable_cv, options_.stable_seconds, options_.warmup_max_seconds);
    log("epoch " + epoch + ": " + text);
    // The rule looks at per-second rates, so the counter is read on a
    // one-second grid (options_.warmup_read_ms) from the end of the start
    // barrier; a read slower than that skips the slots it overran, and a
    // failed one only lengthens a step.
    const auto period = std::chrono::duration_cast<Steady::duration>(
        std::chrono::milliseconds(std::max<std::int64_t>(1, options_.warmup_read_ms)));
    const auto begin = Steady::now();
    const auto cap = begin + seconds_to_duration(options_.warmup_max_seconds);
    auto next = begin;
    std::vector<stats::CounterPoint> reads;
    WarmupObservation w;
    for (;;) {
        const auto read = read_unlocked(lock);
        throw_if_cut_short();
        throw_if_lost_before_window();
        if (read) {
            reads.push_back({read->at_ms, read->read.committed});
            live_read(*read, false);
        }
        const auto check = stats::check_steady(stats::rate_steps(reads), rule);
        w.cv = check.cv;
        if (check.stable) {
            w.stable = true;
            break;
        }
        if (Steady::now() >= cap) break;
        next_slot(next, period);
        wait_or_abort(lock, std::min(next, cap), [&] { return !shared_.sm.active()->errors.empty(); });
        throw_if_cut_short();
        throw_if_lost_before_window();
    }
    w.seconds = std::chrono::duration<double>(Steady::now() - begin).count();
    for (const auto& step : stats::rate_steps(reads)) w.rates.push_back(step.per_second);
    std::snprintf(text, sizeof text, "%.1f s of warmup, last CV ", w.seconds);
    std::string cv = "not computable";
    if (w.cv) {
        char number[32];
        std::snprintf(number, sizeof number, "%.4f", *w.cv);
        cv = number;
    }
    log("epoch " + epoch + ": " + text + cv +
        (w.stable ? ": the rate is steady, the window opens"
                  : ": not steady by --warmup-max, the window opens anyway (verdict not_steady)"));
    return w;
}

bool EpochRunner::measure(Sampling& sampling, std::thread& sampler) {
    std::unique_lock lock(shared_.mu);
    shared_.sm.set_phase(Phase::Measure);
    shared_.cv.notify_all();
    // The window runs from the moment the first read returned; an abort
    // closes it early.
    const auto window_start = Steady::now();
    const auto window_end = window_start + seconds_to_duration(options_.window_seconds);
    if (options_.sample_ms > 0) {
        sampler = std::thread(
            [this, &sampling, window_start, window_end] { sample_counter(sampling, window_start, window_end); });
    }
    wait_or_abort(lock, window_end, [] { return false; });
    sampling.window_closed = true;
    shared_.cv.notify_all();
    return aborted();
}

void EpochRunner::sample_counter(Sampling& sampling, Steady::time_point window_start, Steady::time_point window_end) {
    const auto period = std::chrono::duration_cast<Steady::duration>(std::chrono::milliseconds(options_.sample_ms));
    auto next = window_start + period;
    std::unique_lock lock(shared_.mu);
    for (;;) {
        // A sample at the window's end would only repeat the end read.
        if (next >= window_end) return;
        wait_or_abort(lock, next, [&] { return sampling.window_closed; });
        if (sampling.window_closed || shared_.shutting_down || aborted()) return;
        // A failed sample leaves a longer step in the timeline; the
        // window's own reads decide whether the epoch has numbers.
        if (const auto read = read_unlocked(lock)) {
            sampling.reads.push_back(*read);
            live_read(*read, true);
        }
        // Keep the samples on the grid of the window's start.
        next_slot(next, period);
    }
}

std::optional<ObservedRead> EpochRunner::read_unlocked(std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    std::optional<ObservedRead> read;
    try {
        read = observe(io_.counter.read(), io_.clock());
    } catch (const std::exception&) {
    }
    lock.lock();
    return read;
}

void EpochRunner::next_slot(Steady::time_point& next, Steady::duration period) {
    const auto now = Steady::now();
    next += period;
    while (next <= now) next += period;
}

void EpochRunner::live_read(const ObservedRead& read, bool in_window) {
    shared_.live.add_server_read(read.at_ms, read.read.committed, in_window);
    shared_.cv.notify_all();
}

void EpochRunner::start_warmup_sampler() {
    if (options_.sample_ms <= 0) return;
    warmup_sampler_ = std::thread([this] {
        const auto period = std::chrono::duration_cast<Steady::duration>(std::chrono::milliseconds(options_.sample_ms));
        auto next = Steady::now();
        std::unique_lock lock(shared_.mu);
        while (!warmup_over_ && !shared_.shutting_down && !aborted()) {
            // A failed read: only the live view misses it.
            const auto read = read_unlocked(lock);
            if (read && !warmup_over_) live_read(*read, false);
            next_slot(next, period);
            wait_or_abort(lock, next, [&] { return warmup_over_; });
        }
    });
}

std::vector<std::string> EpochRunner::stop_and_wait_acks() {
    std::unique_lock lock(shared_.mu);
    shared_.sm.set_phase(Phase::Stop);
    shared_.live.set_stage(LiveStage::Stopping, io_.clock());
    shared_.cv.notify_all();
    const auto deadline = Steady::now() + seconds_to_duration(options_.stop_ack_timeout_seconds);
    // Only shutdown cuts this wait: verification must not race writers.
    shared_.cv.wait_until(lock, deadline,
                          [&] { return shared_.shutting_down || shared_.sm.missing_stop_acks().empty(); });
    return shared_.sm.missing_stop_acks();
}

void EpochRunner::verify(EpochObservations& o) {
    if (!options_.verify) return;
    {
        std::lock_guard lock(shared_.mu);
        shared_.live.set_stage(LiveStage::Verifying, io_.clock());
        shared_.cv.notify_all();
    }
    try {
        const auto outcome = io_.verifier->verify();
        o.verification = outcome.passed ? "passed" : "failed";
        if (!outcome.passed) o.verification_error = outcome.reason;
    } catch (const std::exception& e) {
        o.verification = "failed";
        o.verification_error = std::string("verification could not run: ") + e.what();
    }
}

void EpochRunner::run(std::uint64_t epoch, std::int64_t started_ms) {
    const std::string name = "epoch " + std::to_string(epoch);
    EpochObservations o;
    o.epoch = epoch;
    o.options = options_;
    o.started_ms = started_ms;
    {
        std::lock_guard lock(shared_.mu);
        const auto& a = *shared_.sm.active();
        o.label = a.label;
        o.participant_ids = a.participants;
        o.participant_connections = a.participant_connections;
        o.manifests = a.manifests;
        o.workload = a.workload;
        o.connections = a.connections;
        o.epoch_thresholds = a.thresholds;
        o.epoch_tolerate = a.tolerate;
        o.load = a.load;
        o.assignments = a.assignments;
        o.timing = a.timing;
    }

    std::optional<std::int64_t> finished_ms;
    bool stop_phase_entered = false;
    Sampling sampling;
    std::thread sampler;
    try {
        io_.counter.begin_epoch();
        {
            std::unique_lock lock(shared_.mu);
            o.warmup = wait_for_window(lock);
        }
        o.before = observe(io_.counter.read(), io_.clock());
        {
            std::lock_guard lock(shared_.mu);
            warmup_over_ = true;
            live_read(*o.before, true);
            shared_.live.window_opened(o.before->at_ms);
            shared_.cv.notify_all();
        }
        const bool window_aborted = measure(sampling, sampler);
        log(name + ": measurement window " + (window_aborted ? "cut short by stop-epoch" : "closed"));
        o.after = observe(io_.counter.read(), io_.clock());
        finished_ms = o.after->at_ms;
        {
            std::lock_guard lock(shared_.mu);
            live_read(*o.after, true);
            shared_.live.window_closed(o.after->at_ms);
        }

        stop_phase_entered = true;
        const auto missing = stop_and_wait_acks();
        if (!missing.empty()) {
            o.missing_stop_acks = missing;
            o.runner_error = "Missing stop acknowledgements from: " + join_ids(missing);
            log(name + ": " + *o.runner_error);
        }
        verify(o);
    } catch (const std::exception& e) {
        o.runner_error = o.runner_error ? *o.runner_error + "; " + e.what() : std::string(e.what());
        if (const auto* acks = dynamic_cast<const StartAcksMissing*>(&e)) {
            o.missing_start_acks = acks->ids();
        } else if (!dynamic_cast<const EpochAborted*>(&e)) {
            o.failure = e.what();
        }
        if (!finished_ms) finished_ms = io_.clock();
        if (!stop_phase_entered) {
            const auto missing = stop_and_wait_acks();
            if (!missing.empty()) {
                o.missing_stop_acks = missing;
                o.runner_error = *o.runner_error + "; missing stop acknowledgements from: " + join_ids(missing);
            }
        }
    }
    o.finished_ms = *finished_ms;

    // The sampler ends at once when the window closed, unless a read is in
    // flight; by now the stop-ack wait has usually outlasted that.
    {
        std::lock_guard lock(shared_.mu);
        sampling.window_closed = true;
        warmup_over_ = true;
        shared_.cv.notify_all();
    }
    if (sampler.joinable()) sampler.join();
    if (warmup_sampler_.joinable()) warmup_sampler_.join();
    o.samples = std::move(sampling.reads);
    {
        std::lock_guard lock(shared_.mu);
        if (const auto& active = shared_.sm.active()) {
            // errors (what /state shows as currentEpochErrors) holds the
            // restarts too; the verdict tells them apart.
            o.restarts = active->restarts;
            for (const auto& e : active->errors)
                if (std::find(o.restarts.begin(), o.restarts.end(), e) == o.restarts.end()) o.lost_errors.push_back(e);
            o.stalls_ms = active->stalls_ms;
            o.aborted = active->abort_requested;
            for (const auto& [id, report] : active->stop_reports) o.stop_reports[id] = report;
        }
    }
    o.database_identity = io_.counter.database_identity();

    auto r = build_epoch_result(o);
    try {
        const auto path = io_.store.write(r);
        log(name + ": delta=" + r.committed_delta + " tps=" + std::to_string(r.tps) + " verification=" +
            r.verification + (r.error ? " error=" + *r.error : std::string()) + " -> " + path.string());
    } catch (const std::exception& e) {
        // The message says whether the file exists (only its index line may be missing).
        r.error = (r.error ? *r.error + "; " : std::string()) + e.what();
        log(name + ": " + *r.error);
    }

    std::lock_guard lock(shared_.mu);
    shared_.live.finished(r, io_.clock());
    shared_.sm.finish_epoch(std::move(r));
    shared_.cv.notify_all();
}

}  // namespace benchdist::coordinator
