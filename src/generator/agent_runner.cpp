#include "benchdist/generator/agent_runner.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <utility>

#include "benchdist/stats/interval_series.hpp"
#include "benchdist/stats/latency_histogram.hpp"
#include "benchdist/stats/schedule_rule.hpp"

namespace benchdist::generator {

bool is_retryable(const std::exception& e) {
    const auto* ce = dynamic_cast<const CoordinatorError*>(&e);
    if (!ce) return true;
    return ce->kind() == CoordinatorError::Kind::Unreachable || ce->kind() == CoordinatorError::Kind::BadResponse ||
           ce->status() >= 500;
}

std::string cause_of(const std::string& message) {
    const auto pos = message.rfind(": ");
    return pos == std::string::npos ? message : message.substr(pos + 2);
}

std::string schedule_line(double rate, std::uint64_t attempted, std::optional<std::int64_t> started_ms,
                          std::optional<std::int64_t> stopped_ms, const std::vector<stats::Interval>& intervals) {
    stats::LatencyHistogram lag;
    for (const auto& interval : intervals) lag.merge(interval.totals.send_lag);
    const double seconds = started_ms && stopped_ms && *stopped_ms > *started_ms
                               ? static_cast<double>(*stopped_ms - *started_ms) / 1000.0
                               : 0.0;
    const double achieved = seconds > 0 ? static_cast<double>(attempted) / seconds : 0.0;
    const auto lag_p99_us = static_cast<double>(lag.value_at_percentile(99));
    const bool kept = stats::ScheduleRule{}.kept(rate, achieved, lag_p99_us);
    char line[256];
    std::snprintf(line, sizeof line,
                  "open loop: target %.0f/s, sent %.0f/s over %.1f s, send lag p99 %.1f ms max %.1f ms -- %s", rate,
                  achieved, seconds, lag_p99_us / 1000.0, static_cast<double>(lag.max()) / 1000.0,
                  kept ? "schedule kept"
                       : "schedule NOT kept (server too slow for this rate at this --max-inflight, or this "
                         "generator short of CPU: add --threads or machines, or lower --rate)");
    return line;
}

std::string describe(const EpochLoadSettings& s) {
    char rate[64] = "closed loop";
    if (s.rate > 0) std::snprintf(rate, sizeof rate, "rate=%g/s", s.rate);
    char line[256];
    std::snprintf(line, sizeof line, "connections=%zu inflight=%zu %s alpha=%g accounts=%u", s.connections,
                  s.max_inflight, rate, s.alpha, static_cast<unsigned>(s.accounts));
    return line;
}

AgentRunner::AgentRunner(const GeneratorConfig& config, control::RegisterManifest manifest, ControlClient& client,
                         AgentLoad& load, AgentClock& clock, AgentSinks sinks, std::uint32_t jitter_seed)
    : config_(config),
      manifest_(std::move(manifest)),
      client_(client),
      load_(load),
      clock_(clock),
      sinks_(std::move(sinks)),
      rng_(jitter_seed),
      lease_(std::chrono::milliseconds(static_cast<std::int64_t>(config.lease_seconds * 1000.0)), clock.now()) {}

// Self-fencing: every answer from the coordinator renews the lease, and
// while load runs no request may outlive it (a long-poll to a frozen
// coordinator included), so the loop regains control in time to stop the
// load. A failed call is retried every --poll-ms until the lease runs out
// (with --exit-on-coordinator-loss: at most --control-retries attempts);
// then the last error propagates.
template <typename Call>
auto AgentRunner::call_control(const std::string& label, Call&& call) {
    for (int attempt = 1;; ++attempt) {
        const bool loading = load_.running_epoch().has_value();
        client_.set_deadline(loading && !reconnecting_ ? std::optional(lease_.deadline()) : std::nullopt);
        try {
            auto answer = call();
            lease_.renew(clock_.now());
            lease_.adopt(answer.lease_seconds);
            return answer;
        } catch (const std::exception& e) {
            const auto* ce = dynamic_cast<const CoordinatorError*>(&e);
            // Any HTTP answer but a 5xx shows the coordinator is alive.
            if (ce && ce->status() > 0 && ce->status() < 500) lease_.renew(clock_.now());
            if (!is_retryable(e) || reconnecting_) throw;
            sinks_.log(label + ": " + e.what());
            if (config_.exit_on_coordinator_loss && attempt >= config_.control_retries) throw;
            const auto now = clock_.now();
            if (lease_.expired(now)) throw;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(lease_.deadline() - now);
            if (!clock_.wait_for(std::min(std::chrono::milliseconds(config_.poll_ms), left))) throw;
        }
    }
}

// Samples only from answers the coordinator did not sit on: a long-poll
// that waited has a round trip of the wait, which would only crowd the
// estimator's window (it keeps the smallest round trip anyway).
void AgentRunner::note_clock(bool immediate_answer) {
    const auto& ex = client_.last_exchange();
    if (!immediate_answer || !ex || !ex->server_time_ms) return;
    clock_offset_.add({ex->sent_unix_ms, ex->received_unix_ms, *ex->server_time_ms});
}

double AgentRunner::last_rtt_ms() const {
    const auto& ex = client_.last_exchange();
    return ex ? ex->received_unix_ms - ex->sent_unix_ms : 0.0;
}

AgentRunner::StoppedLoad AgentRunner::stop_load() {
    const bool all_idle = load_.stop();
    if (!all_idle) sinks_.log("some workers were still busy after the op timeout");
    if (running_) ended_ = running_;
    running_.reset();
    // The load's span: from just after its workers started (pairs computed
    // for the epoch are not part of it) to after the last answer.
    const ResourceDelta used = diff(running_since_, take_resource_snapshot());
    tick(false);
    StoppedLoad stopped{load_.counters(),
                        std::exchange(taken_, {}),
                        load_.load_started_unix_ms(),
                        load_.load_stopped_unix_ms(),
                        running_settings_,
                        control::ReportResources{used.cpu_us, used.wall_us, load_.load_threads()}};
    if (stopped.ran.rate > 0)
        sinks_.log(schedule_line(stopped.ran.rate, stopped.counters.attempted, stopped.started_ms, stopped.stopped_ms,
                                 stopped.intervals));
    return stopped;
}

void AgentRunner::tick(bool post) {
    // While the load runs only what its threads handed over; at the stop
    // (the load stopped) everything.
    auto fresh = post ? load_.take_finished_intervals() : load_.take_intervals();
    stats::merge_into(taken_, fresh);
    if (sinks_.on_tick) sinks_.on_tick(LoadTick{running_, load_.counters(), load_.live_connections(), fresh});
    // On a grid from the load's start, so the ticks keep their phase
    // against a scraper's; a tick more than a period late starts it anew
    // rather than bursting to catch up.
    const auto now = clock_.now();
    next_tick_ += kProgressPeriod;
    if (next_tick_ <= now) next_tick_ = now + kProgressPeriod;
    if (post && running_) {
        post_progress(*running_, std::move(fresh));
    } else {
        last_fresh_ = std::move(fresh);
    }
}

void AgentRunner::post_progress(std::uint64_t epoch, std::vector<stats::Interval> fresh) {
    if (no_progress_route_ || fresh.empty()) return;
    if (progress_refused_epoch_ == epoch) return;
    control::ProgressReport report{config_.id, epoch, static_cast<std::uint64_t>(load_.live_connections()), {}};
    // After a long silence only the newest fit in one post; the stop report
    // still has them all.
    const auto keep = std::min(fresh.size(), control::ProgressReport::kMaxIntervals);
    report.intervals.assign(std::make_move_iterator(fresh.end() - static_cast<std::ptrdiff_t>(keep)),
                            std::make_move_iterator(fresh.end()));
    client_.set_deadline(reconnecting_ ? std::nullopt : std::optional(lease_.deadline()));
    try {
        client_.progress(report);
        lease_.renew(clock_.now());
    } catch (const CoordinatorError& e) {
        if (e.status() > 0 && e.status() < 500) lease_.renew(clock_.now());
        if (e.status() == 404) {
            no_progress_route_ = true;
            sinks_.log(
                "the coordinator has no /progress route (no live view, as the original harness): progress is "
                "not posted to it again");
        } else if (e.status() == 409) {
            progress_refused_epoch_ = epoch;
            sinks_.log(std::string(e.what()) + " -- no more progress for epoch " + std::to_string(epoch) +
                       " (its stop report is unaffected)");
        }
        // Anything else (no answer, 5xx): the next /state poll finds out
        // whether the coordinator is gone; progress is not worth a retry.
    }
}

control::StopReport AgentRunner::stop_report(StoppedLoad&& stopped) const {
    control::StopReport report;
    report.counters = report_counters(stopped.counters);
    // What this generator ran with, so a result says e.g. whether every
    // reply waited for durability (confirmed reads).
    // This epoch's, as it ran (an assignment applied, connections capped
    // at those open): the coordinator compares them with what it assigned.
    report.settings = config_.settings(stopped.ran);
    // How the load was offered and when it ran, by this host's clock: the
    // coordinator weighs the intervals at the window's edges by it.
    report.load = config_.load(stopped.ran, stopped.started_ms, stopped.stopped_ms);
    report.resources = stopped.resources;
    report.intervals = std::move(stopped.intervals);
    if (const auto est = clock_offset_.estimate()) {
        report.clock = control::ReportClock{est->offset_ms, est->rtt_ms, est->samples};
    }
    return report;
}

control::EpochAckRequest AgentRunner::stopped_request(std::uint64_t epoch, const control::StopReport& report,
                                                      bool with_intervals) const {
    control::EpochAckRequest request{config_.id, epoch, control::Json::object()};
    control::set_stop_report(request, report, with_intervals);
    return request;
}

// A coordinator that refuses the body as too large (413) still gets the
// epoch's end and counters: the intervals are dropped, with a log line.
// Any other refusal is logged and not sent again: the same report would be
// refused the same way, the load is already stopped, and the generator is
// still of use for the next epoch, so it carries on rather than exit. (Ours
// refuses a report for an epoch it never started; the original harness
// takes one for any epoch. "Unknown generator" lands here too: the next
// /state poll meets it again and registers afresh.)
void AgentRunner::post_stopped(std::uint64_t epoch, StoppedLoad&& stopped) {
    const auto report = stop_report(std::move(stopped));
    try {
        try {
            const auto request = stopped_request(epoch, report, true);
            call_control("POST /stopped", [&] { return client_.stopped(request); });
        } catch (const CoordinatorError& e) {
            if (e.status() != 413) throw;
            sinks_.log(std::string(e.what()) + " -- sending the report again without per-second intervals");
            const auto request = stopped_request(epoch, report, false);
            call_control("POST /stopped", [&] { return client_.stopped(request); });
        }
    } catch (const CoordinatorError& e) {
        if (is_retryable(e) || e.kind() == CoordinatorError::Kind::Unauthorized) throw;
        sinks_.log("the coordinator refused epoch " + std::to_string(epoch) + "'s stop report (" + e.what() +
                   "): not sent again, so its result lacks this generator's counters");
        return;
    }
    note_clock(true);
}

// POST /started: this generator's load runs, for the coordinator's start
// barrier.
void AgentRunner::acknowledge_start(std::uint64_t epoch) {
    const std::string n = std::to_string(epoch);
    try {
        call_control("POST /started", [&] { return client_.started({config_.id, epoch, control::Json::object()}); });
        note_clock(true);
    } catch (const CoordinatorError& e) {
        if (e.kind() == CoordinatorError::Kind::Unreachable || e.kind() == CoordinatorError::Kind::Unauthorized) {
            throw;
        }
        if (e.status() == 404) {
            // The route is missing, which says nothing against the epoch:
            // a coordinator without it has no start barrier to wait on (the
            // original harness's first revision has none). The load keeps
            // running; asking again would only be refused again.
            // Remembered until this generator registers again, since only
            // then may the coordinator have been replaced by another build.
            no_started_route_ = true;
            const std::string why =
                "the coordinator has no /started route (no start barrier, as in the original "
                "harness's first revision): ";
            sinks_.log(why + "epoch " + n +
                       "'s load keeps running without a start acknowledgement, and none is posted to this "
                       "coordinator again");
            return;
        }
        // Refused: the epoch ended, moved on, or is not ours. Its load stops,
        // and stop_load() marks the epoch ended, so the next poll does not
        // start it again even while the state still names it.
        sinks_.log(std::string(e.what()) + " -- stopping epoch " + n +
                   "'s load; this generator sits that epoch out (it is not started again)");
        stop_load();
    }
}

// A coordinator that (re)registers this generator may be another process,
// even another build, than the one before: a restarted coordinator numbers
// its epochs from 1 again, and may have a /started route the old one
// lacked. So what was learned about the old one is forgotten here.
void AgentRunner::register_and_ready(bool open) {
    ended_.reset();
    no_started_route_ = false;
    no_progress_route_ = false;
    progress_refused_epoch_.reset();
    call_control("POST /register", [&] {
        control::RegisterRequest request{config_.id, config_.hostname, static_cast<std::uint64_t>(config_.concurrency)};
        control::set_manifest(request, manifest_);
        return client_.register_generator(request);
    });
    note_clock(true);
    if (open) load_.open_connections();
    call_control("POST /ready", [&] {
        control::ReadyRequest request{config_.id, static_cast<std::uint64_t>(load_.live_connections())};
        if (const auto chosen = load_.negotiated_protocol())
            control::set_negotiated_protocol(request, std::string(stdb::subprotocol_name(*chosen)));
        if (manifest_.incarnation) control::set_incarnation(request, *manifest_.incarnation);
        return client_.ready(request);
    });
    note_clock(true);
    sinks_.log("ready with " + std::to_string(load_.live_connections()) + " connections to " +
               config_.endpoint.display() + "/" + config_.database);
}

// Losing the coordinator (no answer for the lease) stops the load but keeps
// the connections, then re-registers with capped backoff and takes part in
// the next epoch.
void AgentRunner::reconnect() {
    reconnecting_ = true;
    Backoff backoff(std::chrono::milliseconds(250), std::chrono::milliseconds(10000));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int attempt = 1; !clock_.stop_requested(); ++attempt) {
        try {
            register_and_ready(false);
            reconnecting_ = false;
            sinks_.log("re-registered with the coordinator (attempt " + std::to_string(attempt) +
                       "): taking part from the next epoch");
            return;
        } catch (const CoordinatorError& e) {
            if (!is_retryable(e)) {
                reconnecting_ = false;
                throw;
            }
            const auto delay = backoff.next(unit(rng_));
            sinks_.log("re-register attempt " + std::to_string(attempt) + " failed (" + cause_of(e.what()) +
                       "); next in " + std::to_string(delay.count()) + " ms");
            clock_.wait_for(delay);
        }
    }
    reconnecting_ = false;
}

// One round: poll /state and act on it.
void AgentRunner::poll_once() {
    control::CoordinatorState state;
    if (running_ && clock_.now() >= next_tick_) tick(true);
    const bool waiting = have_version_ && config_.long_poll_ms > 0;
    // Well inside the lease, which the coordinator may have shortened, and
    // while load runs no later than the next progress tick.
    auto poll_wait = lease_.poll_wait(std::chrono::milliseconds(config_.long_poll_ms));
    if (running_) {
        const auto to_tick = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick_ - clock_.now());
        poll_wait = std::clamp(to_tick, std::chrono::milliseconds(1), poll_wait);
    }
    try {
        state = call_control("GET /state", [&] {
            return waiting ? client_.state(config_.id, seen_version_, poll_wait) : client_.state(config_.id);
        });
    } catch (const CoordinatorError& e) {
        if (e.kind() != CoordinatorError::Kind::UnknownGenerator) throw;
        sinks_.log("the coordinator does not know this generator (restarted?): registering again");
        if (running_) stop_load();
        register_and_ready(false);
        have_version_ = false;
        return;
    }
    // Answered well inside the wait: the coordinator did not hold it.
    const bool immediate = !waiting || last_rtt_ms() < static_cast<double>(poll_wait.count()) / 2;
    note_clock(immediate);
    const bool changed = !have_version_ || state.version != seen_version_;
    seen_version_ = state.version;
    have_version_ = true;
    const auto decision = decide(state, config_.id, running_, ended_);
    if (decision.action == AgentAction::Start) {
        const bool acknowledge = decision.acknowledge && !no_started_route_;
        sinks_.log("starting epoch " + std::to_string(decision.epoch) +
                   (!decision.acknowledge ? " (phase warmup: no start barrier, so no /started)"
                    : !acknowledge        ? " (this coordinator has no /started route)"
                                          : ""));
        const auto assignment = own_load_assignment(state, config_.id);
        const EpochLoadSettings asked = config_.epoch_settings(assignment);
        if (assignment)
            sinks_.log("epoch " + std::to_string(decision.epoch) + " sets this generator's load: " + describe(asked));
        running_settings_ = load_.start(decision.epoch, asked);
        running_since_ = take_resource_snapshot();
        running_ = decision.epoch;
        taken_.clear();
        next_tick_ = clock_.now() + kProgressPeriod;
        if (acknowledge) acknowledge_start(decision.epoch);
        return;  // poll again at once: the coordinator moves on when everyone started
    }
    if (decision.action == AgentAction::Stop) {
        auto stopped = stop_load();
        // The last second's intervals, so the live view ends where the load did.
        post_progress(decision.epoch, std::exchange(last_fresh_, {}));
        const auto& c = stopped.counters;
        sinks_.log("stopped epoch " + std::to_string(decision.epoch) + ": attempted=" + std::to_string(c.attempted) +
                   " committed=" + std::to_string(c.committed) + " errors=" + std::to_string(c.errors()) +
                   " timeouts=" + std::to_string(c.timeouts) +
                   (c.protocol_errors.total() > 0 ? " protocolErrors=" + std::to_string(c.protocol_errors.total()) +
                                                        " (" + c.protocol_errors.describe() + ")"
                                                  : std::string()) +
                   " intervals=" + std::to_string(stopped.intervals.size()));
        post_stopped(decision.epoch, std::move(stopped));
        return;
    }
    // Nothing to do. A long-poll that came back after its wait, or with
    // news, is followed by the next one at once. Plain polling
    // (--long-poll-ms 0), or an unchanged answer that came at once (a
    // coordinator without long-polling), waits --poll-ms first so the
    // coordinator is not hammered.
    if (config_.long_poll_ms == 0 || (waiting && !changed && immediate))
        clock_.wait_for(std::chrono::milliseconds(config_.poll_ms));
}

void AgentRunner::on_lost_coordinator(const CoordinatorError& e) {
    const auto silent = lease_.silent_for(clock_.now());
    char seconds[64];
    std::snprintf(seconds, sizeof seconds, "%.1f s (lease %.1f s)", static_cast<double>(silent.count()) / 1000.0,
                  static_cast<double>(lease_.length().count()) / 1000.0);
    // Said before stop_load(), which stops issuing at once but then waits (up
    // to the op timeout) for calls still in flight to a server that may be
    // unreachable too.
    sinks_.log(std::string("lost the coordinator at ") + client_.base_url() + ": no answer for " + seconds + " (" +
               cause_of(e.what()) + "); stopping load");
    if (running_) stop_load();
    sinks_.log(
        "load stopped, connections kept open; re-registering with backoff "
        "(--exit-on-coordinator-loss exits instead)");
    reconnect();
    have_version_ = false;
}

void AgentRunner::report_failure(const CoordinatorError& e) {
    if (e.kind() == CoordinatorError::Kind::Unreachable) {
        sinks_.error("error: cannot reach coordinator at " + client_.base_url() + ": " + cause_of(e.what()) +
                     " -- is bench-dist-coordinator running and reachable?");
    } else if (e.kind() == CoordinatorError::Kind::Unauthorized) {
        // Not retried: the same token would be refused again.
        sinks_.error(
            "error: the coordinator at " + client_.base_url() + " refused this generator (" + e.what() +
            ") -- start bench-dist-generator with the coordinator's token: --auth-token or BENCH_DIST_TOKEN (" +
            (config_.auth_token.empty() ? "none was given" : "the one given differs") + ")");
    } else {
        sinks_.error(std::string("error: ") + e.what());
    }
}

int AgentRunner::run() {
    int exit_code = 0;
    try {
        register_and_ready(true);
        while (!clock_.stop_requested()) {
            try {
                poll_once();
            } catch (const CoordinatorError& e) {
                // --exit-on-coordinator-loss exits instead (the error propagates).
                if (config_.exit_on_coordinator_loss || !is_retryable(e) || clock_.stop_requested()) throw;
                on_lost_coordinator(e);
            }
        }
        // SIGINT/SIGTERM.
        sinks_.log("stop requested");
        client_.set_deadline(std::nullopt);
        if (running_) {
            const std::uint64_t epoch = *running_;
            const auto report = stop_report(stop_load());
            try {
                client_.stopped(stopped_request(epoch, report, true));
            } catch (const std::exception& e) {
                sinks_.log(std::string("could not report the stop: ") + e.what());
            }
        }
    } catch (const CoordinatorError& e) {
        if (running_) stop_load();
        report_failure(e);
        exit_code = clock_.stop_requested() ? 0 : 1;
    } catch (const std::exception& e) {
        sinks_.error(std::string("error: ") + e.what());
        exit_code = 1;
    }
    if (running_) stop_load();
    load_.close_all();
    return exit_code;
}

}  // namespace benchdist::generator
