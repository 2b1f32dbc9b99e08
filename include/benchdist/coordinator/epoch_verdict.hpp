// The checks that decide an epoch's verdict (control/verdict.hpp), from
// what the runner observed and the result built from it. Pure: each rule is
// unit-tested with hand-made observations (epoch_verdict_test).
#pragma once

#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/control/verdict.hpp"
#include "benchdist/coordinator/epoch_result.hpp"
#include "benchdist/stats/threshold.hpp"

namespace benchdist::coordinator {

// Every reason `r` (already built from `o`, with its summary) is not a
// number to trust, in a stable order: the epoch's own fate first (aborted,
// not measured, failed), then the participants (acknowledgements, losses,
// restarts, connections, the load each ran, per-generator counts), then the
// numbers (window, counter, client/server, verification).
std::vector<control::VerdictReason> find_epoch_reasons(const control::EpochResult& r, const EpochObservations& o);

// The metrics thresholds are checked against (stats/threshold.hpp): tps and
// committed from the server's counter (absent when not measured), latency
// and errors from the merged client reports (absent when none reported).
stats::MetricValues epoch_metrics(const control::EpochResult& r);

// Checks the coordinator's and this epoch's thresholds: every outcome, in
// order, for the result's "thresholds", and a threshold_failed reason per
// failed one.
struct ThresholdCheck {
    control::Json outcomes = control::Json::array();
    std::vector<control::VerdictReason> reasons;
};
ThresholdCheck check_thresholds(const control::EpochResult& r, const EpochObservations& o);

}  // namespace benchdist::coordinator
