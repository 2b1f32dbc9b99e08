// The verdict on a result: "valid" only when every check that could expose a
// wrong number agrees. Each failed check is a reason with a stable code (for
// scripts and --tolerate), a message saying what happened and what to do,
// and the numbers behind it. An operator may tolerate a code (--tolerate):
// its reasons then stay in the result as tolerated, and as warnings, but no
// longer make it invalid. Both ends read one schema: the coordinator and
// `bench-dist-generator run` write it, bench-dist-control reads it for its
// output and exit code.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/control/protocol.hpp"

namespace benchdist::control {

// The reason codes, documented in docs/results.md.
namespace reason {
inline constexpr std::string_view kAborted = "aborted";
inline constexpr std::string_view kNotMeasured = "not_measured";
inline constexpr std::string_view kEpochFailed = "epoch_failed";
inline constexpr std::string_view kStartAckMissing = "start_ack_missing";
inline constexpr std::string_view kStopAckMissing = "stop_ack_missing";
inline constexpr std::string_view kParticipantLost = "participant_lost";
inline constexpr std::string_view kParticipantRestarted = "participant_restarted";
inline constexpr std::string_view kCoordinatorStalled = "coordinator_stalled";
inline constexpr std::string_view kWindowLength = "window_length";
inline constexpr std::string_view kNotSteady = "not_steady";
inline constexpr std::string_view kThroughputCollapsed = "throughput_collapsed";
inline constexpr std::string_view kConnectionsShort = "connections_short";
inline constexpr std::string_view kLoadNotApplied = "load_not_applied";
inline constexpr std::string_view kCounterBackwards = "counter_backwards";
inline constexpr std::string_view kVerificationFailed = "verification_failed";
inline constexpr std::string_view kClientServerMismatch = "client_server_mismatch";
inline constexpr std::string_view kCommittedNothing = "committed_nothing";
inline constexpr std::string_view kErrorRatio = "error_ratio";
inline constexpr std::string_view kThresholdFailed = "threshold_failed";
inline constexpr std::string_view kResultNotWritten = "result_not_written";
}  // namespace reason

// Every code above, in the order docs/results.md lists them.
const std::vector<std::string_view>& known_reason_codes();
bool is_known_reason_code(std::string_view code);

// How far a measured window may be from the requested one before its
// numbers stop being the ones asked for (window_length): max(1 s, 5%). One
// rule for an epoch and for `bench-dist-generator run`.
double window_length_allowance_seconds(double requested_seconds);

struct VerdictReason {
    std::string code;
    std::string message;
    // The numbers behind it ("observed", "limit", "generator", ...), merged
    // into the reason's JSON object after "code" and "message".
    Json details = Json::object();
};
// A reason of `code` (one of control::reason).
VerdictReason make_reason(std::string_view code, std::string message, Json details = Json::object());
// {"code", "message", ...details}.
Json to_json(const VerdictReason& r);
VerdictReason verdict_reason_from_json(const Json& j);

struct Verdict {
    std::vector<VerdictReason> reasons;    // each makes the result invalid
    std::vector<VerdictReason> tolerated;  // found, but tolerated by the operator
    bool valid() const { return reasons.empty(); }
};

// Splits what the checks found into reasons and tolerated ones.
Verdict judge(std::vector<VerdictReason> found, const std::set<std::string, std::less<>>& tolerate);

// Writes "verdict" ("valid" | "invalid"), "reasons" and, when any,
// "toleratedReasons" into `result`, and one warning per tolerated reason
// into its "warnings".
void write_verdict(Json& result, const Verdict& v);

// What a result says: nullopt when it carries no verdict (an older
// coordinator, or the original's).
struct StoredVerdict {
    bool valid = false;
    std::vector<VerdictReason> reasons;
    std::vector<VerdictReason> tolerated;
};
std::optional<StoredVerdict> read_verdict(const Json& result);

}  // namespace benchdist::control
