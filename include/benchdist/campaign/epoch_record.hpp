// What a campaign keeps of one epoch's result: its verdict, whether its
// figures are a measurement (a valid verdict, or one whose only reasons are
// broken SLOs), whether every SLO held, TPS and latency, and whether the
// generators rather than the server limited the throughput. Read from the
// result JSON the coordinator returns (docs/results.md), so the campaign
// judges an epoch exactly as the coordinator did.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/campaign/grid.hpp"
#include "benchdist/control/verdict.hpp"

namespace benchdist::campaign {

// Whether the generators limited an epoch's throughput.
enum class GeneratorLimit { No, Yes, Unknown };
std::string_view generator_limit_name(GeneratorLimit l);  // "no", "yes", "unknown"
GeneratorLimit generator_limit_from_name(std::string_view name);

struct EpochRecord {
    std::uint64_t epoch = 0;
    std::string label;
    // "valid" or "invalid" as the result says, or "none" from a coordinator
    // that gives no verdict (judged by its error and verification).
    std::string verdict;
    // Its TPS and latency measure the server: valid, or invalid only
    // because thresholds (the SLOs) did not hold. Any other reason (aborted,
    // participant lost, window too short, ...) makes the figures untrusted:
    // the epoch is retried and its numbers are not kept.
    bool measured = false;
    // Every threshold held (true when the epoch had none).
    bool slo_ok = true;
    std::optional<double> tps;  // only when measured
    // {"p50Us", "p90Us", "p99Us", "p999Us", "maxUs", "meanUs"}, those the
    // result has; empty unless measured.
    Json latency = Json::object();
    // The result's reasons (threshold_failed ones included).
    std::vector<control::VerdictReason> reasons;
    std::string result_finished_at;
    // From the result's generatorLimited.limited; without it (an older
    // coordinator), closed loop: littlesLaw.utilization below 0.5 is yes,
    // otherwise no; neither there: unknown.
    GeneratorLimit generator_limited = GeneratorLimit::Unknown;
    std::string limit_evidence;  // what the judgement rests on, for a person
};

// Below this share of busy in-flight slots (littlesLaw.utilization) a
// closed-loop epoch is taken as limited by its generators when the
// coordinator does not say (no generatorLimited).
inline constexpr double kFallbackUtilizationLimit = 0.5;

// Reads the result JSON of an epoch (control::to_json(EpochResult)).
EpochRecord read_epoch(const Json& result);

// {"epoch", "label", "verdict", "measured", "sloOk", "tps"? , "latency"?,
//  "reasons", "resultFinishedAt", "generatorLimited", "limitEvidence"?}.
Json to_json(const EpochRecord& e);
EpochRecord epoch_record_from_json(const Json& j);

// "p99 12.3 ms" style text of a latency object, for lines.
std::string latency_text(const Json& latency);

}  // namespace benchdist::campaign
