#include "benchdist/control/verdict.hpp"

#include <algorithm>

namespace benchdist::control {

const std::vector<std::string_view>& known_reason_codes() {
    namespace r = reason;
    static const std::vector<std::string_view> codes{
        r::kAborted,          r::kNotMeasured,      r::kEpochFailed,          r::kStartAckMissing,
        r::kStopAckMissing,   r::kParticipantLost,  r::kParticipantRestarted, r::kCoordinatorStalled,
        r::kWindowLength,     r::kNotSteady,        r::kThroughputCollapsed,  r::kConnectionsShort,
        r::kLoadNotApplied,   r::kCounterBackwards, r::kVerificationFailed,   r::kClientServerMismatch,
        r::kCommittedNothing, r::kErrorRatio,       r::kThresholdFailed,      r::kResultNotWritten};
    return codes;
}

bool is_known_reason_code(std::string_view code) {
    const auto& codes = known_reason_codes();
    return std::find(codes.begin(), codes.end(), code) != codes.end();
}

double window_length_allowance_seconds(double requested_seconds) { return std::max(1.0, 0.05 * requested_seconds); }

VerdictReason make_reason(std::string_view code, std::string message, Json details) {
    return VerdictReason{std::string(code), std::move(message), std::move(details)};
}

Json to_json(const VerdictReason& r) {
    Json j = Json::object();
    j["code"] = r.code;
    j["message"] = r.message;
    if (r.details.is_object())
        for (const auto& [key, value] : r.details.items())
            if (key != "code" && key != "message") j[key] = value;
    return j;
}

VerdictReason verdict_reason_from_json(const Json& j) {
    VerdictReason r;
    if (!j.is_object()) return r;
    for (const auto& [key, value] : j.items()) {
        if (key == "code" && value.is_string()) {
            r.code = value.get<std::string>();
        } else if (key == "message" && value.is_string()) {
            r.message = value.get<std::string>();
        } else if (key != "code" && key != "message") {
            r.details[key] = value;
        }
    }
    return r;
}

Verdict judge(std::vector<VerdictReason> found, const std::set<std::string, std::less<>>& tolerate) {
    Verdict v;
    for (auto& r : found) (tolerate.count(r.code) ? v.tolerated : v.reasons).push_back(std::move(r));
    return v;
}

void write_verdict(Json& result, const Verdict& v) {
    result["verdict"] = v.valid() ? "valid" : "invalid";
    Json reasons = Json::array();
    for (const auto& r : v.reasons) reasons.push_back(to_json(r));
    result["reasons"] = std::move(reasons);
    if (v.tolerated.empty()) return;
    Json tolerated = Json::array();
    auto& warnings = result["warnings"];
    if (!warnings.is_array()) warnings = Json::array();
    for (const auto& r : v.tolerated) {
        tolerated.push_back(to_json(r));
        warnings.push_back("tolerated (--tolerate " + r.code + "): " + r.message);
    }
    result["toleratedReasons"] = std::move(tolerated);
}

std::optional<StoredVerdict> read_verdict(const Json& result) {
    if (!result.is_object()) return std::nullopt;
    const auto it = result.find("verdict");
    if (it == result.end() || !it->is_string()) return std::nullopt;
    StoredVerdict v;
    v.valid = it->get<std::string>() == "valid";
    for (const auto* key : {"reasons", "toleratedReasons"}) {
        const auto list = result.find(key);
        if (list == result.end() || !list->is_array()) continue;
        auto& out = std::string_view(key) == "reasons" ? v.reasons : v.tolerated;
        for (const auto& r : *list) out.push_back(verdict_reason_from_json(r));
    }
    return v;
}

}  // namespace benchdist::control
