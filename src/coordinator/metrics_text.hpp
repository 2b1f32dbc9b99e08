// The coordinator's GET /metrics (routes.cpp serves it behind the bearer
// token): its state, the server's committed-transfer counter as the
// coordinator last read it, the last epoch's figures and verdict, and the
// merged client latency of the live epoch, in the Prometheus text format.
// A pure function of Coordinator::metrics_view(), so a unit test checks the
// text without a socket. Every metric is listed in
// docs/observability/prometheus.md.
#pragma once

#include <string>

#include "benchdist/coordinator/coordinator.hpp"
#include "benchdist/stats/latency_histogram.hpp"

namespace benchdist::coordinator {

// PLACEHOLDER until the lead's Coordinator::metrics_view() lands (contract:
// the same fields, in coordinator.hpp); deleted on merging main.
struct MetricsView {
    control::CoordinatorState state;
    std::optional<std::uint64_t> server_committed;
    std::optional<double> server_tps;
    std::optional<std::int64_t> server_read_ms;
    bool in_window = false;
    stats::LatencyHistogram latency;
    std::optional<std::uint64_t> latency_epoch;
};

std::string render_metrics(const MetricsView& view);

}  // namespace benchdist::coordinator
