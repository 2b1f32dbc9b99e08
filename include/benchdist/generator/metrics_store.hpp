// What bench-dist-generator --metrics-listen serves: this generator's load
// as Prometheus counters and gauges. The agent feeds it from its progress
// ticks (AgentSinks::on_tick: about once a second while an epoch's load
// runs, and once at its stop; `run` ticks it the same way), the metrics
// server's own thread renders it per scrape; one mutex between the two,
// taken briefly, never on the load's hot path.
//
// Counters count from this process's start, across epochs (Prometheus's
// rule: a counter only goes up, and rate() treats a drop as a restart):
// the load's counters start from zero with each epoch, so the store adds
// each finished epoch's final counters to a base. The values are as of the
// last tick -- up to a second old while load runs -- and the scrape shows
// when that was (benchdist_generator_last_tick_timestamp_seconds). Every
// metric is listed in docs/observability.md ("Prometheus metrics").
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "benchdist/generator/agent_runner.hpp"
#include "benchdist/generator/load_counters.hpp"
#include "benchdist/stats/latency_histogram.hpp"

namespace benchdist::generator {

class MetricsStore {
public:
    // `generator_id` goes into benchdist_generator_info; `unix_ms` stamps the
    // ticks (tests inject it).
    explicit MetricsStore(std::string generator_id, std::function<std::int64_t()> unix_ms = {});

    // Any thread. A tick of a new epoch closes the previous epoch's
    // counters into the base; so does one whose counters went back (a load
    // restarted under the same epoch), so nothing is lost or counted twice.
    void on_tick(const LoadTick& tick);

    // The exposition text, with this process's CPU and memory now. Any thread.
    std::string render() const;

private:
    std::string id_;
    std::function<std::int64_t()> unix_ms_;
    mutable std::mutex mu_;
    LoadCounters base_;     // every finished epoch's final counters, summed
    LoadCounters current_;  // the running (or last) epoch's, as of the last tick
    std::optional<std::uint64_t> current_epoch_;
    bool running_ = false;
    std::size_t open_connections_ = 0;
    std::optional<std::int64_t> last_tick_ms_;
    // Every committed call's latency since the start; its digits follow the
    // first interval's (the load's, fixed for the process).
    std::optional<stats::LatencyHistogram> latency_;
};

}  // namespace benchdist::generator
