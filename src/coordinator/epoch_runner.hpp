// The epoch runner: the timed sequence of one epoch -- start barrier,
// warmup, the measured window with its edge reads and timeline samples,
// the stop acknowledgements, verification -- and its I/O through the
// CounterSource and Verifier interfaces (epoch_sources.hpp). It records what
// it observed into EpochObservations, leaves the arithmetic to
// build_epoch_result (epoch_result.hpp), writes the result and hands it to
// the state machine. One runner per epoch, on the coordinator's runner
// thread; it shares the coordinator's lock and condition variable, so an
// acknowledgement, an abort or shutdown ends any of its waits at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "benchdist/coordinator/clock_and_log.hpp"
#include "benchdist/coordinator/coordinator_options.hpp"
#include "benchdist/coordinator/epoch_result.hpp"
#include "benchdist/coordinator/epoch_sources.hpp"
#include "benchdist/coordinator/epoch_state.hpp"
#include "benchdist/coordinator/live_series.hpp"
#include "benchdist/coordinator/result_store.hpp"

namespace benchdist::coordinator {

// What the runner shares with the coordinator. `sm` and `shutting_down` are
// read and written only under `mu`; every change the runner makes is
// announced on `cv`.
struct EpochRunnerShared {
    std::mutex& mu;
    std::condition_variable& cv;
    EpochStateMachine& sm;
    // The live view (GET /admin/live): the runner tells it its stages, the
    // window's edges, every counter read and the result.
    LiveSeries& live;
    const bool& shutting_down;
};

// The runner's I/O and clocks; `verifier` may be null when verification is off.
struct EpochRunnerIo {
    CounterSource& counter;
    Verifier* verifier;
    ResultStore& store;
    WallClock clock;
    EventLog log;
};

class EpochRunner {
public:
    // `options`: this epoch's own (apply_epoch_timing), kept by the runner.
    EpochRunner(CoordinatorOptions options, EpochRunnerShared shared, EpochRunnerIo io);

    // Runs the active epoch `epoch` to its end and records its result in the
    // state machine (finish_epoch), whatever happened on the way.
    // `started_ms`: when start-epoch accepted it (the manifest's startedAt).
    void run(std::uint64_t epoch, std::int64_t started_ms);

private:
    using Steady = std::chrono::steady_clock;
    // What the timeline sampler shares with the runner, under shared_.mu.
    struct Sampling {
        bool window_closed = false;
        std::vector<ObservedRead> reads;
    };

    // Start barrier, warmup and window alignment; throws when the epoch
    // cannot open its window (aborted, a participant lost, acks missing).
    // Returns what --warmup auto saw (nullopt with a fixed warmup).
    std::optional<WarmupObservation> wait_for_window(std::unique_lock<std::mutex>& lock);
    // --warmup auto: reads the counter about once a second until the rate
    // is steady (stats::check_steady) or options_.warmup_max_seconds passed.
    WarmupObservation auto_warmup(std::unique_lock<std::mutex>& lock);
    // Throw when the epoch was aborted or shut down, or when a participant
    // was lost, before the window opened.
    void throw_if_cut_short() const;
    void throw_if_lost_before_window() const;
    // Opens the window (after the caller's first read), waits it out or
    // until an abort, with the timeline sampler running beside it; returns
    // whether an abort cut it short.
    bool measure(Sampling& sampling, std::thread& sampler);
    // Reads the counter every options_.sample_ms from `window_start` until
    // the window closes (or is aborted); runs on its own thread so a slow
    // read never delays the window's end.
    void sample_counter(Sampling& sampling, Steady::time_point window_start, Steady::time_point window_end);
    // Enters the stop phase and waits for the acknowledgements; returns
    // those still missing.
    std::vector<std::string> stop_and_wait_acks();
    // One counter read with shared_.mu released meanwhile (held on entry
    // and on return); none when it failed.
    std::optional<ObservedRead> read_unlocked(std::unique_lock<std::mutex>& lock);
    // The next slot of a read grid after now: a read slower than `period`
    // skips the slots it overran.
    static void next_slot(Steady::time_point& next, Steady::duration period);
    // A counter read for the live view; callers hold shared_.mu.
    void live_read(const ObservedRead& read, bool in_window);
    // With a fixed warmup, reads the counter every options_.sample_ms for
    // the live view only, on its own thread (a slow read must not stretch
    // the warmup), until the window opens.
    void start_warmup_sampler();
    void verify(EpochObservations& o);
    bool aborted() const;
    // Timed wait on the shared condition variable that also ends on abort
    // and shutdown.
    template <typename Pred>
    bool wait_or_abort(std::unique_lock<std::mutex>& lock, Steady::time_point deadline, Pred pred);
    void log(const std::string& message) const;

    const CoordinatorOptions options_;
    EpochRunnerShared shared_;
    EpochRunnerIo io_;
    // Set under shared_.mu when the window's first read is in: the warmup
    // sampler stops.
    bool warmup_over_ = false;
    std::thread warmup_sampler_;
};

}  // namespace benchdist::coordinator
