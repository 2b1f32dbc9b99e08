#include "benchdist/generator/load_session.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "benchdist/generator/agent.hpp"
#include "benchdist/generator/source_addresses.hpp"
#include "benchdist/generator/ws_connection.hpp"
#include "benchdist/stats/interval_recorder.hpp"

namespace benchdist::generator {

namespace asio = boost::asio;

namespace {

// A server that dropped a connection is tried again at once, then after
// 100 ms, 200 ms, ... up to 5 s between tries (half of each randomised).
constexpr std::chrono::milliseconds kReopenBackoffInitial{100};
constexpr std::chrono::milliseconds kReopenBackoffCap{5000};

std::int64_t wall_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One worker thread: its io_context, and the counters and timeline only it writes.
struct ThreadCtx {
    explicit ThreadCtx(const stats::IntervalOptions& interval_options) : recorder(interval_options) {}

    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread;
    LoadCounters counters;
    stats::IntervalRecorder recorder;
    // Wall-clock ms from which the recorder holds a finished interval worth
    // handing over; checked per call, so the check is one compare.
    std::int64_t flush_at_ms = 0;
    // Mirror of counters.committed readable from the controlling thread.
    std::atomic<std::uint64_t> committed{0};
};

}  // namespace

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
        // What the worker remembers of one call in flight.
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
        std::vector<Call> calls;  // max_inflight entries, reused
        std::size_t in_flight = 0;
        asio::steady_timer schedule_timer;
        std::chrono::steady_clock::time_point next_due;  // open loop
        std::chrono::nanoseconds period{0};              // open loop: time between this worker's calls
        bool timer_armed = false;
        bool running = false;    // issue more calls
        bool busy = false;       // counted in busy_workers_: running, calls in flight or reopening
        bool reopening = false;
        // A reopen failed and the next try waits on reopen_timer; not busy
        // meanwhile, so stop() never waits for a backoff.
        bool backing_off = false;
        std::uint64_t backoff_generation = 0;  // a timer from an older backoff does nothing
        asio::steady_timer reopen_timer;
        Backoff backoff{kReopenBackoffInitial, kReopenBackoffCap};
        std::minstd_rand jitter;

        Worker(Impl* s, ThreadCtx* c, std::size_t i, const TransferPairs& pairs, std::size_t concurrency,
               std::size_t max_inflight)
            : session(s), ctx(c), index(i), cursor(pairs, i, concurrency), calls(max_inflight),
              schedule_timer(c->io), reopen_timer(c->io), jitter(static_cast<std::uint_fast32_t>(i + 1)) {}

        void begin(std::chrono::steady_clock::time_point now);
        void halt();
        void fill();  // closed loop
        void pump();  // open loop
        bool send(std::chrono::steady_clock::time_point intended);
        void arm_schedule();
        void on_done(std::size_t slot, const CallOutcome& outcome);
        void after_call();
        void reopen();
        void schedule_reopen();
        void cancel_backoff();
        void maybe_idle();
        bool open_loop() const { return period.count() > 0; }
    };

    Impl(LoadSessionOptions options, std::shared_ptr<const TransferPairs> pairs)
        : opt_(std::move(options)), pairs_(std::move(pairs)) {
        if (opt_.concurrency == 0) throw LoadSessionError("concurrency must be at least 1");
        if (!pairs_ || pairs_->size() == 0) throw LoadSessionError("no transfer pairs");
        conn_opt_.target = stdb::subscribe_target(opt_.endpoint, opt_.database, opt_.compression, opt_.confirmed);
        conn_opt_.force_protocol = opt_.protocol;
        conn_opt_.token = opt_.token;
        conn_opt_.connect_timeout = opt_.connect_timeout;
        conn_opt_.handshake_timeout = opt_.handshake_timeout;
        conn_opt_.close_timeout = opt_.close_timeout;
        conn_opt_.idle_timeout = opt_.idle_timeout;
        conn_opt_.max_inflight = std::max<std::size_t>(1, opt_.max_inflight);
        try {
            source_addresses_ = validate_source_addresses(opt_.source_addresses);
        } catch (const std::invalid_argument& e) {
            throw LoadSessionError(e.what());
        }
        if (!(opt_.rate_per_second >= 0) || !std::isfinite(opt_.rate_per_second)) {
            throw LoadSessionError("rate must be a finite number >= 0 (0: closed loop)");
        }
        server_ = resolve_server(conn_opt_.target);

        std::size_t threads = opt_.threads;
        if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
        threads = std::min(threads, opt_.concurrency);
        for (std::size_t t = 0; t < threads; ++t) threads_.push_back(std::make_unique<ThreadCtx>(opt_.intervals));
        for (std::size_t w = 0; w < opt_.concurrency; ++w) {
            workers_.push_back(std::make_unique<Worker>(this, threads_[w % threads].get(), w, *pairs_,
                                                        opt_.concurrency, conn_opt_.max_inflight));
        }
        for (auto& t : threads_) {
            ThreadCtx* ctx = t.get();
            ctx->thread = std::thread([ctx] { ctx->io.run(); });
        }
    }

    ~Impl() {
        if (!closed_.load()) {
            try {
                if (running_epoch_) stop();
                close_all(opt_.close_timeout);
            } catch (...) {
            }
        }
        for (auto& t : threads_) t->guard.reset();
        for (auto& t : threads_) t->io.stop();
        for (auto& t : threads_) {
            if (t->thread.joinable()) t->thread.join();
        }
        // The threads are gone: connections (and their timers) can be torn
        // down here before the io_contexts they use.
        workers_.clear();
    }

    // Worker i's connections (the first and every replacement) leave from
    // the same source address, so the spread over addresses holds for the
    // whole run.
    ConnectionOptions connection_options(std::size_t worker) const {
        ConnectionOptions o = conn_opt_;
        if (!source_addresses_.empty()) o.source_address = source_addresses_[worker % source_addresses_.size()];
        return o;
    }

    // Runs fn(ctx) on every worker thread and waits until all have run it.
    void on_all_threads(const std::function<void(ThreadCtx&)>& fn) {
        std::mutex m;
        std::condition_variable cv;
        std::size_t remaining = threads_.size();
        for (auto& t : threads_) {
            ThreadCtx* ctx = t.get();
            asio::post(ctx->io, [&, ctx] {
                fn(*ctx);
                std::lock_guard lock(m);
                if (--remaining == 0) cv.notify_all();
            });
        }
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return remaining == 0; });
    }

    void open_all(const Progress& progress) {
        if (open_started_) throw LoadSessionError("open_all was already called");
        open_started_ = true;
        const std::size_t lanes = std::min(std::max<std::size_t>(1, opt_.open_parallelism), opt_.concurrency);
        lanes_left_ = lanes;
        for (std::size_t lane = 0; lane < lanes; ++lane) {
            asio::post(workers_[lane]->ctx->io, [this, lane, lanes] { open_one(lane, lanes); });
        }
        std::size_t reported = 0;
        std::unique_lock lock(open_mutex_);
        for (;;) {
            open_cv_.wait(lock, [&] { return lanes_left_ == 0 || opened_ != reported; });
            if (opened_ != reported && progress) {
                reported = opened_;
                const std::size_t now = reported;
                lock.unlock();
                progress(now, opt_.concurrency);
                lock.lock();
            } else {
                reported = opened_;
            }
            if (lanes_left_ == 0) break;
        }
        if (!first_error_.empty()) {
            const std::string message = "opened " + std::to_string(opened_) + " of " +
                                        std::to_string(opt_.concurrency) + " connections to " +
                                        conn_opt_.target.to_string() + "; first error: " + first_error_;
            lock.unlock();
            close_all(opt_.close_timeout);
            throw LoadSessionError(message);
        }
    }

    // Runs on worker i's thread. Each lane opens its connections one after another.
    void open_one(std::size_t i, std::size_t lanes) {
        if (open_abort_.load(std::memory_order_relaxed)) {
            lane_done();
            return;
        }
        Worker& w = *workers_[i];
        w.conn = std::make_unique<StdbConnection>(w.ctx->io, server_, connection_options(i));
        w.conn->async_open([this, i, lanes](const std::string& error) {
            if (!error.empty()) {
                {
                    std::lock_guard lock(open_mutex_);
                    if (first_error_.empty()) first_error_ = "connection " + std::to_string(i) + ": " + error;
                }
                open_abort_.store(true, std::memory_order_relaxed);
                lane_done();
                return;
            }
            {
                std::lock_guard lock(open_mutex_);
                ++opened_;
                if (!negotiated_) negotiated_ = workers_[i]->conn->protocol();
            }
            open_cv_.notify_all();
            const std::size_t next = i + lanes;
            if (next < opt_.concurrency) {
                asio::post(workers_[next]->ctx->io, [this, next, lanes] { open_one(next, lanes); });
            } else {
                lane_done();
            }
        });
    }

    void lane_done() {
        {
            std::lock_guard lock(open_mutex_);
            --lanes_left_;
        }
        open_cv_.notify_all();
    }

    void start(std::uint64_t epoch) {
        if (!open_started_ || closed_.load()) throw LoadSessionError("start() needs open connections (call open_all first)");
        if (running_epoch_) throw LoadSessionError("epoch " + std::to_string(*running_epoch_) + " is still running");
        running_epoch_ = epoch;
        load_started_ms_ = wall_now_ms();
        load_stopped_ms_.reset();
        {
            std::lock_guard lock(timeline_mutex_);
            timeline_.clear();
        }
        on_all_threads([this](ThreadCtx& ctx) {
            ctx.counters = LoadCounters{};
            ctx.recorder.clear();
            ctx.flush_at_ms = 0;
            ctx.committed.store(0, std::memory_order_relaxed);
            const auto now = std::chrono::steady_clock::now();
            for (auto& wp : workers_) {
                Worker& w = *wp;
                if (w.ctx != &ctx) continue;
                if (!w.busy) {
                    w.busy = true;
                    busy_workers_.fetch_add(1, std::memory_order_relaxed);
                }
                w.begin(now);
            }
        });
        return;
    }

    bool stop() {
        if (!running_epoch_) return true;
        on_all_threads([this](ThreadCtx& ctx) {
            for (auto& wp : workers_) {
                if (wp->ctx == &ctx) wp->halt();
            }
        });
        std::unique_lock lock(idle_mutex_);
        const bool all = idle_cv_.wait_for(lock, opt_.op_timeout + opt_.connect_timeout, [this] {
            return busy_workers_.load(std::memory_order_acquire) == 0;
        });
        // After the last answer, not at the halt: calls in flight at the halt
        // still commit, and their outcomes land in the intervals up to here.
        load_stopped_ms_ = wall_now_ms();
        running_epoch_.reset();
        return all;
    }

    void worker_idle() {
        if (busy_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard lock(idle_mutex_);
            idle_cv_.notify_all();
        }
    }

    void note_committed(ThreadCtx& ctx) {
        ctx.committed.store(ctx.counters.committed, std::memory_order_relaxed);
        const std::uint64_t target = watch_target_.load(std::memory_order_relaxed);
        if (target != 0 && committed_total() >= target) {
            std::lock_guard lock(watch_mutex_);
            watch_cv_.notify_all();
        }
    }

    std::uint64_t committed_total() const {
        std::uint64_t sum = 0;
        for (const auto& t : threads_) sum += t->committed.load(std::memory_order_relaxed);
        return sum;
    }

    bool wait_for_committed(std::uint64_t target, std::chrono::milliseconds timeout) {
        std::unique_lock lock(watch_mutex_);
        watch_target_.store(std::max<std::uint64_t>(1, target), std::memory_order_relaxed);
        const bool reached = watch_cv_.wait_for(lock, timeout, [&] { return committed_total() >= target; });
        watch_target_.store(0, std::memory_order_relaxed);
        return reached;
    }

    LoadCounters counters() {
        std::vector<LoadCounters> parts(threads_.size());
        on_all_threads([&](ThreadCtx& ctx) {
            for (std::size_t t = 0; t < threads_.size(); ++t) {
                if (threads_[t].get() == &ctx) parts[t] = ctx.counters;
            }
        });
        LoadCounters total;
        for (const auto& p : parts) total.combine(p);
        return total;
    }

    // On a worker thread, after recording at now_ms: once the recorder holds
    // an interval that ended, move the finished ones to the session timeline.
    void maybe_flush(ThreadCtx& ctx, std::int64_t now_ms) {
        if (now_ms < ctx.flush_at_ms) return;
        std::vector<stats::Interval> done = ctx.recorder.take_completed(now_ms);
        if (!done.empty()) {
            std::lock_guard lock(timeline_mutex_);
            stats::merge_into(timeline_, done);
        }
        ctx.flush_at_ms = ctx.recorder.interval_start(now_ms) + opt_.intervals.length_ms;
    }

    std::vector<stats::Interval> take_intervals() {
        on_all_threads([this](ThreadCtx& ctx) {
            const auto rest = ctx.recorder.intervals();
            if (!rest.empty()) {
                std::lock_guard lock(timeline_mutex_);
                stats::merge_into(timeline_, rest);
            }
            ctx.recorder.clear();
        });
        std::lock_guard lock(timeline_mutex_);
        std::vector<stats::Interval> out = std::move(timeline_);
        timeline_.clear();
        return out;
    }

    void close_all(std::chrono::milliseconds bound) {
        closed_.store(true);
        // Shared with the close handlers, which may run after we stopped waiting.
        struct Pending {
            std::mutex m;
            std::condition_variable cv;
            std::size_t count = 0;
        };
        auto pending = std::make_shared<Pending>();
        on_all_threads([&](ThreadCtx& ctx) {
            for (auto& wp : workers_) {
                Worker& w = *wp;
                if (w.ctx != &ctx) continue;
                w.halt();
                if (!w.conn) continue;
                {
                    std::lock_guard lock(pending->m);
                    ++pending->count;
                }
                w.conn->async_close([pending] {
                    std::lock_guard lock(pending->m);
                    if (--pending->count == 0) pending->cv.notify_all();
                });
            }
        });
        {
            std::unique_lock lock(pending->m);
            pending->cv.wait_for(lock, bound, [&] { return pending->count == 0; });
        }
        // Whatever did not finish its close handshake in time is dropped.
        on_all_threads([&](ThreadCtx& ctx) {
            for (auto& wp : workers_) {
                if (wp->ctx == &ctx) wp->conn.reset();
            }
        });
    }

    WriteStats write_stats() {
        std::mutex m;
        WriteStats total;
        on_all_threads([&](ThreadCtx& ctx) {
            for (auto& wp : workers_) {
                if (wp->ctx != &ctx || !wp->conn) continue;
                std::lock_guard lock(m);
                total.messages += wp->conn->frames_sent();
                total.calls += wp->conn->calls_sent();
            }
        });
        return total;
    }

    std::size_t live_connections() {
        std::atomic<std::size_t> live{0};
        on_all_threads([&](ThreadCtx& ctx) {
            for (auto& wp : workers_) {
                if (wp->ctx == &ctx && wp->conn && wp->conn->is_open()) live.fetch_add(1);
            }
        });
        return live.load();
    }

    LoadSessionOptions opt_;
    std::shared_ptr<const TransferPairs> pairs_;
    ConnectionOptions conn_opt_;
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

    std::atomic<std::uint64_t> watch_target_{0};
    std::mutex watch_mutex_;
    std::condition_variable watch_cv_;
};

void LoadSession::Impl::Worker::begin(std::chrono::steady_clock::time_point now) {
    cursor.reset();
    running = true;
    const double rate = session->opt_.rate_per_second;
    if (rate > 0) {
        // Each worker carries an equal share of the rate; phases are spread
        // over one period so the session's calls do not leave in bursts.
        const double per_worker = rate / static_cast<double>(session->opt_.concurrency);
        period = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / per_worker));
        next_due = now + std::chrono::nanoseconds(period.count() * static_cast<std::int64_t>(index) /
                                                  static_cast<std::int64_t>(session->opt_.concurrency));
    } else {
        period = std::chrono::nanoseconds(0);
    }
    if (conn && conn->is_open()) {
        open_loop() ? pump() : fill();
    } else if (in_flight == 0 && !reopening) {
        backoff.reset();
        reopen();  // dropped while idle between epochs (or a reopen was still backing off)
    }
}

void LoadSession::Impl::Worker::halt() {
    running = false;
    cancel_backoff();
    if (timer_armed) {
        schedule_timer.cancel();
        timer_armed = false;
    }
    maybe_idle();
}

void LoadSession::Impl::Worker::fill() {
    while (running && conn && conn->is_open() && in_flight < calls.size()) {
        if (!send(std::chrono::steady_clock::now())) break;
    }
    maybe_idle();
}

void LoadSession::Impl::Worker::pump() {
    if (!running) {
        maybe_idle();
        return;
    }
    if (!conn || !conn->is_open()) {
        // Open loop can find its connection gone between calls (nothing in
        // flight noticed): replace it; the calls that fall due meanwhile go
        // out late, and their latency shows it.
        if (in_flight == 0 && !reopening && !backing_off) reopen();
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    while (running && next_due <= now && in_flight < calls.size()) {
        if (!send(next_due)) break;
        next_due += period;
    }
    // Due but no room: the next answer calls pump() again; arming the timer
    // for a time already past would only spin.
    if (running && next_due > now) arm_schedule();
    maybe_idle();
}

void LoadSession::Impl::Worker::arm_schedule() {
    if (timer_armed) return;
    timer_armed = true;
    schedule_timer.expires_at(next_due);
    schedule_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        timer_armed = false;
        pump();
    });
}

bool LoadSession::Impl::Worker::send(std::chrono::steady_clock::time_point intended) {
    // Same-account pairs are skipped without a call, as the harness did; the
    // bound keeps a degenerate pair set from spinning forever.
    const std::size_t limit = session->pairs_->size();
    for (std::size_t i = 0; i < limit; ++i) {
        const TransferPair pair = cursor.next();
        if (pair.from == pair.to) {
            ++ctx->counters.skipped_same_account;
            continue;
        }
        std::size_t slot = 0;
        while (calls[slot].used) ++slot;  // in_flight < calls.size(): a free one exists
        Call& call = calls[slot];
        call.used = true;
        call.intended = intended;
        call.sent = std::chrono::steady_clock::now();
        ++in_flight;
        ++ctx->counters.attempted;
        if (open_loop()) {
            const auto lag = std::chrono::duration_cast<std::chrono::microseconds>(call.sent - intended).count();
            ctx->recorder.record_send_lag(wall_now_ms(), static_cast<std::uint64_t>(std::max<std::int64_t>(0, lag)));
        }
        // The lambda holds a pointer and an index, which std::function stores inline.
        conn->async_call_transfer(pair.from, pair.to, session->opt_.amount, session->opt_.op_timeout,
                                  [this, slot](const CallOutcome& outcome) { on_done(slot, outcome); });
        return true;
    }
    running = false;  // nothing but same-account pairs
    return false;
}

void LoadSession::Impl::Worker::on_done(std::size_t slot, const CallOutcome& outcome) {
    Call& call = calls[slot];
    call.used = false;
    --in_flight;
    LoadCounters& c = ctx->counters;
    stats::IntervalRecorder& r = ctx->recorder;
    // Steady clock for durations; the wall clock only says which interval
    // the outcome belongs to.
    const auto now = std::chrono::steady_clock::now();
    const auto service = std::chrono::duration_cast<std::chrono::microseconds>(now - call.sent).count();
    const std::int64_t now_ms = wall_now_ms();
    switch (outcome.status) {
        case CallStatus::Committed:
            ++c.committed;
            if (open_loop()) {
                const auto response = std::chrono::duration_cast<std::chrono::microseconds>(now - call.intended).count();
                r.record_success(now_ms, static_cast<std::uint64_t>(response), static_cast<std::uint64_t>(service));
            } else {
                r.record_success(now_ms, static_cast<std::uint64_t>(service));
            }
            session->note_committed(*ctx);
            break;
        case CallStatus::ModuleError: {
            r.record_failure(now_ms, stats::FailureKind::ModuleError, outcome.text);
            ++c.module_errors;
            auto it = c.module_errors_by_message.find(outcome.text);
            if (it == c.module_errors_by_message.end()) {
                c.module_errors_by_message.emplace(std::string(outcome.text), 1);
            } else {
                ++it->second;
            }
            break;
        }
        case CallStatus::InternalError:
            r.record_failure(now_ms, stats::FailureKind::InternalError);
            ++c.internal_errors;
            break;
        case CallStatus::Timeout:
            r.record_failure(now_ms, stats::FailureKind::Timeout);
            ++c.timeouts;
            break;
        case CallStatus::Disconnected:
            r.record_failure(now_ms, stats::FailureKind::Disconnect);
            ++c.disconnects;
            break;
    }
    session->maybe_flush(*ctx, now_ms);
    after_call();
}

void LoadSession::Impl::Worker::after_call() {
    if (!conn || !conn->is_open()) {
        // A timeout or a lost connection fails every call in flight on it;
        // the connection is replaced once the last of them is accounted for.
        if (in_flight == 0 && running && !reopening && !session->closed_.load(std::memory_order_relaxed)) {
            reopen();
            return;
        }
        maybe_idle();
        return;
    }
    open_loop() ? pump() : fill();
}

void LoadSession::Impl::Worker::reopen() {
    // The old connection finishes its close on its own (its state outlives
    // the handle); this worker continues on a fresh one.
    reopening = true;
    conn = std::make_unique<StdbConnection>(ctx->io, session->server_, session->connection_options(index));
    conn->async_open([this](const std::string& error) {
        reopening = false;
        if (!error.empty()) {
            ++ctx->counters.reopen_failures;
            conn.reset();
            if (running && !session->closed_.load(std::memory_order_relaxed)) schedule_reopen();
            maybe_idle();
            return;
        }
        backoff.reset();
        ++ctx->counters.reopened;
        if (!running) {
            maybe_idle();
            return;
        }
        open_loop() ? pump() : fill();
    });
}

void LoadSession::Impl::Worker::schedule_reopen() {
    // The server is down or refusing (restarting?): wait before the next
    // try, longer each time, so a thousand workers do not hammer it.
    backing_off = true;
    const std::uint64_t generation = ++backoff_generation;
    reopen_timer.expires_after(backoff.next(std::uniform_real_distribution<double>(0.0, 1.0)(jitter)));
    reopen_timer.async_wait([this, generation](const boost::system::error_code& ec) {
        if (ec || generation != backoff_generation) return;
        backing_off = false;
        if (!running || reopening || session->closed_.load(std::memory_order_relaxed)) {
            maybe_idle();
            return;
        }
        reopen();
    });
}

void LoadSession::Impl::Worker::cancel_backoff() {
    if (!backing_off) return;
    backing_off = false;
    ++backoff_generation;
    reopen_timer.cancel();
}

void LoadSession::Impl::Worker::maybe_idle() {
    if (running || in_flight > 0 || reopening) return;
    if (busy) {
        busy = false;
        session->worker_idle();
    }
}

LoadSession::LoadSession(LoadSessionOptions options, std::shared_ptr<const TransferPairs> pairs)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(pairs))) {}
LoadSession::~LoadSession() = default;

void LoadSession::open_all(const Progress& progress) { impl_->open_all(progress); }
void LoadSession::start(std::uint64_t epoch) { impl_->start(epoch); }
bool LoadSession::stop() { return impl_->stop(); }
bool LoadSession::wait_for_committed(std::uint64_t target, std::chrono::milliseconds timeout) {
    return impl_->wait_for_committed(target, timeout);
}
LoadCounters LoadSession::counters() const { return impl_->counters(); }
std::vector<stats::Interval> LoadSession::take_intervals() { return impl_->take_intervals(); }
void LoadSession::close_all(std::chrono::milliseconds bound) { impl_->close_all(bound); }
std::optional<std::uint64_t> LoadSession::running_epoch() const { return impl_->running_epoch_; }
std::optional<std::int64_t> LoadSession::load_started_unix_ms() const { return impl_->load_started_ms_; }
std::optional<std::int64_t> LoadSession::load_stopped_unix_ms() const { return impl_->load_stopped_ms_; }
std::size_t LoadSession::opened() const {
    std::lock_guard lock(impl_->open_mutex_);
    return impl_->opened_;
}
std::optional<stdb::ProtocolVersion> LoadSession::negotiated_protocol() const {
    std::lock_guard lock(impl_->open_mutex_);
    return impl_->negotiated_;
}
std::size_t LoadSession::live_connections() const { return impl_->live_connections(); }
LoadSession::WriteStats LoadSession::write_stats() const { return impl_->write_stats(); }
std::size_t LoadSession::thread_count() const { return impl_->threads_.size(); }
std::size_t LoadSession::concurrency() const { return impl_->opt_.concurrency; }
std::string LoadSession::url() const { return impl_->conn_opt_.target.to_string(); }

}  // namespace benchdist::generator
