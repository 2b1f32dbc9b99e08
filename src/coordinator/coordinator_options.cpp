#include "benchdist/coordinator/coordinator_options.hpp"

namespace benchdist::coordinator {

std::string_view original_revision_name(OriginalRevision r) { return r == OriginalRevision::First ? "first" : "final"; }

CoordinatorOptions apply_epoch_timing(CoordinatorOptions o, const control::EpochTiming& timing) {
    if (timing.warmup_seconds) {
        o.warmup_seconds = *timing.warmup_seconds;
        o.warmup_auto = false;
    }
    if (timing.warmup_auto) o.warmup_auto = true;
    if (timing.stable_cv) o.stable_cv = *timing.stable_cv;
    if (timing.stable_seconds) o.stable_seconds = *timing.stable_seconds;
    if (timing.warmup_max_seconds) o.warmup_max_seconds = *timing.warmup_max_seconds;
    if (timing.window_seconds) o.window_seconds = *timing.window_seconds;
    return o;
}

control::Json coordinator_options_json(const CoordinatorOptions& o) {
    control::Json j;
    j["test"] = o.test;
    j["connector"] = o.connector;
    j["resultsDir"] = o.results_dir.string();
    j["warmupSeconds"] = o.warmup_seconds;
    j["warmupAuto"] = o.warmup_auto;
    j["stableCv"] = o.stable_cv;
    j["stableSeconds"] = o.stable_seconds;
    j["warmupMaxSeconds"] = o.warmup_max_seconds;
    j["originalRevision"] = original_revision_name(o.revision);
    j["startAckTimeoutSeconds"] = o.start_ack_timeout_seconds;
    j["windowSeconds"] = o.window_seconds;
    j["stopAckTimeoutSeconds"] = o.stop_ack_timeout_seconds;
    j["verify"] = o.verify;
    j["generatorIds"] = o.default_generator_ids;
    j["sampleMs"] = o.sample_ms;
    j["maxClockOffsetMs"] = o.max_clock_offset_ms;
    j["allowMixed"] = o.allow_mixed;
    j["alignWindowMs"] = o.align_window_ms;
    j["leaseSeconds"] = o.lease_seconds;
    j["maxErrorRatio"] = o.max_error_ratio;
    j["tolerate"] = o.tolerate;
    j["thresholds"] = control::Json::array();
    for (const auto& t : o.thresholds) j["thresholds"].push_back(t.text);
    for (const auto& [k, v] : o.other_options.items())
        if (!j.contains(k)) j[k] = v;
    return j;
}

}  // namespace benchdist::coordinator
