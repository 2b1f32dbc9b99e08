// What an operator sets on the coordinator (its command line), apart from
// how it reaches the server: read by the epoch runner and recorded in every
// result's manifest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/stats/threshold.hpp"

namespace benchdist::coordinator {

// Which revision of the original harness's epoch protocol the coordinator
// speaks. Both revisions' generators send the same /register body, so the
// operator says which one the fleet runs (--original-revision):
//  - Final (default): phase `starting`, a start barrier (every participant
//    posts /started), then the optional warmup, then `measure`.
//  - First: phase `warmup` from the start (participants start their load
//    on it and never post /started), --warmup-seconds of load as the
//    barrier's substitute, then `measure`.
// Our generators follow either without being told.
enum class OriginalRevision { First, Final };
std::string_view original_revision_name(OriginalRevision r);  // "first", "final"

// The original first revision's --warmup-seconds default: without a start
// barrier, the warmup is what lets every generator notice the epoch (within
// one poll) and open its load before the window.
inline constexpr double kFirstRevisionWarmupSeconds = 15;

struct CoordinatorOptions {
    std::string test = "test-1";
    std::string connector = "spacetimedb";
    std::filesystem::path results_dir = "runs/distributed";
    // Seconds; fractions are honoured (tests use milliseconds).
    double warmup_seconds = 0;
    // --warmup auto: instead of warmup_seconds, open the window once the
    // server's per-second commit rate is steady (stats/steady_state.hpp):
    // a CV of at most stable_cv over stable_seconds of rates, read about
    // once a second after the start barrier; at most warmup_max_seconds,
    // after which the window opens anyway and the verdict says not_steady.
    bool warmup_auto = false;
    double stable_cv = 0.05;
    double stable_seconds = 5;
    double warmup_max_seconds = 60;
    // How often --warmup auto reads the counter. Not a command-line option:
    // the rule judges per-second rates, read once a second; tests shorten
    // it (the rates stay per second of the reads' own times).
    std::int64_t warmup_read_ms = 1000;
    OriginalRevision revision = OriginalRevision::Final;
    double start_ack_timeout_seconds = 60;
    double window_seconds = 60;
    double stop_ack_timeout_seconds = 60;
    bool verify = false;
    std::vector<std::string> default_generator_ids;  // --generator-ids
    // Counter samples during the measured window for the result's timeline,
    // every this many ms; 0 turns the timeline off.
    std::int64_t sample_ms = 1000;
    // Generators whose clock offset is larger get a warning in the result.
    double max_clock_offset_ms = 50;
    // Opens the measured window on the next multiple of this many ms of the
    // coordinator's wall clock (0: at once). Generators count outcomes in
    // intervals of their wall clock aligned the same way (1000 ms by
    // default), so an aligned window with a whole number of seconds covers
    // whole intervals and the client/server cross-check compares the same
    // span, without assuming the rate was even inside an edge interval.
    std::int64_t align_window_ms = 0;
    // Start epochs whose participants' workloads differ (the result warns)
    // instead of refusing them.
    bool allow_mixed = false;
    // A generator not heard from for this long (any request from it renews
    // it) is lost: left out of new epochs, and a running epoch it takes
    // part in is flagged at once. Published in /state as leaseSeconds so
    // generators fence their load on the same lease. 0 turns it off.
    double lease_seconds = 10;
    // The verdict (coordinator/epoch_verdict.hpp): a participant that failed
    // more than this fraction of its calls makes the epoch invalid; codes in
    // `tolerate` become warnings instead of reasons (--tolerate).
    double max_error_ratio = 0.01;
    std::set<std::string, std::less<>> tolerate;
    // --threshold, applied to every epoch.
    std::vector<stats::Threshold> thresholds;
    // For the result's manifest: the server as the operator named it, this
    // host's name (empty: the system's host name), and the command-line
    // options that are not fields above (bind, port, stdbUrl...), by
    // camelCase name; the fields above are recorded by the coordinator.
    std::string server_url;
    std::string database;
    std::string hostname;
    control::Json other_options = control::Json::object();
};

// The options one epoch runs with: `o` with what its start request set
// (control::EpochTiming) in place of the coordinator's own: the warmup --
// a fixed one (warmupSeconds, which also turns off a command-line
// `--warmup auto` for that epoch) or a steady-state one (warmupAuto) with
// its parameters (stableCv, stableSeconds, warmupMaxSeconds) -- and the
// window. This is the one place an epoch's timing overrides the command
// line.
CoordinatorOptions apply_epoch_timing(CoordinatorOptions o, const control::EpochTiming& timing);

// Every field of `o` that is a command-line option, by camelCase name,
// followed by o.other_options: the "coordinator" part of the manifest.
control::Json coordinator_options_json(const CoordinatorOptions& o);

}  // namespace benchdist::coordinator
