// One epoch from bench-dist-control's side: POST /admin/start-epoch with a
// request, then long-poll the state (or, with the live view, the live
// series) until that epoch's result is there.
// Shared by start-epoch (once, or --runs times), sweep and saturate, so an
// epoch is started, waited for and interrupted the same way everywhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "benchdist/control/protocol.hpp"
#include "coordinator_client.hpp"

namespace benchdist::control_tool {

struct EpochRunOptions {
    std::chrono::milliseconds poll{1000};
    double timeout_seconds = 0;  // 0: wait until the epoch ends
    // Ctrl-C: false (start-epoch): ask on a terminal whether to stop the
    // epoch, otherwise detach. true (a campaign): the first Ctrl-C lets the
    // epoch finish (the campaign stops after it), the second stops it.
    bool campaign = false;
    // Print the coordinator's start message and state (start-epoch's text output).
    bool print_start = false;
    // Follow the epoch on the coordinator's live series (GET /admin/live)
    // and draw it on `out`: a block redrawn in place on a terminal, a
    // timestamped line a second elsewhere (live_render.hpp). false: the
    // quiet wait of before (--no-live, --json). A coordinator without the
    // route gets the quiet wait either way.
    bool live = false;
    int live_fd = 1;  // the descriptor behind `out`, whose terminal decides the drawing
};

struct EpochRun {
    enum class End {
        Finished,     // the result is in `result`
        Refused,      // the coordinator did not start it (409): `message` says why
        Interrupted,  // Ctrl-C: detached, or stopped (campaign, second Ctrl-C)
        TimedOut,     // --timeout passed; the epoch keeps running
    };
    End end = End::Finished;
    std::uint64_t epoch = 0;
    std::string message;
    control::StartEpochResponse response;  // the start's answer
    control::CoordinatorState state;       // the last state seen
    control::EpochResult result;
    control::Json result_json;  // control::to_json(result): what the campaign reads
};

// Starts an epoch with `request` (a start-epoch body) and waits for it.
// Throws Failure when the coordinator cannot be reached.
EpochRun run_epoch(Coordinator c, const control::Json& request, const EpochRunOptions& options, std::ostream& out);

// Exit 0 only for a valid verdict; a coordinator that gives none (an older
// one, or the original's) is judged by its error and verification.
bool result_failed(const control::EpochResult& r);

}  // namespace benchdist::control_tool
