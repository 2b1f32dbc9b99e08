// Per-epoch load, set from the control side: what one epoch asks of its
// participants (POST /admin/start-epoch's "load" and timing keys), and what
// the coordinator assigns each participant from it (published to that
// generator in its /state view and recorded in the result). A generator
// applies its assignment when the epoch starts and keeps its own command
// line for every field the assignment leaves out, so an epoch without
// "load" runs exactly as before. Campaigns (sweep, saturate) are built on
// this: every point of a grid is one epoch with its own load, no generator
// restarted.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

namespace benchdist::control {

using Json = nlohmann::ordered_json;  // as protocol.hpp

// The "load" object of a start request. Every field is optional; the pairs
// (connections, connections_per_generator) and (rate, rate_per_generator)
// are exclusive.
struct EpochLoadRequest {
    // Active connections in total, split over the participants in
    // proportion to the connections each opened; or the same number on
    // every participant.
    std::optional<std::uint64_t> connections;
    std::optional<std::uint64_t> connections_per_generator;
    std::optional<std::uint64_t> inflight;  // calls in flight per connection (>= 1)
    // Open loop: calls per second in total (split like the connections) or
    // per participant. 0 asks for closed loop.
    std::optional<double> rate;
    std::optional<double> rate_per_generator;
    std::optional<double> alpha;            // Zipf exponent of the pairs (>= 0)
    std::optional<std::uint32_t> accounts;  // accounts the pairs are drawn from (>= 2)

    bool empty() const {
        return !connections && !connections_per_generator && !inflight && !rate && !rate_per_generator && !alpha &&
               !accounts;
    }
    friend bool operator==(const EpochLoadRequest&, const EpochLoadRequest&) = default;
};

// One participant's share: the fields it must run with this epoch; a field
// left out keeps the generator's own option.
struct LoadAssignment {
    std::optional<std::uint64_t> connections;  // active connections (the others stay open, idle)
    std::optional<std::uint64_t> inflight;
    std::optional<double> rate;  // this generator's calls/s; 0: closed loop
    std::optional<double> alpha;
    std::optional<std::uint32_t> accounts;

    bool empty() const { return !connections && !inflight && !rate && !alpha && !accounts; }
    friend bool operator==(const LoadAssignment&, const LoadAssignment&) = default;
};

// The epoch's timing, overriding the coordinator's options for that epoch:
// a fixed warmup, or a steady-state one (warmup_auto) with its parameters,
// and the measured window.
struct EpochTiming {
    std::optional<double> warmup_seconds;
    bool warmup_auto = false;
    std::optional<double> stable_cv;
    std::optional<double> stable_seconds;
    std::optional<double> warmup_max_seconds;
    std::optional<double> window_seconds;

    bool empty() const {
        return !warmup_seconds && !warmup_auto && !stable_cv && !stable_seconds && !warmup_max_seconds &&
               !window_seconds;
    }
    friend bool operator==(const EpochTiming&, const EpochTiming&) = default;
};

// The limits a request is held to, so a typo is refused at the door rather
// than discovered as a stuck epoch.
inline constexpr double kMaxEpochRate = 1e8;          // calls per second
inline constexpr std::uint64_t kMaxInflight = 4096;   // per connection
inline constexpr double kMaxEpochSeconds = 31536000;  // a year
inline constexpr double kMaxAlpha = 100;

Json to_json(const EpochLoadRequest& r);
Json to_json(const LoadAssignment& a);
// Writes the timing's keys (warmupSeconds, warmupAuto, stableCv,
// stableSeconds, warmupMaxSeconds, windowSeconds) into a start request.
void add_timing_keys(Json& request, const EpochTiming& t);

// Throw ProtocolError (protocol.hpp) naming the key and its rule: a wrong type, a value
// out of range, both keys of an exclusive pair, an unknown key in "load".
EpochLoadRequest epoch_load_request_from_json(const Json& j);
LoadAssignment load_assignment_from_json(const Json& j);
// Reads the timing keys of a start request (absent keys stay unset).
EpochTiming epoch_timing_from_json(const Json& request);

}  // namespace benchdist::control
