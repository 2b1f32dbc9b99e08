// The arithmetic of an epoch's result, apart from the threads and sockets
// that observed it: the epoch runner records what happened (counter reads
// with their times, timeline samples, acknowledgements and reports, the
// verification outcome) into EpochObservations, and build_epoch_result turns
// that into the result file's content. Pure: no clock, no I/O, so every rule
// (counter reset, window edges, timeline, warnings) is unit-tested directly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/coordinator/coordinator_options.hpp"
#include "benchdist/coordinator/manifest.hpp"
#include "benchdist/stdbhttp/server_api.hpp"

namespace benchdist::coordinator {

// A counter read and when the coordinator takes it to have happened: the
// answer's arrival, or the coordinator's clock when the source gave no
// times (a fake in a test).
struct ObservedRead {
    stdbhttp::CounterRead read;
    std::int64_t at_ms = 0;
};

// The time a read is taken to have happened (see ObservedRead), given the
// coordinator's clock at the moment it returned.
ObservedRead observe(const stdbhttp::CounterRead& read, std::int64_t clock_now_ms);

// What `--warmup auto` saw before it opened the window (stats/steady_state.hpp).
struct WarmupObservation {
    double seconds = 0;   // from the start barrier to the decision
    bool stable = false;  // false: warmup_max_seconds passed first
    // The CV of the last check; absent when it could not be computed (too
    // few rates, or nothing committed).
    std::optional<double> cv;
    // The per-second commit rates seen, in order.
    std::vector<double> rates;
};

struct EpochObservations {
    std::uint64_t epoch = 0;
    std::optional<std::string> label;
    std::vector<std::string> participant_ids;
    std::uint64_t participant_connections = 0;
    ManifestsById manifests;
    WorkloadComparison workload;
    CoordinatorOptions options;
    // When start-epoch accepted it (the manifest's startedAt), unix ms.
    std::int64_t started_ms = 0;
    // What begin_epoch() resolved; nullopt when unknown.
    std::optional<std::string> database_identity;

    // The window's edge reads; absent when the runner did not get that far
    // or the read failed.
    std::optional<ObservedRead> before;
    std::optional<ObservedRead> after;
    // When the epoch ended: the end read's time, or the clock when it
    // failed. Always set by the runner.
    std::int64_t finished_ms = 0;
    // Timeline samples taken during the window, in order.
    std::vector<ObservedRead> samples;
    // With options.warmup_auto, once the warmup ended (absent when the
    // epoch ended before, or with a fixed warmup).
    std::optional<WarmupObservation> warmup;

    // The runner's own findings in the order it made them (missing
    // acknowledgements, an exception's message), already joined with "; ".
    std::optional<std::string> runner_error;
    // The same findings, apart, for the verdict: participants whose
    // acknowledgement never came, and the exception that ended the epoch
    // early (a failed counter read, say).
    std::vector<std::string> missing_start_acks;
    std::vector<std::string> missing_stop_acks;
    std::optional<std::string> failure;
    // Participants that restarted during the epoch (a new incarnation
    // registered under their id), one message each.
    std::vector<std::string> restarts;
    // Times the coordinator itself did not run (SIGSTOP, swap, a paused
    // VM) while the epoch ran: how long, in ms, one entry each.
    std::vector<std::int64_t> stalls_ms;
    // start-epoch's own thresholds and tolerated codes for this epoch.
    std::vector<std::string> epoch_thresholds;
    std::vector<std::string> epoch_tolerate;
    // What the participants asked for and opened, by id.
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> connections;  // id -> (desired, opened)
    // Participants lost during the epoch (the state machine's errors): they
    // come first in the result's error, since they explain the rest.
    std::vector<std::string> lost_errors;
    bool aborted = false;
    std::string verification = "skipped";  // skipped | passed | failed
    std::optional<std::string> verification_error;
    // The /stopped reports' extra fields by generator id.
    control::Json stop_reports = control::Json::object();
    // The epoch's own load as start-epoch asked for it, each participant's
    // share (empty without a load), and its timing (already applied to
    // `options`, so windowSeconds and the verdict's window_length are the
    // epoch's).
    std::optional<control::EpochLoadRequest> load;
    std::map<std::string, control::LoadAssignment> assignments;
    control::EpochTiming timing;
};

// The result file's content (before the store writes it). With a load,
// participantConnections is what the participants ran (their reports), not
// what they opened, and "epochLoad" records the request, the shares and
// the timing keys it set.
control::EpochResult build_epoch_result(const EpochObservations& o);

}  // namespace benchdist::coordinator
