#include "report/sections.hpp"

#include "benchdist/campaign/grid.hpp"
#include "report/format.hpp"

namespace benchdist::report::detail {

namespace bcp = benchdist::campaign;

std::string manifest_title(std::string_view key) {
    for (const auto& k : manifest_keys())
        if (k.key == key) return std::string(k.title);
    return std::string(key);
}

std::string reason_codes(const campaign::EpochRecord& e) {
    std::string out;
    for (const auto& r : e.reasons) out += (out.empty() ? "" : " ") + r.code;
    return out;
}

std::string report_summary(const Report& report) {
    std::size_t valid = 0, measured_invalid = 0;
    for (const auto& e : report.epochs) {
        valid += e.record.verdict == "valid" ? 1 : 0;
        measured_invalid += e.record.verdict != "valid" && e.record.measured ? 1 : 0;
    }
    const auto n = report.epochs.size();
    std::string out = std::to_string(n) + (n == 1 ? " epoch" : " epochs");
    if (n > 0) {
        out += " (" + std::to_string(valid) + " valid, " + std::to_string(n - valid) + " invalid";
        if (measured_invalid) out += ", of which " + std::to_string(measured_invalid) + " only by broken thresholds";
        out += ")";
    }
    if (!report.campaigns.empty())
        out += ", " + std::to_string(report.campaigns.size()) +
               (report.campaigns.size() == 1 ? " campaign" : " campaigns");
    out += ".";
    if (n < 2) return out;
    std::string workload, context;
    for (const auto& s : manifest_spread(report.epochs)) {
        std::string values;
        for (const auto& v : s.values) values += (values.empty() ? "" : ", ") + v;
        auto& target = s.workload ? workload : context;
        target += (target.empty() ? "" : "; ") + manifest_title(s.key) + " (" + values + ")";
    }
    if (workload.empty())
        out += " Every epoch ran the same workload: their figures are comparable.";
    else
        out += " The workload differs between epochs in: " + workload +
               ". Compare figures only between epochs with the same values.";
    if (!context.empty()) out += " They also differ in: " + context + ".";
    return out;
}

std::string campaign_summary(const campaign::Campaign& c) {
    std::string out;
    if (c.kind == bcp::Kind::Sweep) {
        std::string vary;
        for (const auto& v : c.vary) {
            std::string values;
            const auto* knob = bcp::find_knob(v.knob);
            for (double x : v.values) {
                auto text = knob ? bcp::describe_value(*knob, x) : v.knob + "=" + number_text(x);
                values += (values.empty() ? "" : ", ") + text.substr(text.find('=') + 1);
            }
            vary += (vary.empty() ? "" : " x ") + v.knob + " = " + values;
        }
        out = "Varies " + vary + "; " + std::to_string(c.repeat) + (c.repeat == 1 ? " repeat" : " repeats") +
              " per point, up to " + std::to_string(c.retries) + " retries of an invalid epoch.";
    } else if (c.kind == bcp::Kind::Saturate) {
        const auto& s = c.saturate;
        const auto num = [&](const char* key) {
            return s.contains(key) && s[key].is_number() ? number_text(s[key].get<double>()) : std::string("?");
        };
        std::string slos;
        if (s.contains("slos") && s["slos"].is_array())
            for (const auto& slo : s["slos"])
                if (slo.is_string()) slos += (slos.empty() ? "" : ", ") + slo.get<std::string>();
        out = "Searches " + (s.contains("knob") && s["knob"].is_string() ? s["knob"].get<std::string>() : "?") +
              " from " + num("start") + " to at most " + num("max") + " (precision " + num("precision") +
              ") for the most load meeting the SLOs " + (slos.empty() ? "(none)" : slos) + ".";
    } else {
        out = std::to_string(c.points.size()) + " runs of one request.";
    }
    out += " Every epoch's request: " + c.base.dump() + ".";
    std::size_t valid = 0, invalid = 0, pending = 0;
    for (const auto& p : c.points) {
        valid += p.status == bcp::PointStatus::Valid ? 1 : 0;
        invalid += p.status == bcp::PointStatus::Invalid ? 1 : 0;
        pending += p.status == bcp::PointStatus::Pending ? 1 : 0;
    }
    out += " " + std::to_string(c.points.size()) + (c.points.size() == 1 ? " point" : " points") + ": " +
           std::to_string(valid) + " valid, " + std::to_string(invalid) + " invalid, " + std::to_string(pending) +
           " pending.";
    if (!c.message.empty()) out += " Campaign " + std::string(bcp::status_name(c.status)) + ": " + c.message + ".";
    return out;
}

std::string point_name(const campaign::Campaign& c, const Json& point) {
    if (c.kind == bcp::Kind::Runs) return "run " + std::to_string(point.value("index", std::size_t{0}) + 1);
    return point.value("description", std::string());
}

std::string reasons_text(const Json& point) {
    std::string why;
    if (point.contains("reasons") && point["reasons"].is_array())
        for (const auto& r : point["reasons"])
            if (r.is_object())
                why += (why.empty() ? "" : "; ") + r.value("code", std::string("?")) + ": " +
                       r.value("message", std::string());
    return why;
}

std::string point_reasons(const Json& point) {
    const auto why = reasons_text(point);
    return why.empty() ? "no reasons recorded" : why;
}

std::string campaign_outcome(const campaign::Campaign& c) {
    const auto& r = c.result;
    const auto text = [&](const char* key) {
        return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : std::string();
    };
    if (c.kind == bcp::Kind::Saturate) {
        std::string out;
        const auto knob =
            c.saturate.contains("knob") && c.saturate["knob"].is_string() ? c.saturate["knob"].get<std::string>() : "";
        if (r.contains("knee") && r["knee"].is_object() && r["knee"].contains("load")) {
            const auto& k = r["knee"];
            out = "Knee: " + knob + "=" + k["load"].dump();
            if (k.contains("tps") && k["tps"].is_number()) out += ", " + grouped(k["tps"].get<double>()) + " TPS";
            if (k.contains("latency") && k["latency"].is_object()) out += ", " + campaign::latency_text(k["latency"]);
            out += ".";
        } else {
            out = "No knee found.";
        }
        if (!text("stopReason").empty()) out += " Stopped: " + text("stopReason") + "; limit: " + text("limit") + ".";
        if (!text("stopMessage").empty()) out += " " + text("stopMessage");
        return out;
    }
    if (c.kind == bcp::Kind::Runs && r.contains("tps") && r["tps"].is_object()) {
        const auto& t = r["tps"];
        const auto num = [&](const char* key) {
            return t.contains(key) && t[key].is_number() ? number_text(t[key].get<double>()) : std::string("?");
        };
        return "TPS over " + num("n") + " valid runs: mean " + num("mean") + ", median " + num("median") + ", stddev " +
               num("stddev") + ", min " + num("min") + ", max " + num("max") + "; " +
               (r.contains("invalidRuns") ? r["invalidRuns"].dump() : std::string("?")) + " invalid.";
    }
    return {};
}

}  // namespace benchdist::report::detail
