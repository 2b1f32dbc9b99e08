// bench-dist-generator's agent mode: registers with the coordinator, opens
// the connections, and runs transfer load whenever the coordinator's epoch
// includes it. Never keeps loading a server that no coordinator controls:
// when no control request succeeded for the lease (the coordinator's
// leaseSeconds, else --lease-seconds) the load stops at once -- no request
// may outlive the lease while load runs -- and the generator keeps its
// connections and re-registers with capped backoff; with
// --exit-on-coordinator-loss it closes them and exits 1 instead.
//
// Control loop: /state is long-polled (since=<last version>, waitMs=
// --long-poll-ms), so a phase change reaches the generator as soon as the
// coordinator makes it. The wait is kept short (1 s by default) rather
// than tens of seconds because the blocking HTTP request cannot be
// interrupted: SIGINT is noticed when the poll returns, so the wait bounds
// how long an interrupted generator lingers. A coordinator without
// long-polling answers at once with an unchanged version; then the loop
// falls back to waiting --poll-ms between polls.
//
// /register carries a manifest (tool version, every option, and the workload
// options that must match across generators for one result to make sense);
// /ready names the protocol the server chose. The /stopped report carries
// when the load started and stopped, the epoch's per-second intervals (latency
// histogram and outcomes per wall-clock second) and an estimate of this
// host's clock offset to the coordinator, since the intervals are stamped
// with this host's clock.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "benchdist/control/version.hpp"
#include "benchdist/generator/agent.hpp"
#include "benchdist/generator/clock_offset.hpp"
#include "benchdist/generator/coordinator_client.hpp"
#include "benchdist/stats/interval_series.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "generator_tool.hpp"

namespace benchdist::generator_tool {

namespace {

using generator::CoordinatorError;

// One line on whether open-loop load kept its schedule, so an operator
// sees it on the load machine, not only in the result.
std::string schedule_line(double rate, std::uint64_t attempted, std::optional<std::int64_t> started_ms,
                          std::optional<std::int64_t> stopped_ms, const std::vector<stats::Interval>& intervals) {
    stats::LatencyHistogram lag;
    for (const auto& interval : intervals) lag.merge(interval.totals.send_lag);
    const double seconds = started_ms && stopped_ms && *stopped_ms > *started_ms
                               ? static_cast<double>(*stopped_ms - *started_ms) / 1000.0
                               : 0.0;
    const double achieved = seconds > 0 ? static_cast<double>(attempted) / seconds : 0.0;
    const double lag_p99_ms = static_cast<double>(lag.value_at_percentile(99)) / 1000.0;
    // The same thresholds as the coordinator's schedule check.
    const bool kept = achieved >= 0.98 * rate && lag_p99_ms <= 10.0;
    char line[256];
    std::snprintf(line, sizeof line,
                  "open loop: target %.0f/s, sent %.0f/s over %.1f s, send lag p99 %.1f ms max %.1f ms -- %s", rate,
                  achieved, seconds, lag_p99_ms, static_cast<double>(lag.max()) / 1000.0,
                  kept ? "schedule kept"
                       : "schedule NOT kept (server too slow for this rate at this --max-inflight, or this "
                         "generator short of CPU: add --threads or machines, or lower --rate)");
    return line;
}

// "POST http://h:p/ready: connection refused" -> "connection refused".
std::string cause_of(const std::string& message) {
    const auto pos = message.rfind(": ");
    return pos == std::string::npos ? message : message.substr(pos + 2);
}

}  // namespace

int run_agent(const generator::GeneratorConfig& config, StopFlag& stop) {
    const auto log = [&config](const std::string& text) { log_line(config.id, text); };
    LoadParts parts;
    if (const auto failed = make_load_parts_or_report(config, parts)) return *failed;
    auto& session = parts.session;

    control::Json manifest = control::Json::object();
    manifest["toolVersion"] = std::string(control::tool_version());
    manifest["hostname"] = config.hostname;
    manifest["pid"] = static_cast<std::int64_t>(getpid());
    manifest["startedAt"] = control::iso8601_millis(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    manifest["workload"] = config.workload_json();
    manifest["options"] = config.options_json(session->thread_count());

    generator::CoordinatorClient client(config.coordinator_url);
    client.set_auth_token(config.auth_token);
    const std::function<void(const std::string&)> retry_log = log;
    // Retrying helps only when the coordinator did not answer (or answered 5xx).
    const std::function<bool(const std::exception&)> retryable = [](const std::exception& e) {
        const auto* ce = dynamic_cast<const CoordinatorError*>(&e);
        if (!ce) return true;
        return ce->kind() == CoordinatorError::Kind::Unreachable || ce->kind() == CoordinatorError::Kind::BadResponse ||
               ce->status() >= 500;
    };
    // Self-fencing: every answer from the coordinator renews the lease, and
    // while load runs no request may outlive it (a long-poll to a frozen
    // coordinator included), so the loop below regains control in time to
    // stop the load. A failed call is retried every --poll-ms until the
    // lease runs out (with --exit-on-coordinator-loss: at most
    // --control-retries attempts); then the last error propagates.
    using SteadyClock = std::chrono::steady_clock;
    generator::ControlLease lease(
        std::chrono::milliseconds(static_cast<std::int64_t>(config.lease_seconds * 1000.0)), SteadyClock::now());
    bool reconnecting = false;  // single attempts while re-registering with backoff
    auto call_control = [&](const std::string& label, auto&& fn) {
        for (int attempt = 1;; ++attempt) {
            const bool loading = session->running_epoch().has_value();
            client.set_deadline(loading && !reconnecting ? std::optional(lease.deadline()) : std::nullopt);
            try {
                auto answer = fn();
                lease.renew(SteadyClock::now());
                lease.adopt(answer.lease_seconds);
                return answer;
            } catch (const std::exception& e) {
                const auto* ce = dynamic_cast<const CoordinatorError*>(&e);
                // Any HTTP answer but a 5xx shows the coordinator is alive.
                if (ce && ce->status() > 0 && ce->status() < 500) lease.renew(SteadyClock::now());
                if (!retryable(e) || reconnecting) throw;
                retry_log(label + ": " + e.what());
                if (config.exit_on_coordinator_loss && attempt >= config.control_retries) throw;
                const auto now = SteadyClock::now();
                if (lease.expired(now)) throw;
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(lease.deadline() - now);
                if (!stop.wait_for(std::min(std::chrono::milliseconds(config.poll_ms), left))) throw;
            }
        }
    };

    // Samples only from answers the coordinator did not sit on: a long-poll
    // that waited has a round trip of the wait, which would only crowd the
    // estimator's window (it keeps the smallest round trip anyway).
    generator::ClockOffsetEstimator clock;
    auto note_clock = [&](bool immediate_answer) {
        const auto& ex = client.last_exchange();
        if (!immediate_answer || !ex || !ex->server_time_ms) return;
        clock.add({ex->sent_unix_ms, ex->received_unix_ms, *ex->server_time_ms});
    };
    auto last_rtt_ms = [&]() -> double {
        const auto& ex = client.last_exchange();
        return ex ? ex->received_unix_ms - ex->sent_unix_ms : 0.0;
    };

    struct EpochReport {
        generator::LoadCounters counters;
        std::vector<stats::Interval> intervals;
        std::optional<std::int64_t> started_ms;
        std::optional<std::int64_t> stopped_ms;
    };
    std::optional<std::uint64_t> running;
    auto stop_load = [&]() -> EpochReport {
        const bool all_idle = session->stop();
        if (!all_idle) log("some workers were still busy after the op timeout");
        running.reset();
        EpochReport report{session->counters(), session->take_intervals(), session->load_started_unix_ms(),
                           session->load_stopped_unix_ms()};
        if (config.rate > 0) log(schedule_line(config.rate, report.counters.attempted, report.started_ms, report.stopped_ms,
                                        report.intervals));
        return report;
    };
    auto stopped_request = [&](std::uint64_t epoch, const EpochReport& report, bool with_intervals) {
        control::EpochAckRequest req{config.id, epoch, control::Json::object()};
        req.extra["counters"] = control::to_json(generator::report_counters(report.counters));
        // What this generator ran with, so a result says e.g. whether every
        // reply waited for durability (confirmed reads).
        req.extra["settings"] = config.settings_json();
        // How the load was offered and when it ran, by this host's clock:
        // the coordinator weighs the intervals at the window's edges by it.
        req.extra["load"] = config.load_json(report.started_ms, report.stopped_ms);
        if (with_intervals) req.extra["intervals"] = stats::intervals_to_json(report.intervals);
        if (const auto est = clock.estimate()) {
            control::Json cj = control::Json::object();
            cj["offsetMs"] = est->offset_ms;
            cj["rttMs"] = est->rtt_ms;
            cj["samples"] = est->samples;
            req.extra["clock"] = cj;
        }
        return req;
    };
    // A coordinator that refuses the body as too large (413) still gets the
    // epoch's end and counters: the intervals are dropped, with a log line.
    auto post_stopped = [&](std::uint64_t epoch, const EpochReport& report) {
        try {
            call_control("POST /stopped", [&] { return client.stopped(stopped_request(epoch, report, true)); });
        } catch (const CoordinatorError& e) {
            if (e.status() != 413) throw;
            log(std::string(e.what()) + " -- sending the report again without per-second intervals");
            call_control("POST /stopped", [&] { return client.stopped(stopped_request(epoch, report, false)); });
        }
        note_clock(true);
    };
    auto register_and_ready = [&](bool open) {
        call_control("POST /register", [&] {
            control::RegisterRequest req{config.id, config.hostname, static_cast<std::uint64_t>(config.concurrency)};
            req.extra["manifest"] = manifest;
            return client.register_generator(req);
        });
        note_clock(true);
        if (open) open_connections(*session, config);
        call_control("POST /ready", [&] {
            control::ReadyRequest req{config.id, static_cast<std::uint64_t>(session->live_connections())};
            if (const auto chosen = session->negotiated_protocol()) {
                req.extra["negotiatedProtocol"] = std::string(stdb::subprotocol_name(*chosen));
            }
            return client.ready(req);
        });
        note_clock(true);
        log("ready with " + std::to_string(session->live_connections()) + " connections to " + config.endpoint.display() +
            "/" + config.database);
    };

    int exit_code = 0;
    try {
        register_and_ready(true);
        // Version of the last /state answer acted on; the next poll waits for a newer one.
        // A plain pair rather than std::optional: GCC 12 at -O2 reports a
        // bogus maybe-uninitialized read of the optional's payload here.
        std::uint64_t seen_version = 0;
        bool have_version = false;
        const auto long_poll = std::chrono::milliseconds(config.long_poll_ms);
        // Losing the coordinator (no answer for the lease) stops the load
        // but keeps the connections, then re-registers with capped backoff
        // and takes part in the next epoch; --exit-on-coordinator-loss
        // exits instead (the error propagates to the handlers below).
        auto reconnect = [&] {
            reconnecting = true;
            generator::Backoff backoff(std::chrono::milliseconds(250), std::chrono::milliseconds(10000));
            std::minstd_rand rng(static_cast<std::uint_fast32_t>(getpid()));
            std::uniform_real_distribution<double> unit(0.0, 1.0);
            for (int attempt = 1; !stop.requested(); ++attempt) {
                try {
                    register_and_ready(false);
                    reconnecting = false;
                    log("re-registered with the coordinator (attempt " + std::to_string(attempt) +
                        "): taking part from the next epoch");
                    return;
                } catch (const CoordinatorError& e) {
                    if (!retryable(e)) {
                        reconnecting = false;
                        throw;
                    }
                    const auto delay = backoff.next(unit(rng));
                    log("re-register attempt " + std::to_string(attempt) + " failed (" + cause_of(e.what()) +
                        "); next in " + std::to_string(delay.count()) + " ms");
                    stop.wait_for(delay);
                }
            }
            reconnecting = false;
        };
        // One round: poll /state and act on it.
        auto poll_once = [&] {
            control::CoordinatorState state;
            const bool waiting = have_version && config.long_poll_ms > 0;
            // Well inside the lease, which the coordinator may have shortened.
            const auto poll_wait = lease.poll_wait(long_poll);
            try {
                state = call_control("GET /state", [&] {
                    return waiting ? client.state(config.id, seen_version, poll_wait) : client.state(config.id);
                });
            } catch (const CoordinatorError& e) {
                if (e.kind() != CoordinatorError::Kind::UnknownGenerator) throw;
                log("the coordinator does not know this generator (restarted?): registering again");
                if (running) stop_load();
                register_and_ready(false);
                have_version = false;
                return;
            }
            // Answered well inside the wait: the coordinator did not hold it.
            const bool immediate = !waiting || last_rtt_ms() < static_cast<double>(poll_wait.count()) / 2;
            note_clock(immediate);
            const bool changed = !have_version || state.version != seen_version;
            seen_version = state.version;
            have_version = true;
            const auto decision = generator::decide(state, config.id, running);
            if (decision.action == generator::AgentAction::Start) {
                log("starting epoch " + std::to_string(decision.epoch));
                session->start(decision.epoch);
                running = decision.epoch;
                try {
                    call_control("POST /started", [&] {
                        return client.started({config.id, decision.epoch, control::Json::object()});
                    });
                    note_clock(true);
                } catch (const CoordinatorError& e) {
                    if (e.kind() == CoordinatorError::Kind::Unreachable ||
                        e.kind() == CoordinatorError::Kind::Unauthorized) {
                        throw;
                    }
                    // The epoch ended or moved on before we acknowledged: stop and keep polling.
                    log(std::string(e.what()) + " -- stopping this epoch's load");
                    stop_load();
                }
                return;  // poll again at once: the coordinator moves on when everyone started
            }
            if (decision.action == generator::AgentAction::Stop) {
                const auto report = stop_load();
                const auto& c = report.counters;
                log("stopped epoch " + std::to_string(decision.epoch) + ": attempted=" + std::to_string(c.attempted) +
                    " committed=" + std::to_string(c.committed) + " errors=" + std::to_string(c.errors()) +
                    " timeouts=" + std::to_string(c.timeouts) + " intervals=" + std::to_string(report.intervals.size()));
                post_stopped(decision.epoch, report);
                return;
            }
            // Nothing to do. A long-poll that came back after its wait, or
            // with news, is followed by the next one at once. Plain polling
            // (--long-poll-ms 0), or an unchanged answer that came at once
            // (a coordinator without long-polling), waits --poll-ms first so
            // the coordinator is not hammered.
            if (config.long_poll_ms == 0 || (waiting && !changed && immediate)) stop.wait_for(std::chrono::milliseconds(config.poll_ms));
        };
        while (!stop.requested()) {
            try {
                poll_once();
            } catch (const CoordinatorError& e) {
                if (config.exit_on_coordinator_loss || !retryable(e) || stop.requested()) throw;
                const auto silent = lease.silent_for(SteadyClock::now());
                char seconds[64];
                std::snprintf(seconds, sizeof seconds, "%.1f s (lease %.1f s)", static_cast<double>(silent.count()) / 1000.0,
                              static_cast<double>(lease.length().count()) / 1000.0);
                // Said before stop_load(), which stops issuing at once but
                // then waits (up to the op timeout) for calls still in
                // flight to a server that may be unreachable too.
                log(std::string("lost the coordinator at ") + client.base_url() + ": no answer for " + seconds + " (" +
                    cause_of(e.what()) + "); stopping load");
                if (running) stop_load();
                log("load stopped, connections kept open; re-registering with backoff "
                    "(--exit-on-coordinator-loss exits instead)");
                reconnect();
                have_version = false;
            }
        }
        // SIGINT/SIGTERM.
        log("stop requested");
        client.set_deadline(std::nullopt);
        if (running) {
            const std::uint64_t epoch = *running;
            const auto report = stop_load();
            try {
                client.stopped(stopped_request(epoch, report, true));
            } catch (const std::exception& e) {
                log(std::string("could not report the stop: ") + e.what());
            }
        }
    } catch (const CoordinatorError& e) {
        if (running) stop_load();
        if (e.kind() == CoordinatorError::Kind::Unreachable) {
            std::cerr << "error: cannot reach coordinator at " << client.base_url() << ": " << cause_of(e.what())
                      << " -- is bench-dist-coordinator running and reachable?" << std::endl;
        } else if (e.kind() == CoordinatorError::Kind::Unauthorized) {
            // Not retried: the same token would be refused again.
            std::cerr << "error: the coordinator at " << client.base_url() << " refused this generator ("
                      << e.what() << ") -- start bench-dist-generator with the coordinator's token: --auth-token "
                      << "or BENCH_DIST_TOKEN (" << (config.auth_token.empty() ? "none was given" : "the one given differs")
                      << ")" << std::endl;
        } else {
            std::cerr << "error: " << e.what() << std::endl;
        }
        exit_code = stop.requested() ? 0 : 1;
    } catch (const generator::LoadSessionError& e) {
        std::cerr << "error: " << e.what() << std::endl;
        exit_code = 1;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << std::endl;
        exit_code = 1;
    }
    if (running) stop_load();
    session->close_all();
    session.reset();
    log("connections closed");
    return exit_code;
}

}  // namespace benchdist::generator_tool
