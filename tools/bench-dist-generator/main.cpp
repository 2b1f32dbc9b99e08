// bench-dist-generator: opens --concurrency SpacetimeDB connections, reports
// ready to the coordinator, and runs transfer load -- closed loop with
// --max-inflight calls per connection, or open loop at --rate calls per
// second -- whenever the coordinator's epoch includes it. Never keeps loading a server that no
// coordinator controls: when no control request succeeded for the lease
// (the coordinator's leaseSeconds, else --lease-seconds) the load stops at
// once -- no request may outlive the lease while load runs -- and the
// generator keeps its connections and re-registers with capped backoff;
// with --exit-on-coordinator-loss it closes them and exits 1 instead.
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
#include <CLI/CLI.hpp>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "benchdist/control/version.hpp"
#include "benchdist/generator/agent.hpp"
#include "benchdist/generator/clock_offset.hpp"
#include "benchdist/generator/coordinator_client.hpp"
#include "benchdist/generator/load_session.hpp"
#include "benchdist/generator/transfer_pairs.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/net/stop_signals.hpp"
#include "benchdist/net/tls_context.hpp"
#include "benchdist/stats/interval_series.hpp"

namespace {

using namespace benchdist;
using generator::CoordinatorError;

// Set by the signal thread; every wait in the main loop wakes up on it.
class StopFlag {
public:
    void request() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_all();
    }
    bool requested() {
        std::lock_guard lock(m_);
        return stop_;
    }
    // False when a stop was requested (before or during the wait).
    bool wait_for(std::chrono::milliseconds d) {
        std::unique_lock lock(m_);
        return !cv_.wait_for(lock, d, [this] { return stop_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool stop_ = false;
};

void log_line(const std::string& id, const std::string& text) {
    std::cerr << "[generator " << id << "] " << text << std::endl;
}

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

// "POST http://h:p/ready: connection refused" -> "connection refused".
std::string cause_of(const std::string& message) {
    const auto pos = message.rfind(": ");
    return pos == std::string::npos ? message : message.substr(pos + 2);
}

int usage_error(const std::string& flag, const std::string& what) {
    std::cerr << "error: " << flag << ": " << what << "\nRun with --help for usage." << std::endl;
    return 2;
}

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

}  // namespace

int main(int argc, char** argv) {
    // Signals go to a dedicated thread (sigwait), so every other thread --
    // including the load session's workers -- must block them from the start.
    const sigset_t signals = benchdist::net::block_stop_signals();

    CLI::App app{
        "bench-dist-generator: opens --concurrency SpacetimeDB WebSocket connections and runs `transfer` load "
        "whenever bench-dist-coordinator starts an epoch that includes it: closed loop (--max-inflight calls "
        "in flight per connection, 1 by default as the original harness) or open loop (--rate calls per "
        "second on a fixed schedule, latency counted from when each call was due)."};
    std::string coordinator_url = "http://127.0.0.1:8080";
    std::string test = "test-1";
    std::string connector = "spacetimedb";
    const std::string hostname_default = host_name();
    std::string id = hostname_default + "-" + std::to_string(getpid());
    std::string hostname = hostname_default;
    std::size_t concurrency = 0;
    std::uint32_t accounts = 100000;
    double alpha = 1.5;
    std::size_t open_parallelism = generator::kDefaultOpenParallelism;
    std::uint64_t poll_ms = 1000;
    std::uint64_t long_poll_ms = 1000;
    int control_retries = 3;
    double lease_seconds = 10;
    bool exit_on_coordinator_loss = false;
    std::string stdb_url = "ws://127.0.0.1:3000";
    std::string stdb_module = "test-1";
    std::string compression_flag = "none";
    std::string confirmed_flag;
    std::string protocol_flag;
    std::string token;
    std::string auth_token;
    std::size_t threads = 0;
    std::uint64_t op_timeout_ms = 15000;
    std::size_t pairs_count = generator::kDefaultPrecomputedTransferPairs;
    std::string pair_mode_flag = "zipf";
    std::uint64_t seed = 0;
    std::size_t max_inflight = 1;
    double rate = 0;

    app.add_option("--coordinator-url", coordinator_url, "bench-dist-coordinator's base URL")->capture_default_str();
    app.add_option("--test", test, "Test case (only test-1 exists)")->capture_default_str();
    app.add_option("--connector", connector, "Connector (only spacetimedb)")->capture_default_str();
    app.add_option("--id", id, "Generator id [default: <hostname>-<pid>]");
    app.add_option("--hostname", hostname, "Hostname reported to the coordinator [default: this host's name]");
    app.add_option("--concurrency", concurrency, "Connections (one worker each)")->required();
    app.add_option("--max-inflight", max_inflight,
                   "Calls in flight per connection; on v3 calls queued together share a WebSocket message")
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->capture_default_str();
    app.add_option("--rate", rate,
                   "Open loop: transfers per second for this generator, spread evenly over its connections and "
                   "sent on schedule whatever the answers do; latency counts from each call's due time "
                   "(coordinated omission corrected). 0: closed loop")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.set_version_flag("--version", std::string(control::tool_version()));
    app.add_option("--accounts", accounts, "Number of seeded accounts to draw from")
        ->envname("SEED_ACCOUNTS")
        ->capture_default_str();
    app.add_option("--alpha", alpha, "Zipf exponent of the account distribution")->capture_default_str();
    app.add_option("--open-parallelism", open_parallelism, "At most this many connections opening at once")
        ->capture_default_str();
    app.add_option("--poll-ms", poll_ms, "Coordinator poll interval, also the delay between control retries")
        ->capture_default_str();
    app.add_option("--long-poll-ms", long_poll_ms,
                   "Longest a /state request waits at the coordinator for a change (long-polling); also the "
                   "longest SIGINT waits for it. 0: plain polls every --poll-ms")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{30000}))
        ->capture_default_str();
    app.add_option("--lease-seconds", lease_seconds,
                   "Stop the load when no coordinator request succeeded for this long (the coordinator's own "
                   "--lease-seconds wins once it answered), then keep re-registering with backoff")
        ->check(CLI::Range(0.1, 86400.0))
        ->capture_default_str();
    app.add_flag("--exit-on-coordinator-loss", exit_on_coordinator_loss,
                 "On losing the coordinator (--control-retries failed attempts, or the lease), stop the load, "
                 "close the connections and exit 1 instead of re-registering");
    app.add_option("--control-retries", control_retries,
                   "With --exit-on-coordinator-loss: attempts per control-plane call before giving up (exit 1). "
                   "Otherwise failed calls are retried every --poll-ms until the lease runs out")
        ->capture_default_str();
    app.add_option("--stdb-url", stdb_url, "SpacetimeDB server (ws://HOST:PORT)")
        ->envname("STDB_URL")
        ->capture_default_str();
    app.add_option("--stdb-module", stdb_module, "Database name or identity")
        ->envname("STDB_MODULE")
        ->capture_default_str();
    app.add_option("--stdb-compression", compression_flag,
                   "none|gzip|brotli; always sent as the `compression` query parameter, because the server "
                   "compresses with Brotli when it is absent")
        ->envname("STDB_COMPRESSION")
        ->capture_default_str();
    app.add_option("--confirmed-reads", confirmed_flag,
                   "true|false; sent only when given. v2/v3 servers default to true, which holds every reply "
                   "until the transaction is durable (adds the fsync wait to every closed-loop call)")
        ->envname("STDB_CONFIRMED_READS");
    app.add_option("--stdb-protocol", protocol_flag, "v3|v2: offer only this protocol [default: offer both, server "
                                                     "picks v3]");
    app.add_option("--auth-token", auth_token,
                   "The coordinator's --auth-token, sent as \"Authorization: Bearer\" on every control request "
                   "(prefer the environment variable: command lines are visible to other users)")
        ->envname("BENCH_DIST_TOKEN");
    app.add_option("--stdb-token", token, "Token sent as Authorization: Bearer on the upgrade [default: anonymous]")
        ->envname("STDB_TOKEN");
    benchdist::net::TlsOptions tls_options;
    app.add_option("--stdb-ca-file", tls_options.ca_file,
                   "PEM file of a CA to trust for a wss:// --stdb-url, besides the system store")
        ->envname("STDB_CA_FILE");
    app.add_flag("--stdb-insecure-skip-verify", tls_options.insecure_skip_verify,
                 "Do not check the server's TLS certificate (throwaway test servers only)");
    app.add_option("--threads", threads, "Worker threads, one io_context each [default: hardware threads]");
    app.add_option("--op-timeout-ms", op_timeout_ms,
                   "A call without a result in this time counts as a timeout; its connection is closed and reopened")
        ->envname("BENCH_OP_TIMEOUT_MS")
        ->capture_default_str();
    app.add_option("--pairs", pairs_count, "Precomputed transfer pairs")
        ->envname("BENCH_PRECOMPUTED_TRANSFER_PAIRS")
        ->capture_default_str();
    app.add_option("--pair-mode", pair_mode_flag,
                   "zipf: correct Zipf distribution; harness: the original TypeScript harness's exact sequence")
        ->capture_default_str();
    auto* seed_opt = app.add_option("--seed", seed, "Seed of the pair sampler [default: the mode's fixed default]");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }

    if (connector != "spacetimedb") return usage_error("--connector", "only `spacetimedb` is supported, got `" + connector + "`");
    if (test != "test-1") return usage_error("--test", "only `test-1` is supported, got `" + test + "`");
    if (concurrency == 0) return usage_error("--concurrency", "must be at least 1");
    if (control_retries < 1) return usage_error("--control-retries", "must be at least 1");
    if (pairs_count == 0) pairs_count = 1;
    const auto compression = stdb::compression_from_flag(compression_flag);
    if (!compression) return usage_error("--stdb-compression", "expected none|gzip|brotli, got `" + compression_flag + "`");
    std::optional<bool> confirmed;
    if (!confirmed_flag.empty()) {
        if (confirmed_flag == "true" || confirmed_flag == "1") confirmed = true;
        else if (confirmed_flag == "false" || confirmed_flag == "0") confirmed = false;
        else return usage_error("--confirmed-reads", "expected true|false, got `" + confirmed_flag + "`");
    }
    std::optional<stdb::ProtocolVersion> protocol;
    if (protocol_flag == "v3") protocol = stdb::ProtocolVersion::V3;
    else if (protocol_flag == "v2") protocol = stdb::ProtocolVersion::V2;
    else if (!protocol_flag.empty()) return usage_error("--stdb-protocol", "expected v3|v2, got `" + protocol_flag + "`");
    const auto pair_mode = generator::parse_pair_mode(pair_mode_flag);
    if (!pair_mode) return usage_error("--pair-mode", "expected zipf|harness, got `" + pair_mode_flag + "`");
    stdb::Endpoint endpoint;
    try {
        endpoint = stdb::parse_endpoint(stdb_url);
    } catch (const stdb::EndpointError& e) {
        return usage_error("--stdb-url", e.what());
    }
    try {
        benchdist::net::set_default_tls_options(tls_options);
    } catch (const benchdist::net::TlsConfigError& e) {
        return usage_error("--stdb-ca-file", e.what());
    }

    StopFlag stop;
    std::thread([&stop, signals] {
        benchdist::net::wait_for_stop_signal(signals);
        stop.request();
    }).detach();

    const auto log = [&id](const std::string& text) { log_line(id, text); };
    if (tls_options.insecure_skip_verify) {
        log("WARNING: --stdb-insecure-skip-verify: the server's TLS certificate is NOT checked; anyone on the path "
            "can impersonate it");
    }

    // Pairs and connections.
    std::shared_ptr<const generator::TransferPairs> pairs;
    try {
        generator::TransferPairsOptions po;
        po.accounts = accounts;
        po.alpha = alpha;
        po.count = pairs_count;
        po.mode = *pair_mode;
        if (seed_opt->count() > 0) po.seed = seed;
        log("precomputing " + std::to_string(pairs_count) + " transfer pairs (" +
            std::string(generator::pair_mode_name(*pair_mode)) + ", accounts=" + std::to_string(accounts) + ")");
        pairs = std::make_shared<generator::TransferPairs>(po);
    } catch (const std::invalid_argument& e) {
        return usage_error("--accounts/--alpha/--pairs", e.what());
    }

    generator::LoadSessionOptions so;
    so.endpoint = endpoint;
    so.database = stdb_module;
    so.concurrency = concurrency;
    so.open_parallelism = open_parallelism;
    so.threads = threads;
    so.op_timeout = std::chrono::milliseconds(op_timeout_ms);
    so.compression = *compression;
    so.confirmed = confirmed;
    so.protocol = protocol;
    so.token = token;
    so.max_inflight = max_inflight;
    so.rate_per_second = rate;

    // What this generator is and runs with, sent with /register. `workload`
    // holds the options that change what a transfer costs or how load is
    // offered; the coordinator refuses to mix generators whose workloads
    // differ (concurrency and rate may differ: they only scale the load).
    const std::string protocol_offer = protocol ? std::string(protocol == stdb::ProtocolVersion::V3 ? "v3" : "v2")
                                                : std::string("auto");
    control::Json workload = control::Json::object();
    workload["alpha"] = alpha;
    workload["accounts"] = accounts;
    workload["pairMode"] = std::string(generator::pair_mode_name(*pair_mode));
    workload["amount"] = so.amount;
    workload["maxInflight"] = max_inflight;
    workload["rateMode"] = rate > 0 ? "open" : "closed";
    workload["compression"] = std::string(stdb::compression_flag_name(*compression));
    workload["confirmedReads"] = confirmed ? control::Json(*confirmed) : control::Json(nullptr);
    workload["protocol"] = protocol_offer;
    control::Json options = control::Json::object();
    options["coordinatorUrl"] = coordinator_url;
    options["test"] = test;
    options["connector"] = connector;
    options["id"] = id;
    options["hostname"] = hostname;
    options["concurrency"] = concurrency;
    options["maxInflight"] = max_inflight;
    options["rate"] = rate > 0 ? control::Json(rate) : control::Json(nullptr);
    options["accounts"] = accounts;
    options["alpha"] = alpha;
    options["pairMode"] = std::string(generator::pair_mode_name(*pair_mode));
    options["pairs"] = pairs_count;
    options["seed"] = seed_opt->count() > 0 ? control::Json(seed) : control::Json(nullptr);
    options["openParallelism"] = open_parallelism;
    options["opTimeoutMs"] = op_timeout_ms;
    options["pollMs"] = poll_ms;
    options["longPollMs"] = long_poll_ms;
    options["controlRetries"] = control_retries;
    options["leaseSeconds"] = lease_seconds;
    options["exitOnCoordinatorLoss"] = exit_on_coordinator_loss;
    options["stdbUrl"] = stdb_url;
    options["stdbModule"] = stdb_module;
    options["stdbCompression"] = std::string(stdb::compression_flag_name(*compression));
    options["confirmedReads"] = confirmed ? control::Json(*confirmed) : control::Json(nullptr);
    options["stdbProtocol"] = protocol_offer;
    options["stdbToken"] = token.empty() ? "none" : "set (not shown)";
    options["authToken"] = auth_token.empty() ? "none" : "set";
    control::Json manifest = control::Json::object();
    manifest["toolVersion"] = std::string(control::tool_version());
    manifest["hostname"] = hostname;
    manifest["pid"] = static_cast<std::int64_t>(getpid());
    manifest["startedAt"] = control::iso8601_millis(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    manifest["workload"] = workload;

    std::unique_ptr<generator::LoadSession> session;
    try {
        session = std::make_unique<generator::LoadSession>(so, pairs);
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << std::endl;
        return 1;
    }
    options["threads"] = session->thread_count();
    manifest["options"] = options;

    generator::CoordinatorClient client(coordinator_url);
    client.set_auth_token(auth_token);
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
        std::chrono::milliseconds(static_cast<std::int64_t>(lease_seconds * 1000.0)), SteadyClock::now());
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
                if (exit_on_coordinator_loss && attempt >= control_retries) throw;
                const auto now = SteadyClock::now();
                if (lease.expired(now)) throw;
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(lease.deadline() - now);
                if (!stop.wait_for(std::min(std::chrono::milliseconds(poll_ms), left))) throw;
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
        if (rate > 0) log(schedule_line(rate, report.counters.attempted, report.started_ms, report.stopped_ms,
                                        report.intervals));
        return report;
    };
    auto stopped_request = [&](std::uint64_t epoch, const EpochReport& report, bool with_intervals) {
        const generator::LoadCounters& c = report.counters;
        control::EpochAckRequest req{id, epoch, control::Json::object()};
        control::Json counters = control::Json::object();
        counters["attempted"] = c.attempted;
        counters["committed"] = c.committed;
        counters["errors"] = c.errors();
        counters["moduleErrors"] = c.module_errors;
        counters["internalErrors"] = c.internal_errors;
        counters["timeouts"] = c.timeouts;
        counters["disconnects"] = c.disconnects;
        counters["reopened"] = c.reopened;
        counters["reopenFailures"] = c.reopen_failures;
        req.extra["counters"] = counters;
        // What this generator ran with, so a result says e.g. whether every
        // reply waited for durability (confirmed reads).
        control::Json settings = control::Json::object();
        settings["connections"] = concurrency;
        settings["compression"] = std::string(stdb::compression_flag_name(*compression));
        settings["confirmedReads"] = confirmed ? control::Json(*confirmed) : control::Json("server default (true on v2/v3)");
        settings["protocol"] = protocol ? std::string(stdb::subprotocol_name(*protocol)) : std::string("v3 or v2, server's choice");
        settings["accounts"] = accounts;
        settings["alpha"] = alpha;
        settings["pairMode"] = std::string(generator::pair_mode_name(*pair_mode));
        settings["opTimeoutMs"] = op_timeout_ms;
        settings["maxInflight"] = max_inflight;
        settings["rate"] = rate > 0 ? control::Json(rate) : control::Json(nullptr);
        req.extra["settings"] = settings;
        // How the load was offered and when it ran, by this host's clock:
        // the coordinator weighs the intervals at the window's edges by it.
        control::Json load = control::Json::object();
        load["mode"] = rate > 0 ? "open" : "closed";
        load["maxInflight"] = max_inflight;
        load["connections"] = concurrency;
        load["ratePerSecond"] = rate > 0 ? control::Json(rate) : control::Json(nullptr);
        if (report.started_ms) load["startedAtMs"] = *report.started_ms;
        if (report.stopped_ms) load["stoppedAtMs"] = *report.stopped_ms;
        req.extra["load"] = load;
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
            control::RegisterRequest req{id, hostname, static_cast<std::uint64_t>(concurrency)};
            req.extra["manifest"] = manifest;
            return client.register_generator(req);
        });
        note_clock(true);
        if (open) {
            const std::size_t step = std::max<std::size_t>(1, concurrency / 10);
            std::size_t next_report = step;
            log("opening " + std::to_string(concurrency) + " connections to " + session->url() + " (at most " +
                std::to_string(open_parallelism) + " at once, " + std::to_string(session->thread_count()) +
                " threads)");
            session->open_all([&](std::size_t opened, std::size_t total) {
                if (opened >= next_report || opened == total) {
                    log("opened " + std::to_string(opened) + "/" + std::to_string(total));
                    while (next_report <= opened) next_report += step;
                }
            });
        }
        call_control("POST /ready", [&] {
            control::ReadyRequest req{id, static_cast<std::uint64_t>(session->live_connections())};
            if (const auto chosen = session->negotiated_protocol()) {
                req.extra["negotiatedProtocol"] = std::string(stdb::subprotocol_name(*chosen));
            }
            return client.ready(req);
        });
        note_clock(true);
        log("ready with " + std::to_string(session->live_connections()) + " connections to " + endpoint.display() +
            "/" + stdb_module);
    };

    int exit_code = 0;
    try {
        register_and_ready(true);
        // Version of the last /state answer acted on; the next poll waits for a newer one.
        // A plain pair rather than std::optional: GCC 12 at -O2 reports a
        // bogus maybe-uninitialized read of the optional's payload here.
        std::uint64_t seen_version = 0;
        bool have_version = false;
        const auto long_poll = std::chrono::milliseconds(long_poll_ms);
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
            const bool waiting = have_version && long_poll_ms > 0;
            // Well inside the lease, which the coordinator may have shortened.
            const auto poll_wait = lease.poll_wait(long_poll);
            try {
                state = call_control("GET /state", [&] {
                    return waiting ? client.state(id, seen_version, poll_wait) : client.state(id);
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
            const auto decision = generator::decide(state, id, running);
            if (decision.action == generator::AgentAction::Start) {
                log("starting epoch " + std::to_string(decision.epoch));
                session->start(decision.epoch);
                running = decision.epoch;
                try {
                    call_control("POST /started", [&] {
                        return client.started({id, decision.epoch, control::Json::object()});
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
            if (long_poll_ms == 0 || (waiting && !changed && immediate)) stop.wait_for(std::chrono::milliseconds(poll_ms));
        };
        while (!stop.requested()) {
            try {
                poll_once();
            } catch (const CoordinatorError& e) {
                if (exit_on_coordinator_loss || !retryable(e) || stop.requested()) throw;
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
                      << "or BENCH_DIST_TOKEN (" << (auth_token.empty() ? "none was given" : "the one given differs")
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
