// The labels written into a result's latency.kind, shared by the
// coordinator's epoch result and the generator's local run so the two
// compare. In closed loop a connection sends a new request only after an
// answer, so what is measured is the server's service time, not the response
// time an open-loop client would see under queueing; in open loop requests
// go out on a schedule and latency runs from the intended send, so queueing
// (also in the generator) is included.
#pragma once

#include <cstdint>
#include <string>

namespace benchdist::control {

inline constexpr const char* kLatencyKind = "service time (closed loop)";  // one in flight per connection
inline constexpr const char* kOpenLoopLatencyKind =
    "response time from intended send (open loop, coordinated omission corrected)";
inline constexpr const char* kUncorrectedLatencyKind = "service time from actual send (uncorrected)";
// The local run's label for the same (`bench-dist-generator run` has always
// written this text; the coordinator's result writes kUncorrectedLatencyKind).
inline constexpr const char* kLocalUncorrectedLatencyKind = "service time (open loop, from actual send)";
inline constexpr const char* kSendLagKind = "send lag behind schedule (open loop)";
inline constexpr const char* kMixedLatencyKind = "mixed";

// "service time (closed loop)" for 1, else
// "service time (closed loop, <k> in flight per connection)".
inline std::string closed_loop_latency_kind(std::uint64_t max_inflight) {
    if (max_inflight <= 1) return kLatencyKind;
    return "service time (closed loop, " + std::to_string(max_inflight) + " in flight per connection)";
}

// The kind of a load model: open loop when it has a rate.
inline std::string latency_kind(bool open_loop, std::uint64_t max_inflight) {
    return open_loop ? std::string(kOpenLoopLatencyKind) : closed_loop_latency_kind(max_inflight);
}

}  // namespace benchdist::control
