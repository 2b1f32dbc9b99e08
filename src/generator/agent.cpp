#include "benchdist/generator/agent.hpp"

#include <algorithm>

namespace benchdist::generator {

std::string_view agent_action_name(AgentAction a) {
    switch (a) {
        case AgentAction::None:
            return "none";
        case AgentAction::Start:
            return "start";
        case AgentAction::Stop:
            return "stop";
    }
    return "none";
}

namespace {

// The compact view says it outright; the full state (an older coordinator)
// lists the participants.
bool is_participant(const control::CoordinatorState& state, std::string_view id) {
    if (state.self) return state.self->participant;
    return std::find(state.participants.begin(), state.participants.end(), id) != state.participants.end();
}

bool is_start_phase(control::Phase p) { return p == control::Phase::Starting || p == control::Phase::Warmup; }

}  // namespace

AgentDecision decide(const control::CoordinatorState& state, std::string_view own_id,
                     std::optional<std::uint64_t> running_epoch, std::optional<std::uint64_t> ended_epoch) {
    const bool participant = is_participant(state, own_id);
    if (running_epoch) {
        const bool keep = state.current_epoch == running_epoch && participant &&
                          (is_start_phase(state.phase) || state.phase == control::Phase::Measure);
        if (keep) return {};
        return {AgentAction::Stop, *running_epoch};
    }
    if (is_start_phase(state.phase) && state.current_epoch && participant && state.current_epoch != ended_epoch) {
        return {AgentAction::Start, *state.current_epoch, state.phase == control::Phase::Starting};
    }
    return {};
}

std::optional<control::LoadAssignment> own_load_assignment(const control::CoordinatorState& state,
                                                           std::string_view own_id) {
    if (state.self) return state.self->load;
    const auto it = state.current_load.find(std::string(own_id));
    if (it == state.current_load.end()) return std::nullopt;
    return it->second;
}

ControlLease::ControlLease(std::chrono::milliseconds length, Clock::time_point now)
    : length_(std::max(length, std::chrono::milliseconds(1))), renewed_(now) {}

void ControlLease::adopt(std::optional<double> coordinator_lease_seconds) {
    if (!coordinator_lease_seconds || !(*coordinator_lease_seconds > 0)) return;
    const double ms = std::min(*coordinator_lease_seconds, 86400.0) * 1000.0;
    length_ = std::max(std::chrono::milliseconds(1), std::chrono::milliseconds(static_cast<std::int64_t>(ms)));
}

std::chrono::milliseconds ControlLease::poll_wait(std::chrono::milliseconds requested) const {
    return std::min(requested, length_ / 4);
}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap)
    : initial_(std::max(initial, std::chrono::milliseconds(1))), cap_(std::max(cap, initial_)), step_(initial_) {}

std::chrono::milliseconds Backoff::next(double unit) {
    unit = std::clamp(unit, 0.0, 1.0);
    const auto half = step_.count() / 2;
    const auto delay =
        std::chrono::milliseconds(step_.count() - half + static_cast<std::int64_t>(unit * static_cast<double>(half)));
    step_ = std::min(cap_, step_ * 2);
    return delay;
}

}  // namespace benchdist::generator
