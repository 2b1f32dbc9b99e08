// bench-dist-control's campaign commands, each in its own file; main.cpp
// parses the command line and calls one of them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "campaign_session.hpp"
#include "coordinator_client.hpp"
#include "run_epoch.hpp"

namespace benchdist::control_tool {

// start-epoch: one epoch (the original command). Exit 0 for a valid verdict.
int run_start_epoch(const Coordinator& c, const control::Json& request, const EpochRunOptions& options, bool json);

// start-epoch --runs N: N epochs with the same request, then the statistics
// of TPS over the valid runs. Exit 0 only when every run was valid.
int run_runs(const Coordinator& c, const control::Json& request, std::size_t runs, CampaignOptions options,
             bool request_given);

struct SweepArgs {
    std::vector<std::string> vary;  // --vary, as written
    std::size_t repeat = 1;
    bool repeat_given = false;
    control::Json base;       // the start request every point shares (no label)
    bool base_given = false;  // a request flag was on the command line (checked against --resume's file)
};
// sweep: the grid of --vary points, each --repeat times. Exit 0 only when
// every point is valid.
int run_sweep(const Coordinator& c, const SweepArgs& args, const CampaignOptions& options);

struct SaturateArgs {
    std::vector<std::string> slos;  // --slo, thresholds
    std::string knob = "connections";
    std::optional<double> start, max;
    double precision = 0.10;
    control::Json base;  // without the thresholds (the SLOs are added here)
    bool base_given = false;
};
// saturate: the saturation search. Exit 0 when a knee was found with the
// server as the limit, or --max was reached with every SLO held.
int run_saturate(const Coordinator& c, const SaturateArgs& args, const CampaignOptions& options);

struct WatchArgs {
    std::optional<std::size_t> epochs;  // --epochs N: stop after N epochs ended
    bool once = false;                  // --once: the current state, then exit
    bool json = false;                  // each /admin/live answer as a line of JSON
};
// watch: follows the coordinator's live series across epochs until Ctrl-C
// (130), --epochs N (0 when each of them was valid, else 1) or --once (0).
// Exit 1 when the coordinator cannot be reached or has no /admin/live.
int run_watch(const Coordinator& c, const WatchArgs& args);

struct ReportArgs {
    std::vector<std::string> inputs;  // results directories, result files, campaign files (default runs/distributed)
    std::string out;                  // "" = report.html / report.csv / report.md; "-" = stdout
    std::string format = "html";      // html | csv | markdown
};
// report: reads the inputs and writes one report. Exit 0, or 1 when an
// input cannot be read (the message names the file and key).
int run_report(const ReportArgs& args);

struct CompareArgs {
    std::string a, b;
    bool json = false;
};
// compare: the differences between two results or two campaigns. Exit 0
// (comparable or not: the output says), 1 for an unreadable file, 2 for a
// directory or a result compared with a campaign.
int run_compare(const CompareArgs& args);

}  // namespace benchdist::control_tool
