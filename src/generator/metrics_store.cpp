// The generator's Prometheus metrics (metrics_store.hpp).
#include "benchdist/generator/metrics_store.hpp"

#include <chrono>

#include "benchdist/control/version.hpp"
#include "benchdist/generator/resource_usage.hpp"
#include "benchdist/metrics/exposition.hpp"
#include "benchdist/stats/interval.hpp"

namespace benchdist::generator {

namespace {

std::int64_t system_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Whether `now` can be the same load as `before` a tick later: no count
// went back.
bool continues(const LoadCounters& before, const LoadCounters& now) {
    return now.attempted >= before.attempted && now.committed >= before.committed && now.errors() >= before.errors() &&
           now.reopened >= before.reopened && now.protocol_errors.total() >= before.protocol_errors.total();
}

constexpr double kMillisecondsPerSecond = 1000.0;
constexpr double kMicrosecondsPerSecond = 1e6;

}  // namespace

MetricsStore::MetricsStore(std::string generator_id, std::function<std::int64_t()> unix_ms)
    : id_(std::move(generator_id)), unix_ms_(unix_ms ? std::move(unix_ms) : system_unix_ms) {}

void MetricsStore::on_tick(const LoadTick& tick) {
    const std::int64_t now = unix_ms_();
    std::lock_guard lock(mu_);
    // The stop's tick has no epoch: it is the last of the epoch before it.
    const bool new_epoch = tick.epoch && tick.epoch != current_epoch_;
    if (new_epoch || !continues(current_, tick.counters)) base_.combine(current_);
    current_ = tick.counters;
    if (tick.epoch) current_epoch_ = tick.epoch;
    running_ = tick.epoch.has_value();
    open_connections_ = tick.open_connections;
    last_tick_ms_ = now;
    for (const stats::Interval& interval : tick.intervals) {
        const auto& latency = interval.totals.latency;
        if (latency.empty()) continue;
        if (!latency_) latency_.emplace(latency.significant_digits());
        // Digits are the load's, one setting per process; a mismatch could
        // only be a bug, and must not fail the agent's thread.
        if (latency_->significant_digits() == latency.significant_digits()) latency_->merge(latency);
    }
}

std::string MetricsStore::render() const {
    const ResourceSnapshot usage = take_resource_snapshot();
    stdb::MetricsWriter out;
    metrics::family(out, "benchdist_generator_info", "gauge",
                    "This generator: its id and the bench-dist version, as labels of a sample of value 1");
    out.sample("benchdist_generator_info", {{"id", id_}, {"version", std::string(control::tool_version())}}, 1);

    // Prometheus's standard process metrics (client libraries' names): this
    // process's own cost beside the load it produces.
    metrics::family(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds");
    out.sample_double("process_cpu_seconds_total", {},
                      static_cast<double>(usage.cpu_user_us + usage.cpu_system_us) / kMicrosecondsPerSecond);
    if (usage.rss_bytes > 0) {
        metrics::gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes",
                       static_cast<double>(usage.rss_bytes));
    }

    std::lock_guard lock(mu_);
    LoadCounters total = base_;
    total.combine(current_);
    metrics::counter(out, "benchdist_generator_attempted_transfers_total",
                     "Transfer calls sent since this generator started", total.attempted);
    metrics::counter(out, "benchdist_generator_committed_transfers_total",
                     "Transfer calls the server answered committed since this generator started", total.committed);
    metrics::family(out, "benchdist_generator_errors_total", "counter",
                    "Transfer calls that failed since this generator started, by kind: moduleError (the reducer "
                    "returned an error), internalError, timeout (no answer within --op-timeout-ms), disconnect (the "
                    "connection ended with the call in flight)");
    const std::pair<stats::FailureKind, std::uint64_t> errors[] = {
        {stats::FailureKind::ModuleError, total.module_errors},
        {stats::FailureKind::InternalError, total.internal_errors},
        {stats::FailureKind::Timeout, total.timeouts},
        {stats::FailureKind::Disconnect, total.disconnects},
    };
    for (const auto& [kind, n] : errors) {
        out.sample("benchdist_generator_errors_total", {{"kind", std::string(stats::failure_kind_name(kind))}}, n);
    }
    metrics::family(out, "benchdist_generator_protocol_errors_total", "counter",
                    "Server messages a connection could not take, by kind (each closes its connection; the calls it "
                    "ends count as disconnects)");
    for (std::size_t k = 0; k < kProtocolErrorKinds; ++k) {
        const auto kind = static_cast<ProtocolErrorKind>(k);
        out.sample("benchdist_generator_protocol_errors_total", {{"kind", std::string(protocol_error_kind_name(kind))}},
                   total.protocol_errors[kind]);
    }
    metrics::counter(out, "benchdist_generator_reconnects_total",
                     "Connections replaced after a timeout or a disconnect", total.reopened);
    // Of the running epoch: every call sent and not yet answered or failed.
    const std::uint64_t settled = current_.committed + current_.errors();
    metrics::gauge(out, "benchdist_generator_in_flight_transfers", "Transfer calls sent and not yet answered",
                   current_.attempted > settled ? static_cast<double>(current_.attempted - settled) : 0.0);
    metrics::gauge(out, "benchdist_generator_open_connections", "Open SpacetimeDB connections",
                   static_cast<double>(open_connections_));
    metrics::gauge(out, "benchdist_generator_epoch", "The epoch of the running or last load; 0 before the first",
                   static_cast<double>(current_epoch_.value_or(0)));
    metrics::gauge(out, "benchdist_generator_load_running", "1 while an epoch's load runs, else 0",
                   running_ ? 1.0 : 0.0);
    if (last_tick_ms_) {
        metrics::gauge(out, "benchdist_generator_last_tick_timestamp_seconds",
                       "When the load's figures here were taken (unix time): about once a second while load runs",
                       static_cast<double>(*last_tick_ms_) / kMillisecondsPerSecond);
    }
    metrics::latency_histogram(out, "benchdist_generator_transfer_latency_seconds",
                               "Latency of the committed transfer calls since this generator started: from the "
                               "send to the result (open loop: from when the call was due)",
                               latency_ ? *latency_ : stats::LatencyHistogram());
    return out.take();
}

}  // namespace benchdist::generator
