// Text rendering of the coordinator's state for bench-dist-control, in the
// original harness's line format (so scripts that grep `phase=` or
// `tps=` keep working), plus a generators table.
#pragma once

#include <string>

#include "benchdist/control/protocol.hpp"

namespace benchdist::control {

// phase=... epoch=... label=... / test=... connector=... participants=N /
// generators: ... (with " load=..." when the running epoch sets a
// generator's share) / last_result: ...
std::string format_state(const CoordinatorState& state);

// A share of an epoch's load: "connections=10,inflight=4,rate=250/s" (a
// rate of 0 is "closed"); "-" when it sets nothing.
std::string load_assignment_text(const LoadAssignment& share);

// One line per generator with state, connections and last contact.
std::string format_generators(const CoordinatorState& state);

// "epoch=3 tps=19990.67 delta=600000 verification=passed[ error=...]"
std::string format_result_line(const EpochResult& result);

// The client-side details of a result, from its extra keys: a latency table
// (ms, 3 decimals) with, in open loop, the uncorrected row and the schedule
// line, error counts, the client/server commit ratio, the Little's-law line
// (closed loop) and the warnings -- each part only when the result has it;
// "" for a result without any (an old coordinator, or generators that sent
// no intervals).
std::string format_result_details(const EpochResult& result);

// The verdict and why, for the top of start-epoch's output:
// "verdict: valid" or "verdict: INVALID" and one "  - [code] message" line
// per reason, then the tolerated ones; "" for a result without a verdict
// (an older coordinator, or the original's).
std::string format_verdict(const EpochResult& result);

}  // namespace benchdist::control
