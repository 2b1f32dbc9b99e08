// The client-side half of an epoch result: what the generators observed
// inside the measured window, merged across machines. Each generator sends
// its per-second intervals (stats/interval_series.hpp) with /stopped; this
// picks the slots that belong to the coordinator's window, merges them into
// one latency histogram and one set of counts, and cross-checks them against
// the server's committed delta and the generators' clock offsets, turning
// every doubt into a plain-text warning. Pure JSON in, JSON out, so the rules
// are unit-tested without an epoch runner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"

namespace benchdist::coordinator {

struct SummaryOptions {
    // A generator whose |clock.offsetMs| is larger gets a warning: its
    // intervals are keyed by its own clock, so they shift against the window.
    double max_clock_offset_ms = 50;
    // clientServerRatio further than this from 1 gets a warning.
    double ratio_tolerance = 0.02;
};

// The measured window in coordinator wall-clock unix ms, [start, end).
struct SummaryWindow {
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
};

// `reports` is {"<generator id>": {<extra /stopped fields>}, ...} (what
// ActiveEpoch::stop_reports holds); `participants` are the epoch's
// generators, so one that sent nothing at all is noticed too. `window` is
// absent (or empty) when the epoch never had a measured window; then only
// the warnings are computed. `server_committed_delta` is absent when the
// server's delta is unknown. Returns an object with, in this order and each
// only when it has a value: latency, clientCommitted, errors, perGenerator,
// clientServerRatio, warnings (always present, possibly empty). A report
// that cannot be read becomes a warning, never an exception.
control::Json summarize_generator_reports(const control::Json& reports, const std::vector<std::string>& participants,
                                          const std::optional<SummaryWindow>& window,
                                          std::optional<std::uint64_t> server_committed_delta,
                                          const SummaryOptions& options = {});

// The reports as they go into the result file: each without its bulky
// "intervals" array (the summary carries what they said).
control::Json strip_intervals(const control::Json& reports);

// The label written into latency.kind: generators run a closed loop (a new
// request only after the previous answer), so what they measure is the
// server's service time, not the response time an open-loop client would
// see under queueing.
inline constexpr const char* kLatencyKind = "service time (closed loop)";

}  // namespace benchdist::coordinator
