// The client-side half of an epoch result: what the generators observed
// inside the measured window, merged across machines. Each generator sends
// its per-second intervals (stats/interval_series.hpp) with /stopped; this
// picks the slots that belong to the coordinator's window, merges them into
// one latency histogram and one set of counts, and cross-checks them against
// the server's committed delta and the generators' clock offsets, says what
// kind of latency was measured (closed-loop service time or open-loop
// response time), checks an open-loop schedule was kept and, in closed loop,
// Little's law (were the generators, not the server, the bottleneck?),
// turning every doubt into a plain-text warning. Pure JSON in, JSON out, so
// the rules are unit-tested without an epoch runner.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/generator_report.hpp"
#include "benchdist/control/latency_kind.hpp"
#include "benchdist/control/protocol.hpp"
#include "benchdist/stats/schedule_rule.hpp"

namespace benchdist::coordinator {

struct SummaryOptions {
    // A generator whose |clock.offsetMs| is larger gets a warning: its
    // intervals are keyed by its own clock, so they shift against the window.
    double max_clock_offset_ms = 50;
    // clientServerRatio further than this from 1, plus what the counter
    // reads' round trips allow, gets a warning (stats/client_server_check.hpp).
    double ratio_tolerance = 0.02;
    // The window's two counter reads' round trips added up; 0 when unknown.
    double counter_round_trips_ms = 0;
    // Open loop: when the schedule counts as kept (the generators log by
    // the same rule).
    stats::ScheduleRule schedule;
    // Closed loop: busy / in-flight capacity below this gets a warning.
    double min_inflight_utilization = 0.9;
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
// only when it has a value: latency, latencyUncorrected, schedule,
// clientCommitted, errors, perGenerator, clientServerRatio, littlesLaw,
// warnings (always present, possibly empty). A report that cannot be read
// becomes a warning, never an exception. docs/results.md has every rule.
control::Json summarize_generator_reports(const control::Json& reports, const std::vector<std::string>& participants,
                                          const std::optional<SummaryWindow>& window,
                                          std::optional<std::uint64_t> server_committed_delta,
                                          const SummaryOptions& options = {});
// The same over reports already read (read_stop_reports), so a caller that
// also reads their counters reads each report once.
using StopReports = std::map<std::string, control::StopReport, std::less<>>;
control::Json summarize_generator_reports(const StopReports& reports, const std::vector<std::string>& participants,
                                          const std::optional<SummaryWindow>& window,
                                          std::optional<std::uint64_t> server_committed_delta,
                                          const SummaryOptions& options = {});
// {"<generator id>": {<extra /stopped fields>}, ...} read (not an object: none).
StopReports read_stop_reports(const control::Json& reports);

// The reports as they go into the result file: each without its bulky
// "intervals" array (the summary carries what they said).
control::Json strip_intervals(const control::Json& reports);

// The latency-kind labels live in control/latency_kind.hpp (the generator's
// local run writes them too).
using control::closed_loop_latency_kind;
using control::kLatencyKind;
using control::kMixedLatencyKind;
using control::kOpenLoopLatencyKind;
using control::kUncorrectedLatencyKind;

}  // namespace benchdist::coordinator
