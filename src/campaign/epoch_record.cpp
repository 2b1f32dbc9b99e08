#include "benchdist/campaign/epoch_record.hpp"

#include <cstdio>

namespace benchdist::campaign {

namespace ctl = benchdist::control;

std::string_view generator_limit_name(GeneratorLimit l) {
    switch (l) {
        case GeneratorLimit::No:
            return "no";
        case GeneratorLimit::Yes:
            return "yes";
        case GeneratorLimit::Unknown:
            break;
    }
    return "unknown";
}

GeneratorLimit generator_limit_from_name(std::string_view name) {
    if (name == "no") return GeneratorLimit::No;
    if (name == "yes") return GeneratorLimit::Yes;
    return GeneratorLimit::Unknown;
}

namespace {

const Json* object_at(const Json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_object() ? &j[key] : nullptr;
}

std::optional<double> number_at(const Json& j, const char* key) {
    if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
    return std::nullopt;
}

std::string text_at(const Json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

void judge_limit(const Json& result, EpochRecord& e) {
    if (const auto* gl = object_at(result, "generatorLimited");
        gl && gl->contains("limited") && (*gl)["limited"].is_boolean()) {
        e.generator_limited = (*gl)["limited"].get<bool>() ? GeneratorLimit::Yes : GeneratorLimit::No;
        std::string why;
        if (gl->contains("why") && (*gl)["why"].is_array())
            for (const auto& w : (*gl)["why"])
                if (w.is_string()) why += (why.empty() ? "" : ", ") + w.get<std::string>();
        e.limit_evidence = "generatorLimited.limited " + std::string((*gl)["limited"].get<bool>() ? "true" : "false");
        if (!why.empty()) e.limit_evidence += " (" + why + ")";
        if (auto message = text_at(*gl, "message"); !message.empty()) e.limit_evidence += ": " + message;
        return;
    }
    if (const auto* ll = object_at(result, "littlesLaw")) {
        if (const auto u = number_at(*ll, "utilization")) {
            e.generator_limited = *u < kFallbackUtilizationLimit ? GeneratorLimit::Yes : GeneratorLimit::No;
            char buf[160];
            std::snprintf(buf, sizeof buf, "littlesLaw.utilization %.4g (below %.2g means the generators limited)", *u,
                          kFallbackUtilizationLimit);
            e.limit_evidence = buf;
            return;
        }
    }
    e.generator_limited = GeneratorLimit::Unknown;
    e.limit_evidence = "the result has neither generatorLimited nor littlesLaw.utilization";
}

}  // namespace

EpochRecord read_epoch(const Json& result) {
    EpochRecord e;
    if (const auto n = number_at(result, "epoch")) e.epoch = static_cast<std::uint64_t>(*n);
    e.label = text_at(result, "label");
    e.result_finished_at = text_at(result, "finishedAt");
    bool only_thresholds = true;
    if (const auto verdict = ctl::read_verdict(result)) {
        e.verdict = verdict->valid ? "valid" : "invalid";
        e.reasons = verdict->reasons;
        for (const auto& r : e.reasons) {
            if (r.code == ctl::reason::kThresholdFailed)
                e.slo_ok = false;
            else
                only_thresholds = false;
        }
    } else {
        e.verdict = "none";
        const bool failed =
            (result.contains("error") && !result["error"].is_null()) || text_at(result, "verification") == "failed";
        if (failed) {
            only_thresholds = false;
            e.reasons.push_back(
                ctl::make_reason(ctl::reason::kEpochFailed,
                                 "the result (from a coordinator without verdicts) has an error or "
                                 "failed verification: " +
                                     (result.contains("error") ? result["error"].dump() : "verification failed")));
        }
    }
    if (result.contains("thresholds") && result["thresholds"].is_array()) {
        for (const auto& t : result["thresholds"])
            if (!t.is_object() || !t.contains("passed") || t["passed"] != true) e.slo_ok = false;
    }
    e.measured = only_thresholds;
    if (e.measured) {
        e.tps = number_at(result, "tps");
        if (!e.tps) {
            e.measured = false;
            e.reasons.push_back(ctl::make_reason(ctl::reason::kNotMeasured, "the result has no tps"));
        }
    }
    if (e.measured) {
        if (const auto* lat = object_at(result, "latency")) {
            for (const auto& [from, to] : {std::pair{"p50", "p50Us"},
                                           {"p90", "p90Us"},
                                           {"p99", "p99Us"},
                                           {"p999", "p999Us"},
                                           {"max", "maxUs"},
                                           {"mean", "meanUs"}})
                if (const auto v = number_at(*lat, from)) e.latency[to] = *v;
        }
    }
    judge_limit(result, e);
    return e;
}

Json to_json(const EpochRecord& e) {
    Json j{
        {"epoch", e.epoch}, {"label", e.label}, {"verdict", e.verdict}, {"measured", e.measured}, {"sloOk", e.slo_ok}};
    if (e.tps) j["tps"] = *e.tps;
    if (!e.latency.empty()) j["latency"] = e.latency;
    Json reasons = Json::array();
    for (const auto& r : e.reasons) reasons.push_back(ctl::to_json(r));
    j["reasons"] = reasons;
    j["resultFinishedAt"] = e.result_finished_at;
    j["generatorLimited"] = std::string(generator_limit_name(e.generator_limited));
    if (!e.limit_evidence.empty()) j["limitEvidence"] = e.limit_evidence;
    return j;
}

EpochRecord epoch_record_from_json(const Json& j) {
    if (!j.is_object() || !j.contains("epoch") || !j["epoch"].is_number_unsigned())
        throw CampaignError("a point's epoch entry must be an object with an \"epoch\" number, got " + j.dump());
    EpochRecord e;
    e.epoch = j["epoch"].get<std::uint64_t>();
    e.label = text_at(j, "label");
    e.verdict = text_at(j, "verdict");
    e.measured = j.value("measured", false);
    e.slo_ok = j.value("sloOk", true);
    e.tps = number_at(j, "tps");
    if (e.measured && !e.tps)
        throw CampaignError("epoch " + std::to_string(e.epoch) + " is marked measured but has no \"tps\"");
    if (const auto* lat = object_at(j, "latency")) e.latency = *lat;
    if (j.contains("reasons") && j["reasons"].is_array())
        for (const auto& r : j["reasons"]) e.reasons.push_back(ctl::verdict_reason_from_json(r));
    e.result_finished_at = text_at(j, "resultFinishedAt");
    e.generator_limited = generator_limit_from_name(text_at(j, "generatorLimited"));
    e.limit_evidence = text_at(j, "limitEvidence");
    return e;
}

std::string latency_text(const Json& latency) {
    std::string out;
    for (const auto& [key, name] : {std::pair{"p50Us", "p50"}, {"p99Us", "p99"}, {"maxUs", "max"}}) {
        if (!latency.is_object() || !latency.contains(key) || !latency[key].is_number()) continue;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%s %.2f ms", out.empty() ? "" : " ", name,
                      latency[key].get<double>() / 1000.0);
        out += buf;
    }
    return out.empty() ? "latency n/a" : out;
}

}  // namespace benchdist::campaign
