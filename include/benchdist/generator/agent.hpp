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

// Start: not running, phase starting or warmup, currentEpoch set, and this
// generator a participant (own id in participants, or self.participant in
// the compact per-generator view). Stop: running and not (currentEpoch ==
// running epoch, a participant, phase in {starting, warmup, measure}).
// Otherwise None.
// A new epoch that includes us while an older one still runs yields Stop
// first; the next poll then yields Start.
AgentDecision decide(const control::CoordinatorState& state, std::string_view own_id,
                     std::optional<std::uint64_t> running_epoch);

// Self-fencing: how long the generator may go without one successful
// coordinator request before it stops its load. A generator that cannot
// hear its coordinator must not keep loading a server nobody measures; the
// coordinator counts it lost after the same lease (it publishes its
// leaseSeconds, which wins over the generator's own --lease-seconds).
class ControlLease {
public:
    using Clock = std::chrono::steady_clock;
    ControlLease(std::chrono::milliseconds length, Clock::time_point now);

    void renew(Clock::time_point now) { renewed_ = now; }
    // A coordinator's "leaseSeconds" (nullopt or not positive: keep ours).
    void adopt(std::optional<double> coordinator_lease_seconds);
    std::chrono::milliseconds length() const { return length_; }
    Clock::time_point deadline() const { return renewed_ + length_; }
    bool expired(Clock::time_point now) const { return now >= deadline(); }
    std::chrono::milliseconds silent_for(Clock::time_point now) const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(now - renewed_);
    }
    // A long-poll wait that ends well inside the lease (a quarter of it at
    // most), so a healthy coordinator always answers before the deadline.
    std::chrono::milliseconds poll_wait(std::chrono::milliseconds requested) const;

private:
    std::chrono::milliseconds length_;
    Clock::time_point renewed_;
};

// Capped exponential backoff with jitter: each delay is the current step
// with half of it randomised ("equal jitter"), so many clients that failed
// together do not retry together; the step doubles up to `cap`.
class Backoff {
public:
    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap);
    // `unit` in [0, 1): the random draw (the caller owns the generator).
    std::chrono::milliseconds next(double unit);
    void reset() { step_ = initial_; }
    std::chrono::milliseconds step() const { return step_; }

private:
    std::chrono::milliseconds initial_;
    std::chrono::milliseconds cap_;
    std::chrono::milliseconds step_;
};

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
