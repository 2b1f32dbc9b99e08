// Reports over results and campaigns: `bench-dist-control report` (HTML,
// CSV, markdown) and `bench-dist-control compare`. This component reads
// result files (docs/results.md) and campaign files (docs/campaigns.md) into
// a small model and renders it; the model is pure -- JSON in, values out --
// so every figure a report shows is unit-tested against the JSON it came
// from. docs/observability.md ("Reports") is the user's version of these
// comments.
//
// This file: the model of one epoch (figures, verdict, timelines, the
// workload manifest that says whether two epochs are comparable), of one
// campaign, and of a whole report, read strictly: a key of the wrong type
// is an error naming the file and the key, never a silently empty cell.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/campaign/campaign_file.hpp"
#include "benchdist/campaign/epoch_record.hpp"

namespace benchdist::report {

using Json = nlohmann::ordered_json;

// An input a report cannot use: the message names the file, the key and
// what was expected.
class ReportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One entry of the workload manifest. `workload` keys define the load: two
// epochs that differ in one measured different things and are not
// comparable. The others are context (which tool, which server, how many
// generator processes): shown, and a difference is pointed out, but the
// figures still measure the same load.
struct ManifestKey {
    std::string_view key;    // camelCase, the CSV column is its snake_case twin
    std::string_view title;  // for tables
    bool workload = true;
};
// In table order: connections, inflight, rateMode, rate, confirmedReads,
// compression, protocol, negotiatedProtocol, alpha, accounts, pairMode,
// warmup, window (workload); generators, toolVersion, server (context).
const std::vector<ManifestKey>& manifest_keys();

// A manifest value as people read it: "unknown" when the result does not
// say (the key is absent from EpochReport::manifest), "server default" for
// a null confirmedReads, "none" for a null rate (closed loop), "-" for
// another null, numbers in their shortest exact form.
std::string manifest_text(std::string_view key, const Json* value);

// The server's counter during the window ("timeline").
struct ServerPoint {
    double t_ms = 0;  // since the window's start
    double committed = 0;
    std::optional<double> tps;
};
// The generators' merged seconds during the window ("clientTimeline").
struct ClientPoint {
    double t_ms = 0;
    double committed = 0;
    std::optional<double> tps;
    double errors = 0;
    std::optional<double> p50_us, p99_us, max_us;
};

// The result's "latency" (µs).
struct Latency {
    std::string kind;  // "service time (closed loop)", ...
    std::optional<double> count, mean, p50, p90, p99, p999, max;
};

// The result's "errors", module errors summed.
struct Errors {
    double total = 0, timeouts = 0, disconnects = 0, internal = 0, module = 0;
};

struct EpochReport {
    std::string source;  // the file it was read from
    std::uint64_t epoch = 0;
    std::optional<std::string> label;
    std::string measured_at, finished_at;
    double window_seconds = 0, actual_window_seconds = 0;
    // Verdict, reasons, whether its figures are a measurement (valid, or
    // invalid only by broken thresholds), SLOs, generator limit: judged by
    // the campaign component's read_epoch, the one reading of a verdict.
    campaign::EpochRecord record;
    // The result's own figures. Trusted only when record.measured: every
    // renderer shows an unmeasured epoch's figures as "invalid", never as
    // numbers.
    double tps = 0;
    std::string committed_delta;
    std::optional<Latency> latency;
    std::optional<Errors> errors;
    std::optional<double> client_server_ratio;
    std::string verification;
    std::optional<std::string> error;
    std::vector<ServerPoint> timeline;
    // Absent from results written before clientTimeline existed.
    std::optional<std::vector<ClientPoint>> client_timeline;
    // The manifest_keys() the result states (absent key: unknown).
    Json manifest = Json::object();
    // Set when the epoch belongs to a campaign of the report.
    std::string campaign_id, point;
};

// Reads one result object. `source` names it in errors ("<source>: \"latency\"
// must be an object"). Throws ReportError.
EpochReport epoch_report_from_json(const Json& result, const std::string& source);

struct CampaignReport {
    std::string source;
    campaign::Campaign campaign;
    // campaign::point_json of each point: its status, TPS statistics and
    // median latency over its measured repeats.
    std::vector<Json> points;
    // Epochs the campaign ran whose result files are not in the report.
    std::vector<std::uint64_t> missing_results;
};

// Reads one campaign object. Throws ReportError naming `source`.
CampaignReport campaign_report_from_json(const Json& campaign, const std::string& source);

struct Report {
    std::vector<EpochReport> epochs;  // by epoch number, then finishedAt
    std::vector<CampaignReport> campaigns;
    std::vector<std::string> notes;  // what a reader should know (skipped files, missing results)
};

// Sorts the epochs, ties each campaign's epochs to their results (epoch
// number and finishedAt) -- setting campaign_id and point, and listing the
// ones not found in missing_results -- and writes the notes for them.
void link_campaigns(Report& report);

// The manifest keys whose values differ between the epochs (workload and
// context keys, in manifest_keys() order), with each distinct value (as
// manifest_text) in order of first appearance.
struct ManifestSpread {
    std::string key;
    bool workload = true;
    std::vector<std::string> values;
};
std::vector<ManifestSpread> manifest_spread(const std::vector<EpochReport>& epochs);

}  // namespace benchdist::report
