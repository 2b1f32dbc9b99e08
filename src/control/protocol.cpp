#include "benchdist/control/protocol.hpp"

#include "benchdist/control/generator_report.hpp"
#include "benchdist/control/identifiers.hpp"

#include <array>
#include <cctype>
#include <ctime>
#include <initializer_list>

#include "benchdist/control/verdict.hpp"
#include "benchdist/stats/interval_series.hpp"
#include "benchdist/stats/threshold.hpp"

namespace benchdist::control {

namespace {

constexpr std::array<std::string_view, 5> kPhaseNames{"idle", "starting", "warmup", "measure", "stop"};
constexpr std::array<std::string_view, 5> kStateNames{"registered", "ready", "starting", "running", "lost"};

const Json& require(const Json& j, const char* key) {
    if (!j.is_object()) throw ProtocolError("expected a JSON object");
    auto it = j.find(key);
    if (it == j.end()) throw ProtocolError(std::string("missing required key \"") + key + "\"");
    return *it;
}

std::string get_string(const Json& j, const char* key) {
    const auto& v = require(j, key);
    if (!v.is_string()) throw ProtocolError(std::string("\"") + key + "\" must be a string");
    return v.get<std::string>();
}

// A name from a request: a string that follows its rule (identifiers.hpp),
// refused naming the key and the rule otherwise.
std::string get_name(const Json& j, const char* key, NameKind kind) {
    auto s = get_string(j, key);
    if (auto problem = name_problem(kind, s); !problem.empty())
        throw ProtocolError(std::string("\"") + key + "\" " + problem);
    return s;
}

std::uint64_t get_count(const Json& j, const char* key) {
    const auto& v = require(j, key);
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    // JavaScript clients send whole numbers as floats sometimes (1e3).
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (d >= 0 && d <= 9007199254740992.0 && d == static_cast<double>(static_cast<std::uint64_t>(d)))
            return static_cast<std::uint64_t>(d);
    }
    throw ProtocolError(std::string("\"") + key + "\" must be a non-negative integer");
}

double get_number(const Json& j, const char* key) {
    const auto& v = require(j, key);
    if (!v.is_number()) throw ProtocolError(std::string("\"") + key + "\" must be a number");
    return v.get<double>();
}

std::optional<std::string> get_optional_string(const Json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw ProtocolError(std::string("\"") + key + "\" must be a string or null");
    return it->get<std::string>();
}

std::optional<std::uint64_t> get_optional_count(const Json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return get_count(j, key);
}

std::vector<std::string> get_string_list(const Json& j, const char* key) {
    const auto& v = require(j, key);
    if (!v.is_array()) throw ProtocolError(std::string("\"") + key + "\" must be an array of strings");
    std::vector<std::string> out;
    for (const auto& e : v) {
        if (!e.is_string()) throw ProtocolError(std::string("\"") + key + "\" must be an array of strings");
        out.push_back(e.get<std::string>());
    }
    return out;
}

// A connection count a generator announces: at most what one generator may
// hold, so a typo or a forged 2^64-1 cannot reach the epoch's totals.
std::uint64_t get_connections(const Json& j, const char* key) {
    const auto n = get_count(j, key);
    if (n > kMaxConnectionsPerGenerator) {
        throw ProtocolError(std::string("\"") + key + "\" is " + std::to_string(n) + "; a generator holds at most " +
                            std::to_string(kMaxConnectionsPerGenerator) + " connections");
    }
    return n;
}

// "generatorIds": an array of valid generator ids.
std::vector<std::string> get_generator_ids(const Json& j, const char* key) {
    auto ids = get_string_list(j, key);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (auto problem = name_problem(NameKind::GeneratorId, ids[i]); !problem.empty())
            throw ProtocolError(std::string("\"") + key + "\"[" + std::to_string(i) + "] " + problem);
    }
    return ids;
}

// JavaScript prints 30.0 as 30; scripts comparing text expect that.
Json js_number(double d) {
    if (d == static_cast<double>(static_cast<std::int64_t>(d)) && d >= -9007199254740992.0 && d <= 9007199254740992.0)
        return Json(static_cast<std::int64_t>(d));
    return Json(d);
}

// Additions go after the original keys and never replace one of them.
void append_extra(Json& j, const Json& extra) {
    for (const auto& [k, v] : extra.items()) {
        if (!j.contains(k)) j[k] = v;
    }
}

// Every key of `j` not in `known`, in the order received.
Json extra_keys(const Json& j, std::initializer_list<std::string_view> known) {
    Json extra = Json::object();
    for (const auto& [k, v] : j.items()) {
        bool is_known = false;
        for (auto name : known) is_known = is_known || name == k;
        if (!is_known) extra[k] = v;
    }
    return extra;
}

// The manifest is only copied around, but a wrong type here would surface
// much later as a puzzling result; refuse it at the door instead.
void check_manifest(const Json& extra) {
    const auto it = extra.find("manifest");
    if (it == extra.end() || it->is_null()) return;
    (void)register_manifest_from_json(*it);
}

}  // namespace

std::string_view phase_name(Phase p) { return kPhaseNames[static_cast<std::size_t>(p)]; }
std::optional<Phase> phase_from_name(std::string_view name) {
    for (std::size_t i = 0; i < kPhaseNames.size(); ++i)
        if (kPhaseNames[i] == name) return static_cast<Phase>(i);
    return std::nullopt;
}
std::string_view generator_state_name(GeneratorState s) { return kStateNames[static_cast<std::size_t>(s)]; }
std::optional<GeneratorState> generator_state_from_name(std::string_view name) {
    for (std::size_t i = 0; i < kStateNames.size(); ++i)
        if (kStateNames[i] == name) return static_cast<GeneratorState>(i);
    return std::nullopt;
}

Json to_json(const GeneratorSnapshot& g) {
    Json j;
    j["id"] = g.id;
    j["hostname"] = g.hostname;
    j["desiredConnections"] = g.desired_connections;
    j["openedConnections"] = g.opened_connections;
    j["localState"] = generator_state_name(g.local_state);
    j["activeEpoch"] = optional_json(g.active_epoch);
    j["included"] = g.included;
    j["lastSeenAt"] = g.last_seen_at;
    return j;
}

Json to_json(const EpochResult& r) {
    Json j;
    j["epoch"] = r.epoch;
    j["label"] = optional_json(r.label);
    j["test"] = r.test;
    j["connector"] = r.connector;
    j["windowSeconds"] = js_number(r.window_seconds);
    j["actualWindowSeconds"] = js_number(r.actual_window_seconds);
    j["participantIds"] = r.participant_ids;
    j["participantConnections"] = r.participant_connections;
    j["measuredAt"] = r.measured_at;
    j["finishedAt"] = r.finished_at;
    j["committedBefore"] = r.committed_before;
    j["committedAfter"] = r.committed_after;
    j["committedDelta"] = r.committed_delta;
    j["tps"] = js_number(r.tps);
    j["verification"] = r.verification;
    if (r.verification_error) j["verificationError"] = *r.verification_error;
    if (r.error) j["error"] = *r.error;
    append_extra(j, r.extra);
    return j;
}

namespace {

Json self_view_to_json(const CoordinatorState& s, const SelfView& v) {
    Json j;
    j["view"] = "self";
    j["phase"] = phase_name(s.phase);
    j["currentEpoch"] = optional_json(s.current_epoch);
    j["currentLabel"] = optional_json(s.current_label);
    j["test"] = s.test;
    j["connector"] = s.connector;
    j["participant"] = v.participant;
    j["included"] = v.included;
    j["localState"] = generator_state_name(v.local_state);
    j["participantCount"] = v.participant_count;
    j["version"] = s.version;
    if (s.server_time_ms) j["serverTimeMs"] = *s.server_time_ms;
    if (s.lease_seconds) j["leaseSeconds"] = js_number(*s.lease_seconds);
    if (v.load) j["load"] = to_json(*v.load);
    return j;
}

}  // namespace

Json to_json(const CoordinatorState& s) {
    if (s.self) return self_view_to_json(s, *s.self);
    Json j;
    j["phase"] = phase_name(s.phase);
    j["currentEpoch"] = optional_json(s.current_epoch);
    j["currentLabel"] = optional_json(s.current_label);
    j["participants"] = s.participants;
    j["test"] = s.test;
    j["connector"] = s.connector;
    j["generators"] = Json::array();
    for (const auto& g : s.generators) j["generators"].push_back(to_json(g));
    j["lastResult"] = s.last_result ? to_json(*s.last_result) : Json(nullptr);
    j["version"] = s.version;
    if (s.server_time_ms) j["serverTimeMs"] = *s.server_time_ms;
    if (s.lease_seconds) j["leaseSeconds"] = js_number(*s.lease_seconds);
    if (!s.current_epoch_errors.empty()) j["currentEpochErrors"] = s.current_epoch_errors;
    if (!s.current_load.empty()) {
        Json load = Json::object();
        for (const auto& [id, a] : s.current_load) load[id] = to_json(a);
        j["currentLoad"] = std::move(load);
    }
    return j;
}

Json to_json(const StartEpochResponse& r) {
    Json j;
    j["started"] = r.started;
    j["message"] = r.message;
    j["state"] = to_json(r.state);
    append_extra(j, r.extra);
    return j;
}

Json to_json(const RegisterRequest& r) {
    Json j{{"id", r.id}, {"hostname", r.hostname}, {"desiredConnections", r.desired_connections}};
    append_extra(j, r.extra);
    return j;
}
Json to_json(const ReadyRequest& r) {
    Json j{{"id", r.id}, {"openedConnections", r.opened_connections}};
    append_extra(j, r.extra);
    return j;
}
Json to_json(const EpochAckRequest& r) {
    Json j{{"id", r.id}, {"epoch", r.epoch}};
    append_extra(j, r.extra);
    return j;
}
Json to_json(const StartEpochRequest& r) {
    Json j = Json::object();
    if (r.label) j["label"] = *r.label;
    if (r.generator_ids) j["generatorIds"] = *r.generator_ids;
    if (!r.thresholds.empty()) j["thresholds"] = r.thresholds;
    if (!r.tolerate.empty()) j["tolerate"] = r.tolerate;
    if (r.load) j["load"] = to_json(*r.load);
    add_timing_keys(j, r.timing);
    return j;
}

GeneratorSnapshot generator_snapshot_from_json(const Json& j) {
    GeneratorSnapshot g;
    g.id = get_string(j, "id");
    g.hostname = get_string(j, "hostname");
    g.desired_connections = get_count(j, "desiredConnections");
    g.opened_connections = get_count(j, "openedConnections");
    const auto state = get_string(j, "localState");
    const auto parsed = generator_state_from_name(state);
    if (!parsed) throw ProtocolError("\"localState\" has unknown value \"" + state + "\"");
    g.local_state = *parsed;
    g.active_epoch = get_optional_count(j, "activeEpoch");
    if (auto it = j.find("included"); it != j.end() && it->is_boolean()) g.included = it->get<bool>();
    if (auto s = get_optional_string(j, "lastSeenAt")) g.last_seen_at = *s;
    return g;
}

EpochResult epoch_result_from_json(const Json& j) {
    EpochResult r;
    r.epoch = get_count(j, "epoch");
    r.label = get_optional_string(j, "label");
    r.test = get_string(j, "test");
    r.connector = get_string(j, "connector");
    r.window_seconds = get_number(j, "windowSeconds");
    r.actual_window_seconds = get_number(j, "actualWindowSeconds");
    r.participant_ids = get_string_list(j, "participantIds");
    r.participant_connections = get_count(j, "participantConnections");
    r.measured_at = get_string(j, "measuredAt");
    r.finished_at = get_string(j, "finishedAt");
    r.committed_before = get_string(j, "committedBefore");
    r.committed_after = get_string(j, "committedAfter");
    r.committed_delta = get_string(j, "committedDelta");
    r.tps = get_number(j, "tps");
    r.verification = get_string(j, "verification");
    r.verification_error = get_optional_string(j, "verificationError");
    r.error = get_optional_string(j, "error");
    r.extra = extra_keys(j, {"epoch", "label", "test", "connector", "windowSeconds", "actualWindowSeconds",
                             "participantIds", "participantConnections", "measuredAt", "finishedAt", "committedBefore",
                             "committedAfter", "committedDelta", "tps", "verification", "verificationError", "error"});
    return r;
}

namespace {

bool get_bool(const Json& j, const char* key) {
    const auto& v = require(j, key);
    if (!v.is_boolean()) throw ProtocolError(std::string("\"") + key + "\" must be a boolean");
    return v.get<bool>();
}

SelfView self_view_from_json(const Json& j) {
    SelfView v;
    v.participant = get_bool(j, "participant");
    v.included = get_bool(j, "included");
    const auto state = get_string(j, "localState");
    const auto parsed = generator_state_from_name(state);
    if (!parsed) throw ProtocolError("\"localState\" has unknown value \"" + state + "\"");
    v.local_state = *parsed;
    v.participant_count = get_count(j, "participantCount");
    if (auto it = j.find("load"); it != j.end() && !it->is_null()) v.load = load_assignment_from_json(*it);
    return v;
}

}  // namespace

CoordinatorState coordinator_state_from_json(const Json& j) {
    CoordinatorState s;
    const auto phase = get_string(j, "phase");
    const auto parsed = phase_from_name(phase);
    if (!parsed) throw ProtocolError("\"phase\" has unknown value \"" + phase + "\"");
    s.phase = *parsed;
    s.current_epoch = get_optional_count(j, "currentEpoch");
    s.current_label = get_optional_string(j, "currentLabel");
    s.test = get_string(j, "test");
    s.connector = get_string(j, "connector");
    if (auto it = j.find("view"); it != j.end() && !it->is_null()) {
        if (!it->is_string() || it->get<std::string>() != "self")
            throw ProtocolError("\"view\" has unknown value " + it->dump() + " (expected \"self\")");
        s.self = self_view_from_json(j);
    } else {
        s.participants = get_string_list(j, "participants");
        const auto& gens = require(j, "generators");
        if (!gens.is_array()) throw ProtocolError("\"generators\" must be an array");
        for (const auto& g : gens) s.generators.push_back(generator_snapshot_from_json(g));
        if (auto it = j.find("lastResult"); it != j.end() && !it->is_null())
            s.last_result = epoch_result_from_json(*it);
    }
    if (auto v = get_optional_count(j, "version")) s.version = *v;
    if (auto it = j.find("serverTimeMs"); it != j.end() && !it->is_null()) {
        if (!it->is_number_integer()) throw ProtocolError("\"serverTimeMs\" must be an integer");
        s.server_time_ms = it->get<std::int64_t>();
    }
    if (auto it = j.find("leaseSeconds"); it != j.end() && !it->is_null()) {
        if (!it->is_number() || !(it->get<double>() > 0))
            throw ProtocolError("\"leaseSeconds\" must be a positive number");
        s.lease_seconds = it->get<double>();
    }
    if (auto it = j.find("currentEpochErrors"); it != j.end() && !it->is_null())
        s.current_epoch_errors = get_string_list(j, "currentEpochErrors");
    if (auto it = j.find("currentLoad"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) throw ProtocolError("\"currentLoad\" must be an object");
        for (const auto& [id, a] : it->items()) s.current_load[id] = load_assignment_from_json(a);
    }
    return s;
}

StartEpochResponse start_epoch_response_from_json(const Json& j) {
    StartEpochResponse r;
    const auto& started = require(j, "started");
    if (!started.is_boolean()) throw ProtocolError("\"started\" must be a boolean");
    r.started = started.get<bool>();
    r.message = get_string(j, "message");
    r.state = coordinator_state_from_json(require(j, "state"));
    r.extra = extra_keys(j, {"started", "message", "state"});
    return r;
}

RegisterRequest register_request_from_json(const Json& j) {
    RegisterRequest r;
    r.id = get_name(j, "id", NameKind::GeneratorId);
    r.hostname = get_name(j, "hostname", NameKind::Hostname);
    r.desired_connections = get_connections(j, "desiredConnections");
    r.extra = extra_keys(j, {"id", "hostname", "desiredConnections"});
    check_manifest(r.extra);
    return r;
}

ReadyRequest ready_request_from_json(const Json& j) {
    ReadyRequest r;
    r.id = get_name(j, "id", NameKind::GeneratorId);
    r.opened_connections = get_connections(j, "openedConnections");
    r.extra = extra_keys(j, {"id", "openedConnections"});
    if (auto p = get_optional_string(j, "negotiatedProtocol"); p && p->empty())
        throw ProtocolError("\"negotiatedProtocol\" must not be empty");
    get_optional_string(j, "incarnation");  // a string when sent
    return r;
}

EpochAckRequest epoch_ack_request_from_json(const Json& j) {
    EpochAckRequest r;
    r.id = get_name(j, "id", NameKind::GeneratorId);
    r.epoch = get_count(j, "epoch");
    r.extra = extra_keys(j, {"id", "epoch"});
    return r;
}

Json to_json(const ProgressReport& r) {
    Json j{{"id", r.id}, {"epoch", r.epoch}, {"connections", r.connections}};
    j["intervals"] = stats::intervals_to_json(r.intervals);
    return j;
}

ProgressReport progress_report_from_json(const Json& j) {
    ProgressReport r;
    r.id = get_name(j, "id", NameKind::GeneratorId);
    r.epoch = get_count(j, "epoch");
    r.connections = get_count(j, "connections");
    const auto& list = require(j, "intervals");
    if (!list.is_array()) throw ProtocolError("\"intervals\" must be an array of intervals");
    if (list.size() > ProgressReport::kMaxIntervals)
        throw ProtocolError("\"intervals\" holds " + std::to_string(list.size()) +
                            " intervals; a report carries at most " + std::to_string(ProgressReport::kMaxIntervals));
    try {
        r.intervals = stats::intervals_from_json(list);
    } catch (const std::invalid_argument& e) {
        throw ProtocolError(std::string("\"intervals\": ") + e.what());
    }
    return r;
}

StartEpochRequest start_epoch_request_from_json(const Json& j) {
    if (!j.is_object()) throw ProtocolError("expected a JSON object");
    StartEpochRequest r;
    r.label = get_optional_string(j, "label");
    if (r.label) {
        if (auto problem = label_problem(*r.label); !problem.empty()) throw ProtocolError("\"label\" " + problem);
    }
    if (auto it = j.find("generatorIds"); it != j.end() && !it->is_null())
        r.generator_ids = get_generator_ids(j, "generatorIds");
    if (auto it = j.find("thresholds"); it != j.end() && !it->is_null()) {
        r.thresholds = get_string_list(j, "thresholds");
        for (const auto& t : r.thresholds) {
            try {
                stats::parse_threshold(t);
            } catch (const stats::ThresholdSyntaxError& e) {
                throw ProtocolError(std::string("\"thresholds\": ") + e.what());
            }
        }
    }
    if (auto it = j.find("tolerate"); it != j.end() && !it->is_null()) {
        r.tolerate = get_string_list(j, "tolerate");
        for (const auto& code : r.tolerate)
            if (!is_known_reason_code(code))
                throw ProtocolError("\"tolerate\": unknown reason code \"" + code + "\" (docs/results.md lists them)");
    }
    if (auto it = j.find("load"); it != j.end() && !it->is_null()) {
        r.load = epoch_load_request_from_json(*it);
        if (r.load->empty()) r.load.reset();
    }
    r.timing = epoch_timing_from_json(j);
    return r;
}

std::vector<std::string> generator_ids_request_from_json(const Json& j) {
    if (!j.is_object()) throw ProtocolError("expected a JSON object");
    if (!j.contains("generatorIds")) throw ProtocolError("\"generatorIds\" must be an array of strings");
    return get_generator_ids(j, "generatorIds");
}

Json parse_body(std::string_view body) {
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front()))) body.remove_prefix(1);
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.remove_suffix(1);
    if (body.empty()) throw ProtocolError("Request body is empty");
    // Control bodies are a few levels deep. Unknown keys are kept (extra),
    // and copying a value recurses once per level, so a body nested tens of
    // thousands deep would overflow the stack later: refuse it here.
    constexpr int kMaxDepth = 64;
    const Json::parser_callback_t limit_depth = [](int depth, Json::parse_event_t, Json&) {
        if (depth > kMaxDepth) {
            throw ProtocolError("request body is nested more than " + std::to_string(kMaxDepth) +
                                " levels deep; control-plane bodies are flat objects");
        }
        return true;
    };
    try {
        auto j = Json::parse(body, limit_depth);
        if (!j.is_object()) throw ProtocolError("request body must be a JSON object");
        return j;
    } catch (const Json::parse_error& e) {
        throw ProtocolError(std::string("request body is not valid JSON: ") + e.what());
    } catch (const Json::exception& e) {
        // e.g. a number too large for a double (1e400).
        throw ProtocolError(std::string("request body has a value JSON cannot hold: ") + e.what());
    }
}

// Strings from requests may hold bytes that are not UTF-8 (a quoted bad
// value in an error message); they are written replaced, never thrown on.
std::string pretty(const Json& j) { return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"; }

std::string compact(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n"; }

std::string iso8601_millis(std::int64_t unix_millis) {
    const std::time_t secs = static_cast<std::time_t>(unix_millis / 1000);
    const int millis = static_cast<int>(unix_millis % 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
}

}  // namespace benchdist::control
