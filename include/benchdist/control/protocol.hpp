// The control-plane JSON of bench-dist: what the coordinator, generators and
// bench-dist-control exchange over HTTP. Keys, value types, phases and states
// are those of the original TypeScript harness (camelCase, same key order) so
// scripts written against it keep working; our additions are new, optional
// keys. Parsing is strict about types and names the offending key, because a
// 400 that says `"openedConnections" must be a non-negative integer` is what
// an operator can act on.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/control/epoch_load.hpp"
#include "benchdist/stats/interval.hpp"

namespace benchdist::control {

using Json = nlohmann::ordered_json;

// The value, or null when absent: how every optional field goes on the wire.
template <typename T>
Json optional_json(const std::optional<T>& v) {
    return v ? Json(*v) : Json(nullptr);
}

// A request body that does not have the expected shape.
class ProtocolError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Phase { Idle, Starting, Warmup, Measure, Stop };
std::string_view phase_name(Phase p);  // "idle", "starting", "warmup", "measure", "stop"
std::optional<Phase> phase_from_name(std::string_view name);

// The coordinator's view of a generator. "lost" is ours: silent past its lease.
enum class GeneratorState { Registered, Ready, Starting, Running, Lost };
std::string_view generator_state_name(GeneratorState s);
std::optional<GeneratorState> generator_state_from_name(std::string_view name);

struct GeneratorSnapshot {
    std::string id;
    std::string hostname;
    std::uint64_t desired_connections = 0;
    std::uint64_t opened_connections = 0;
    GeneratorState local_state = GeneratorState::Registered;
    std::optional<std::uint64_t> active_epoch;
    // Additions: whether it takes part in the next epochs (include/exclude),
    // and when the coordinator last heard from it (ISO-8601 UTC).
    bool included = true;
    std::string last_seen_at;
};

struct EpochResult {
    std::uint64_t epoch = 0;
    std::optional<std::string> label;
    std::string test = "test-1";
    std::string connector = "spacetimedb";
    double window_seconds = 0;
    double actual_window_seconds = 0;
    std::vector<std::string> participant_ids;
    std::uint64_t participant_connections = 0;
    std::string measured_at;  // ISO-8601 UTC with milliseconds
    std::string finished_at;
    // Decimal strings, as the original (bigint).
    std::string committed_before = "0";
    std::string committed_after = "0";
    std::string committed_delta = "0";
    double tps = 0;
    std::string verification = "skipped";  // skipped | passed | failed
    std::optional<std::string> verification_error;
    std::optional<std::string> error;
    // Additions: fields a later stage fills (latency, timeline, manifest...)
    // are merged in as extra keys after the original ones.
    Json extra = Json::object();
};

// What GET /state?id=<id>&view=self adds in place of the fleet-wide lists:
// this generator's part of the state. A fleet of pollers each fetching
// every generator's entry costs the coordinator O(fleet) per poll; the
// view is O(1), and its text depends on no id, so the coordinator builds
// each distinct answer once and shares it between waiters.
struct SelfView {
    // Listed in the current epoch's participants.
    bool participant = false;
    // Taken into the next epochs by default (include/exclude).
    bool included = true;
    GeneratorState local_state = GeneratorState::Registered;
    // The current epoch's size (0 without one): enough for a log line.
    std::uint64_t participant_count = 0;
    // Addition: what this generator must run in the current epoch when the
    // epoch sets its load (control/epoch_load.hpp); sent only then.
    std::optional<LoadAssignment> load;
};

struct CoordinatorState {
    Phase phase = Phase::Idle;
    std::optional<std::uint64_t> current_epoch;
    std::optional<std::string> current_label;
    std::vector<std::string> participants;
    std::string test = "test-1";
    std::string connector = "spacetimedb";
    std::vector<GeneratorSnapshot> generators;  // sorted by id
    std::optional<EpochResult> last_result;
    // Addition: bumped on every change; long-polling clients wait on it.
    std::uint64_t version = 0;
    // Addition: the coordinator's wall clock (unix ms) when it answered, so
    // generators can estimate their clock offset from it; absent from old
    // coordinators.
    std::optional<std::int64_t> server_time_ms;
    // Addition: how long the coordinator waits to hear from a generator
    // before it counts it lost; generators fence their load on the same
    // lease. Absent from older coordinators.
    std::optional<double> lease_seconds;
    // Addition: what is already known to spoil the running epoch (e.g. a
    // participant lost mid-window), before its result exists. Sent only
    // when non-empty.
    std::vector<std::string> current_epoch_errors;
    // Addition: each participant's share of the current epoch's load, by
    // id ("currentLoad"), when the epoch sets one; sent only then.
    std::map<std::string, LoadAssignment> current_load;
    // Set when this is a generator's compact view ("view": "self"): then
    // participants, generators, lastResult and currentEpochErrors are not
    // sent (empty here), and `version` is the view's version, which moves
    // only when something in a view can change (phase, epoch, participants,
    // include/exclude) -- not when some generator registers, acks, or is
    // lost. Absent in the full state (and from coordinators that ignore
    // the view parameter).
    std::optional<SelfView> self;
};

// POST /progress (an addition; the original harness has no such route):
// what a generator's load did since its last report, about once a second
// while an epoch runs, for the coordinator's live view (GET /admin/live).
// The intervals are deltas -- what the generator took from its load since
// the previous report -- which the coordinator merges by start, so an
// interval still in progress may arrive in parts and nothing is counted
// twice. The live view only; the epoch's result is built from the stop
// reports as before.
struct ProgressReport {
    // A report carries at most this many intervals: one post is about one
    // second of load, and the cap bounds the body (each interval holds a
    // sparse histogram of a few KiB) after the coordinator was unreachable.
    static constexpr std::size_t kMaxIntervals = 16;

    std::string id;
    std::uint64_t epoch = 0;
    std::uint64_t connections = 0;  // open now
    std::vector<stats::Interval> intervals;
};

struct StartEpochResponse {
    bool started = false;
    std::string message;
    CoordinatorState state;
    // Additions after the original keys, e.g. "workloadDifferences" when the
    // coordinator refused participants whose workloads differ.
    Json extra = Json::object();
};

// Requests.
// Newer generators add "manifest" (an object: toolVersion, hostname, pid,
// startedAt, options, workload) to /register and "negotiatedProtocol" (a
// string) to /ready; they and any other unknown keys are kept in `extra`.
// Older generators send neither and keep working.
struct RegisterRequest {
    std::string id;
    std::string hostname;
    std::uint64_t desired_connections = 0;
    Json extra = Json::object();
};
struct ReadyRequest {
    std::string id;
    std::uint64_t opened_connections = 0;
    Json extra = Json::object();
};
struct EpochAckRequest {  // /started and /stopped
    std::string id;
    std::uint64_t epoch = 0;
    Json extra = Json::object();  // optional additions (e.g. per-interval stats)
};
struct StartEpochRequest {
    std::optional<std::string> label;
    std::optional<std::vector<std::string>> generator_ids;
    // Additions, for this epoch only: threshold expressions
    // (stats/threshold.hpp) and reason codes to tolerate
    // (control/verdict.hpp), on top of the coordinator's own.
    std::vector<std::string> thresholds;
    std::vector<std::string> tolerate;
    // Additions: this epoch's load ("load") and timing (warmupSeconds,
    // warmupAuto, stableCv, stableSeconds, warmupMaxSeconds,
    // windowSeconds), control/epoch_load.hpp.
    std::optional<EpochLoadRequest> load;
    EpochTiming timing;
};

Json to_json(const GeneratorSnapshot& g);
Json to_json(const EpochResult& r);
// The full state in the original's keys, or with s.self set the compact
// view: {"view": "self", "phase", "currentEpoch", "currentLabel", "test",
// "connector", "participant", "included", "localState",
// "participantCount", "version", "serverTimeMs"?, "leaseSeconds"?}.
Json to_json(const CoordinatorState& s);
Json to_json(const StartEpochResponse& r);
Json to_json(const RegisterRequest& r);
Json to_json(const ReadyRequest& r);
Json to_json(const EpochAckRequest& r);
Json to_json(const StartEpochRequest& r);
// {"id","epoch","connections","intervals":[stats::interval_to_json...]}
Json to_json(const ProgressReport& r);

// Parsers throw ProtocolError naming the key and the expected type. The
// request parsers also hold names and counts to their rules
// (identifiers.hpp): an id, host name or label that breaks its rule, or a
// connection count above kMaxConnectionsPerGenerator, is refused naming the
// key and the rule. What the coordinator sends back (states, results) is
// not checked that way: a client shows whatever a coordinator -- perhaps
// the original harness's -- reports, escaped where it prints it.
GeneratorSnapshot generator_snapshot_from_json(const Json& j);
EpochResult epoch_result_from_json(const Json& j);
// Accepts both the full state and the compact view (told apart by "view"),
// so a client that asks for the view also works with a coordinator that
// ignores the parameter and answers the full state.
CoordinatorState coordinator_state_from_json(const Json& j);
StartEpochResponse start_epoch_response_from_json(const Json& j);
RegisterRequest register_request_from_json(const Json& j);
ReadyRequest ready_request_from_json(const Json& j);
EpochAckRequest epoch_ack_request_from_json(const Json& j);
StartEpochRequest start_epoch_request_from_json(const Json& j);
// Strict: more than kMaxIntervals intervals, or one that does not parse
// (stats::interval_from_json), is refused naming it.
ProgressReport progress_report_from_json(const Json& j);
// The body of /admin/include and /admin/exclude: {"generatorIds": [...]}.
std::vector<std::string> generator_ids_request_from_json(const Json& j);

// Parses a request body: trimmed, must be a JSON object. An empty body is
// "Request body is empty" (the original's text); malformed JSON names the
// position.
Json parse_body(std::string_view body);

// What the original wrote: JSON.stringify(body, null, 2) + "\n".
std::string pretty(const Json& j);
// The same without indentation (j.dump() + "\n"), for machine clients of
// /state: a quarter of the bytes and of the formatting work. Invalid UTF-8
// is replaced, as in pretty().
std::string compact(const Json& j);

// ISO-8601 UTC with milliseconds ("2026-04-10T12:00:33.224Z").
std::string iso8601_millis(std::int64_t unix_millis);

}  // namespace benchdist::control
