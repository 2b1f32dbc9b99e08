// The coordinator's GET /metrics (routes.cpp serves it behind the bearer
// token): its state, the server's committed-transfer counter as the
// coordinator last read it, the last epoch's figures and verdict, and the
// merged client latency of the live epoch, in the Prometheus text format.
// A pure function of Coordinator::metrics_view(), so a unit test checks the
// text without a socket. Every metric is listed in
// docs/observability.md ("Prometheus metrics").
#pragma once

#include <string>

#include "benchdist/coordinator/coordinator.hpp"

namespace benchdist::coordinator {

std::string render_metrics(const MetricsView& view);

}  // namespace benchdist::coordinator
