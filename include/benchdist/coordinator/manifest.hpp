// What an epoch measured, written into its result as `manifest`: the tool
// version, the coordinator's and every generator's options, the server and
// the workload. It is also where the coordinator decides whether the
// participants of an epoch ran the same workload -- a result that averages
// Zipf 1.5 with uniform pairs, or v2 with v3, describes no real system -- so
// start-epoch can refuse such a mix unless the operator asked for it
// (--allow-mixed). Pure JSON in and out, unit-tested without an epoch.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/control/generator_report.hpp"
#include "benchdist/control/protocol.hpp"

namespace benchdist::coordinator {

// What a generator told about itself, kept from /register and /ready.
struct GeneratorManifest {
    std::string hostname;                               // from /register
    std::optional<control::RegisterManifest> manifest;  // nullopt from older generators
    std::optional<std::string> negotiated_protocol;     // from /ready
};

// Built from a /register request (replaces whatever was known about the id)
// and updated by a /ready request (which keeps the previous protocol when it
// names none).
GeneratorManifest manifest_from_register(const control::RegisterRequest& request);
void update_from_ready(GeneratorManifest& m, const control::ReadyRequest& request);

// The generators of one epoch by id (sorted, so every text is stable).
using ManifestsById = std::map<std::string, GeneratorManifest, std::less<>>;

// One value a workload key has, and who has it.
struct WorkloadValue {
    control::Json value;  // null also stands for an absent key
    std::vector<std::string> generator_ids;
};
struct WorkloadDifference {
    std::string key;                    // a key of "workload", or "negotiatedProtocol"
    std::vector<WorkloadValue> values;  // in order of first appearance
};

struct WorkloadComparison {
    // Keys whose value differs between generators that stated a workload.
    std::vector<WorkloadDifference> differences;
    // Participants that sent no workload (older generators): unknown.
    std::vector<std::string> unknown;
    // Participants with a workload that did not report the negotiated
    // protocol; they are left out of that comparison.
    std::vector<std::string> protocol_unknown;
    // The shared workload object when every participant stated the same one
    // (negotiatedProtocol is not part of it), otherwise null.
    control::Json common = nullptr;
};

// Compares the "workload" objects key by key, and the negotiated protocol.
// Options outside "workload" (concurrency, threads, the rate's value...) may
// differ and are not looked at.
WorkloadComparison compare_workloads(const ManifestsById& participants);
// The same for an epoch that sets its load: each participant is compared
// with its share in place of the workload keys the share sets (alpha,
// accounts, maxInflight from inflight, rateMode "open" for a rate above 0,
// else "closed"), since that is what it runs. So an epoch that sets alpha
// for everyone is not refused because two generators were started with
// different ones, and `common` is the workload the epoch ran.
WorkloadComparison compare_workloads(const ManifestsById& participants,
                                     const std::map<std::string, control::LoadAssignment>& assignments);

// `"alpha": 1.5 on a, b vs 2 on c; "pairMode": ...`
std::string describe_differences(const std::vector<WorkloadDifference>& differences);
// The start-epoch refusal: the differences and how to fix them.
std::string mixed_workload_refusal(const std::vector<WorkloadDifference>& differences);
// [{"key": ..., "values": [{"value": ..., "generatorIds": [...]}]}], for
// machine readers of the refusal.
control::Json differences_to_json(const std::vector<WorkloadDifference>& differences);

// The result warnings about what was measured: mixed workloads (only
// possible with --allow-mixed), unknown workloads or protocols, generators
// built from another version than the coordinator.
std::vector<std::string> manifest_warnings(const WorkloadComparison& comparison, const ManifestsById& participants,
                                           std::string_view coordinator_version);

// {"<id>": {"hostname", "toolVersion", "options", "workload",
// "negotiatedProtocol"}} -- null for whatever an older generator did not say.
control::Json generator_entries(const ManifestsById& participants);

}  // namespace benchdist::coordinator
