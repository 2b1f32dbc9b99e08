#include "benchdist/coordinator/manifest.hpp"

#include <algorithm>

#include "benchdist/coordinator/epoch_state.hpp"

namespace benchdist::coordinator {

using control::Json;

namespace {

// ordered_json compares objects in key order; a generator that writes its
// nested options in another order still runs the same workload.
bool same_value(const Json& a, const Json& b) {
    if (!a.is_structured() && !b.is_structured()) return a == b;
    return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
}

const Json* workload_of(const GeneratorManifest& m) {
    return m.manifest && m.manifest->workload.is_object() ? &m.manifest->workload : nullptr;
}

Json string_or_null(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

// Groups the ids by value; a difference when there is more than one group.
void add_if_different(std::vector<WorkloadDifference>& out, const std::string& key,
                      const std::vector<std::pair<std::string, Json>>& values) {
    std::vector<WorkloadValue> groups;
    for (const auto& entry : values) {
        const auto& [id, value] = entry;
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&entry](const WorkloadValue& g) { return same_value(g.value, entry.second); });
        if (it == groups.end()) {
            groups.push_back({value, {id}});
        } else {
            it->generator_ids.push_back(id);
        }
    }
    if (groups.size() > 1) out.push_back({key, std::move(groups)});
}

std::string plural(const std::vector<std::string>& ids, const char* one, const char* many) {
    return std::string(ids.size() == 1 ? one : many) + " " + join_ids(ids);
}

}  // namespace

GeneratorManifest manifest_from_register(const control::RegisterRequest& request) {
    GeneratorManifest m;
    m.hostname = request.hostname;
    m.manifest = control::manifest_of(request);
    return m;
}

void update_from_ready(GeneratorManifest& m, const control::ReadyRequest& request) {
    if (auto protocol = control::negotiated_protocol_of(request)) m.negotiated_protocol = std::move(protocol);
}

WorkloadComparison compare_workloads(const ManifestsById& participants) {
    WorkloadComparison c;
    std::vector<std::pair<std::string, const Json*>> known;
    for (const auto& [id, m] : participants) {
        if (const Json* w = workload_of(m)) {
            known.emplace_back(id, w);
        } else {
            c.unknown.push_back(id);
        }
    }

    // Keys in order of first appearance, so the text follows the generators'
    // own order of options.
    std::vector<std::string> keys;
    for (const auto& [id, w] : known)
        for (const auto& [k, v] : w->items())
            if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    for (const auto& key : keys) {
        std::vector<std::pair<std::string, Json>> values;
        for (const auto& [id, w] : known) {
            const auto it = w->find(key);
            values.emplace_back(id, it == w->end() ? Json(nullptr) : *it);
        }
        add_if_different(c.differences, key, values);
    }

    std::vector<std::pair<std::string, Json>> protocols;
    for (const auto& [id, w] : known) {
        const auto& m = participants.find(id)->second;
        if (m.negotiated_protocol) {
            protocols.emplace_back(id, Json(*m.negotiated_protocol));
        } else {
            c.protocol_unknown.push_back(id);
        }
    }
    add_if_different(c.differences, "negotiatedProtocol", protocols);

    if (c.differences.empty() && c.unknown.empty() && !known.empty()) c.common = *known.front().second;
    return c;
}

WorkloadComparison compare_workloads(const ManifestsById& participants,
                                     const std::map<std::string, control::LoadAssignment>& assignments) {
    if (assignments.empty()) return compare_workloads(participants);
    ManifestsById effective = participants;
    for (auto& [id, m] : effective) {
        const auto share = assignments.find(id);
        if (share == assignments.end() || !m.manifest || !m.manifest->workload.is_object()) continue;
        auto& w = m.manifest->workload;
        const auto& a = share->second;
        if (a.alpha) w["alpha"] = *a.alpha;
        if (a.accounts) w["accounts"] = *a.accounts;
        if (a.inflight) w["maxInflight"] = *a.inflight;
        if (a.rate) w["rateMode"] = *a.rate > 0 ? "open" : "closed";
    }
    return compare_workloads(effective);
}

std::string describe_differences(const std::vector<WorkloadDifference>& differences) {
    std::string out;
    for (const auto& d : differences) {
        if (!out.empty()) out += "; ";
        out += "\"" + d.key + "\": ";
        bool first = true;
        for (const auto& v : d.values) {
            if (!first) out += " vs ";
            first = false;
            out += v.value.dump() + " on " + join_ids(v.generator_ids);
        }
    }
    return out;
}

std::string mixed_workload_refusal(const std::vector<WorkloadDifference>& differences) {
    return "Refusing to start: the participants' workloads differ -- " + describe_differences(differences) +
           ". Start every generator with the same options, or run bench-dist-coordinator with --allow-mixed.";
}

Json differences_to_json(const std::vector<WorkloadDifference>& differences) {
    Json out = Json::array();
    for (const auto& d : differences) {
        Json values = Json::array();
        for (const auto& v : d.values) values.push_back(Json{{"value", v.value}, {"generatorIds", v.generator_ids}});
        out.push_back(Json{{"key", d.key}, {"values", std::move(values)}});
    }
    return out;
}

std::vector<std::string> manifest_warnings(const WorkloadComparison& comparison, const ManifestsById& participants,
                                           std::string_view coordinator_version) {
    std::vector<std::string> out;
    if (!comparison.differences.empty()) {
        out.push_back(
            "the participants' workloads differ (the epoch was started with --allow-mixed, so its numbers "
            "mix them): " +
            describe_differences(comparison.differences));
    }
    if (!comparison.unknown.empty()) {
        out.push_back(plural(comparison.unknown, "generator", "generators") +
                      " sent no workload manifest (the original harness's generators and older bench-dist-generators "
                      "send none): the epoch's workload is "
                      "unknown and was not checked for differences");
    }
    if (!comparison.protocol_unknown.empty()) {
        out.push_back(plural(comparison.protocol_unknown, "generator", "generators") +
                      " did not report the negotiated protocol: protocols were not compared");
    }
    for (const auto& [id, m] : participants) {
        const auto& version = m.manifest ? m.manifest->tool_version : std::nullopt;
        if (version && *version != coordinator_version) {
            out.push_back("generator \"" + id + "\" runs bench-dist " + *version + ", the coordinator " +
                          std::string(coordinator_version));
        }
    }
    return out;
}

Json generator_entries(const ManifestsById& participants) {
    Json out = Json::object();
    for (const auto& [id, m] : participants) {
        Json e;
        const auto& reported_host = m.manifest ? m.manifest->hostname : std::nullopt;
        e["hostname"] = reported_host ? *reported_host : m.hostname;
        e["toolVersion"] = string_or_null(m.manifest ? m.manifest->tool_version : std::nullopt);
        e["options"] = m.manifest ? m.manifest->options : Json(nullptr);
        const Json* w = workload_of(m);
        e["workload"] = w ? *w : Json(nullptr);
        e["negotiatedProtocol"] = m.negotiated_protocol ? Json(*m.negotiated_protocol) : Json(nullptr);
        out[id] = std::move(e);
    }
    return out;
}

}  // namespace benchdist::coordinator
