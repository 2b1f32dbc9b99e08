#include "benchdist/report/curves.hpp"

#include <algorithm>

#include "benchdist/campaign/grid.hpp"
#include "report/sections.hpp"

namespace benchdist::report {

namespace bcp = benchdist::campaign;

namespace {

std::optional<double> number_in(const Json& j, const char* object, const char* key) {
    if (!j.contains(object) || !j[object].is_object()) return std::nullopt;
    const auto& o = j[object];
    if (!o.contains(key) || !o[key].is_number()) return std::nullopt;
    return o[key].get<double>();
}

CurvePoint point_of(const Json& summary, double x) {
    CurvePoint p;
    p.x = x;
    p.description = summary.value("description", std::string());
    p.status = summary.value("status", std::string("pending"));
    if (p.status != "invalid") {
        p.tps = number_in(summary, "tps", "median");
        p.p50_us = number_in(summary, "latency", "p50Us");
        p.p99_us = number_in(summary, "latency", "p99Us");
    }
    p.slo_ok = summary.value("sloOk", true);
    p.why = detail::reasons_text(summary);
    return p;
}

// "alpha=1.5 inflight=4": the point's values except the x knob, in --vary order.
std::string series_name(const bcp::Campaign& c, const Json& values, const std::string& knob) {
    std::string name;
    for (const auto& v : c.vary) {
        if (v.knob == knob || !values.contains(v.knob) || !values[v.knob].is_number()) continue;
        const auto* info = bcp::find_knob(v.knob);
        const auto text = info ? bcp::describe_value(*info, values[v.knob].get<double>()) : v.knob;
        name += (name.empty() ? "" : " ") + text;
    }
    return name;
}

}  // namespace

CampaignCurves campaign_curves(const CampaignReport& report) {
    const auto& c = report.campaign;
    CampaignCurves curves;
    if (c.kind == bcp::Kind::Sweep)
        curves.knob = c.vary.empty() ? std::string() : c.vary.front().knob;
    else if (c.kind == bcp::Kind::Saturate)
        curves.knob = c.saturate.contains("knob") && c.saturate["knob"].is_string()
                          ? c.saturate["knob"].get<std::string>()
                          : std::string("connections");
    else
        curves.knob = "run";
    for (std::size_t i = 0; i < report.points.size() && i < c.points.size(); ++i) {
        if (c.points[i].epochs.empty()) continue;
        const auto& summary = report.points[i];
        const auto& values = c.points[i].values;
        double x = static_cast<double>(c.points[i].index + 1);
        if (curves.knob != "run") {
            if (!values.contains(curves.knob) || !values[curves.knob].is_number()) continue;
            x = values[curves.knob].get<double>();
        }
        const auto name =
            c.kind == bcp::Kind::Sweep ? series_name(c, values, curves.knob) : std::string(bcp::kind_name(c.kind));
        auto it = std::find_if(curves.series.begin(), curves.series.end(),
                               [&](const CurveSeries& s) { return s.name == name; });
        if (it == curves.series.end()) {
            curves.series.push_back({name, {}});
            it = curves.series.end() - 1;
        }
        it->points.push_back(point_of(summary, x));
    }
    for (auto& s : curves.series) {
        if (s.name.empty()) s.name = std::string(bcp::kind_name(c.kind));
        std::stable_sort(s.points.begin(), s.points.end(),
                         [](const CurvePoint& a, const CurvePoint& b) { return a.x < b.x; });
    }
    if (c.kind == bcp::Kind::Saturate && c.result.contains("knee") && c.result["knee"].is_object()) {
        const auto& k = c.result["knee"];
        if (k.contains("load") && k["load"].is_number()) {
            CurvePoint knee;
            knee.x = k["load"].get<double>();
            knee.description = curves.knob + "=" + k["load"].dump();
            knee.status = "valid";
            if (k.contains("tps") && k["tps"].is_number()) knee.tps = k["tps"].get<double>();
            knee.p50_us = number_in(k, "latency", "p50Us");
            knee.p99_us = number_in(k, "latency", "p99Us");
            curves.knee = knee;
        }
    }
    double lo = 0, hi = 0;
    bool first = true;
    for (const auto& s : curves.series)
        for (const auto& p : s.points) {
            lo = first ? p.x : std::min(lo, p.x);
            hi = first ? p.x : std::max(hi, p.x);
            first = false;
        }
    curves.log_x = curves.knob != "run" && !first && lo > 0 && hi / lo >= 8;
    return curves;
}

}  // namespace benchdist::report
