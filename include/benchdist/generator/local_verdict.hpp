// The verdict on `bench-dist-generator run`'s result (control/verdict.hpp):
// the checks of an epoch that apply to one generator on its own. Pure: it
// reads the built result (generator/local_result.hpp) and the run's limits.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/control/verdict.hpp"
#include "benchdist/stats/threshold.hpp"

namespace benchdist::generator {

struct LocalVerdictOptions {
    double max_error_ratio = 0.01;
    std::set<std::string, std::less<>> tolerate;
    std::vector<stats::Threshold> thresholds;
    // Connections asked for (--concurrency) and opened.
    std::uint64_t desired_connections = 0;
    std::uint64_t opened_connections = 0;
};

// The metrics a --threshold on `run` is checked against.
stats::MetricValues local_metrics(const control::Json& result);

// Judges `result` and writes "verdict", "reasons", "thresholds" (when any)
// and "toleratedReasons" into it; returns whether it is valid.
bool judge_local_result(control::Json& result, const LocalVerdictOptions& options);

}  // namespace benchdist::generator
