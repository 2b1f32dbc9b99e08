#include "benchdist/control/generator_report.hpp"

#include <cmath>
#include <exception>
#include <utility>

#include "benchdist/stats/interval_series.hpp"

namespace benchdist::control {

namespace {

Json optional_bool(const std::optional<bool>& v) { return v ? Json(*v) : Json(nullptr); }
Json optional_number(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

// Unix ms are whole numbers when a generator writes them; they were written
// as integers before they were typed, and stay so.
Json millis(double ms) {
    if (ms == std::floor(ms) && std::fabs(ms) < 9.0e15) return Json(static_cast<std::int64_t>(ms));
    return Json(ms);
}

std::optional<double> number_at(const Json& object, const char* key) {
    if (!object.is_object()) return std::nullopt;
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
}

// Non-negative integer (JSON numbers arriving as 32.0 are accepted).
std::optional<std::uint64_t> count_value(const Json& v) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer()) {
        const auto i = v.get<std::int64_t>();
        if (i >= 0) return static_cast<std::uint64_t>(i);
        return std::nullopt;
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && d >= 0 && d == std::floor(d) && d < 9.0e15) return static_cast<std::uint64_t>(d);
    }
    return std::nullopt;
}

std::optional<std::string> optional_string(const Json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw ProtocolError(std::string("\"manifest.") + key + "\" must be a string");
    return it->get<std::string>();
}

Json optional_object(const Json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    if (!it->is_object()) throw ProtocolError(std::string("\"manifest.") + key + "\" must be an object");
    return *it;
}

}  // namespace

Json to_json(const WorkloadReport& w) {
    Json j = Json::object();
    j["alpha"] = w.alpha;
    j["accounts"] = w.accounts;
    j["pairMode"] = w.pair_mode;
    j["amount"] = w.amount;
    j["maxInflight"] = w.max_inflight;
    j["rateMode"] = w.rate_mode;
    j["compression"] = w.compression;
    j["confirmedReads"] = optional_bool(w.confirmed_reads);
    j["protocol"] = w.protocol;
    return j;
}

Json to_json(const RegisterManifest& m) {
    Json j = Json::object();
    if (m.tool_version) j["toolVersion"] = *m.tool_version;
    if (m.hostname) j["hostname"] = *m.hostname;
    if (m.pid) j["pid"] = *m.pid;
    if (m.started_at) j["startedAt"] = *m.started_at;
    if (!m.workload.is_null()) j["workload"] = m.workload;
    if (!m.options.is_null()) j["options"] = m.options;
    if (m.holds_lease) j["holdsLease"] = true;
    if (m.incarnation) j["incarnation"] = *m.incarnation;
    if (m.applies_epoch_load) j["appliesEpochLoad"] = true;
    return j;
}

RegisterManifest register_manifest_from_json(const Json& j) {
    if (!j.is_object()) throw ProtocolError("\"manifest\" must be an object");
    RegisterManifest m;
    // Checked in the order the checks were always made, so the first
    // complaint about a body with several faults stays the same.
    m.options = optional_object(j, "options");
    m.workload = optional_object(j, "workload");
    m.tool_version = optional_string(j, "toolVersion");
    m.hostname = optional_string(j, "hostname");
    m.started_at = optional_string(j, "startedAt");
    if (const auto it = j.find("pid"); it != j.end() && it->is_number_integer()) m.pid = it->get<std::int64_t>();
    if (const auto it = j.find("holdsLease"); it != j.end() && !it->is_null()) {
        if (!it->is_boolean()) throw ProtocolError("\"manifest.holdsLease\" must be true or false");
        m.holds_lease = it->get<bool>();
    }
    m.incarnation = optional_string(j, "incarnation");
    if (const auto it = j.find("appliesEpochLoad"); it != j.end() && !it->is_null()) {
        if (!it->is_boolean()) throw ProtocolError("\"manifest.appliesEpochLoad\" must be true or false");
        m.applies_epoch_load = it->get<bool>();
    }
    return m;
}

Json to_json(const ReportSettings& s) {
    Json j = Json::object();
    j["connections"] = s.connections ? Json(*s.connections) : Json(nullptr);
    j["compression"] = s.compression;
    j["confirmedReads"] = s.confirmed_reads ? Json(*s.confirmed_reads) : Json("server default (true on v2/v3)");
    j["protocol"] = s.protocol ? *s.protocol : std::string("v3 or v2, server's choice");
    j["accounts"] = s.accounts;
    j["alpha"] = s.alpha;
    j["pairMode"] = s.pair_mode;
    j["opTimeoutMs"] = s.op_timeout_ms;
    j["maxInflight"] = s.max_inflight;
    j["rate"] = optional_number(s.rate);
    return j;
}

ReportSettings report_settings_from_json(const Json& j) {
    ReportSettings s;
    if (!j.is_object()) return s;
    if (const auto c = j.find("connections"); c != j.end()) s.connections = count_value(*c);
    return s;
}

Json to_json(const ReportLoad& l) {
    Json j = Json::object();
    j["mode"] = l.open ? "open" : "closed";
    j["maxInflight"] = l.max_inflight;
    if (l.connections) j["connections"] = *l.connections;
    j["ratePerSecond"] = optional_number(l.rate_per_second);
    if (l.started_at_ms) j["startedAtMs"] = millis(*l.started_at_ms);
    if (l.stopped_at_ms) j["stoppedAtMs"] = millis(*l.stopped_at_ms);
    return j;
}

std::optional<ReportLoad> report_load_from_json(const Json& j, std::string& problem) {
    if (!j.is_object()) {
        problem = "it is not an object";
        return std::nullopt;
    }
    ReportLoad l;
    const auto mode = j.find("mode");
    if (mode == j.end() || !mode->is_string() || (*mode != "closed" && *mode != "open")) {
        problem = "\"mode\" must be \"closed\" or \"open\"";
        return std::nullopt;
    }
    l.open = *mode == "open";
    if (const auto it = j.find("maxInflight"); it != j.end() && !it->is_null()) {
        const auto k = count_value(*it);
        if (!k || *k == 0) {
            problem = "\"maxInflight\" must be a positive integer";
            return std::nullopt;
        }
        l.max_inflight = *k;
    }
    if (const auto it = j.find("connections"); it != j.end() && !it->is_null()) {
        l.connections = count_value(*it);
        if (!l.connections) {
            problem = "\"connections\" must be a non-negative integer";
            return std::nullopt;
        }
    }
    if (const auto it = j.find("ratePerSecond"); it != j.end() && !it->is_null()) {
        if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0) {
            problem = "\"ratePerSecond\" must be a positive number or null";
            return std::nullopt;
        }
        l.rate_per_second = it->get<double>();
    }
    for (const auto& [key, into] :
         {std::pair{"startedAtMs", &l.started_at_ms}, std::pair{"stoppedAtMs", &l.stopped_at_ms}}) {
        const auto it = j.find(key);
        if (it == j.end() || it->is_null()) continue;
        if (!it->is_number() || !std::isfinite(it->get<double>())) {
            problem = "\"" + std::string(key) + "\" must be a number (unix ms)";
            return std::nullopt;
        }
        *into = it->get<double>();
    }
    if (l.started_at_ms && l.stopped_at_ms && *l.stopped_at_ms < *l.started_at_ms) {
        problem = "\"stoppedAtMs\" is before \"startedAtMs\"";
        return std::nullopt;
    }
    return l;
}

Json to_json(const ReportClock& c) {
    Json j = Json::object();
    if (c.offset_ms) j["offsetMs"] = *c.offset_ms;
    if (c.rtt_ms) j["rttMs"] = *c.rtt_ms;
    if (c.samples) j["samples"] = *c.samples;
    return j;
}

ReportClock report_clock_from_json(const Json& j) {
    ReportClock c;
    c.offset_ms = number_at(j, "offsetMs");
    c.rtt_ms = number_at(j, "rttMs");
    if (j.is_object()) {
        if (const auto it = j.find("samples"); it != j.end()) c.samples = count_value(*it);
    }
    return c;
}

Json to_json(const ReportResources& r) {
    Json j = Json::object();
    j["cpuUs"] = r.cpu_us;
    j["wallUs"] = r.wall_us;
    j["threads"] = r.threads;
    return j;
}

std::optional<ReportResources> report_resources_from_json(const Json& j) {
    if (!j.is_object()) return std::nullopt;
    ReportResources r;
    for (const auto& [key, into] :
         {std::pair{"cpuUs", &r.cpu_us}, std::pair{"wallUs", &r.wall_us}, std::pair{"threads", &r.threads}}) {
        const auto it = j.find(key);
        if (it == j.end()) return std::nullopt;
        const auto n = count_value(*it);
        if (!n) return std::nullopt;
        *into = *n;
    }
    return r;
}

Json to_json(const StopReport& r, bool with_intervals) {
    Json j = Json::object();
    if (r.counters) j["counters"] = to_json(*r.counters);
    if (r.settings) j["settings"] = to_json(*r.settings);
    if (r.load) j["load"] = to_json(*r.load);
    if (with_intervals && r.intervals) j["intervals"] = stats::intervals_to_json(*r.intervals);
    if (r.clock) j["clock"] = to_json(*r.clock);
    if (r.resources) j["resources"] = to_json(*r.resources);
    return j;
}

StopReport stop_report_from_json(const Json& j) {
    StopReport r;
    if (!j.is_object()) return r;
    if (const auto it = j.find("counters"); it != j.end()) r.counters = report_counters_from_json(*it);
    if (const auto it = j.find("settings"); it != j.end() && it->is_object())
        r.settings = report_settings_from_json(*it);
    if (const auto it = j.find("load"); it != j.end()) {
        std::string problem;
        r.load = report_load_from_json(*it, problem);
        if (!r.load) r.load_problem = std::move(problem);
    }
    if (const auto it = j.find("clock"); it != j.end()) r.clock = report_clock_from_json(*it);
    if (const auto it = j.find("resources"); it != j.end()) r.resources = report_resources_from_json(*it);
    if (const auto it = j.find("intervals"); it != j.end() && !(it->is_array() && it->empty())) {
        try {
            r.intervals = stats::intervals_from_json(*it);
        } catch (const std::exception& e) {
            r.intervals_problem = e.what();
        }
    }
    return r;
}

void set_manifest(RegisterRequest& request, const RegisterManifest& manifest) {
    request.extra["manifest"] = to_json(manifest);
}

std::optional<RegisterManifest> manifest_of(const RegisterRequest& request) {
    const auto it = request.extra.find("manifest");
    if (it == request.extra.end() || !it->is_object()) return std::nullopt;
    // register_request_from_json refused a malformed manifest at the door;
    // one built in process that would fail that check counts as not sent.
    try {
        return register_manifest_from_json(*it);
    } catch (const ProtocolError&) {
        return std::nullopt;
    }
}

void set_negotiated_protocol(ReadyRequest& request, const std::string& protocol) {
    request.extra["negotiatedProtocol"] = protocol;
}

std::optional<std::string> negotiated_protocol_of(const ReadyRequest& request) {
    const auto it = request.extra.find("negotiatedProtocol");
    if (it == request.extra.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

void set_incarnation(ReadyRequest& request, const std::string& incarnation) {
    request.extra["incarnation"] = incarnation;
}

std::optional<std::string> incarnation_of(const ReadyRequest& request) {
    const auto it = request.extra.find("incarnation");
    if (it == request.extra.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

void set_stop_report(EpochAckRequest& request, const StopReport& report, bool with_intervals) {
    Json fields = to_json(report, with_intervals);  // named: items() would outlive a temporary
    for (auto& [key, value] : fields.items()) request.extra[key] = std::move(value);
}

StopReport stop_report_of(const EpochAckRequest& request) { return stop_report_from_json(request.extra); }

}  // namespace benchdist::control
