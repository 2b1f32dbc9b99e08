// The saturation search of `bench-dist-control saturate` as a pure state
// machine: it says which load to try next, is told what that load's epoch
// measured, and decides when to stop and where the knee is. The tool runs
// the epochs (with retries) and feeds the outcomes in; a resumed search
// replays the outcomes recorded in its campaign file.
//
// The search: double the load from `start` (capped at `max`) until a point
// breaks an SLO or its TPS grew less than 5% over the previous point; then
// bisect between the last load on one side of the knee and the first on
// the other until (hi - lo) / lo <= precision. Stop reasons and the knee of
// each (docs/campaigns.md says the same for users):
//
//   slo_broken       a point broke an SLO (in open loop, --knob rate, also:
//                    the server committed under 95% of the offered rate).
//                    Knee: the highest tested load that met every SLO.
//   throughput_flat  TPS stopped growing (< 5% per doubling) while every SLO
//                    held. Knee: the lowest tested load whose TPS is within
//                    5% of the best TPS seen (more load only queues).
//   generators_saturated  a point's generators, not the server, limited the
//                    throughput (generatorLimited, or Little's law), or the
//                    coordinator refused a load they cannot give. Knee:
//                    the highest good load below it, which is NOT the
//                    server's capacity -- only a lower bound of it.
//   invalid_points   a point's epoch stayed invalid after its retries. Knee:
//                    the highest good load measured before it, if any.
//   max_reached      `max` met every SLO and TPS still grew. Knee: `max`;
//                    the server's knee is above it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/campaign/epoch_record.hpp"
#include "benchdist/campaign/grid.hpp"

namespace benchdist::campaign {

enum class StopReason { SloBroken, ThroughputFlat, GeneratorsSaturated, InvalidPoints, MaxReached };
// "slo_broken", "throughput_flat", "generators_saturated", "invalid_points", "max_reached".
std::string_view stop_reason_name(StopReason r);

// What limited the throughput at the knee.
enum class Limit { Server, Generators, Unknown };
std::string_view limit_name(Limit l);  // "server", "generators", "unknown"

// TPS growth per doubling below which throughput is flat, and the share of
// the best TPS within which a load is on the plateau.
inline constexpr double kFlatGrowth = 0.05;
// Open loop: a point whose TPS is below this share of the offered rate did
// not keep up.
inline constexpr double kRateKeptShare = 0.95;

struct SaturationOptions {
    // "connections" (total over the fleet), "inflight" (per connection) or
    // "rate" (open loop, total calls/s).
    std::string knob = "connections";
    double start = 0;
    double max = 0;
    double precision = 0.10;
};
// What is wrong with the options ("" when nothing): an unknown knob, a
// start or max out of the knob's range or max below start, a fraction for
// connections or inflight, a precision outside (0, 1].
std::string saturation_options_problem(const SaturationOptions& o);
// {"knob", "start", "max", "precision"}.
Json to_json(const SaturationOptions& o);

// What one load's epoch measured (after its retries).
struct LoadOutcome {
    bool measured = false;  // EpochRecord::measured: false when invalid after retries
    bool slo_ok = true;
    std::optional<double> tps;
    Json latency = Json::object();
    GeneratorLimit generator_limited = GeneratorLimit::Unknown;
    std::string detail;  // for an invalid point: its reasons; for a generator-limited one: the evidence
};
// From the last epoch of a point.
LoadOutcome outcome_of(const EpochRecord& last_epoch);

struct CurvePoint {
    double load = 0;
    LoadOutcome outcome;
    std::string phase;  // "doubling" or "bisect"
};

struct Knee {
    double load = 0;
    double tps = 0;
    Json latency = Json::object();
};

class SaturationSearch {
public:
    // Throws CampaignError when saturation_options_problem says so.
    explicit SaturationSearch(SaturationOptions options);

    // The next load to try; nullopt once finished.
    std::optional<double> next_load() const;
    // The outcome of next_load()'s epoch.
    void record(const LoadOutcome& outcome);
    // The coordinator refused to start next_load() (409): the generators
    // cannot give that much load (e.g. more connections than they opened).
    // Stops with generators_saturated; `why` is the coordinator's message.
    // The load is not part of the curve: nothing was measured.
    void record_refused(const std::string& why);
    bool finished() const { return stop_.has_value(); }

    std::optional<StopReason> stop_reason() const { return stop_; }
    Limit limit() const { return limit_; }
    std::optional<Knee> knee() const;
    // One paragraph for a person: why it stopped, where the knee is, what
    // limited it and what to do.
    const std::string& message() const { return message_; }
    // Every tested load, in the order tested.
    const std::vector<CurvePoint>& tested() const { return tested_; }

    // {"knee": {"load", "tps", "latency"} or null, "curve": [... by load],
    //  "stopReason", "limit", "stopMessage"}; before the end, the curve so far.
    Json result_json() const;

private:
    bool bad(double load, const LoadOutcome& o) const;
    bool is_integer() const;
    void bisect_or_stop();
    void stop(StopReason reason, std::string why);
    const CurvePoint* at(double load) const;

    SaturationOptions options_;
    enum class Phase { Doubling, Bisect } phase_ = Phase::Doubling;
    // Bisect: SLO mode looks for the highest load that met every SLO
    // (knee = lo), flat mode for the lowest load on the TPS plateau (knee = hi).
    bool flat_mode_ = false;
    double next_ = 0;
    std::optional<double> lo_, hi_;
    std::optional<double> last_good_;
    double best_tps_ = 0;
    std::vector<CurvePoint> tested_;
    std::optional<StopReason> stop_;
    Limit limit_ = Limit::Unknown;
    std::optional<double> knee_load_;
    std::string message_;
};

}  // namespace benchdist::campaign
