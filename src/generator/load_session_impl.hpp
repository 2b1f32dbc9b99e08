// LoadSession::Impl, private to the generator library: the session's
// threads, its workers and what they share, declared here so that the
// session's orchestration (load_session.cpp: threads, opening, epochs,
// counters and timelines, closing) and one worker's load loop
// (load_worker.cpp: closed and open loop, outcomes, reopening with backoff)
// live in files of their own. Included by those two files only.
#pragma once

#include "benchdist/generator/load_session.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "benchdist/generator/agent.hpp"
#include "benchdist/generator/protocol_errors.hpp"
#include "benchdist/generator/source_addresses.hpp"
#include "benchdist/generator/stdb_connection.hpp"
#include "benchdist/stats/interval_recorder.hpp"
#include "generator/conn_io.hpp"
#include "generator/due_queue.hpp"
#include "generator/wall_from_steady.hpp"

namespace benchdist::generator {

namespace asio = boost::asio;

// A server that dropped a connection is tried again at once, then after
// 100 ms, 200 ms, ... up to 5 s between tries (half of each randomised).
inline constexpr std::chrono::milliseconds kReopenBackoffInitial{100};
inline constexpr std::chrono::milliseconds kReopenBackoffCap{5000};
// How often open_all reports progress while connections open.
inline constexpr std::chrono::milliseconds kOpenProgressEvery{100};

inline std::int64_t wall_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One worker thread: its io_context, and the counters and timeline only it writes.
struct ThreadCtx {
    explicit ThreadCtx(const stats::IntervalOptions& interval_options) : recorder(interval_options) {}

    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    // The lean ws:// path's backend on this thread (conn_io.hpp); null for
    // wss://. Declared after `io`, so it goes first.
    std::unique_ptr<ConnIoFactory> conn_io;
    std::thread thread;
    LoadCounters counters;
    stats::IntervalRecorder recorder;
    // Wall-clock ms from which the recorder holds a finished interval worth
    // handing over; checked per call, so the check is one compare.
    std::int64_t flush_at_ms = 0;
    // Unix ms of the outcomes' steady times: the intervals' stamps without a
    // system-clock read per call.
    WallFromSteady wall;
    // Mirror of counters.committed readable from the controlling thread.
    std::atomic<std::uint64_t> committed{0};
    // Open loop: the thread's connections' next due calls and the one timer
    // that wakes the thread for them (load_worker.cpp, due_queue.hpp).
    DueQueue due;
    asio::steady_timer schedule_timer{io};
    bool timer_armed = false;
    bool servicing = false;  // inside service_schedule: it arms the timer once at its end
    std::chrono::steady_clock::time_point armed_for{};
    std::chrono::steady_clock::time_point last_wake{};
};

class LoadSession::Impl {
public:
    // One connection and the load it carries. Closed loop: keeps
    // max_inflight calls in flight, each answer making room for the next
    // call. Open loop: calls fall due on the worker's own schedule (rate /
    // connections per second, phases staggered across workers) and go out
    // when due if fewer than max_inflight are in flight; one that has to
    // wait for room is late, and its latency still counts from when it was
    // due (coordinated omission corrected, as wrk2).
    struct Worker {
        // What the worker remembers of one call in flight: when it fell due
        // and when it was sent, for its latency. Kept apart from the
        // connection's table (CallPipeline's slots: request id, deadline,
        // handler) on purpose: that one belongs to one connection, which is
        // replaced on every reopen and, once released, finishes its close on
        // its own with its handlers dropped, while this one belongs to the
        // worker and its load schedule (open-loop due times are no business
        // of a protocol client). Merging them would put the load policy into
        // StdbConnection's API or a per-call user payload into every slot,
        // and save nothing per call: both are max_inflight fixed entries,
        // reused, and the worker finds its entry by the index its handler
        // captures.
        struct Call {
            bool used = false;
            std::chrono::steady_clock::time_point intended;  // when it fell due (open loop)
            std::chrono::steady_clock::time_point sent;      // when it was handed to the connection
        };

        Impl* session = nullptr;
        ThreadCtx* ctx = nullptr;
        std::size_t index = 0;
        PairCursor cursor;
        std::unique_ptr<StdbConnection> conn;
        std::vector<Call> calls;  // at least `limit` entries, reused
        std::size_t limit = 1;    // calls in flight at most, this epoch
        std::size_t in_flight = 0;
        std::chrono::steady_clock::time_point next_due;  // open loop
        std::chrono::nanoseconds period{0};              // open loop: time between this worker's calls
        // Open loop: the due time of this worker's entry in its thread's
        // DueQueue, if it has one; an entry with another time is stale (the
        // epoch restarted) and is skipped.
        std::optional<std::chrono::steady_clock::time_point> queued_for;
        bool running = false;  // issue more calls
        bool busy = false;     // counted in busy_workers_: running, calls in flight or reopening
        bool reopening = false;
        // A reopen failed and the next try waits on reopen_timer; not busy
        // meanwhile, so stop() never waits for a backoff.
        bool backing_off = false;
        std::uint64_t backoff_generation = 0;  // a timer from an older backoff does nothing
        // Made at the first backoff: 120 bytes that most workers never
        // need, and at 100,000 connections every byte per worker counts
        // (issue 18, item 6).
        std::unique_ptr<asio::steady_timer> reopen_timer;
        Backoff backoff{kReopenBackoffInitial, kReopenBackoffCap};
        std::minstd_rand jitter;

        Worker(Impl* s, ThreadCtx* c, std::size_t i, const TransferPairs& pairs, std::size_t concurrency,
               std::size_t max_inflight)
            : session(s),
              ctx(c),
              index(i),
              cursor(pairs, i, concurrency),
              calls(max_inflight),
              limit(max_inflight),
              jitter(static_cast<std::uint_fast32_t>(i + 1)) {}

        void begin(std::chrono::steady_clock::time_point now);
        void halt();
        // `now` is the caller's clock reading, normally the batch time of
        // the read whose results made room (issue 18, item 3): every call
        // sent in that turn counts its latency from it.
        void fill(std::chrono::steady_clock::time_point now);  // closed loop
        void pump(std::chrono::steady_clock::time_point now);  // open loop
        // Open loop: wait in the thread's DueQueue for next_due.
        void enqueue();
        bool send(std::chrono::steady_clock::time_point intended, std::chrono::steady_clock::time_point now);
        void on_done(std::size_t slot, const CallOutcome& outcome);
        void after_call(std::chrono::steady_clock::time_point now);
        void reopen();
        void schedule_reopen();
        void cancel_backoff();
        void maybe_idle();
        bool open_loop() const { return period.count() > 0; }
    };

    Impl(LoadSessionOptions options, std::shared_ptr<const TransferPairs> pairs);

    ~Impl();

    // Worker i's connections (the first and every replacement) leave from
    // the same source address, so the spread over addresses holds for the
    // whole run.
    ConnectionOptions connection_options(std::size_t worker);

    // Runs fn(ctx) on every worker thread and waits until all have run it.
    void on_all_threads(const std::function<void(ThreadCtx&)>& fn);

    void open_all(const Progress& progress);

    // Runs on worker i's thread. Each lane opens its connections one after another.
    void open_one(std::size_t i, std::size_t lanes);

    void lane_done();

    EpochRun resolve(std::uint64_t epoch, const EpochSettings& settings) const;
    void start(std::uint64_t epoch, const EpochSettings& settings);

    bool stop();

    void worker_idle();

    // Open loop, on a worker thread: arm its schedule timer for the earliest
    // due call (no sooner than opt_.schedule_tick after its last wake-up),
    // and send every call due at `now`.
    void arm_schedule(ThreadCtx& ctx);
    void service_schedule(ThreadCtx& ctx, std::chrono::steady_clock::time_point now);

    void note_committed(ThreadCtx& ctx);

    std::uint64_t committed_total() const;

    bool wait_for_committed(std::uint64_t target, std::chrono::milliseconds timeout);

    LoadCounters counters();

    // On a worker thread, after recording at now_ms: once the recorder holds
    // an interval that ended, move the finished ones to the session timeline.
    void maybe_flush(ThreadCtx& ctx, std::int64_t now_ms);

    std::vector<stats::Interval> take_intervals();
    std::vector<stats::Interval> take_finished_intervals();

    void close_all(std::chrono::milliseconds bound);

    WriteStats write_stats();

    std::size_t live_connections();

    // On a worker thread: count the error in that thread's counters and
    // log what the limiter lets through.
    void on_protocol_error(ThreadCtx& ctx, const ProtocolErrorEvent& event);
    // Logs the summary of protocol errors not logged yet; with reset, the
    // next ones are logged in full again.
    void flush_protocol_log(bool reset);

    LoadSessionOptions opt_;
    std::shared_ptr<const TransferPairs> pairs_;
    // The current (or last) epoch's load; written by start() while no
    // worker runs, read by the workers.
    EpochRun run_;
    ConnectionOptions conn_opt_;
    std::string_view io_backend_ = "beast";
    // Gives each thread its ConnIoFactory as --io-backend says (load_session.cpp).
    void choose_io_backend();
    std::vector<std::string> source_addresses_;  // canonical, from opt_.source_addresses
    std::shared_ptr<const ResolvedServer> server_;
    std::vector<std::unique_ptr<ThreadCtx>> threads_;
    std::vector<std::unique_ptr<Worker>> workers_;

    bool open_started_ = false;
    std::atomic<bool> closed_{false};
    std::optional<std::uint64_t> running_epoch_;
    std::optional<std::int64_t> load_started_ms_;
    std::optional<std::int64_t> load_stopped_ms_;

    std::mutex open_mutex_;
    std::condition_variable open_cv_;
    std::size_t opened_ = 0;
    std::optional<stdb::ProtocolVersion> negotiated_;
    std::size_t lanes_left_ = 0;
    std::string first_error_;
    std::atomic<bool> open_abort_{false};

    std::atomic<std::size_t> busy_workers_{0};
    std::mutex idle_mutex_;
    std::condition_variable idle_cv_;

    // Finished intervals of every thread, merged by start.
    std::mutex timeline_mutex_;
    std::vector<stats::Interval> timeline_;

    // One limiter for the whole session, so N connections answered with
    // garbage make a bounded number of lines, not N.
    std::mutex protocol_log_mutex_;
    ProtocolErrorLimiter protocol_log_;

    std::atomic<std::uint64_t> watch_target_{0};
    std::mutex watch_mutex_;
    std::condition_variable watch_cv_;
};

}  // namespace benchdist::generator
