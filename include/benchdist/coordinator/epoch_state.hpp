// The coordinator's epoch state machine: which generators exist and in what
// state, who takes part in the current epoch, its phase, and which start and
// stop acknowledgements have arrived. Pure logic with no sockets, threads or
// clocks (the caller passes the time in), so every rule of the original
// TypeScript harness -- including its exact error and start-epoch messages --
// can be tested directly. The EpochRunner drives the phases and the HTTP
// routes feed the generator requests; both hold the Coordinator's lock while
// they call in here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/coordinator/coordinator_options.hpp"
#include "benchdist/coordinator/load_split.hpp"
#include "benchdist/coordinator/manifest.hpp"

namespace benchdist::coordinator {

// A generator's or an admin's request the state machine refuses; the routes
// answer it with 400 and the message as {"error": ...}. (The generator's own
// generator::CoordinatorError is the other side: a call the coordinator
// refused or never answered.)
class RequestRejected : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The epoch in progress, as fixed when it was started.
struct ActiveEpoch {
    std::uint64_t epoch = 0;
    std::optional<std::string> label;
    std::vector<std::string> participants;  // sorted
    std::uint64_t participant_connections = 0;
    std::set<std::string> start_acks;
    std::set<std::string> stop_acks;
    // The optional extra fields each participant sent with /stopped
    // (counters, settings), copied into the result as generatorReports.
    std::map<std::string, control::Json> stop_reports;
    bool abort_requested = false;
    // Participants that went silent past their lease during this epoch (the
    // stop-ack wait does not wait for those still lost), and one message
    // per loss for the result's error.
    std::set<std::string> lost;
    std::vector<std::string> errors;
    // Participants that restarted (a new process under their id) before
    // acknowledging the stop: not waited for either, one message each
    // (also in `errors`).
    std::set<std::string> restarted;
    std::vector<std::string> restarts;
    // How long the coordinator itself did not run, each time it noticed
    // (Coordinator's stall watch), while this epoch ran.
    std::vector<std::int64_t> stalls_ms;
    // What each participant asked for and had open when the epoch started:
    // id -> (desiredConnections, openedConnections).
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> connections;
    // What start-epoch asked of this epoch's verdict on top of the
    // coordinator's own (checked when the request was parsed).
    std::vector<std::string> thresholds;
    std::vector<std::string> tolerate;
    // What the participants said about themselves when the epoch started
    // (a re-register during the epoch does not change what this one ran),
    // and how their workloads compared (each with its share of the load
    // in place of the options the load sets: see compare_workloads).
    ManifestsById manifests;
    WorkloadComparison workload;
    // This epoch's load as start-epoch asked for it, each participant's
    // share of it (load_split.hpp; empty without a load), published in
    // /state until the epoch ends, and its timing.
    std::optional<control::EpochLoadRequest> load;
    std::map<std::string, control::LoadAssignment> assignments;
    control::EpochTiming timing;
};

// A generator whose lease ran out, as expire_leases() reports it.
struct LostGenerator {
    std::string id;
    std::int64_t silent_ms = 0;
    bool participant = false;  // of the running epoch
    // "generator gen-b lost: silent for 10.2 s during measure" (participants)
    // or "... silent for 10.2 s" (others).
    std::string message;
};

struct StartOutcome {
    bool started = false;
    std::string message;
    std::uint64_t epoch = 0;  // when started
    // Set when the refusal is because the participants' workloads differ.
    std::vector<WorkloadDifference> workload_differences = {};
    // Set when the refusal is because the epoch's load cannot be applied.
    std::vector<LoadRefusal> load_refusals = {};
};

class EpochStateMachine {
public:
    // `revision`: how an epoch starts (see OriginalRevision): Final puts
    // participants in `starting` and waits for their /started; First puts
    // them straight in `running` under phase `warmup`, as the original's
    // first revision did.
    EpochStateMachine(std::string test, std::string connector, OriginalRevision revision = OriginalRevision::Final);

    // Generator requests. Unknown ids throw RequestRejected
    // `Unknown generator "<id>"` (except register, which creates them).
    void register_generator(const control::RegisterRequest& request, std::int64_t now_ms);
    // Refuses (RequestRejected, nothing changed) openedConnections above
    // the desiredConnections the generator registered with.
    void mark_ready(const control::ReadyRequest& request, std::int64_t now_ms);
    void acknowledge_started(const control::EpochAckRequest& request, std::int64_t now_ms);
    void acknowledge_stopped(const control::EpochAckRequest& request, std::int64_t now_ms);
    // Records contact from a known id (GET /state?id=...). It deliberately
    // does not bump the version: every poll would otherwise wake every other
    // long-polling generator, which would then poll and wake the rest.
    void touch(std::string_view id, std::int64_t now_ms);

    // Liveness, on a monotonic clock in ms (a wall-clock step must not lose
    // every generator at once), for generators that hold a lease (their
    // /register manifest says holdsLease): the original harness's
    // generators poll /state without their id, so they could never renew
    // one, and keep its semantics -- never lost for silence, a dead one
    // found by its missing stop acknowledgement. Records that a known
    // lease holder was heard from; one that was lost comes back in the state it had, or ready when
    // the epoch it ran is over, and so joins the next epoch. Unknown ids are
    // ignored (their request is refused anyway). Coming back does not bump
    // the version: under overload whole batches of generators are lost and
    // heard again, and a bump each time would answer every held long-poll
    // at once, feeding the overload; start_epoch() reads the state itself,
    // and watchers see it with the next change or when their wait ends.
    void heard_from(std::string_view id, std::int64_t mono_ms);
    // Marks every generator not heard from for more than lease_ms lost and
    // returns them. A lost participant of the running epoch is recorded in
    // it (ActiveEpoch::lost and ::errors) at once.
    std::vector<LostGenerator> expire_leases(std::int64_t mono_ms, std::int64_t lease_ms);
    // The coordinator did not run for `stalled_ms` (it noticed its own
    // timers firing that late): every lease restarts at `mono_ms`, since
    // the silence was the coordinator's, not the generators', and a running
    // epoch records the stall.
    void coordinator_stalled(std::int64_t mono_ms, std::int64_t stalled_ms);
    // When the next lease runs out (mono ms); nullopt when none runs. O(1):
    // the notifier asks after every wake-up.
    std::optional<std::int64_t> next_lease_expiry(std::int64_t lease_ms) const;
    // Include or exclude generators from the default choice of participants.
    // All ids are checked before any is changed.
    void set_included(const std::vector<std::string>& ids, bool included);

    // The admin request. `default_ids` (--generator-ids) applies when the
    // request names none. Refusals come back as started=false, not as errors,
    // as in the original. A request with a load is split over the
    // participants (split_epoch_load) and refused (load_refusals set) when a
    // participant cannot run its share. Participants whose workloads differ
    // -- after their shares of the load replace what it sets -- are refused
    // (with workload_differences set) unless `allow_mixed`.
    StartOutcome start_epoch(const control::StartEpochRequest& request, const std::vector<std::string>& default_ids,
                             bool allow_mixed = false);

    // Runner side.
    void set_phase(control::Phase phase);
    // Asks the runner to close the window now; false when no epoch runs.
    bool request_abort();
    // Records the result, clears the epoch and goes back to idle.
    void finish_epoch(control::EpochResult result);

    control::Phase phase() const { return phase_; }
    const std::optional<ActiveEpoch>& active() const { return active_; }
    std::vector<std::string> missing_start_acks() const;
    std::vector<std::string> missing_stop_acks() const;
    std::uint64_t version() const { return version_; }
    // The version of every generator's compact view: moves only when
    // something a view shows to generators can change (phase, epoch and
    // participants, include/exclude), so registrations, acks and losses
    // elsewhere in the fleet do not wake every generator's long-poll.
    std::uint64_t view_version() const { return view_version_; }
    bool is_known(std::string_view id) const { return generators_.find(std::string(id)) != generators_.end(); }
    // What the generator said in its last /register and /ready; nullptr for
    // an unknown id.
    const GeneratorManifest* manifest(std::string_view id) const;

    control::CoordinatorState snapshot() const;
    // The compact view for one generator (CoordinatorState::self set), in
    // O(log fleet); its version is view_version(). Throws RequestRejected
    // `Unknown generator "<id>"` for an id that never registered, so a
    // generator polling a restarted coordinator learns to register again.
    control::CoordinatorState view_of(std::string_view id) const;
    std::vector<control::GeneratorSnapshot> generators() const;

private:
    control::GeneratorSnapshot& find(const std::string& id);
    void bump() { ++version_; }
    // A change generators' views show: both versions move.
    void bump_view() {
        ++version_;
        ++view_version_;
    }

    bool holds_lease(const std::string& id) const;
    // A participant of the running epoch that has not acknowledged its stop
    // came back as a new process (/register or /ready with another
    // incarnation, or a /register from a generator that sends none, as the
    // original's do only when they start): records the restart.
    void check_restart(const std::string& id, const std::optional<std::string>& new_incarnation, bool registering);
    // Forgets id's lease (a re-register by a generator that holds none).
    void drop_lease(const std::string& id);

    std::string test_;
    std::string connector_;
    OriginalRevision revision_;
    control::Phase phase_ = control::Phase::Idle;
    std::map<std::string, control::GeneratorSnapshot, std::less<>> generators_;
    // Kept apart from the snapshots: GET /state is polled constantly and
    // must stay small.
    ManifestsById manifests_;
    std::map<std::string, std::int64_t, std::less<>> heard_ms_;
    // (heard_ms_, id) of every generator in heard_ms_ that is not lost,
    // oldest first: expire_leases() and next_lease_expiry() look only at
    // the front instead of walking the fleet on every notifier wake-up.
    std::set<std::pair<std::int64_t, std::string>> lease_order_;
    // The state a lost generator had, to return to when it speaks again.
    std::map<std::string, control::GeneratorState, std::less<>> before_lost_;
    std::optional<ActiveEpoch> active_;
    std::optional<control::EpochResult> last_result_;
    std::uint64_t next_epoch_ = 1;
    std::uint64_t version_ = 1;
    std::uint64_t view_version_ = 1;
};

// "a, b" -- how the original lists ids in its messages.
std::string join_ids(const std::vector<std::string>& ids);

}  // namespace benchdist::coordinator
