// Whether the generators, not the server, limited an epoch's throughput
// ("generatorLimited" in a result). A saturation search or a sweep must
// never report a generator's bottleneck as the server's capacity, so every
// result says, from what the generators reported and what the summary
// (result_summary.hpp) already computed, whether some generator was the
// bottleneck and why:
//   littles_law        closed loop: the summary's Little's-law utilization
//                      (busy / in-flight slots) is below its minimum.
//   schedule_not_kept  open loop: the schedule was not kept (overall or by a
//                      generator) while the in-flight slots were not full --
//                      achieved rate x mean service time (latencyUncorrected)
//                      below the minimum share of connections x maxInflight
//                      -- so calls were late although slots were free: the
//                      generator, not a slow server, held them back.
//   generator_cpu      a participant's CPU over its load span is at least
//                      90% of its worker threads' capacity
//                      (cpuUs / (wallUs x threads), its "resources").
// Information for campaigns and one warning line: not a verdict reason.
// Pure: JSON and reports in, a value out.
#pragma once

#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/coordinator/result_summary.hpp"

namespace benchdist::coordinator {

struct GeneratorLimitOptions {
    // The same minimum the summary's Little's-law warning uses
    // (SummaryOptions::min_inflight_utilization).
    double min_inflight_utilization = 0.9;
    // A generator busier than this share of its threads' CPU is short of it.
    double max_cpu_share = 0.9;
};

struct GeneratorLimit {
    bool limited = false;
    std::vector<std::string> why;  // codes, in the order above
    // One sentence per code naming the generators and the numbers; when not
    // limited, what was checked.
    std::string message;
};

// `summary`: what summarize_generator_reports returned for the epoch.
GeneratorLimit find_generator_limit(const control::Json& summary, const StopReports& reports,
                                    const GeneratorLimitOptions& options = {});
// {"limited", "why", "message"}.
control::Json to_json(const GeneratorLimit& limit);

}  // namespace benchdist::coordinator
