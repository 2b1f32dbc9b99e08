#include "benchdist/generator/load_session.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "benchdist/generator/ws_connection.hpp"
#include "benchdist/stats/interval_recorder.hpp"

namespace benchdist::generator {

namespace asio = boost::asio;

namespace {

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
    struct Worker {
        Impl* session = nullptr;
        ThreadCtx* ctx = nullptr;
        std::size_t index = 0;
        PairCursor cursor;
        std::unique_ptr<StdbConnection> conn;
        std::chrono::steady_clock::time_point sent_at;  // of the call in flight
        bool running = false;  // issue the next op after this one
        bool busy = false;     // an op or a reopen is under way
        bool dead = false;     // a reopen failed; never used again

        Worker(Impl* s, ThreadCtx* c, std::size_t i, const TransferPairs& pairs, std::size_t concurrency)
            : session(s), ctx(c), index(i), cursor(pairs, i, concurrency) {}

        void issue();
        void on_done(const CallOutcome& outcome);
        void reopen();
        void go_idle();
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
        server_ = resolve_server(conn_opt_.target);

        std::size_t threads = opt_.threads;
        if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
        threads = std::min(threads, opt_.concurrency);
        for (std::size_t t = 0; t < threads; ++t) threads_.push_back(std::make_unique<ThreadCtx>(opt_.intervals));
        for (std::size_t w = 0; w < opt_.concurrency; ++w) {
            workers_.push_back(std::make_unique<Worker>(this, threads_[w % threads].get(), w, *pairs_,
                                                        opt_.concurrency));
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
        w.conn = std::make_unique<StdbConnection>(w.ctx->io, server_, conn_opt_);
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
        {
            std::lock_guard lock(timeline_mutex_);
            timeline_.clear();
        }
        on_all_threads([this](ThreadCtx& ctx) {
            ctx.counters = LoadCounters{};
            ctx.recorder.clear();
            ctx.flush_at_ms = 0;
            ctx.committed.store(0, std::memory_order_relaxed);
            for (auto& wp : workers_) {
                Worker& w = *wp;
                if (w.ctx != &ctx || w.dead || !w.conn) continue;
                w.cursor.reset();
                w.running = true;
                if (w.busy) continue;  // still finishing the previous epoch's op: it will continue
                w.busy = true;
                busy_workers_.fetch_add(1, std::memory_order_relaxed);
                if (w.conn->is_open()) {
                    w.issue();
                } else {
                    w.reopen();  // dropped while idle between epochs
                }
            }
        });
    }

    bool stop() {
        if (!running_epoch_) return true;
        on_all_threads([this](ThreadCtx& ctx) {
            for (auto& wp : workers_) {
                if (wp->ctx == &ctx) wp->running = false;
            }
        });
        std::unique_lock lock(idle_mutex_);
        const bool all = idle_cv_.wait_for(lock, opt_.op_timeout + opt_.connect_timeout, [this] {
            return busy_workers_.load(std::memory_order_acquire) == 0;
        });
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
                if (w.ctx != &ctx || !w.conn) continue;
                w.running = false;
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
    std::shared_ptr<const ResolvedServer> server_;
    std::vector<std::unique_ptr<ThreadCtx>> threads_;
    std::vector<std::unique_ptr<Worker>> workers_;

    bool open_started_ = false;
    std::atomic<bool> closed_{false};
    std::optional<std::uint64_t> running_epoch_;

    std::mutex open_mutex_;
    std::condition_variable open_cv_;
    std::size_t opened_ = 0;
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

void LoadSession::Impl::Worker::issue() {
    if (!running) {
        go_idle();
        return;
    }
    // Same-account pairs are skipped without a call, as the harness did; the
    // bound keeps a degenerate pair set from spinning forever.
    const std::size_t limit = session->pairs_->size();
    for (std::size_t i = 0; i < limit; ++i) {
        const TransferPair pair = cursor.next();
        if (pair.from == pair.to) {
            ++ctx->counters.skipped_same_account;
            continue;
        }
        ++ctx->counters.attempted;
        sent_at = std::chrono::steady_clock::now();
        // The lambda holds one pointer, which std::function stores inline.
        conn->async_call_transfer(pair.from, pair.to, session->opt_.amount, session->opt_.op_timeout,
                                  [this](const CallOutcome& outcome) { on_done(outcome); });
        return;
    }
    go_idle();
}

void LoadSession::Impl::Worker::on_done(const CallOutcome& outcome) {
    LoadCounters& c = ctx->counters;
    stats::IntervalRecorder& r = ctx->recorder;
    // Service time of this closed-loop call; the wall clock only says which
    // interval the outcome belongs to.
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sent_at);
    const std::int64_t now_ms = wall_now_ms();
    switch (outcome.status) {
        case CallStatus::Committed:
            ++c.committed;
            r.record_success(now_ms, static_cast<std::uint64_t>(latency.count()));  // steady: never negative
            break;
        case CallStatus::ModuleError:
            r.record_failure(now_ms, stats::FailureKind::ModuleError, outcome.text);
            break;
        case CallStatus::InternalError:
            r.record_failure(now_ms, stats::FailureKind::InternalError);
            break;
        case CallStatus::Timeout:
            r.record_failure(now_ms, stats::FailureKind::Timeout);
            break;
        case CallStatus::Disconnected:
            r.record_failure(now_ms, stats::FailureKind::Disconnect);
            break;
    }
    session->maybe_flush(*ctx, now_ms);
    switch (outcome.status) {
        case CallStatus::Committed:
            session->note_committed(*ctx);
            issue();
            return;
        case CallStatus::ModuleError: {
            ++c.module_errors;
            auto it = c.module_errors_by_message.find(outcome.text);
            if (it == c.module_errors_by_message.end()) {
                c.module_errors_by_message.emplace(std::string(outcome.text), 1);
            } else {
                ++it->second;
            }
            issue();
            return;
        }
        case CallStatus::InternalError:
            ++c.internal_errors;
            issue();
            return;
        case CallStatus::Timeout:
            ++c.timeouts;
            break;
        case CallStatus::Disconnected:
            ++c.disconnects;
            break;
    }
    if (session->closed_.load(std::memory_order_relaxed)) {
        go_idle();
        return;
    }
    reopen();
}

void LoadSession::Impl::Worker::reopen() {
    // The old connection finishes its close on its own (its state outlives
    // the handle); this worker continues on a fresh one.
    conn = std::make_unique<StdbConnection>(ctx->io, session->server_, session->conn_opt_);
    conn->async_open([this](const std::string& error) {
        if (!error.empty()) {
            ++ctx->counters.reopen_failures;
            dead = true;
            conn.reset();
            go_idle();
            return;
        }
        ++ctx->counters.reopened;
        issue();
    });
}

void LoadSession::Impl::Worker::go_idle() {
    running = false;
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
std::size_t LoadSession::opened() const {
    std::lock_guard lock(impl_->open_mutex_);
    return impl_->opened_;
}
std::size_t LoadSession::live_connections() const { return impl_->live_connections(); }
std::size_t LoadSession::thread_count() const { return impl_->threads_.size(); }
std::size_t LoadSession::concurrency() const { return impl_->opt_.concurrency; }
std::string LoadSession::url() const { return impl_->conn_opt_.target.to_string(); }

}  // namespace benchdist::generator
