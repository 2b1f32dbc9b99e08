#include "benchdist/report/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "benchdist/campaign/campaign_file.hpp"
#include "benchdist/text/printable.hpp"
#include "report/format.hpp"
#include "report/sections.hpp"

namespace benchdist::report {

namespace bcp = benchdist::campaign;

namespace {

std::string number(std::optional<double> v, int decimals) { return detail::fixed(v, decimals); }

// `a` and `b` as figures: each side only when it is a measurement.
FigureChange figure(std::string name, std::optional<double> a, bool a_measured, std::optional<double> b,
                    bool b_measured, int decimals) {
    FigureChange f;
    f.name = std::move(name);
    f.decimals = decimals;
    if (a_measured) f.a = a;
    if (b_measured) f.b = b;
    f.a_text = a_measured ? number(a, decimals) : "invalid";
    f.b_text = b_measured ? number(b, decimals) : "invalid";
    if (f.a && f.b) {
        f.change = *f.b - *f.a;
        if (*f.a != 0) f.relative = *f.change / std::fabs(*f.a);
    }
    return f;
}

std::optional<double> ms(const EpochReport& e, std::optional<double> Latency::*field) {
    if (!e.latency || !((*e.latency).*field)) return std::nullopt;
    return *((*e.latency).*field) / 1000.0;
}

std::string epoch_name(const EpochReport& e) {
    std::string verdict = e.record.verdict == "valid" ? "valid" : e.record.verdict == "none" ? "no verdict" : "INVALID";
    return e.source + " (epoch " + std::to_string(e.epoch) + (e.label ? ", \"" + *e.label + "\"" : "") + ", " +
           verdict + ")";
}

std::string verdict_text(const campaign::EpochRecord& r) {
    if (r.verdict == "valid") return "valid";
    std::string out = r.verdict == "none" ? "no verdict" : "INVALID";
    if (!r.reasons.empty()) out += " (" + detail::reason_codes(r) + ")";
    return out;
}

void note_unmeasured(Comparison& c, const EpochReport& e, const char* side) {
    if (e.record.measured) return;
    std::string why;
    for (const auto& r : e.record.reasons) why += (why.empty() ? "" : "; ") + r.code + ": " + r.message;
    c.verdicts.push_back(std::string(side) +
                         " is invalid, its figures are not a measurement and are not compared: " + why);
}

// "load.connections" -> value, every leaf of a request object.
void flatten(const Json& j, const std::string& prefix, std::map<std::string, Json>& out) {
    if (j.is_object() && !j.empty()) {
        for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
        return;
    }
    out[prefix] = j;
}

void differences(const Json& a, const Json& b, const std::string& prefix, bool workload, Comparison& c) {
    std::map<std::string, Json> fa, fb;
    flatten(a, prefix, fa);
    flatten(b, prefix, fb);
    for (auto& [k, v] : fb) fa.try_emplace(k, Json());  // a key only B has: absent on A
    for (const auto& [k, va] : fa) {
        const auto it = fb.find(k);
        const Json vb = it == fb.end() ? Json() : it->second;
        if (va == vb) continue;
        const auto show = [](const Json& v) { return v.is_null() ? std::string("(not set)") : v.dump(); };
        c.manifest.push_back({k, show(va), show(vb), workload});
        if (workload) c.not_comparable.push_back(k + ": " + show(va) + " (A) vs " + show(vb) + " (B)");
    }
}

std::optional<double> json_number(const Json& j, const char* object, const char* key) {
    if (!j.contains(object) || !j[object].is_object() || !j[object].contains(key) || !j[object][key].is_number())
        return std::nullopt;
    return j[object][key].get<double>();
}

}  // namespace

Comparison compare_epochs(const EpochReport& a, const EpochReport& b) {
    Comparison c;
    c.kind = "epochs";
    c.a_name = epoch_name(a);
    c.b_name = epoch_name(b);
    for (const auto& k : manifest_keys()) {
        const auto ia = a.manifest.find(k.key), ib = b.manifest.find(k.key);
        const auto ta = manifest_text(k.key, ia == a.manifest.end() ? nullptr : &*ia);
        const auto tb = manifest_text(k.key, ib == b.manifest.end() ? nullptr : &*ib);
        if (ta == tb) continue;
        c.manifest.push_back({std::string(k.key), ta, tb, k.workload});
        if (k.workload) c.not_comparable.push_back(std::string(k.title) + ": " + ta + " (A) vs " + tb + " (B)");
    }
    c.comparable = c.not_comparable.empty();
    const bool ma = a.record.measured, mb = b.record.measured;
    c.figures.push_back(figure("tps", a.tps, ma, b.tps, mb, 2));
    const std::pair<const char*, std::optional<double> Latency::*> latencies[] = {
        {"p50 ms", &Latency::p50},    {"p90 ms", &Latency::p90}, {"p99 ms", &Latency::p99},
        {"p99.9 ms", &Latency::p999}, {"max ms", &Latency::max}, {"mean ms", &Latency::mean}};
    for (const auto& [name, field] : latencies)
        c.figures.push_back(figure(name, ms(a, field), ma, ms(b, field), mb, 3));
    const auto errors = [](const EpochReport& e) { return e.errors ? std::optional(e.errors->total) : std::nullopt; };
    c.figures.push_back(figure("errors", errors(a), true, errors(b), true, 0));
    c.figures.push_back(figure("client/server", a.client_server_ratio, ma, b.client_server_ratio, mb, 4));
    c.verdicts.push_back("verdict: " + verdict_text(a.record) + " (A) -> " + verdict_text(b.record) + " (B)");
    note_unmeasured(c, a, "A");
    note_unmeasured(c, b, "B");
    return c;
}

Comparison compare_campaigns(const CampaignReport& a, const CampaignReport& b) {
    Comparison c;
    c.kind = "campaigns";
    const auto name = [](const CampaignReport& r) {
        return r.source + " (campaign " + r.campaign.id + ", " + std::string(bcp::kind_name(r.campaign.kind)) + ", " +
               std::string(bcp::status_name(r.campaign.status)) + ")";
    };
    c.a_name = name(a);
    c.b_name = name(b);
    const auto& ca = a.campaign;
    const auto& cb = b.campaign;
    if (ca.kind != cb.kind) {
        c.not_comparable.push_back("kind: " + std::string(bcp::kind_name(ca.kind)) + " (A) vs " +
                                   std::string(bcp::kind_name(cb.kind)) + " (B)");
    }
    Json base_a = ca.base, base_b = cb.base;
    base_a.erase("label");
    base_b.erase("label");
    differences(base_a, base_b, "", true, c);
    if (ca.kind == bcp::Kind::Saturate && cb.kind == bcp::Kind::Saturate) {
        for (const char* key : {"knob", "slos"})
            differences(ca.saturate.value(key, Json()), cb.saturate.value(key, Json()), std::string("saturate.") + key,
                        true, c);
        for (const char* key : {"start", "max", "precision"})
            differences(ca.saturate.value(key, Json()), cb.saturate.value(key, Json()), std::string("saturate.") + key,
                        false, c);
    }
    if (ca.repeat != cb.repeat)
        c.manifest.push_back({"repeat", std::to_string(ca.repeat), std::to_string(cb.repeat), false});
    c.comparable = c.not_comparable.empty();

    // Points with the same values, side by side.
    for (std::size_t i = 0; i < a.points.size(); ++i) {
        const auto& pa = a.points[i];
        const auto pname = detail::point_name(ca, pa);
        const Json* pb = nullptr;
        for (const auto& p : b.points)
            if (detail::point_name(cb, p) == pname) pb = &p;
        if (!pb) {
            c.verdicts.push_back("only in A: " + pname);
            continue;
        }
        const bool ma = pa.contains("tps"), mb = pb->contains("tps");
        c.figures.push_back(
            figure(pname + " tps", json_number(pa, "tps", "median"), ma, json_number(*pb, "tps", "median"), mb, 2));
        const auto p99 = [](const Json& p) {
            const auto v = json_number(p, "latency", "p99Us");
            return v ? std::optional(*v / 1000.0) : std::nullopt;
        };
        c.figures.push_back(figure(pname + " p99 ms", p99(pa), ma, p99(*pb), mb, 3));
        const auto sa = pa.value("status", std::string()), sb = pb->value("status", std::string());
        if (sa != sb) c.verdicts.push_back(pname + ": " + sa + " (A) -> " + sb + " (B)");
    }
    for (const auto& pb : b.points) {
        const auto pname = detail::point_name(cb, pb);
        bool found = false;
        for (const auto& pa : a.points) found = found || detail::point_name(ca, pa) == pname;
        if (!found) c.verdicts.push_back("only in B: " + pname);
    }
    if (ca.kind == bcp::Kind::Saturate && cb.kind == bcp::Kind::Saturate) {
        const auto knee = [](const bcp::Campaign& k) -> const Json* {
            return k.result.contains("knee") && k.result["knee"].is_object() ? &k.result["knee"] : nullptr;
        };
        const Json* ka = knee(ca);
        const Json* kb = knee(cb);
        const auto val = [](const Json* k, const char* key) -> std::optional<double> {
            return k && k->contains(key) && (*k)[key].is_number() ? std::optional((*k)[key].get<double>())
                                                                  : std::nullopt;
        };
        const auto knee_p99 = [](const Json* k) -> std::optional<double> {
            if (!k) return std::nullopt;
            const auto v = json_number(*k, "latency", "p99Us");
            return v ? std::optional(*v / 1000.0) : std::nullopt;
        };
        c.figures.push_back(figure("knee load", val(ka, "load"), true, val(kb, "load"), true, 2));
        c.figures.push_back(figure("knee tps", val(ka, "tps"), true, val(kb, "tps"), true, 2));
        c.figures.push_back(figure("knee p99 ms", knee_p99(ka), true, knee_p99(kb), true, 3));
        const auto text = [](const bcp::Campaign& k, const char* key) {
            return k.result.contains(key) && k.result[key].is_string() ? k.result[key].get<std::string>()
                                                                       : std::string("-");
        };
        c.verdicts.push_back("stop reason: " + text(ca, "stopReason") + " (A) -> " + text(cb, "stopReason") + " (B)");
        c.verdicts.push_back("limit: " + text(ca, "limit") + " (A) -> " + text(cb, "limit") + " (B)");
    }
    if (ca.kind == bcp::Kind::Runs && cb.kind == bcp::Kind::Runs) {
        for (const char* key : {"mean", "median", "stddev"})
            c.figures.push_back(figure(std::string("runs tps ") + key, json_number(ca.result, "tps", key), true,
                                       json_number(cb.result, "tps", key), true, 2));
    }
    return c;
}

std::string format_comparison(const Comparison& c) {
    using text::printable;
    std::string out = "A: " + printable(c.a_name) + "\nB: " + printable(c.b_name) + "\n\n";
    if (!c.comparable) {
        out += "NOT COMPARABLE: the " + std::string(c.kind == "epochs" ? "workloads" : "campaigns") +
               " differ, so the figures below measure different things:\n";
        for (const auto& n : c.not_comparable) out += "  " + printable(n) + "\n";
        out += "\n";
    } else {
        out += c.kind == "epochs" ? "comparable: every workload key of the two manifests agrees\n\n"
                                  : "comparable: the same kind of campaign with the same request\n\n";
    }
    std::size_t width = 6;
    for (const auto& f : c.figures) width = std::max(width, printable(f.name).size());
    char line[512];
    std::snprintf(line, sizeof line, "%-*s %16s %16s %16s %10s\n", static_cast<int>(width), "figure", "A", "B",
                  "change", "relative");
    out += line;
    for (const auto& f : c.figures) {
        std::string change = "-", relative = "-";
        if (f.change) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%+.*f", f.decimals, *f.change);
            change = buf;
        }
        if (f.relative) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%+.1f%%", *f.relative * 100);
            relative = buf;
        }
        std::snprintf(line, sizeof line, "%-*s %16s %16s %16s %10s\n", static_cast<int>(width),
                      printable(f.name).c_str(), f.a_text.c_str(), f.b_text.c_str(), change.c_str(), relative.c_str());
        out += line;
    }
    if (!c.verdicts.empty()) {
        out += "\n";
        for (const auto& v : c.verdicts) out += printable(v) + "\n";
    }
    bool context = false;
    for (const auto& m : c.manifest) context = context || !m.workload;
    if (context) {
        out += "\nother differences (context: the same load, measured with another tool, server or fleet):\n";
        for (const auto& m : c.manifest)
            if (!m.workload)
                out += "  " + printable(m.key) + ": " + printable(m.a) + " (A) vs " + printable(m.b) + " (B)\n";
    }
    if (!c.comparable)
        out += "\nNOT COMPARABLE (see above): do not read the changes as an improvement or a regression.\n";
    return out;
}

Json to_json(const Comparison& c) {
    Json figures = Json::array();
    for (const auto& f : c.figures) {
        Json j{{"name", f.name}, {"a", f.a ? Json(*f.a) : Json()}, {"b", f.b ? Json(*f.b) : Json()}};
        j["aText"] = f.a_text;
        j["bText"] = f.b_text;
        j["change"] = f.change ? Json(*f.change) : Json();
        j["relative"] = f.relative ? Json(*f.relative) : Json();
        figures.push_back(j);
    }
    Json manifest = Json::array();
    for (const auto& m : c.manifest)
        manifest.push_back(Json{{"key", m.key}, {"a", m.a}, {"b", m.b}, {"workload", m.workload}});
    return Json{{"kind", c.kind},
                {"a", c.a_name},
                {"b", c.b_name},
                {"comparable", c.comparable},
                {"notComparable", c.not_comparable},
                {"figures", figures},
                {"verdicts", c.verdicts},
                {"manifest", manifest}};
}

}  // namespace benchdist::report
