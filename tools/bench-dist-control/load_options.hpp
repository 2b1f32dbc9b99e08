// The per-epoch load flags of start-epoch, sweep and saturate (--connections,
// --inflight, --rate, --alpha, --warmup, --window, ...), mapped to the keys
// of the start request's load contract (docs/campaigns.md, "Per-epoch load").
// Absent flags send nothing: the coordinator and generators keep their own
// settings, as before these flags existed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "benchdist/control/protocol.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace benchdist::control_tool {

struct LoadOptions {
    std::optional<std::uint64_t> connections;
    std::optional<std::uint64_t> connections_per_generator;
    std::optional<std::uint64_t> inflight;
    std::optional<double> rate;
    std::optional<double> rate_per_generator;
    std::optional<double> alpha;
    std::optional<std::uint64_t> accounts;
    std::optional<std::string> warmup;  // seconds, or "auto"
    std::optional<double> window;
    std::optional<double> stable_cv;
    std::optional<double> stable_seconds;
    std::optional<double> warmup_max;
};

// Adds the flags to `app` (exclusive pairs refused by CLI11: exit 2).
void add_load_options(CLI::App& app, LoadOptions& options);

// What the flags cannot mean together beyond what CLI11 checks ("" when
// nothing): --stable-cv, --stable-seconds or --warmup-max without
// --warmup auto.
std::string load_options_problem(const LoadOptions& options);

// Sets the flags' keys in `request`: "load" {connections, ...}, and
// warmupSeconds | warmupAuto (+ stableCv, stableSeconds, warmupMaxSeconds),
// windowSeconds at the top level.
void apply_load_options(control::Json& request, const LoadOptions& options);

}  // namespace benchdist::control_tool
