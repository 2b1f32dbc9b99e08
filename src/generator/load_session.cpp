#include "generator/load_session_impl.hpp"

#include <iostream>

namespace benchdist::generator {

LoadSession::Impl::Impl(LoadSessionOptions options, std::shared_ptr<const TransferPairs> pairs)
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
    run_.connections = opt_.concurrency;
    run_.max_inflight = conn_opt_.max_inflight;
    run_.rate = opt_.rate_per_second;
    run_.pairs = pairs_;
    server_ = resolve_server(conn_opt_.target);
    if (!opt_.log) opt_.log = [](const std::string& line) { std::cerr << line + "\n" << std::flush; };

    std::size_t threads = opt_.threads;
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    threads = std::min(threads, opt_.concurrency);
    for (std::size_t t = 0; t < threads; ++t) threads_.push_back(std::make_unique<ThreadCtx>(opt_.intervals));
    choose_io_backend();
    for (std::size_t w = 0; w < opt_.concurrency; ++w) {
        workers_.push_back(std::make_unique<Worker>(this, threads_[w % threads].get(), w, *pairs_, opt_.concurrency,
                                                    conn_opt_.max_inflight));
    }
    for (auto& t : threads_) {
        ThreadCtx* ctx = t.get();
        ctx->thread = std::thread([ctx] { ctx->io.run(); });
    }
}

void LoadSession::Impl::choose_io_backend() {
    if (conn_opt_.target.tls) return;  // wss:// stays on Beast
    bool epoll = opt_.io_backend == IoBackend::Epoll;
    if (!epoll) {
        const std::size_t per_thread = opt_.concurrency / threads_.size() + 1;
        std::string why_not;
        bool everywhere = true;
        for (auto& t : threads_) {
            t->conn_io = make_uring_conn_io(t->io, per_thread, why_not);
            if (!t->conn_io) {
                everywhere = false;
                break;
            }
        }
        if (!everywhere) {
            if (opt_.io_backend == IoBackend::Uring) {
                throw LoadSessionError("--io-backend uring: io_uring cannot be used here: " + why_not +
                                       " -- use --io-backend epoll (or auto, which falls back to it)");
            }
            opt_.log("io_uring unavailable (" + why_not + "): using epoll for ws:// connections (--io-backend auto)");
            epoll = true;
        }
    }
    for (auto& t : threads_) {
        if (epoll) t->conn_io = make_epoll_conn_io(t->io);
    }
    io_backend_ = threads_.front()->conn_io->name();
}

LoadSession::Impl::~Impl() {
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
ConnectionOptions LoadSession::Impl::connection_options(std::size_t worker) {
    ConnectionOptions o = conn_opt_;
    // A replacement holds as many calls as this epoch lets the worker have in flight.
    o.max_inflight = std::max(o.max_inflight, workers_[worker]->limit);
    if (!source_addresses_.empty()) o.source_address = source_addresses_[worker % source_addresses_.size()];
    o.io = workers_[worker]->ctx->conn_io.get();
    // Two pointers: std::function keeps them inline, no allocation per reopen.
    o.on_protocol_error = [this, ctx = workers_[worker]->ctx](const ProtocolErrorEvent& event) {
        on_protocol_error(*ctx, event);
    };
    return o;
}

void LoadSession::Impl::on_protocol_error(ThreadCtx& ctx, const ProtocolErrorEvent& event) {
    ctx.counters.protocol_errors.add(event.kind);
    // Logged under the lock, so lines from several threads keep their order
    // (a summary after the lines it follows). Protocol errors are rare, and
    // each one costs its connection a reopen anyway.
    std::lock_guard lock(protocol_log_mutex_);
    for (const auto& line : protocol_log_.note(event, std::chrono::steady_clock::now())) opt_.log(line);
}

void LoadSession::Impl::flush_protocol_log(bool reset) {
    std::lock_guard lock(protocol_log_mutex_);
    if (auto line = protocol_log_.flush(std::chrono::steady_clock::now())) opt_.log(*line);
    if (reset) protocol_log_.reset();
}

// Runs fn(ctx) on every worker thread and waits until all have run it.
void LoadSession::Impl::on_all_threads(const std::function<void(ThreadCtx&)>& fn) {
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

void LoadSession::Impl::open_all(const Progress& progress) {
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
        // Progress is looked at every kOpenProgressEvery, not at every
        // connection opened: a wake-up of this thread per connection cost
        // the worker threads a futex call and a context switch each (6% and
        // 10% of the generator's CPU while opening 19,000 connections).
        // Only the end of a lane (or an error, which ends its lane) wakes it.
        open_cv_.wait_for(lock, kOpenProgressEvery, [&] { return lanes_left_ == 0; });
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
        const std::string message = "opened " + std::to_string(opened_) + " of " + std::to_string(opt_.concurrency) +
                                    " connections to " + conn_opt_.target.to_string() +
                                    "; first error: " + first_error_;
        lock.unlock();
        close_all(opt_.close_timeout);
        throw LoadSessionError(message);
    }
}

// Runs on worker i's thread. Each lane opens its connections one after another.
void LoadSession::Impl::open_one(std::size_t i, std::size_t lanes) {
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
        const std::size_t next = i + lanes;
        if (next < opt_.concurrency) {
            asio::post(workers_[next]->ctx->io, [this, next, lanes] { open_one(next, lanes); });
        } else {
            lane_done();
        }
    });
}

void LoadSession::Impl::lane_done() {
    {
        std::lock_guard lock(open_mutex_);
        --lanes_left_;
    }
    open_cv_.notify_all();
}

// Every field the epoch leaves out is the session's option, not the last
// epoch's: an epoch without settings runs as the session was configured.
LoadSession::EpochRun LoadSession::Impl::resolve(std::uint64_t epoch, const EpochSettings& settings) const {
    EpochRun run;
    run.connections = opt_.concurrency;
    if (settings.connections) {
        if (*settings.connections > opt_.concurrency) {
            // The truth is reported (epoch_run()), so the coordinator sees
            // the shortfall against its assignment.
            opt_.log("epoch " + std::to_string(epoch) + " asks for " + std::to_string(*settings.connections) +
                     " active connections but only " + std::to_string(opt_.concurrency) +
                     " are open: running all of them (open more with --concurrency)");
        }
        run.connections = std::min(*settings.connections, opt_.concurrency);
    }
    run.max_inflight = std::max<std::size_t>(1, settings.max_inflight.value_or(conn_opt_.max_inflight));
    run.rate = settings.rate.value_or(opt_.rate_per_second);
    if (!(run.rate >= 0) || !std::isfinite(run.rate))
        throw LoadSessionError("epoch " + std::to_string(epoch) +
                               ": rate must be a finite number >= 0 (0: closed loop)");
    run.pairs = settings.pairs ? settings.pairs : pairs_;
    if (run.pairs->size() == 0) throw LoadSessionError("epoch " + std::to_string(epoch) + ": no transfer pairs");
    return run;
}

void LoadSession::Impl::start(std::uint64_t epoch, const EpochSettings& settings) {
    if (!open_started_ || closed_.load())
        throw LoadSessionError("start() needs open connections (call open_all first)");
    if (running_epoch_) throw LoadSessionError("epoch " + std::to_string(*running_epoch_) + " is still running");
    // Replaced only while no worker runs: the workers read it (and walk its
    // pairs) on their threads, after the post below.
    run_ = resolve(epoch, settings);
    running_epoch_ = epoch;
    flush_protocol_log(true);
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
        // The last epoch's due calls are void: each worker queues its own
        // again from its new schedule.
        ctx.due.clear();
        // One DueQueue entry per connection at most: no allocation once
        // running. Reserved by the first open-loop epoch only, so a closed
        // loop does not carry 16 idle bytes per connection.
        if (run_.rate > 0) ctx.due.reserve(opt_.concurrency / threads_.size() + 1);
        for (auto& wp : workers_) {
            if (wp->ctx == &ctx) wp->queued_for.reset();
        }
        const auto now = std::chrono::steady_clock::now();
        for (auto& wp : workers_) {
            Worker& w = *wp;
            // Beyond the epoch's active connections: open, idle.
            if (w.ctx != &ctx || w.index >= run_.connections) continue;
            if (!w.busy) {
                w.busy = true;
                busy_workers_.fetch_add(1, std::memory_order_relaxed);
            }
            w.begin(now);
        }
    });
    return;
}

bool LoadSession::Impl::stop() {
    if (!running_epoch_) return true;
    on_all_threads([this](ThreadCtx& ctx) {
        for (auto& wp : workers_) {
            if (wp->ctx == &ctx) wp->halt();
        }
    });
    std::unique_lock lock(idle_mutex_);
    const bool all = idle_cv_.wait_for(lock, opt_.op_timeout + opt_.connect_timeout,
                                       [this] { return busy_workers_.load(std::memory_order_acquire) == 0; });
    // After the last answer, not at the halt: calls in flight at the halt
    // still commit, and their outcomes land in the intervals up to here.
    load_stopped_ms_ = wall_now_ms();
    running_epoch_.reset();
    flush_protocol_log(false);
    return all;
}

void LoadSession::Impl::worker_idle() {
    if (busy_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lock(idle_mutex_);
        idle_cv_.notify_all();
    }
}

void LoadSession::Impl::note_committed(ThreadCtx& ctx) {
    ctx.committed.store(ctx.counters.committed, std::memory_order_relaxed);
    const std::uint64_t target = watch_target_.load(std::memory_order_relaxed);
    if (target != 0 && committed_total() >= target) {
        std::lock_guard lock(watch_mutex_);
        watch_cv_.notify_all();
    }
}

std::uint64_t LoadSession::Impl::committed_total() const {
    std::uint64_t sum = 0;
    for (const auto& t : threads_) sum += t->committed.load(std::memory_order_relaxed);
    return sum;
}

bool LoadSession::Impl::wait_for_committed(std::uint64_t target, std::chrono::milliseconds timeout) {
    std::unique_lock lock(watch_mutex_);
    watch_target_.store(std::max<std::uint64_t>(1, target), std::memory_order_relaxed);
    const bool reached = watch_cv_.wait_for(lock, timeout, [&] { return committed_total() >= target; });
    watch_target_.store(0, std::memory_order_relaxed);
    return reached;
}

LoadCounters LoadSession::Impl::counters() {
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
void LoadSession::Impl::maybe_flush(ThreadCtx& ctx, std::int64_t now_ms) {
    if (now_ms < ctx.flush_at_ms) return;
    std::vector<stats::Interval> done = ctx.recorder.take_completed(now_ms);
    if (!done.empty()) {
        std::lock_guard lock(timeline_mutex_);
        stats::merge_into(timeline_, done);
    }
    ctx.flush_at_ms = ctx.recorder.interval_start(now_ms) + opt_.intervals.length_ms;
}

std::vector<stats::Interval> LoadSession::Impl::take_intervals() {
    on_all_threads([this](ThreadCtx& ctx) {
        const auto rest = ctx.recorder.intervals();
        if (!rest.empty()) {
            std::lock_guard lock(timeline_mutex_);
            stats::merge_into(timeline_, rest);
        }
        ctx.recorder.clear();
    });
    return take_finished_intervals();
}

std::vector<stats::Interval> LoadSession::Impl::take_finished_intervals() {
    std::lock_guard lock(timeline_mutex_);
    std::vector<stats::Interval> out = std::move(timeline_);
    timeline_.clear();
    return out;
}

void LoadSession::Impl::close_all(std::chrono::milliseconds bound) {
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
    flush_protocol_log(false);
}

LoadSession::WriteStats LoadSession::Impl::write_stats() {
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

std::size_t LoadSession::Impl::live_connections() {
    std::atomic<std::size_t> live{0};
    on_all_threads([&](ThreadCtx& ctx) {
        for (auto& wp : workers_) {
            if (wp->ctx == &ctx && wp->conn && wp->conn->is_open()) live.fetch_add(1);
        }
    });
    return live.load();
}

LoadSession::LoadSession(LoadSessionOptions options, std::shared_ptr<const TransferPairs> pairs)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(pairs))) {}
LoadSession::~LoadSession() = default;

void LoadSession::open_all(const Progress& progress) { impl_->open_all(progress); }
void LoadSession::start(std::uint64_t epoch, const EpochSettings& settings) { impl_->start(epoch, settings); }
LoadSession::EpochRun LoadSession::epoch_run() const { return impl_->run_; }
bool LoadSession::stop() { return impl_->stop(); }
bool LoadSession::wait_for_committed(std::uint64_t target, std::chrono::milliseconds timeout) {
    return impl_->wait_for_committed(target, timeout);
}
LoadCounters LoadSession::counters() const { return impl_->counters(); }
std::vector<stats::Interval> LoadSession::take_intervals() { return impl_->take_intervals(); }
std::vector<stats::Interval> LoadSession::take_finished_intervals() { return impl_->take_finished_intervals(); }
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
std::string_view LoadSession::io_backend() const { return impl_->io_backend_; }
std::size_t LoadSession::concurrency() const { return impl_->opt_.concurrency; }
std::string LoadSession::url() const { return impl_->conn_opt_.target.to_string(); }

}  // namespace benchdist::generator
