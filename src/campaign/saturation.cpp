#include "benchdist/campaign/saturation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace benchdist::campaign {

std::string_view stop_reason_name(StopReason r) {
    switch (r) {
        case StopReason::SloBroken:
            return "slo_broken";
        case StopReason::ThroughputFlat:
            return "throughput_flat";
        case StopReason::GeneratorsSaturated:
            return "generators_saturated";
        case StopReason::InvalidPoints:
            return "invalid_points";
        case StopReason::MaxReached:
            break;
    }
    return "max_reached";
}

std::string_view limit_name(Limit l) {
    switch (l) {
        case Limit::Server:
            return "server";
        case Limit::Generators:
            return "generators";
        case Limit::Unknown:
            break;
    }
    return "unknown";
}

namespace {

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

std::string tps_text(const std::optional<double>& tps) { return tps ? num(std::round(*tps)) + " TPS" : "no TPS"; }

}  // namespace

std::string saturation_options_problem(const SaturationOptions& o) {
    if (o.knob != "connections" && o.knob != "inflight" && o.knob != "rate")
        return "--knob must be connections, inflight or rate, got \"" + o.knob + "\"";
    const auto* knob = find_knob(o.knob);
    if (auto p = knob_value_problem(*knob, o.start); !p.empty()) return "--start: " + p;
    if (o.start <= 0) return "--start must be above 0 (rate 0 is the closed loop, not a load to double)";
    if (auto p = knob_value_problem(*knob, o.max); !p.empty()) return "--max: " + p;
    if (o.max < o.start) return "--max (" + num(o.max) + ") must be at least --start (" + num(o.start) + ")";
    if (!(o.precision > 0 && o.precision <= 1))
        return "--precision must be above 0 and at most 1 (0.10 = bisect until the bounds are within 10%)";
    return {};
}

Json to_json(const SaturationOptions& o) {
    const auto* knob = find_knob(o.knob);
    return Json{{"knob", o.knob},
                {"start", knob ? knob_json_value(*knob, o.start) : Json(o.start)},
                {"max", knob ? knob_json_value(*knob, o.max) : Json(o.max)},
                {"precision", o.precision}};
}

LoadOutcome outcome_of(const EpochRecord& e) {
    LoadOutcome o;
    o.measured = e.measured;
    o.slo_ok = e.slo_ok;
    o.tps = e.tps;
    o.latency = e.latency;
    o.generator_limited = e.generator_limited;
    if (!e.measured) {
        for (const auto& r : e.reasons) o.detail += (o.detail.empty() ? "" : "; ") + r.code + ": " + r.message;
    } else {
        o.detail = e.limit_evidence;
    }
    return o;
}

SaturationSearch::SaturationSearch(SaturationOptions options) : options_(std::move(options)) {
    if (auto problem = saturation_options_problem(options_); !problem.empty()) throw CampaignError(problem);
    next_ = options_.start;
}

bool SaturationSearch::is_integer() const { return options_.knob != "rate"; }

std::optional<double> SaturationSearch::next_load() const {
    if (stop_) return std::nullopt;
    return next_;
}

bool SaturationSearch::bad(double load, const LoadOutcome& o) const {
    if (!o.slo_ok) return true;
    // Open loop: a server that commits less than it is offered is behind,
    // whatever its latency says so far.
    return options_.knob == "rate" && (!o.tps || *o.tps < kRateKeptShare * load);
}

const CurvePoint* SaturationSearch::at(double load) const {
    for (const auto& p : tested_)
        if (p.load == load) return &p;
    return nullptr;
}

void SaturationSearch::record(const LoadOutcome& o) {
    if (stop_) throw CampaignError("the saturation search has already stopped; no more loads to record");
    const double load = next_;
    tested_.push_back({load, o, phase_ == Phase::Doubling ? "doubling" : "bisect"});
    if (!o.measured) {
        knee_load_ = last_good_;
        stop(StopReason::InvalidPoints, "the epoch at " + options_.knob + "=" + num(load) +
                                            " stayed invalid after its retries (" + o.detail + ")");
        return;
    }
    if (o.generator_limited == GeneratorLimit::Yes) {
        knee_load_ = last_good_;
        stop(StopReason::GeneratorsSaturated, "at " + options_.knob + "=" + num(load) +
                                                  " the generators, not the server, limited the throughput (" +
                                                  o.detail + ")");
        return;
    }
    const bool is_bad = bad(load, o);
    const double tps = o.tps.value_or(0);
    if (!is_bad) {
        best_tps_ = std::max(best_tps_, tps);
        last_good_ = std::max(last_good_.value_or(load), load);
    }
    if (phase_ == Phase::Doubling) {
        if (is_bad) {
            flat_mode_ = false;
            hi_ = load;
            lo_ = last_good_;
            if (!lo_) {
                knee_load_.reset();
                stop(StopReason::SloBroken,
                     "the first load, " + options_.knob + "=" + num(load) + ", already broke an SLO: lower --start");
                return;
            }
            bisect_or_stop();
            return;
        }
        // The previous doubling point, good (or the search would have left doubling).
        std::vector<const CurvePoint*> doubling;
        for (const auto& p : tested_)
            if (p.phase == "doubling") doubling.push_back(&p);
        if (doubling.size() >= 2) {
            const auto& prev = *doubling[doubling.size() - 2];
            const double prev_tps = prev.outcome.tps.value_or(0);
            if (tps < prev_tps * (1.0 + kFlatGrowth)) {
                // The plateau starts at or below prev; the point before prev
                // (if any) grew into it by 5% or more, so it lies below.
                flat_mode_ = true;
                hi_ = prev.load;
                if (doubling.size() < 3) {
                    knee_load_ = prev.load;
                    stop(StopReason::ThroughputFlat, "");
                    return;
                }
                lo_ = doubling[doubling.size() - 3]->load;
                bisect_or_stop();
                return;
            }
        }
        if (load >= options_.max) {
            knee_load_ = load;
            stop(StopReason::MaxReached, "");
            return;
        }
        next_ = std::min(load * 2, options_.max);
        return;
    }
    // Bisect.
    if (is_bad) {
        flat_mode_ = false;  // an SLO broke below the plateau: the knee is the SLO's
        hi_ = load;
    } else if (flat_mode_) {
        (tps >= (1.0 - kFlatGrowth) * best_tps_ ? hi_ : lo_) = load;
    } else {
        lo_ = load;
    }
    bisect_or_stop();
}

void SaturationSearch::record_refused(const std::string& why) {
    if (stop_) throw CampaignError("the saturation search has already stopped; no more loads to record");
    knee_load_ = last_good_;
    stop(StopReason::GeneratorsSaturated, "the coordinator refused " + options_.knob + "=" + num(next_) +
                                              ", which the generators cannot give (" + why + ")");
}

void SaturationSearch::bisect_or_stop() {
    const double lo = *lo_, hi = *hi_;
    double mid = (lo + hi) / 2;
    if (is_integer()) mid = std::floor(mid);
    const bool close_enough = (hi - lo) / lo <= options_.precision || mid <= lo || mid >= hi;
    if (!close_enough) {
        phase_ = Phase::Bisect;
        next_ = mid;
        return;
    }
    knee_load_ = flat_mode_ ? hi : lo;
    stop(flat_mode_ ? StopReason::ThroughputFlat : StopReason::SloBroken, "");
}

void SaturationSearch::stop(StopReason reason, std::string why) {
    stop_ = reason;
    switch (reason) {
        case StopReason::GeneratorsSaturated:
            limit_ = Limit::Generators;
            break;
        case StopReason::InvalidPoints:
        case StopReason::MaxReached:
            limit_ = Limit::Unknown;
            break;
        case StopReason::SloBroken:
        case StopReason::ThroughputFlat: {
            bool all_no = true;
            for (const auto& p : tested_) all_no = all_no && p.outcome.generator_limited == GeneratorLimit::No;
            limit_ = all_no ? Limit::Server : Limit::Unknown;
            break;
        }
    }
    const auto k = knee();
    const std::string knee_text =
        k ? options_.knob + "=" + num(k->load) + " (" + tps_text(k->tps) + ", " + latency_text(k->latency) + ")"
          : std::string("none");
    switch (reason) {
        case StopReason::SloBroken:
            message_ = why.empty() ? "an SLO broke between " + options_.knob + "=" + num(*lo_) + " and " + num(*hi_) +
                                         "; the knee, the highest load that met every SLO, is " + knee_text
                                   : why;
            break;
        case StopReason::ThroughputFlat:
            message_ = "throughput stopped growing (under 5% per doubling, best " + tps_text(best_tps_) +
                       "); the knee, the lowest load within 5% of the best TPS, is " + knee_text;
            break;
        case StopReason::GeneratorsSaturated:
            message_ = why + "; this is NOT the server's capacity: the highest good load below it, " + knee_text +
                       ", is only a lower bound. Add generator threads or machines (or fewer connections per "
                       "generator) and search again";
            break;
        case StopReason::InvalidPoints:
            message_ = why + "; the search stopped there. Highest good load measured before it: " + knee_text +
                       ". Look at the epochs' reasons, fix the cause and --resume or search again";
            break;
        case StopReason::MaxReached:
            message_ = "every SLO held and TPS still grew up to --max " + options_.knob + "=" + num(options_.max) +
                       " (" + knee_text + "); the server's knee is above it: raise --max";
            break;
    }
    if (limit_ == Limit::Unknown && (reason == StopReason::SloBroken || reason == StopReason::ThroughputFlat))
        message_ +=
            ". Whether the generators limited is unknown (the coordinator reports neither generatorLimited "
            "nor littlesLaw for some points): do not take this as the server's capacity without checking";
}

std::optional<Knee> SaturationSearch::knee() const {
    if (!knee_load_) return std::nullopt;
    const auto* p = at(*knee_load_);
    if (!p || !p->outcome.tps) return std::nullopt;
    return Knee{p->load, *p->outcome.tps, p->outcome.latency};
}

Json SaturationSearch::result_json() const {
    const auto* knob = find_knob(options_.knob);
    const auto load_json = [&](double v) { return knob_json_value(*knob, v); };
    std::vector<const CurvePoint*> sorted;
    for (const auto& p : tested_) sorted.push_back(&p);
    std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->load < b->load; });
    Json curve = Json::array();
    for (const auto* p : sorted) {
        Json c{{"load", load_json(p->load)}};
        if (options_.knob == "rate") c["offered"] = p->load;
        c["measured"] = p->outcome.measured;
        if (p->outcome.measured && p->outcome.tps) c["tps"] = *p->outcome.tps;
        if (p->outcome.measured && !p->outcome.latency.empty()) c["latency"] = p->outcome.latency;
        c["sloOk"] = p->outcome.slo_ok;
        c["generatorLimited"] = std::string(generator_limit_name(p->outcome.generator_limited));
        c["phase"] = p->phase;
        curve.push_back(c);
    }
    Json j = Json::object();
    if (const auto k = knee())
        j["knee"] = Json{{"load", load_json(k->load)}, {"tps", k->tps}, {"latency", k->latency}};
    else
        j["knee"] = nullptr;
    j["curve"] = curve;
    if (stop_) {
        j["stopReason"] = std::string(stop_reason_name(*stop_));
        j["limit"] = std::string(limit_name(limit_));
        j["stopMessage"] = message_;
    }
    return j;
}

}  // namespace benchdist::campaign
