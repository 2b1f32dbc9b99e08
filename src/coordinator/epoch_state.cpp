#include "benchdist/coordinator/epoch_state.hpp"

#include <algorithm>
#include <cstdio>

#include "benchdist/control/generator_report.hpp"

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

EpochStateMachine::EpochStateMachine(std::string test, std::string connector, OriginalRevision revision)
    : test_(std::move(test)), connector_(std::move(connector)), revision_(revision) {}

bool EpochStateMachine::holds_lease(const std::string& id) const {
    const auto it = manifests_.find(id);
    return it != manifests_.end() && it->second.manifest && it->second.manifest->holds_lease;
}

void EpochStateMachine::drop_lease(const std::string& id) {
    const auto heard = heard_ms_.find(id);
    if (heard == heard_ms_.end()) return;
    lease_order_.erase({heard->second, id});
    heard_ms_.erase(heard);
}

control::GeneratorSnapshot& EpochStateMachine::find(const std::string& id) {
    auto it = generators_.find(id);
    if (it == generators_.end()) throw RequestRejected("Unknown generator \"" + id + "\"");
    return it->second;
}

void EpochStateMachine::check_restart(const std::string& id, const std::optional<std::string>& new_incarnation,
                                      bool registering) {
    if (!active_ || active_->stop_acks.count(id) || active_->restarted.count(id)) return;
    const auto& p = active_->participants;
    if (!std::binary_search(p.begin(), p.end(), id)) return;
    const auto known = manifests_.find(id);
    const std::optional<std::string> old_incarnation =
        known != manifests_.end() && known->second.manifest ? known->second.manifest->incarnation : std::nullopt;
    // Ours re-register with the same incarnation after losing the
    // coordinator (that is a loss, already flagged by the lease), and send
    // it again with /ready; the original's register only when they start.
    const bool same_process = old_incarnation && new_incarnation && *old_incarnation == *new_incarnation;
    if (same_process && registering && !active_->lost.count(id)) {
        // Ours register again only after stopping their load for want of the
        // coordinator (self-fencing): it left the epoch, and posts no stop
        // acknowledgement for it, so none is waited for.
        active_->lost.insert(id);
        active_->errors.push_back("generator " + id + " stopped its load during " +
                                  std::string(control::phase_name(phase_)) +
                                  ": it could not reach the coordinator for its lease and registered again");
        return;
    }
    if (same_process || (!registering && !new_incarnation)) return;
    active_->restarted.insert(id);
    std::string message = "generator " + id + " restarted during " + std::string(control::phase_name(phase_)) +
                          " (a new process " + (registering ? "registered" : "reported ready") + " under its id";
    if (old_incarnation && new_incarnation)
        message += ": incarnation " + *new_incarnation + ", was " + *old_incarnation;
    message += "): its load before the restart is missing from the reports, and it left this epoch";
    active_->restarts.push_back(message);
    active_->errors.push_back(std::move(message));
}

void EpochStateMachine::register_generator(const control::RegisterRequest& request, std::int64_t now_ms) {
    {
        const auto incoming = control::manifest_of(request);
        check_restart(request.id, incoming ? incoming->incarnation : std::nullopt, true);
    }
    auto& g = generators_[request.id];
    const bool included = g.id.empty() ? true : g.included;  // an operator's exclusion survives a restart
    if (g.local_state == GeneratorState::Lost) {
        // No longer lost: its lease runs again (heard_from() renews it next).
        if (const auto heard = heard_ms_.find(request.id); heard != heard_ms_.end())
            lease_order_.emplace(heard->second, request.id);
    }
    g = control::GeneratorSnapshot{};
    g.id = request.id;
    g.hostname = request.hostname;
    g.desired_connections = request.desired_connections;
    g.included = included;
    g.last_seen_at = control::iso8601_millis(now_ms);
    // A restarted generator may run other options: forget the old ones.
    manifests_[request.id] = manifest_from_register(request);
    // ... and may be another tool under the same id, one that renews no lease.
    if (!holds_lease(request.id)) drop_lease(request.id);
    bump();
}

void EpochStateMachine::mark_ready(const control::ReadyRequest& request, std::int64_t now_ms) {
    auto& g = find(request.id);
    // More open than announced is a broken or forged report: the epoch's
    // participantConnections would count connections nobody asked for.
    if (request.opened_connections > g.desired_connections) {
        throw RequestRejected("Generator \"" + request.id + "\" reports openedConnections " +
                              std::to_string(request.opened_connections) + " above its desiredConnections " +
                              std::to_string(g.desired_connections) + " (from /register)");
    }
    check_restart(request.id, control::incarnation_of(request), false);
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
        throw RequestRejected("Generator \"" + request.id + "\" acknowledged unexpected epoch " + n);
    const auto& p = active_->participants;
    if (!std::binary_search(p.begin(), p.end(), request.id))
        throw RequestRejected("Generator \"" + request.id + "\" is not assigned to epoch " + n);
    auto& g = find(request.id);
    g.local_state = GeneratorState::Running;
    g.active_epoch = request.epoch;
    g.last_seen_at = control::iso8601_millis(now_ms);
    active_->start_acks.insert(request.id);
    bump();
}

void EpochStateMachine::acknowledge_stopped(const control::EpochAckRequest& request, std::int64_t now_ms) {
    auto& g = find(request.id);
    // An ack for an epoch that never started would otherwise mark a
    // generator that never opened its connections as ready.
    if (request.epoch == 0 || request.epoch >= next_epoch_) {
        throw RequestRejected("Generator \"" + request.id + "\" reported stopping unexpected epoch " +
                              std::to_string(request.epoch) + ": " +
                              (next_epoch_ == 1 ? std::string("no epoch has started yet")
                                                : "the latest epoch is " + std::to_string(next_epoch_ - 1)));
    }
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

void EpochStateMachine::heard_from(std::string_view id, std::int64_t mono_ms) {
    const auto it = generators_.find(id);
    if (it == generators_.end() || !holds_lease(it->first)) return;
    auto& g = it->second;
    const auto [heard, inserted] = heard_ms_.try_emplace(it->first, mono_ms);
    if (!inserted) {
        if (g.local_state != GeneratorState::Lost) lease_order_.erase({heard->second, it->first});
        heard->second = mono_ms;
    }
    lease_order_.emplace(mono_ms, it->first);
    if (g.local_state != GeneratorState::Lost) return;
    const auto before = before_lost_.find(id);
    GeneratorState back = before == before_lost_.end() ? GeneratorState::Registered : before->second;
    const bool in_epoch = active_ && g.active_epoch && *g.active_epoch == active_->epoch;
    if ((back == GeneratorState::Starting || back == GeneratorState::Running) && !in_epoch) {
        back = GeneratorState::Ready;
        g.active_epoch.reset();
    }
    g.local_state = back;
    if (active_) active_->lost.erase(it->first);
}

std::vector<LostGenerator> EpochStateMachine::expire_leases(std::int64_t mono_ms, std::int64_t lease_ms) {
    // The expired are at the front of lease_order_; they are reported (and
    // recorded in the epoch's errors) in id order, so logs and errors are
    // stable whatever order the leases ran out in.
    std::vector<std::pair<std::string, std::int64_t>> expired;
    while (!lease_order_.empty() && mono_ms - lease_order_.begin()->first > lease_ms) {
        auto node = lease_order_.extract(lease_order_.begin());
        expired.emplace_back(std::move(node.value().second), mono_ms - node.value().first);
    }
    std::sort(expired.begin(), expired.end());
    std::vector<LostGenerator> out;
    for (const auto& [id, silent] : expired) {
        auto& g = generators_.find(id)->second;
        before_lost_[id] = g.local_state;
        g.local_state = GeneratorState::Lost;
        LostGenerator lost;
        lost.id = id;
        lost.silent_ms = silent;
        lost.participant =
            active_ && std::binary_search(active_->participants.begin(), active_->participants.end(), id);
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(silent) / 1000.0);
        lost.message = "generator " + id + " lost: silent for " + seconds + " s";
        if (lost.participant) {
            lost.message += " during " + std::string(control::phase_name(phase_));
            active_->lost.insert(id);
            active_->errors.push_back(lost.message);
        }
        out.push_back(std::move(lost));
    }
    if (!out.empty()) bump();
    return out;
}

void EpochStateMachine::coordinator_stalled(std::int64_t mono_ms, std::int64_t stalled_ms) {
    // Every running lease restarts now: rebuild the index rather than shift
    // it, since all entries get the same time.
    lease_order_.clear();
    for (auto& [id, heard] : heard_ms_) {
        heard = std::max(heard, mono_ms);
        const auto g = generators_.find(id);
        if (g != generators_.end() && g->second.local_state != GeneratorState::Lost) lease_order_.emplace(heard, id);
    }
    if (active_) active_->stalls_ms.push_back(stalled_ms);
    bump();
}

std::optional<std::int64_t> EpochStateMachine::next_lease_expiry(std::int64_t lease_ms) const {
    if (lease_order_.empty()) return std::nullopt;
    return lease_order_.begin()->first + lease_ms;
}

void EpochStateMachine::set_included(const std::vector<std::string>& ids, bool included) {
    for (const auto& id : ids) find(id);
    for (const auto& id : ids) find(id).included = included;
    bump_view();
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
        std::vector<std::string> lost;
        for (const auto& id : *requested) {
            const bool ok = std::find(eligible.begin(), eligible.end(), id) != eligible.end();
            const auto g = generators_.find(id);
            const bool is_lost = g != generators_.end() && g->second.local_state == GeneratorState::Lost;
            auto& list = is_lost ? lost : not_ready;
            if (!ok && std::find(list.begin(), list.end(), id) == list.end()) list.push_back(id);
        }
        // The original's wording for the plain case; a lost generator gets
        // its own reason, because waiting for it to become ready is futile
        // until it speaks again.
        std::string message;
        if (!not_ready.empty()) message = "Requested generators are not ready: " + join_ids(not_ready);
        if (!lost.empty()) {
            if (!message.empty()) message += "; ";
            message +=
                "Requested generators are lost (not heard from within the lease; they rejoin when they "
                "contact the coordinator again): " +
                join_ids(lost);
        }
        if (!message.empty()) return {false, message, 0};
    }
    if (eligible.empty()) return {false, "No ready generators available for the next epoch", 0};

    LoadSplit split;
    // A load that sets nothing (the parser drops one; a caller in process
    // might not) is no load: no empty shares in the views.
    if (request.load && !request.load->empty()) {
        std::vector<LoadParticipant> shares;
        for (const auto& id : eligible) {
            const auto& m = manifests_[id].manifest;
            shares.push_back({id, generators_.find(id)->second.opened_connections, m && m->applies_epoch_load});
        }
        split = split_epoch_load(*request.load, std::move(shares));
        if (!split.ok()) return {false, load_refusal_message(split.refusals), 0, {}, std::move(split.refusals)};
    }

    ManifestsById manifests;
    for (const auto& id : eligible) manifests[id] = manifests_[id];
    auto workload = compare_workloads(manifests, split.assignments);
    if (!workload.differences.empty() && !allow_mixed) {
        return {false, mixed_workload_refusal(workload.differences), 0, std::move(workload.differences)};
    }

    // Final: participants are `starting` until their /started. First: the
    // original first revision had no acknowledgement, so they count as
    // running from the start, and the phase is `warmup` at once.
    const bool barrier = revision_ == OriginalRevision::Final;
    ActiveEpoch a;
    a.manifests = std::move(manifests);
    a.workload = std::move(workload);
    a.epoch = next_epoch_++;
    a.label = request.label;
    a.thresholds = request.thresholds;
    a.tolerate = request.tolerate;
    if (request.load && !request.load->empty()) a.load = request.load;
    a.assignments = std::move(split.assignments);
    a.timing = request.timing;
    a.participants = eligible;  // std::map iteration: already sorted
    for (const auto& id : eligible) {
        auto& g = generators_.find(id)->second;
        a.participant_connections += g.opened_connections;
        a.connections[id] = {g.desired_connections, g.opened_connections};
        g.local_state = barrier ? GeneratorState::Starting : GeneratorState::Running;
        g.active_epoch = a.epoch;
    }
    active_ = std::move(a);
    phase_ = barrier ? Phase::Starting : Phase::Warmup;
    bump_view();
    return {true, "Epoch " + std::to_string(active_->epoch) + " started", active_->epoch};
}

void EpochStateMachine::set_phase(Phase phase) {
    if (phase_ == phase) return;
    phase_ = phase;
    bump_view();
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
    bump_view();
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
    // A participant lost (and still silent) will not ack: its loss is already
    // the epoch's error, and waiting for it would only delay the result.
    for (const auto& id : active_->participants)
        if (!active_->stop_acks.count(id) && !active_->lost.count(id) && !active_->restarted.count(id))
            out.push_back(id);
    return out;
}

std::vector<control::GeneratorSnapshot> EpochStateMachine::generators() const {
    std::vector<control::GeneratorSnapshot> out;
    out.reserve(generators_.size());
    for (const auto& [id, g] : generators_) out.push_back(g);
    return out;
}

control::CoordinatorState EpochStateMachine::view_of(std::string_view id) const {
    const auto it = generators_.find(id);
    if (it == generators_.end()) throw RequestRejected("Unknown generator \"" + std::string(id) + "\"");
    control::CoordinatorState s;
    s.phase = phase_;
    control::SelfView v;
    if (active_) {
        s.current_epoch = active_->epoch;
        s.current_label = active_->label;
        const auto& p = active_->participants;
        v.participant = std::binary_search(p.begin(), p.end(), it->first);
        v.participant_count = p.size();
        // Fixed at start_epoch and gone with the epoch, both of which move
        // the view's version, so a changed share is always a new version.
        if (const auto share = active_->assignments.find(it->first); share != active_->assignments.end())
            v.load = share->second;
    }
    v.included = it->second.included;
    v.local_state = it->second.local_state;
    s.self = v;
    s.test = test_;
    s.connector = connector_;
    s.version = view_version_;
    return s;
}

control::CoordinatorState EpochStateMachine::snapshot() const {
    control::CoordinatorState s;
    s.phase = phase_;
    if (active_) {
        s.current_epoch = active_->epoch;
        s.current_label = active_->label;
        s.participants = active_->participants;
        s.current_epoch_errors = active_->errors;
        s.current_load = active_->assignments;
    }
    s.test = test_;
    s.connector = connector_;
    s.generators = generators();
    s.last_result = last_result_;
    s.version = version_;
    return s;
}

}  // namespace benchdist::coordinator
