// The epoch runner: the timed sequence of one epoch (start barrier, warmup,
// the measured window with its edge reads and timeline samples, the stop
// acknowledgements, verification), run on its own thread per epoch. It
// records what it observed into EpochObservations and leaves the arithmetic
// to build_epoch_result (epoch_result.hpp). Every wait is a timed wait on
// the coordinator's condition variable, so an acknowledgement, an abort or
// shutdown ends it at once.
#include <stdexcept>

#include "benchdist/coordinator/coordinator.hpp"
#include "benchdist/coordinator/epoch_result.hpp"

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

// Thrown inside the runner when an abort arrives before the window opened.
class EpochAborted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace

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
        if (read) sampling.reads.push_back(observe(*read, clock_()));
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
    EpochObservations o;
    o.epoch = epoch;
    o.options = options_;
    o.started_ms = started_ms;
    {
        std::lock_guard lock(mu_);
        const auto& a = *sm_.active();
        o.label = a.label;
        o.participant_ids = a.participants;
        o.participant_connections = a.participant_connections;
        o.manifests = a.manifests;
        o.workload = a.workload;
    }

    std::optional<std::int64_t> finished_ms;
    bool stop_phase_entered = false;
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

        o.before = observe(counter_->read(), clock_());
        bool window_aborted = false;
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
        o.after = observe(counter_->read(), clock_());
        finished_ms = o.after->at_ms;

        const auto missing = enter_stop_and_wait_acks();
        if (!missing.empty()) {
            o.runner_error = "Missing stop acknowledgements from: " + join_ids(missing);
            log("epoch " + std::to_string(epoch) + ": " + *o.runner_error);
        }

        if (options_.verify) {
            try {
                const auto outcome = verifier_->verify();
                o.verification = outcome.passed ? "passed" : "failed";
                if (!outcome.passed) o.verification_error = outcome.reason;
            } catch (const std::exception& e) {
                o.verification = "failed";
                o.verification_error = std::string("verification could not run: ") + e.what();
            }
        }
    } catch (const std::exception& e) {
        o.runner_error = o.runner_error ? *o.runner_error + "; " + e.what() : std::string(e.what());
        if (!finished_ms) finished_ms = clock_();
        if (!stop_phase_entered) {
            const auto missing = enter_stop_and_wait_acks();
            if (!missing.empty())
                o.runner_error = *o.runner_error + "; missing stop acknowledgements from: " + join_ids(missing);
        }
    }
    o.finished_ms = *finished_ms;

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
    o.samples = std::move(sampling.reads);

    {
        std::lock_guard lock(mu_);
        if (const auto& active = sm_.active()) {
            o.lost_errors = active->errors;
            o.aborted = active->abort_requested;
            for (const auto& [id, report] : active->stop_reports) o.stop_reports[id] = report;
        }
    }
    o.database_identity = counter_->database_identity();

    auto r = build_epoch_result(o);
    try {
        const auto path = store_.write(r);
        log("epoch " + std::to_string(epoch) + ": delta=" + r.committed_delta + " tps=" + std::to_string(r.tps) +
            " verification=" + r.verification + (r.error ? " error=" + *r.error : std::string()) + " -> " +
            path.string());
    } catch (const std::exception& e) {
        r.error = (r.error ? *r.error + "; " : std::string()) + "result file not written: " + e.what();
        log("epoch " + std::to_string(epoch) + ": " + *r.error);
    }

    std::lock_guard lock(mu_);
    sm_.finish_epoch(std::move(r));
    cv_.notify_all();
}

}  // namespace benchdist::coordinator
