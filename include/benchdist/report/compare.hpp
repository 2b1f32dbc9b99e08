// `bench-dist-control compare A B`: what changed between two results (or
// two campaigns) -- each figure with its absolute and relative change --
// and whether they are comparable at all: two epochs that ran different
// workloads measured different things, and the comparison says so first.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "benchdist/report/model.hpp"

namespace benchdist::report {

// One figure on both sides. A side without the figure, or whose figures
// are not a measurement (an invalid epoch or point), has none: then no
// change is computed.
struct FigureChange {
    std::string name;  // "tps", "p99 ms", ...
    std::optional<double> a, b;
    std::string a_text, b_text;      // as shown: the number, "invalid", "-"
    std::optional<double> change;    // b - a
    std::optional<double> relative;  // (b - a) / a; none when a is 0
    int decimals = 2;                // how the figure is written
};

// A manifest key (or, for campaigns, a key of the request) that differs.
struct ManifestDifference {
    std::string key;
    std::string a, b;
    bool workload = true;  // a workload difference makes the two not comparable
};

struct Comparison {
    std::string kind;            // "epochs" or "campaigns"
    std::string a_name, b_name;  // "<file> (epoch 2, \"label\", valid)"
    bool comparable = true;
    // Why not: one line per workload difference, and for campaigns another
    // kind or search.
    std::vector<std::string> not_comparable;
    std::vector<FigureChange> figures;  // epochs: tps, latency, errors, ratio; campaigns: per point and the knee
    std::vector<std::string> verdicts;  // "verdict: valid -> INVALID (participant_lost)", points only on one side
    std::vector<ManifestDifference> manifest;
};

Comparison compare_epochs(const EpochReport& a, const EpochReport& b);
Comparison compare_campaigns(const CampaignReport& a, const CampaignReport& b);

// For a terminal: "NOT COMPARABLE: ..." first when so, then a table of the
// figures, the verdicts and the manifest differences. Text from the files
// goes through text::printable.
std::string format_comparison(const Comparison& c);
Json to_json(const Comparison& c);

}  // namespace benchdist::report
