// The steady-state parts of an epoch's result: `warmup` (what `--warmup
// auto` or the fixed warmup did before the window) and `windowStability`
// (how steady the server's rate was inside the window), from the runner's
// observations through the rules of stats/steady_state.hpp. Pure, like the
// rest of build_epoch_result; the verdict reads the JSON these write.
#pragma once

#include <optional>
#include <string>

#include "benchdist/control/protocol.hpp"
#include "benchdist/coordinator/epoch_result.hpp"
#include "benchdist/stats/steady_state.hpp"

namespace benchdist::coordinator {

// {"mode": "auto", "seconds", "stable", "cv", "rates", "stableCv",
// "stableSeconds", "warmupMaxSeconds"} for an automatic warmup that ended;
// {"mode": "fixed", "seconds"} for a fixed one above 0; nullopt otherwise.
std::optional<control::Json> warmup_json(const EpochObservations& o);

// The window's counter reads in order: its first read, the timeline samples
// that answered inside it, its last read. Needs o.before and o.after.
stats::WindowStability stability_of_window(const EpochObservations& o);

// {"cv", "slopePerSecond", "relativeSlopePerSecond", "samples", "warning"?,
// "note"?}; a figure that could not be computed is null.
control::Json window_stability_json(const stats::WindowStability& w);

// The line for `warnings` when the window's rate decayed; nullopt otherwise
// (a collapse is a verdict reason, not a warning).
std::optional<std::string> decay_warning(const stats::WindowStability& w);

}  // namespace benchdist::coordinator
