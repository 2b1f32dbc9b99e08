#include "benchdist/coordinator/load_applied.hpp"

#include <cmath>
#include <cstdio>

namespace benchdist::coordinator {

using control::Json;

namespace {

const Json* member(const Json& object, const char* key) {
    if (!object.is_object()) return nullptr;
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::optional<double> number_at(const Json& object, const char* key) {
    const Json* v = member(object, key);
    if (!v || !v->is_number() || !std::isfinite(v->get<double>())) return std::nullopt;
    return v->get<double>();
}

// A non-negative whole number (a JavaScript client may write 64.0).
std::optional<std::uint64_t> count_at(const Json& object, const char* key) {
    const auto d = number_at(object, key);
    if (!d || *d < 0 || *d != std::floor(*d) || *d > 9.0e15) return std::nullopt;
    return static_cast<std::uint64_t>(*d);
}

std::string format(double d) {
    char out[40];
    std::snprintf(out, sizeof out, "%.10g", d);
    return out;
}

// Rates and alphas travel as JSON doubles both ways: equal up to the last
// bits of a decimal round trip.
bool same(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b)); }

struct Field {
    const char* name;
    std::optional<double> assigned;
    std::optional<double> ran;
};

}  // namespace

RanLoad ran_load(const Json& report) {
    RanLoad r;
    const Json empty = Json::object();
    const Json* settings_ptr = member(report, "settings");
    const Json* load_ptr = member(report, "load");
    const Json& settings = settings_ptr ? *settings_ptr : empty;
    const Json& load = load_ptr ? *load_ptr : empty;
    r.connections = count_at(load, "connections");
    if (!r.connections) r.connections = count_at(settings, "connections");
    r.inflight = count_at(load, "maxInflight");
    if (!r.inflight) r.inflight = count_at(settings, "maxInflight");
    if (const Json* mode = member(load, "mode"); mode && mode->is_string()) {
        if (*mode == "closed") r.rate = 0.0;
        if (*mode == "open") r.rate = number_at(load, "ratePerSecond");
    } else if (settings.is_object() && settings.contains("rate")) {
        // settings.rate is null in closed loop.
        r.rate = settings["rate"].is_null() ? std::optional<double>(0.0) : number_at(settings, "rate");
    }
    r.alpha = number_at(settings, "alpha");
    r.accounts = count_at(settings, "accounts");
    return r;
}

std::vector<control::VerdictReason> load_not_applied(const std::map<std::string, control::LoadAssignment>& assignments,
                                                     const Json& reports) {
    std::vector<control::VerdictReason> out;
    for (const auto& [id, share] : assignments) {
        if (share.empty()) continue;
        const Json* report = member(reports, id.c_str());
        if (!report || (!member(*report, "settings") && !member(*report, "load"))) {
            out.push_back(control::make_reason(
                control::reason::kLoadNotApplied,
                "generator " + id +
                    " sent no report of the load it ran (\"settings\" and \"load\" in its /stopped), "
                    "so nothing shows it ran its share of the epoch's load " +
                    control::to_json(share).dump() + ": see its log, and whether it acknowledged the stop",
                {{"generator", id}, {"assigned", control::to_json(share)}, {"ran", nullptr}}));
            continue;
        }
        const RanLoad ran = ran_load(*report);
        const auto as_double = [](const auto& v) -> std::optional<double> {
            if (!v) return std::nullopt;
            return static_cast<double>(*v);
        };
        const Field fields[] = {{"connections", as_double(share.connections), as_double(ran.connections)},
                                {"inflight", as_double(share.inflight), as_double(ran.inflight)},
                                {"rate", share.rate, ran.rate},
                                {"alpha", share.alpha, ran.alpha},
                                {"accounts", as_double(share.accounts), as_double(ran.accounts)}};
        for (const auto& f : fields) {
            if (!f.assigned || (f.ran && same(*f.ran, *f.assigned))) continue;
            const std::string assigned = format(*f.assigned);
            std::string message = "generator " + id + " ";
            message += f.ran ? "ran " + std::string(f.name) + " " + format(*f.ran) + " where the epoch assigned it " +
                                   assigned + ": it did not apply its share of the load"
                             : "did not report the " + std::string(f.name) + " it ran (the epoch assigned it " +
                                   assigned + "): nothing shows it applied its share of the load";
            message +=
                ", so the result does not describe the load asked for (is it an older bench-dist-generator? "
                "see its log)";
            out.push_back(control::make_reason(control::reason::kLoadNotApplied, std::move(message),
                                               {{"generator", id},
                                                {"field", f.name},
                                                {"assigned", *f.assigned},
                                                {"ran", f.ran ? Json(*f.ran) : Json(nullptr)}}));
        }
    }
    return out;
}

}  // namespace benchdist::coordinator
