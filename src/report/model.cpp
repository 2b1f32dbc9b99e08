#include "benchdist/report/model.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "benchdist/control/protocol.hpp"
#include "report/format.hpp"

namespace benchdist::report {

namespace bcp = benchdist::campaign;

const std::vector<ManifestKey>& manifest_keys() {
    static const std::vector<ManifestKey> keys{
        {"connections", "connections"},
        {"inflight", "in flight"},
        {"rateMode", "rate mode"},
        {"rate", "rate (calls/s)"},
        {"confirmedReads", "confirmed reads"},
        {"compression", "compression"},
        {"protocol", "protocol asked"},
        {"negotiatedProtocol", "protocol negotiated"},
        {"alpha", "alpha"},
        {"accounts", "accounts"},
        {"pairMode", "pairs"},
        {"warmup", "warmup (s)"},
        {"window", "window (s)"},
        {"generators", "generators", false},
        {"toolVersion", "tool version", false},
        {"server", "server", false},
    };
    return keys;
}

std::string manifest_text(std::string_view key, const Json* value) {
    if (!value) return "unknown";
    if (value->is_null()) {
        if (key == "confirmedReads") return "server default";
        return key == "rate" ? "none" : "-";
    }
    if (value->is_string()) return value->get<std::string>();
    if (value->is_number()) return detail::number_text(value->get<double>());
    if (value->is_boolean()) return value->get<bool>() ? "true" : "false";
    return value->dump();
}

namespace {

// Strict readers of optional keys: absent or null is "not stated"; any
// other type than the expected one is an error naming the file and the key.
class Reader {
public:
    explicit Reader(const std::string& source) : source_(source) {}

    [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
        throw ReportError(source_ + ": \"" + key + "\" must be " + expected);
    }

    const Json* object(const Json& j, const char* key, const std::string& path) const {
        const auto it = j.find(key);
        if (it == j.end() || it->is_null()) return nullptr;
        if (!it->is_object()) fail(path, "an object");
        return &*it;
    }
    const Json* array(const Json& j, const char* key, const std::string& path) const {
        const auto it = j.find(key);
        if (it == j.end() || it->is_null()) return nullptr;
        if (!it->is_array()) fail(path, "an array");
        return &*it;
    }
    std::optional<double> number(const Json& j, const char* key, const std::string& path) const {
        const auto it = j.find(key);
        if (it == j.end() || it->is_null()) return std::nullopt;
        if (!it->is_number()) fail(path, "a number");
        return it->get<double>();
    }
    double required_number(const Json& j, const char* key, const std::string& path) const {
        const auto v = number(j, key, path);
        if (!v) fail(path, "a number");
        return *v;
    }
    std::optional<std::string> string(const Json& j, const char* key, const std::string& path) const {
        const auto it = j.find(key);
        if (it == j.end() || it->is_null()) return std::nullopt;
        if (!it->is_string()) fail(path, "a string");
        return it->get<std::string>();
    }

private:
    const std::string& source_;
};

std::optional<Latency> read_latency(const Json& result, const Reader& r) {
    const auto* lat = r.object(result, "latency", "latency");
    if (!lat) return std::nullopt;
    Latency l;
    l.kind = r.string(*lat, "kind", "latency.kind").value_or("");
    l.count = r.number(*lat, "count", "latency.count");
    l.mean = r.number(*lat, "mean", "latency.mean");
    l.p50 = r.number(*lat, "p50", "latency.p50");
    l.p90 = r.number(*lat, "p90", "latency.p90");
    l.p99 = r.number(*lat, "p99", "latency.p99");
    l.p999 = r.number(*lat, "p999", "latency.p999");
    l.max = r.number(*lat, "max", "latency.max");
    return l;
}

std::optional<Errors> read_errors(const Json& result, const Reader& r) {
    const auto* e = r.object(result, "errors", "errors");
    if (!e) return std::nullopt;
    Errors out;
    out.total = r.number(*e, "total", "errors.total").value_or(0);
    out.timeouts = r.number(*e, "timeouts", "errors.timeouts").value_or(0);
    out.disconnects = r.number(*e, "disconnects", "errors.disconnects").value_or(0);
    out.internal = r.number(*e, "internalErrors", "errors.internalErrors").value_or(0);
    if (const auto* module = r.object(*e, "moduleErrors", "errors.moduleErrors"))
        for (const auto& [message, count] : module->items()) {
            if (!count.is_number()) r.fail("errors.moduleErrors", "an object of counts");
            out.module += count.get<double>();
        }
    return out;
}

std::vector<ServerPoint> read_timeline(const Json& result, const Reader& r) {
    std::vector<ServerPoint> out;
    const auto* list = r.array(result, "timeline", "timeline");
    if (!list) return out;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto& p = (*list)[i];
        const auto at = "timeline[" + std::to_string(i) + "]";
        if (!p.is_object()) r.fail(at, "an object {\"t\", \"committed\", \"tps\"}");
        out.push_back({r.required_number(p, "t", at + ".t"), r.number(p, "committed", at + ".committed").value_or(0),
                       r.number(p, "tps", at + ".tps")});
    }
    return out;
}

std::optional<std::vector<ClientPoint>> read_client_timeline(const Json& result, const Reader& r) {
    const auto* list = r.array(result, "clientTimeline", "clientTimeline");
    if (!list) return std::nullopt;
    std::vector<ClientPoint> out;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto& p = (*list)[i];
        const auto at = "clientTimeline[" + std::to_string(i) + "]";
        if (!p.is_object()) r.fail(at, "an object {\"t\", \"committed\", \"tps\", \"errors\", \"p50\", ...}");
        ClientPoint c;
        c.t_ms = r.required_number(p, "t", at + ".t");
        c.committed = r.number(p, "committed", at + ".committed").value_or(0);
        c.tps = r.number(p, "tps", at + ".tps");
        c.errors = r.number(p, "errors", at + ".errors").value_or(0);
        c.p50_us = r.number(p, "p50", at + ".p50");
        c.p99_us = r.number(p, "p99", at + ".p99");
        c.max_us = r.number(p, "max", at + ".max");
        out.push_back(c);
    }
    return out;
}

// What the epoch ran, from the coordinator's manifest (workload, negotiated
// protocols, tool version, server), the generators' reports (the open
// loop's rate as they ran it) and the result's own keys (connections,
// window, warmup).
Json read_manifest(const Json& result, const control::EpochResult& base, const Reader& r) {
    Json m = Json::object();
    m["connections"] = base.participant_connections;
    const auto* manifest = r.object(result, "manifest", "manifest");
    const Json* workload = manifest ? r.object(*manifest, "workload", "manifest.workload") : nullptr;
    for (const auto& [from, to] : {std::pair{"maxInflight", "inflight"},
                                   {"rateMode", "rateMode"},
                                   {"confirmedReads", "confirmedReads"},
                                   {"compression", "compression"},
                                   {"protocol", "protocol"},
                                   {"alpha", "alpha"},
                                   {"accounts", "accounts"},
                                   {"pairMode", "pairMode"}})
        if (workload && workload->contains(from)) m[to] = (*workload)[from];
    // The rate the generators ran: the sum of their open-loop rates; none
    // in closed loop.
    std::optional<double> rate;
    bool reported = false;
    if (const auto* reports = r.object(result, "generatorReports", "generatorReports")) {
        for (const auto& [id, report] : reports->items()) {
            if (!report.is_object()) r.fail("generatorReports." + id, "an object");
            const auto* load = r.object(report, "load", "generatorReports." + id + ".load");
            if (!load) continue;
            reported = true;
            if (const auto v = r.number(*load, "ratePerSecond", "generatorReports." + id + ".load.ratePerSecond"))
                rate = rate.value_or(0) + *v;
        }
    }
    if (rate)
        m["rate"] = *rate;
    else if (reported || (m.contains("rateMode") && m["rateMode"] == "closed"))
        m["rate"] = nullptr;
    if (manifest) {
        if (const auto* gens = r.object(*manifest, "generators", "manifest.generators")) {
            std::vector<std::string> protocols;
            for (const auto& [id, g] : gens->items()) {
                if (!g.is_object()) continue;  // an older generator's null entry
                const auto p = r.string(g, "negotiatedProtocol", "manifest.generators." + id + ".negotiatedProtocol");
                if (p && std::find(protocols.begin(), protocols.end(), *p) == protocols.end()) protocols.push_back(*p);
            }
            std::string joined;
            for (const auto& p : protocols) joined += (joined.empty() ? "" : ", ") + p;
            if (!joined.empty()) m["negotiatedProtocol"] = joined;
        }
    }
    // Auto warmup runs as long as the rate takes to settle, so its seconds
    // differ from run to run without the workload differing: "auto".
    const auto* warmup = r.object(result, "warmup", "warmup");
    const auto* epoch_load = r.object(result, "epochLoad", "epochLoad");
    const Json* coordinator = manifest ? r.object(*manifest, "coordinator", "manifest.coordinator") : nullptr;
    const bool auto_warmup = (warmup && warmup->value("mode", "") == "auto") ||
                             (epoch_load && epoch_load->value("warmupAuto", false)) ||
                             (coordinator && coordinator->value("warmupAuto", false) &&
                              !(epoch_load && epoch_load->contains("warmupSeconds")));
    if (auto_warmup)
        m["warmup"] = "auto";
    else
        m["warmup"] = r.number(result, "warmupSeconds", "warmupSeconds").value_or(0);
    m["window"] = base.window_seconds;
    m["generators"] = base.participant_ids.size();
    if (manifest) {
        if (const auto v = r.string(*manifest, "toolVersion", "manifest.toolVersion")) m["toolVersion"] = *v;
        if (const auto* server = r.object(*manifest, "server", "manifest.server")) {
            const auto url = r.string(*server, "url", "manifest.server.url").value_or("");
            const auto db = r.string(*server, "database", "manifest.server.database").value_or("");
            m["server"] = db.empty() ? url : url + " " + db;
        }
    }
    // In manifest_keys() order.
    Json ordered = Json::object();
    for (const auto& k : manifest_keys())
        if (m.contains(k.key)) ordered[std::string(k.key)] = m[std::string(k.key)];
    return ordered;
}

EpochReport read_result(const Json& result, const control::EpochResult& base, const std::string& source) {
    const Reader r(source);
    EpochReport e;
    e.source = source;
    e.epoch = base.epoch;
    e.label = base.label;
    e.measured_at = base.measured_at;
    e.finished_at = base.finished_at;
    e.window_seconds = base.window_seconds;
    e.actual_window_seconds = base.actual_window_seconds;
    e.tps = base.tps;
    e.committed_delta = base.committed_delta;
    e.verification = base.verification;
    e.error = base.error;
    r.string(result, "verdict", "verdict");
    r.array(result, "reasons", "reasons");
    try {
        e.record = bcp::read_epoch(result);
    } catch (const control::ProtocolError& ex) {
        throw ReportError(source + ": its \"reasons\" cannot be read: " + ex.what());
    }
    e.latency = read_latency(result, r);
    e.errors = read_errors(result, r);
    e.client_server_ratio = r.number(result, "clientServerRatio", "clientServerRatio");
    e.timeline = read_timeline(result, r);
    e.client_timeline = read_client_timeline(result, r);
    e.manifest = read_manifest(result, base, r);
    return e;
}

}  // namespace

EpochReport epoch_report_from_json(const Json& result, const std::string& source) {
    if (!result.is_object())
        throw ReportError(source + ": not an epoch result (expected a JSON object with \"epoch\", \"tps\", ...)");
    control::EpochResult base;
    try {
        base = control::epoch_result_from_json(result);
    } catch (const std::exception& e) {
        throw ReportError(source + ": not a readable epoch result: " + e.what());
    }
    try {
        return read_result(result, base, source);
    } catch (const nlohmann::json::exception& e) {
        // A value() whose key holds another type than its default.
        throw ReportError(source + ": a key has an unexpected type: " + e.what());
    }
}

CampaignReport campaign_report_from_json(const Json& j, const std::string& source) {
    CampaignReport c;
    c.source = source;
    try {
        c.campaign = bcp::campaign_from_json(j);
        for (const auto& p : c.campaign.points)
            c.points.push_back(bcp::point_json(p, c.campaign.repeat, c.campaign.retries));
    } catch (const std::exception& e) {
        throw ReportError(source + ": " + e.what());
    }
    return c;
}

void link_campaigns(Report& report) {
    std::stable_sort(report.epochs.begin(), report.epochs.end(), [](const EpochReport& a, const EpochReport& b) {
        return std::tie(a.epoch, a.finished_at, a.source) < std::tie(b.epoch, b.finished_at, b.source);
    });
    for (auto& c : report.campaigns) {
        c.missing_results.clear();
        for (const auto& p : c.campaign.points) {
            const auto point =
                c.campaign.kind == bcp::Kind::Runs ? "run " + std::to_string(p.index + 1) : p.description;
            for (const auto& rec : p.epochs) {
                auto it = std::find_if(report.epochs.begin(), report.epochs.end(), [&](const EpochReport& e) {
                    return e.epoch == rec.epoch && e.finished_at == rec.result_finished_at;
                });
                if (it == report.epochs.end()) {
                    c.missing_results.push_back(rec.epoch);
                    continue;
                }
                it->campaign_id = c.campaign.id;
                it->point = point;
            }
        }
        if (!c.missing_results.empty()) {
            std::string list;
            for (auto n : c.missing_results) list += (list.empty() ? "" : ", ") + std::to_string(n);
            report.notes.push_back("campaign " + c.campaign.id + ": the result files of epoch" +
                                   (c.missing_results.size() > 1 ? "s " : " ") + list +
                                   " were not found (looked beside the campaign file and among the inputs); its "
                                   "points still show the campaign's own figures");
        }
    }
}

std::vector<ManifestSpread> manifest_spread(const std::vector<EpochReport>& epochs) {
    std::vector<ManifestSpread> out;
    for (const auto& k : manifest_keys()) {
        ManifestSpread s{std::string(k.key), k.workload, {}};
        for (const auto& e : epochs) {
            const auto it = e.manifest.find(k.key);
            const auto text = manifest_text(k.key, it == e.manifest.end() ? nullptr : &*it);
            if (std::find(s.values.begin(), s.values.end(), text) == s.values.end()) s.values.push_back(text);
        }
        if (s.values.size() > 1) out.push_back(std::move(s));
    }
    return out;
}

}  // namespace benchdist::report
