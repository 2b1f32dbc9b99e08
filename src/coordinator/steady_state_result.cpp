#include "coordinator/steady_state_result.hpp"

#include <cmath>
#include <vector>

#include "benchdist/stats/round_to.hpp"

namespace benchdist::coordinator {

using control::Json;
using stats::round_to;

namespace {

Json rounded_or_null(const std::optional<double>& v, double step) {
    return v ? Json(round_to(*v, step)) : Json(nullptr);
}

}  // namespace

std::optional<Json> warmup_json(const EpochObservations& o) {
    if (o.options.warmup_auto) {
        if (!o.warmup) return std::nullopt;
        const auto& w = *o.warmup;
        Json rates = Json::array();
        for (const double r : w.rates) rates.push_back(std::llround(r));
        return Json{{"mode", "auto"},
                    {"seconds", round_to(w.seconds, 0.001)},
                    {"stable", w.stable},
                    {"cv", rounded_or_null(w.cv, 0.0001)},
                    {"rates", std::move(rates)},
                    {"stableCv", o.options.stable_cv},
                    {"stableSeconds", o.options.stable_seconds},
                    {"warmupMaxSeconds", o.options.warmup_max_seconds}};
    }
    if (o.options.warmup_seconds > 0) return Json{{"mode", "fixed"}, {"seconds", o.options.warmup_seconds}};
    return std::nullopt;
}

stats::WindowStability stability_of_window(const EpochObservations& o) {
    std::vector<stats::CounterPoint> reads;
    reads.push_back({o.before->at_ms, o.before->read.committed});
    for (const auto& s : o.samples) {
        // As in the timeline: a read that answered outside the window
        // belongs to no step of it.
        if (s.at_ms > o.before->at_ms && s.at_ms < o.after->at_ms) reads.push_back({s.at_ms, s.read.committed});
    }
    reads.push_back({o.after->at_ms, o.after->read.committed});
    return stats::window_stability(reads);
}

Json window_stability_json(const stats::WindowStability& w) {
    Json j{{"cv", rounded_or_null(w.cv, 0.0001)},
           {"slopePerSecond", rounded_or_null(w.slope_per_second, 0.01)},
           {"relativeSlopePerSecond", rounded_or_null(w.relative_slope_per_second, 0.0001)},
           {"samples", w.samples}};
    if (w.warning != stats::StabilityWarning::None)
        j["warning"] = std::string(stats::stability_warning_name(w.warning));
    if (!w.note.empty()) j["note"] = w.note;
    return j;
}

std::optional<std::string> decay_warning(const stats::WindowStability& w) {
    if (w.warning != stats::StabilityWarning::Decaying) return std::nullopt;
    return "throughput decayed inside the window (" + w.note +
           "): the mean tps is not a steady rate; a longer warmup (--warmup auto) or a longer window shows whether "
           "it settles";
}

}  // namespace benchdist::coordinator
