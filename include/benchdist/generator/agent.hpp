// The generator agent's decisions, as pure functions: given the latest
// CoordinatorState and what this generator is doing (idle, or running epoch
// n), whether to start an epoch, stop the running one, or do nothing -- the
// rules of the original harness's poll loop, plus whether a start is
// acknowledged (/started) and never restarting an epoch whose load already
// ended. Plus the lease it fences its
// load on and the backoff it re-registers with. No sockets, no clock: the
// caller passes the time in, so tests drive every path directly
// (AgentRunner, agent_runner.hpp, sequences them).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "benchdist/control/protocol.hpp"

namespace benchdist::generator {

enum class AgentAction { None, Start, Stop };
std::string_view agent_action_name(AgentAction a);

struct AgentDecision {
    AgentAction action = AgentAction::None;
    // Start: the epoch to start. Stop: the epoch being stopped.
    std::uint64_t epoch = 0;
    // Start: the coordinator holds a start barrier (phase starting), so the
    // generator acknowledges with POST /started once its load runs. A start
    // on warmup has no barrier to acknowledge: the original harness's first
    // revision (and ours with --original-revision first) goes straight to
    // warmup and has no /started route, and ours by default publishes
    // warmup only after every participant acknowledged.
    bool acknowledge = false;
    friend bool operator==(const AgentDecision&, const AgentDecision&) = default;
};

// Start: not running, phase starting or warmup, currentEpoch set, this
// generator a participant (own id in participants, or self.participant in
// the compact per-generator view), and currentEpoch not `ended_epoch`.
// Stop: running and not (currentEpoch == running epoch, a participant,
// phase in {starting, warmup, measure}). Otherwise None.
// A new epoch that includes us while an older one still runs yields Stop
// first; the next poll then yields Start.
// `ended_epoch`: the last epoch whose load this generator ran and stopped,
// for whatever reason (its /started refused, the state said stop, ...). It
// is never started again: the state that named it may well name it again
// on the next poll, and start, stop, start on every poll is a load that
// never settles (the original's rule has no such memory).
AgentDecision decide(const control::CoordinatorState& state, std::string_view own_id,
                     std::optional<std::uint64_t> running_epoch,
                     std::optional<std::uint64_t> ended_epoch = std::nullopt);

// This generator's share of the current epoch's load: self.load in the
// compact view, else its entry in currentLoad of the full state; nullopt
// when the epoch sets none (the command line applies).
std::optional<control::LoadAssignment> own_load_assignment(const control::CoordinatorState& state,
                                                           std::string_view own_id);

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

}  // namespace benchdist::generator
