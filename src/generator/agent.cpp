#include "benchdist/generator/agent.hpp"

#include <algorithm>

namespace benchdist::generator {

std::string_view agent_action_name(AgentAction a) {
    switch (a) {
        case AgentAction::None: return "none";
        case AgentAction::Start: return "start";
        case AgentAction::Stop: return "stop";
    }
    return "none";
}

namespace {

bool is_participant(const control::CoordinatorState& state, std::string_view id) {
    return std::find(state.participants.begin(), state.participants.end(), id) != state.participants.end();
}

bool is_start_phase(control::Phase p) { return p == control::Phase::Starting || p == control::Phase::Warmup; }

}  // namespace

AgentDecision decide(const control::CoordinatorState& state, std::string_view own_id,
                     std::optional<std::uint64_t> running_epoch) {
    const bool participant = is_participant(state, own_id);
    if (running_epoch) {
        const bool keep = state.current_epoch == running_epoch && participant &&
                          (is_start_phase(state.phase) || state.phase == control::Phase::Measure);
        if (keep) return {};
        return {AgentAction::Stop, *running_epoch};
    }
    if (is_start_phase(state.phase) && state.current_epoch && participant) {
        return {AgentAction::Start, *state.current_epoch};
    }
    return {};
}

}  // namespace benchdist::generator
