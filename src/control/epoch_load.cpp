#include "benchdist/control/epoch_load.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "benchdist/control/identifiers.hpp"
#include "benchdist/control/protocol.hpp"

namespace benchdist::control {

namespace {

std::string quoted(const char* key) { return std::string("\"") + key + "\""; }

// A whole number in [low, high]; JavaScript clients may send 64.0.
std::optional<std::uint64_t> optional_whole(const Json& j, const char* key, std::uint64_t low, std::uint64_t high) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    const std::string rule = " must be a whole number from " + std::to_string(low) + " to " + std::to_string(high);
    std::optional<std::uint64_t> n;
    if (it->is_number_unsigned()) {
        n = it->get<std::uint64_t>();
    } else if (it->is_number_integer()) {
        if (it->get<std::int64_t>() >= 0) n = static_cast<std::uint64_t>(it->get<std::int64_t>());
    } else if (it->is_number_float()) {
        const double d = it->get<double>();
        if (d >= 0 && d <= 9007199254740992.0 && d == std::floor(d)) n = static_cast<std::uint64_t>(d);
    }
    if (!n || *n < low || *n > high) throw ProtocolError(quoted(key) + rule + ", not " + it->dump());
    return n;
}

// A finite number in [low, high].
std::optional<double> optional_number(const Json& j, const char* key, double low, double high) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < low || it->get<double>() > high) {
        char rule[96];
        std::snprintf(rule, sizeof rule, " must be a number from %g to %g, not ", low, high);
        throw ProtocolError(quoted(key) + rule + it->dump());
    }
    return it->get<double>();
}

void refuse_both(const Json& j, const char* a, const char* b) {
    const auto has = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
    if (has(a) && has(b))
        throw ProtocolError(quoted(a) + " and " + quoted(b) + " are exclusive: give the total or the per-generator " +
                            "value, not both");
}

Json js_number(double d) {
    if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0) return Json(static_cast<std::int64_t>(d));
    return Json(d);
}

constexpr const char* kLoadKeys[] = {"connections", "connectionsPerGenerator", "inflight",
                                     "rate",        "ratePerGenerator",        "alpha",
                                     "accounts"};

}  // namespace

Json to_json(const EpochLoadRequest& r) {
    Json j = Json::object();
    if (r.connections) j["connections"] = *r.connections;
    if (r.connections_per_generator) j["connectionsPerGenerator"] = *r.connections_per_generator;
    if (r.inflight) j["inflight"] = *r.inflight;
    if (r.rate) j["rate"] = js_number(*r.rate);
    if (r.rate_per_generator) j["ratePerGenerator"] = js_number(*r.rate_per_generator);
    if (r.alpha) j["alpha"] = js_number(*r.alpha);
    if (r.accounts) j["accounts"] = *r.accounts;
    return j;
}

Json to_json(const LoadAssignment& a) {
    Json j = Json::object();
    if (a.connections) j["connections"] = *a.connections;
    if (a.inflight) j["inflight"] = *a.inflight;
    if (a.rate) j["rate"] = js_number(*a.rate);
    if (a.alpha) j["alpha"] = js_number(*a.alpha);
    if (a.accounts) j["accounts"] = *a.accounts;
    return j;
}

void add_timing_keys(Json& request, const EpochTiming& t) {
    if (t.warmup_seconds) request["warmupSeconds"] = js_number(*t.warmup_seconds);
    if (t.warmup_auto) request["warmupAuto"] = true;
    if (t.stable_cv) request["stableCv"] = js_number(*t.stable_cv);
    if (t.stable_seconds) request["stableSeconds"] = js_number(*t.stable_seconds);
    if (t.warmup_max_seconds) request["warmupMaxSeconds"] = js_number(*t.warmup_max_seconds);
    if (t.window_seconds) request["windowSeconds"] = js_number(*t.window_seconds);
}

EpochLoadRequest epoch_load_request_from_json(const Json& j) {
    if (!j.is_object()) throw ProtocolError("\"load\" must be an object");
    for (const auto& [key, value] : j.items()) {
        bool known = false;
        for (const char* k : kLoadKeys) known = known || key == k;
        if (!known)
            throw ProtocolError("\"load\" has unknown key \"" + key +
                                "\" (known: connections, connectionsPerGenerator, inflight, rate, ratePerGenerator, "
                                "alpha, accounts)");
    }
    refuse_both(j, "connections", "connectionsPerGenerator");
    refuse_both(j, "rate", "ratePerGenerator");
    EpochLoadRequest r;
    // A total may be spread over up to a million generators' worth.
    r.connections = optional_whole(j, "connections", 1, kMaxConnectionsPerGenerator * 1000);
    r.connections_per_generator = optional_whole(j, "connectionsPerGenerator", 1, kMaxConnectionsPerGenerator);
    r.inflight = optional_whole(j, "inflight", 1, kMaxInflight);
    r.rate = optional_number(j, "rate", 0, kMaxEpochRate);
    r.rate_per_generator = optional_number(j, "ratePerGenerator", 0, kMaxEpochRate);
    r.alpha = optional_number(j, "alpha", 0, kMaxAlpha);
    if (auto n = optional_whole(j, "accounts", 2, 0xffffffffu)) r.accounts = static_cast<std::uint32_t>(*n);
    return r;
}

LoadAssignment load_assignment_from_json(const Json& j) {
    if (!j.is_object()) throw ProtocolError("\"load\" must be an object");
    LoadAssignment a;
    a.connections = optional_whole(j, "connections", 0, kMaxConnectionsPerGenerator);
    a.inflight = optional_whole(j, "inflight", 1, kMaxInflight);
    a.rate = optional_number(j, "rate", 0, kMaxEpochRate);
    a.alpha = optional_number(j, "alpha", 0, kMaxAlpha);
    if (auto n = optional_whole(j, "accounts", 2, 0xffffffffu)) a.accounts = static_cast<std::uint32_t>(*n);
    return a;
}

EpochTiming epoch_timing_from_json(const Json& request) {
    EpochTiming t;
    if (!request.is_object()) return t;
    if (const auto it = request.find("warmupAuto"); it != request.end() && !it->is_null()) {
        if (!it->is_boolean()) throw ProtocolError("\"warmupAuto\" must be a boolean");
        t.warmup_auto = it->get<bool>();
    }
    t.warmup_seconds = optional_number(request, "warmupSeconds", 0, kMaxEpochSeconds);
    if (t.warmup_auto && t.warmup_seconds)
        throw ProtocolError(
            "\"warmupSeconds\" and \"warmupAuto\" are exclusive: a fixed warmup or a steady-state one, not both");
    t.stable_cv = optional_number(request, "stableCv", 0.0001, 10);
    t.stable_seconds = optional_number(request, "stableSeconds", 1, 3600);
    t.warmup_max_seconds = optional_number(request, "warmupMaxSeconds", 1, kMaxEpochSeconds);
    t.window_seconds = optional_number(request, "windowSeconds", 0.001, kMaxEpochSeconds);
    return t;
}

}  // namespace benchdist::control
