// The generator agent's decisions, as pure functions: given the latest
// CoordinatorState and what this generator is doing (idle, or running epoch
// n), whether to start an epoch, stop the running one, or do nothing -- the
// rules of the original harness's poll loop. Plus its retry policy for
// control-plane calls (up to --control-retries attempts, --poll-ms apart,
// no retry once a stop was requested). No sockets, no clock: the caller
// passes a wait function, so tests drive every path directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "benchdist/control/protocol.hpp"

namespace benchdist::generator {

enum class AgentAction { None, Start, Stop };
std::string_view agent_action_name(AgentAction a);

struct AgentDecision {
    AgentAction action = AgentAction::None;
    // Start: the epoch to start. Stop: the epoch being stopped.
    std::uint64_t epoch = 0;
    friend bool operator==(const AgentDecision&, const AgentDecision&) = default;
};

// Start: not running, phase starting or warmup, currentEpoch set, own id in
// participants. Stop: running and not (currentEpoch == running epoch, own id
// in participants, phase in {starting, warmup, measure}). Otherwise None.
// A new epoch that includes us while an older one still runs yields Stop
// first; the next poll then yields Start.
AgentDecision decide(const control::CoordinatorState& state, std::string_view own_id,
                     std::optional<std::uint64_t> running_epoch);

struct RetryPolicy {
    int attempts = 3;  // total attempts, >= 1
    std::chrono::milliseconds delay{1000};
};

// Calls attempt() until it returns without throwing, at most policy.attempts
// times. Between attempts: log(label + ": " + what()) then wait(delay); when
// wait returns false (a stop was requested) the last error is rethrown at
// once. An error for which retryable(e) is false is rethrown at once too.
// After the last attempt the last error propagates.
template <typename F>
auto retry_until_success(const RetryPolicy& policy, std::string_view label, F&& attempt,
                         const std::function<bool(std::chrono::milliseconds)>& wait,
                         const std::function<void(const std::string&)>& log,
                         const std::function<bool(const std::exception&)>& retryable = {}) -> decltype(attempt()) {
    const int attempts = policy.attempts < 1 ? 1 : policy.attempts;
    for (int i = 1;; ++i) {
        try {
            return attempt();
        } catch (const std::exception& e) {
            if (retryable && !retryable(e)) throw;
            if (log) log(std::string(label) + ": " + e.what());
            if (i >= attempts) throw;
            if (wait && !wait(policy.delay)) throw;
        }
    }
}

}  // namespace benchdist::generator
