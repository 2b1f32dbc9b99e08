// The coordinator's live series (GET /admin/live) as bench-dist-control
// holds it: the answer parsed into plain values, and a partial answer
// (full=false) applied to what was known. Pure -- no sockets, no clock -- so
// what watch and start-epoch show is tested without a coordinator
// (live_render.hpp draws it, live_follower.hpp fetches it).
//
// Parsing is tolerant of missing optional keys (a newer coordinator may drop
// one, an older one never had it) and strict on types: a key present with a
// value of the wrong type throws LiveFormatError naming the key, because a
// display that silently shows 0 for a string it could not read would be
// worse than none. Strings (ids, labels, reasons) are kept as sent: they are
// escaped where they are printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"

namespace benchdist::control_tool {

// An /admin/live answer that does not have the contract's shape.
struct LiveFormatError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct LiveErrors {
    std::uint64_t module_errors = 0;
    std::uint64_t internal_errors = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t disconnects = 0;
    std::uint64_t total = 0;
};

// One generator's part of one second.
struct LiveGeneratorSecond {
    std::uint64_t committed = 0;
    std::uint64_t errors = 0;
    std::optional<double> p50_us, p99_us;
};

// One second of the merged client side (generators' clocks).
struct LiveSecond {
    std::int64_t t = 0;  // unix ms of the second's start
    std::uint64_t attempted = 0;
    std::uint64_t committed = 0;
    std::optional<double> tps;
    LiveErrors errors;
    std::optional<double> p50_us, p99_us, max_us;  // none when nothing committed
    std::map<std::string, LiveGeneratorSecond> generators;
};

// One read of the server's committed-transfer counter.
struct LiveServerSample {
    std::int64_t at_ms = 0;
    std::uint64_t committed = 0;
    std::optional<double> tps;
    bool in_window = false;
};

struct LiveGenerator {
    std::uint64_t connections = 0;
    std::optional<std::int64_t> last_progress_ms;
    std::uint64_t committed = 0;
    std::uint64_t errors = 0;
};

struct LiveTotals {
    std::uint64_t committed = 0;
    std::uint64_t errors = 0;
    std::optional<double> p50_us, p99_us, max_us;
    std::optional<double> client_tps;  // the last complete second
    std::optional<double> server_tps;  // the last server sample's rate
};

struct LiveReason {
    std::string code;
    std::string message;
};

struct LiveResult {
    std::string verdict;  // "valid" | "invalid" | whatever the coordinator says
    std::optional<double> tps;
    std::vector<LiveReason> reasons;
};

struct LiveView {
    std::uint64_t version = 0;
    bool full = true;
    std::optional<std::uint64_t> epoch;
    std::optional<std::string> label;
    std::string phase = "idle";
    bool running = false;
    // Where the epoch's runner is (barrier, warmup, window, stopping,
    // verifying, done): finer than the phase, absent from some coordinators.
    std::optional<std::string> stage;
    std::optional<std::int64_t> started_at_ms;
    std::optional<std::int64_t> warmup_start_ms;  // when the start barrier was passed
    double warmup_seconds = 0;
    bool warmup_auto = false;
    double window_seconds = 0;
    std::optional<std::int64_t> window_start_ms, window_end_ms, finished_at_ms;
    // The coordinator's clock when it answered, if it says (the contract
    // does not promise it; /admin/status's serverTimeMs does).
    std::optional<std::int64_t> server_time_ms;
    std::vector<LiveSecond> seconds;       // sorted by t
    std::vector<LiveServerSample> server;  // sorted by at_ms
    std::map<std::string, LiveGenerator> generators;
    LiveTotals totals;
    std::optional<LiveResult> result;
};

// At most this many seconds (and server samples) are kept per epoch, as on
// the coordinator: a partial answer never makes the copy here grow past it.
inline constexpr std::size_t kMaxLiveEntries = 3600;

// Throws LiveFormatError naming the key (e.g. `"seconds"[2]."p50" must be a
// number or null`). Only "version" is required.
LiveView parse_live(const control::Json& j);

// `answer` over what was `known`: a full answer (or one of another epoch)
// replaces it; a partial one replaces the seconds with the same t and the
// server samples with the same atMs, adds the new ones, and takes every
// other key from the answer.
void apply_live(LiveView& known, LiveView answer);

// The last complete second, as the coordinator's clientTps counts it: the
// newest second every generator in the series has posted past. A
// generator's newest second is never complete (in progress, or cut short by
// the load's stop), and a second after some generator's newest may still
// lack that generator's part. Seconds that name no generator (an older
// shape): the one before the newest. Null when there is none.
const LiveSecond* last_complete_second(const LiveView& view);

}  // namespace benchdist::control_tool
