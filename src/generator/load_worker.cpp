#include "generator/load_session_impl.hpp"

namespace benchdist::generator {

void LoadSession::Impl::Worker::begin(std::chrono::steady_clock::time_point now) {
    // This epoch's load (start() only begins workers below its connections):
    // worker `index` of the active ones walks the epoch's pairs from where
    // the harness's worker of that many would start.
    const EpochRun& run = session->run_;
    cursor = PairCursor(*run.pairs, index, run.connections);
    running = true;
    limit = run.max_inflight;
    // Both may grow here, even with calls still in flight after a stop that
    // timed out: a call's entry is found by its index, and nothing is
    // walking the connection's slots while this handler runs.
    if (calls.size() < limit) calls.resize(limit);
    if (conn && conn->max_inflight() < limit) conn->raise_max_inflight(limit);
    const double rate = run.rate;
    if (rate > 0) {
        // Each active worker carries an equal share of the rate; phases are
        // spread over one period so the session's calls do not leave in
        // bursts.
        const auto active = static_cast<std::int64_t>(run.connections);
        const double per_worker = rate / static_cast<double>(active);
        period = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / per_worker));
        next_due = now + std::chrono::nanoseconds(period.count() * static_cast<std::int64_t>(index) / active);
    } else {
        period = std::chrono::nanoseconds(0);
    }
    if (conn && conn->is_open()) {
        open_loop() ? pump(now) : fill(now);
    } else if (in_flight == 0 && !reopening) {
        backoff.reset();
        reopen();  // dropped while idle between epochs (or a reopen was still backing off)
    }
}

void LoadSession::Impl::Worker::halt() {
    running = false;
    cancel_backoff();
    // An entry left in the thread's DueQueue finds the worker halted and
    // does nothing.
    maybe_idle();
}

void LoadSession::Impl::Worker::fill(std::chrono::steady_clock::time_point now) {
    while (running && conn && conn->is_open() && in_flight < limit) {
        if (!send(now, now)) break;
    }
    maybe_idle();
}

void LoadSession::Impl::Worker::pump(std::chrono::steady_clock::time_point now) {
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
    while (running && next_due <= now && in_flight < limit) {
        if (!send(next_due, now)) break;
        next_due += period;
    }
    // Due but no room: the next answer calls pump() again; queueing a time
    // already past would only spin.
    if (running && next_due > now) enqueue();
    maybe_idle();
}

void LoadSession::Impl::Worker::enqueue() {
    // An entry at or before next_due is already waiting: it calls pump(),
    // which queues the worker again if it is early.
    if (queued_for && *queued_for <= next_due) return;
    queued_for = next_due;
    ctx->due.push(next_due, index);
    session->arm_schedule(*ctx);
}

void LoadSession::Impl::arm_schedule(ThreadCtx& ctx) {
    if (ctx.servicing || ctx.due.empty()) return;
    const auto wake = next_wake(ctx.due.earliest(), ctx.last_wake, opt_.schedule_tick);
    if (ctx.timer_armed && !rearm_earlier(ctx.armed_for, wake, opt_.schedule_tick)) return;
    ctx.timer_armed = true;
    ctx.armed_for = wake;
    // Moving the expiry cancels a wait already pending: its handler runs
    // with operation_aborted and leaves the state to this one.
    ctx.schedule_timer.expires_at(wake);
    ctx.schedule_timer.async_wait([this, c = &ctx](const boost::system::error_code& ec) {
        if (ec) return;
        c->timer_armed = false;
        // The tick counts from when this wake-up was due, not from when the
        // thread actually woke: counted from the latter, each wake-up's own
        // latency would push the next one later and calls spaced about a
        // tick apart would drift to a tick late.
        c->last_wake = c->armed_for;
        service_schedule(*c, std::chrono::steady_clock::now());
    });
}

void LoadSession::Impl::service_schedule(ThreadCtx& ctx, std::chrono::steady_clock::time_point now) {
    ctx.servicing = true;
    while (const auto e = ctx.due.pop_due(now)) {
        Worker& w = *workers_[e->worker];
        if (w.queued_for != e->due) continue;  // stale: the worker was queued again since
        w.queued_for.reset();
        w.pump(now);
    }
    ctx.servicing = false;
    arm_schedule(ctx);
}

bool LoadSession::Impl::Worker::send(std::chrono::steady_clock::time_point intended,
                                     std::chrono::steady_clock::time_point now) {
    // Same-account pairs are skipped without a call, as the harness did; the
    // bound keeps a degenerate pair set from spinning forever.
    const std::size_t pairs = session->run_.pairs->size();
    for (std::size_t i = 0; i < pairs; ++i) {
        const TransferPair pair = cursor.next();
        if (pair.from == pair.to) {
            ++ctx->counters.skipped_same_account;
            continue;
        }
        std::size_t slot = 0;
        while (calls[slot].used) ++slot;  // in_flight < limit <= calls.size(): a free one exists
        Call& call = calls[slot];
        call.used = true;
        call.intended = intended;
        // The batch time, not a fresh reading: the call really leaves when
        // the batch's dispatch ends, so its latency counts from at most one
        // batch's processing time too early (docs/performance.md, "The clock").
        call.sent = now;
        ++in_flight;
        ++ctx->counters.attempted;
        if (open_loop()) {
            const auto lag = std::chrono::duration_cast<std::chrono::microseconds>(call.sent - intended).count();
            ctx->recorder.record_send_lag(ctx->wall.ms(now),
                                          static_cast<std::uint64_t>(std::max<std::int64_t>(0, lag)));
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
    // Steady clock for durations: the connection's reading for the read
    // that carried this result, shared by the whole batch (or, for an ending
    // that had no time at hand, one of our own). The wall clock only says
    // which interval the outcome belongs to, derived from the same reading.
    const auto now = outcome.at.time_since_epoch().count() != 0 ? outcome.at : std::chrono::steady_clock::now();
    const auto service = std::chrono::duration_cast<std::chrono::microseconds>(now - call.sent).count();
    const std::int64_t now_ms = ctx->wall.ms(now);
    switch (outcome.status) {
        case CallStatus::Committed:
            ++c.committed;
            if (open_loop()) {
                const auto response =
                    std::chrono::duration_cast<std::chrono::microseconds>(now - call.intended).count();
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
    after_call(now);
    // Open loop: this answer woke the thread anyway, so calls of other
    // connections that fell due meanwhile leave now rather than at the
    // schedule timer's next wake-up (one compare when none is due).
    if (open_loop() && !ctx->servicing && !ctx->due.empty() && ctx->due.earliest() <= now) {
        session->service_schedule(*ctx, now);
    }
}

void LoadSession::Impl::Worker::after_call(std::chrono::steady_clock::time_point now) {
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
    open_loop() ? pump(now) : fill(now);
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
        const auto now = std::chrono::steady_clock::now();
        open_loop() ? pump(now) : fill(now);
    });
}

void LoadSession::Impl::Worker::schedule_reopen() {
    // The server is down or refusing (restarting?): wait before the next
    // try, longer each time, so a thousand workers do not hammer it.
    backing_off = true;
    const std::uint64_t generation = ++backoff_generation;
    if (!reopen_timer) reopen_timer = std::make_unique<asio::steady_timer>(ctx->io);
    reopen_timer->expires_after(backoff.next(std::uniform_real_distribution<double>(0.0, 1.0)(jitter)));
    reopen_timer->async_wait([this, generation](const boost::system::error_code& ec) {
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
    if (reopen_timer) reopen_timer->cancel();
}

void LoadSession::Impl::Worker::maybe_idle() {
    if (running || in_flight > 0 || reopening) return;
    if (busy) {
        busy = false;
        session->worker_idle();
    }
}

}  // namespace benchdist::generator
