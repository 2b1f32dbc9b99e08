#include "benchdist/coordinator/epoch_state.hpp"

#include <algorithm>

namespace benchdist::coordinator {

using control::GeneratorState;
using control::Phase;

std::string join_ids(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) {
        if (!out.empty()) out += ", ";
        out += id;
    }
    return out;
}

EpochStateMachine::EpochStateMachine(std::string test, std::string connector)
    : test_(std::move(test)), connector_(std::move(connector)) {}

control::GeneratorSnapshot& EpochStateMachine::find(const std::string& id) {
    auto it = generators_.find(id);
    if (it == generators_.end()) throw CoordinatorError("Unknown generator \"" + id + "\"");
    return it->second;
}

void EpochStateMachine::register_generator(const control::RegisterRequest& request, std::int64_t now_ms) {
    auto& g = generators_[request.id];
    const bool included = g.id.empty() ? true : g.included;  // an operator's exclusion survives a restart
    g = control::GeneratorSnapshot{};
    g.id = request.id;
    g.hostname = request.hostname;
    g.desired_connections = request.desired_connections;
    g.included = included;
    g.last_seen_at = control::iso8601_millis(now_ms);
    // A restarted generator may run other options: forget the old ones.
    manifests_[request.id] = manifest_from_register(request);
    bump();
}

void EpochStateMachine::mark_ready(const control::ReadyRequest& request, std::int64_t now_ms) {
    auto& g = find(request.id);
    update_from_ready(manifests_[request.id], request);
    g.local_state = GeneratorState::Ready;
    g.opened_connections = request.opened_connections;
    g.active_epoch.reset();
    g.last_seen_at = control::iso8601_millis(now_ms);
    bump();
}

void EpochStateMachine::acknowledge_started(const control::EpochAckRequest& request, std::int64_t now_ms) {
    const std::string n = std::to_string(request.epoch);
    if (!active_ || active_->epoch != request.epoch)
        throw CoordinatorError("Generator \"" + request.id + "\" acknowledged unexpected epoch " + n);
    const auto& p = active_->participants;
    if (!std::binary_search(p.begin(), p.end(), request.id))
        throw CoordinatorError("Generator \"" + request.id + "\" is not assigned to epoch " + n);
    auto& g = find(request.id);
    g.local_state = GeneratorState::Running;
    g.active_epoch = request.epoch;
    g.last_seen_at = control::iso8601_millis(now_ms);
    active_->start_acks.insert(request.id);
    bump();
}

void EpochStateMachine::acknowledge_stopped(const control::EpochAckRequest& request, std::int64_t now_ms) {
    auto& g = find(request.id);
    g.last_seen_at = control::iso8601_millis(now_ms);
    // A late ack for an older epoch must not mark a generator that already
    // runs the current one as ready (the original did).
    if (!g.active_epoch || *g.active_epoch == request.epoch) {
        g.local_state = GeneratorState::Ready;
        g.active_epoch.reset();
    }
    if (active_ && active_->epoch == request.epoch) {
        const auto& p = active_->participants;
        if (std::binary_search(p.begin(), p.end(), request.id)) {
            active_->stop_acks.insert(request.id);
            if (!request.extra.empty()) active_->stop_reports[request.id] = request.extra;
        }
    }
    bump();
}

void EpochStateMachine::touch(std::string_view id, std::int64_t now_ms) {
    auto it = generators_.find(id);
    if (it != generators_.end()) it->second.last_seen_at = control::iso8601_millis(now_ms);
}

void EpochStateMachine::set_included(const std::vector<std::string>& ids, bool included) {
    for (const auto& id : ids) find(id);
    for (const auto& id : ids) find(id).included = included;
    bump();
}

StartOutcome EpochStateMachine::start_epoch(const control::StartEpochRequest& request,
                                            const std::vector<std::string>& default_ids, bool allow_mixed) {
    if (phase_ != Phase::Idle || active_) {
        return {false, "Coordinator is busy in phase " + std::string(control::phase_name(phase_)), 0};
    }
    const std::vector<std::string>* requested = nullptr;
    if (request.generator_ids && !request.generator_ids->empty()) {
        requested = &*request.generator_ids;
    } else if (!default_ids.empty()) {
        requested = &default_ids;
    }

    std::vector<std::string> eligible;
    for (const auto& [id, g] : generators_) {
        if (g.local_state != GeneratorState::Ready) continue;
        if (requested) {
            if (std::find(requested->begin(), requested->end(), id) == requested->end()) continue;
        } else if (!g.included) {
            continue;  // excluded generators take part only when asked for by name
        }
        eligible.push_back(id);
    }
    if (requested) {
        std::vector<std::string> not_ready;
        for (const auto& id : *requested) {
            const bool ok = std::find(eligible.begin(), eligible.end(), id) != eligible.end();
            if (!ok && std::find(not_ready.begin(), not_ready.end(), id) == not_ready.end()) not_ready.push_back(id);
        }
        if (!not_ready.empty()) return {false, "Requested generators are not ready: " + join_ids(not_ready), 0};
    }
    if (eligible.empty()) return {false, "No ready generators available for the next epoch", 0};

    ManifestsById manifests;
    for (const auto& id : eligible) manifests[id] = manifests_[id];
    auto workload = compare_workloads(manifests);
    if (!workload.differences.empty() && !allow_mixed) {
        return {false, mixed_workload_refusal(workload.differences), 0, std::move(workload.differences)};
    }

    ActiveEpoch a;
    a.manifests = std::move(manifests);
    a.workload = std::move(workload);
    a.epoch = next_epoch_++;
    a.label = request.label;
    a.participants = eligible;  // std::map iteration: already sorted
    for (const auto& id : eligible) {
        auto& g = generators_.find(id)->second;
        a.participant_connections += g.opened_connections;
        g.local_state = GeneratorState::Starting;
        g.active_epoch = a.epoch;
    }
    active_ = std::move(a);
    phase_ = Phase::Starting;
    bump();
    return {true, "Epoch " + std::to_string(active_->epoch) + " started", active_->epoch};
}

void EpochStateMachine::set_phase(Phase phase) {
    if (phase_ == phase) return;
    phase_ = phase;
    bump();
}

bool EpochStateMachine::request_abort() {
    if (!active_ || active_->abort_requested) return false;
    active_->abort_requested = true;
    bump();
    return true;
}

void EpochStateMachine::finish_epoch(control::EpochResult result) {
    last_result_ = std::move(result);
    active_.reset();
    phase_ = Phase::Idle;
    bump();
}

const GeneratorManifest* EpochStateMachine::manifest(std::string_view id) const {
    const auto it = manifests_.find(id);
    return it == manifests_.end() ? nullptr : &it->second;
}

std::vector<std::string> EpochStateMachine::missing_start_acks() const {
    std::vector<std::string> out;
    if (!active_) return out;
    for (const auto& id : active_->participants)
        if (!active_->start_acks.count(id)) out.push_back(id);
    return out;
}

std::vector<std::string> EpochStateMachine::missing_stop_acks() const {
    std::vector<std::string> out;
    if (!active_) return out;
    for (const auto& id : active_->participants)
        if (!active_->stop_acks.count(id)) out.push_back(id);
    return out;
}

std::vector<control::GeneratorSnapshot> EpochStateMachine::generators() const {
    std::vector<control::GeneratorSnapshot> out;
    out.reserve(generators_.size());
    for (const auto& [id, g] : generators_) out.push_back(g);
    return out;
}

control::CoordinatorState EpochStateMachine::snapshot() const {
    control::CoordinatorState s;
    s.phase = phase_;
    if (active_) {
        s.current_epoch = active_->epoch;
        s.current_label = active_->label;
        s.participants = active_->participants;
    }
    s.test = test_;
    s.connector = connector_;
    s.generators = generators();
    s.last_result = last_result_;
    s.version = version_;
    return s;
}

}  // namespace benchdist::coordinator
