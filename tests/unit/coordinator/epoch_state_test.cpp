#include "benchdist/coordinator/epoch_state.hpp"

#include <gtest/gtest.h>

using namespace benchdist;
using namespace benchdist::coordinator;
using control::GeneratorState;
using control::Phase;

namespace {

constexpr std::int64_t kT0 = 1775822400000;  // 2026-04-10T12:00:00.000Z

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const RequestRejected& e) {
        return e.what();
    }
    return "(no error)";
}

class EpochStateTest : public ::testing::Test {
protected:
    EpochStateMachine sm{"test-1", "spacetimedb"};

    // Registers like our generators do, announcing a lease unless `lease`
    // is false (the original harness's generators announce none).
    void add(const std::string& id, std::uint64_t opened, bool ready = true, bool lease = true) {
        control::RegisterRequest reg{id, id + "-host", opened};
        if (lease) reg.extra["manifest"] = control::Json{{"holdsLease", true}};
        sm.register_generator(reg, kT0);
        if (ready) sm.mark_ready({id, opened}, kT0);
    }
    StartOutcome start(std::optional<std::vector<std::string>> ids = std::nullopt,
                       std::vector<std::string> defaults = {}) {
        control::StartEpochRequest r;
        r.label = "run";
        r.generator_ids = std::move(ids);
        return sm.start_epoch(r, defaults);
    }
    const control::GeneratorSnapshot& gen(const std::string& id) {
        static control::GeneratorSnapshot found;
        for (const auto& g : sm.generators())
            if (g.id == id) found = g;
        return found;
    }
};

}  // namespace

// A generator cannot report more open connections than it registered
// for: the report is refused and changes nothing.
TEST_F(EpochStateTest, ReadyAboveTheDesiredConnectionsIsRefused) {
    sm.register_generator({"g1", "host-1", 4}, kT0);
    const auto version = sm.version();
    EXPECT_EQ(error_of([&] {
                  sm.mark_ready({"g1", 5}, kT0);
              }),
              "Generator \"g1\" reports openedConnections 5 above its desiredConnections 4 (from /register)");
    EXPECT_EQ(gen("g1").local_state, GeneratorState::Registered);
    EXPECT_EQ(gen("g1").opened_connections, 0u);
    EXPECT_EQ(sm.version(), version);
    sm.mark_ready({"g1", 4}, kT0);
    EXPECT_EQ(gen("g1").local_state, GeneratorState::Ready);
}

TEST_F(EpochStateTest, RegisterThenReadyTracksStateAndConnections) {
    sm.register_generator({"g1", "host-1", 100}, kT0);
    EXPECT_EQ(gen("g1").local_state, GeneratorState::Registered);
    EXPECT_EQ(gen("g1").opened_connections, 0u);
    EXPECT_EQ(gen("g1").desired_connections, 100u);
    EXPECT_EQ(gen("g1").last_seen_at, "2026-04-10T12:00:00.000Z");
    sm.mark_ready({"g1", 98}, kT0 + 1500);
    EXPECT_EQ(gen("g1").local_state, GeneratorState::Ready);
    EXPECT_EQ(gen("g1").opened_connections, 98u);
    EXPECT_FALSE(gen("g1").active_epoch);
    EXPECT_EQ(gen("g1").last_seen_at, "2026-04-10T12:00:01.500Z");
}

TEST_F(EpochStateTest, UnknownGeneratorMessages) {
    EXPECT_EQ(error_of([&] { sm.mark_ready({"ghost", 1}, kT0); }), "Unknown generator \"ghost\"");
    EXPECT_EQ(error_of([&] { sm.acknowledge_stopped({"ghost", 1, {}}, kT0); }), "Unknown generator \"ghost\"");
    EXPECT_EQ(error_of([&] { sm.set_included({"ghost"}, false); }), "Unknown generator \"ghost\"");
}

TEST_F(EpochStateTest, StartRefusalsInOriginalOrderAndWording) {
    EXPECT_EQ(start().message, "No ready generators available for the next epoch");
    add("b", 10);
    add("a", 5);
    add("c", 7, /*ready=*/false);
    const auto refused = start(std::vector<std::string>{"c", "a", "zz"});
    EXPECT_FALSE(refused.started);
    EXPECT_EQ(refused.message, "Requested generators are not ready: c, zz");

    const auto ok = start();
    ASSERT_TRUE(ok.started);
    EXPECT_EQ(ok.message, "Epoch 1 started");
    EXPECT_EQ(sm.phase(), Phase::Starting);
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(sm.active()->participant_connections, 15u);
    EXPECT_EQ(gen("a").local_state, GeneratorState::Starting);
    EXPECT_EQ(gen("a").active_epoch, 1u);
    EXPECT_EQ(gen("c").local_state, GeneratorState::Registered);

    const auto busy = start();
    EXPECT_FALSE(busy.started);
    EXPECT_EQ(busy.message, "Coordinator is busy in phase starting");
    sm.set_phase(Phase::Measure);
    EXPECT_EQ(start().message, "Coordinator is busy in phase measure");
}

TEST_F(EpochStateTest, RequestedSubsetAndDefaultIds) {
    add("a", 1);
    add("b", 2);
    add("c", 3);
    auto r = start(std::vector<std::string>{"c", "a"});
    ASSERT_TRUE(r.started);
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(sm.active()->participant_connections, 4u);
    sm.finish_epoch({});

    // --generator-ids applies when the request names none.
    sm.mark_ready({"a", 1}, kT0);
    sm.mark_ready({"c", 3}, kT0);
    r = start(std::nullopt, {"b"});
    ASSERT_TRUE(r.started);
    EXPECT_EQ(r.message, "Epoch 2 started");
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"b"}));
}

TEST_F(EpochStateTest, StartedAckValidation) {
    add("a", 1);
    add("b", 1);
    EXPECT_EQ(error_of([&] {
                  sm.acknowledge_started({"a", 1, {}}, kT0);
              }),
              "Generator \"a\" acknowledged unexpected epoch 1");
    ASSERT_TRUE(start(std::vector<std::string>{"a"}).started);
    EXPECT_EQ(error_of([&] {
                  sm.acknowledge_started({"a", 2, {}}, kT0);
              }),
              "Generator \"a\" acknowledged unexpected epoch 2");
    EXPECT_EQ(error_of([&] {
                  sm.acknowledge_started({"b", 1, {}}, kT0);
              }),
              "Generator \"b\" is not assigned to epoch 1");
    EXPECT_EQ(sm.missing_start_acks(), (std::vector<std::string>{"a"}));
    sm.acknowledge_started({"a", 1, {}}, kT0);
    EXPECT_TRUE(sm.missing_start_acks().empty());
    EXPECT_EQ(gen("a").local_state, GeneratorState::Running);
}

TEST_F(EpochStateTest, StopAcksCountOnlyForTheCurrentEpoch) {
    add("a", 1);
    add("b", 1);
    ASSERT_TRUE(start().started);
    sm.acknowledge_started({"a", 1, {}}, kT0);
    sm.acknowledge_started({"b", 1, {}}, kT0);
    sm.set_phase(Phase::Stop);
    // An epoch that never started is refused and changes nothing.
    EXPECT_EQ(error_of([&] {
                  sm.acknowledge_stopped({"a", 7, {}}, kT0);
              }),
              "Generator \"a\" reported stopping unexpected epoch 7: the latest epoch is 1");
    EXPECT_EQ(sm.missing_stop_acks(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(gen("a").local_state, GeneratorState::Running) << "a stale ack must not stop the current run";
    sm.acknowledge_stopped({"a", 1, {}}, kT0);
    EXPECT_EQ(sm.missing_stop_acks(), (std::vector<std::string>{"b"}));
    EXPECT_EQ(gen("a").local_state, GeneratorState::Ready);
    EXPECT_FALSE(gen("a").active_epoch);
}

TEST_F(EpochStateTest, LateJoinersTakePartFromTheNextEpoch) {
    add("a", 1);
    ASSERT_TRUE(start().started);
    add("late", 50);
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"a"}));
    EXPECT_EQ(sm.active()->participant_connections, 1u);
    EXPECT_EQ(error_of([&] {
                  sm.acknowledge_started({"late", 1, {}}, kT0);
              }),
              "Generator \"late\" is not assigned to epoch 1");
    sm.acknowledge_stopped({"a", 1, {}}, kT0);
    sm.finish_epoch({});
    const auto next = start();
    ASSERT_TRUE(next.started);
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"a", "late"}));
    EXPECT_EQ(sm.active()->participant_connections, 51u);
}

TEST_F(EpochStateTest, ReRegisterMidEpochResetsTheGenerator) {
    add("a", 10);
    ASSERT_TRUE(start().started);
    sm.acknowledge_started({"a", 1, {}}, kT0);
    sm.register_generator({"a", "new-host", 20}, kT0);
    EXPECT_EQ(gen("a").local_state, GeneratorState::Registered);
    EXPECT_EQ(gen("a").opened_connections, 0u);
    EXPECT_FALSE(gen("a").active_epoch);
    EXPECT_EQ(gen("a").hostname, "new-host");
    // Still listed as a participant of the epoch that was fixed at start.
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"a"}));
}

TEST_F(EpochStateTest, ExcludedGeneratorsAreNotChosenByDefault) {
    add("a", 1);
    add("b", 2);
    sm.set_included({"b"}, false);
    EXPECT_FALSE(gen("b").included);
    auto r = start();
    ASSERT_TRUE(r.started);
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"a"}));
    sm.finish_epoch({});
    sm.mark_ready({"a", 1}, kT0);
    // Named explicitly, an excluded generator still takes part.
    r = start(std::vector<std::string>{"b"});
    ASSERT_TRUE(r.started);
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"b"}));
    sm.finish_epoch({});
    sm.mark_ready({"b", 2}, kT0);
    // Exclusion survives re-registration; include brings it back.
    sm.register_generator({"b", "h", 2}, kT0);
    EXPECT_FALSE(gen("b").included);
    sm.mark_ready({"b", 2}, kT0);
    sm.set_included({"a"}, false);
    EXPECT_EQ(start().message, "No ready generators available for the next epoch");
    sm.set_included({"a", "b"}, true);
    ASSERT_TRUE(start().started);
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"a", "b"}));
}

TEST_F(EpochStateTest, IncludeWithAnUnknownIdChangesNothing) {
    add("a", 1);
    const auto v = sm.version();
    EXPECT_EQ(error_of([&] { sm.set_included({"a", "ghost"}, false); }), "Unknown generator \"ghost\"");
    EXPECT_TRUE(gen("a").included);
    EXPECT_EQ(sm.version(), v);
}

TEST_F(EpochStateTest, VersionBumpsOnEveryChangeButNotOnTouch) {
    auto v = sm.version();
    auto bumped = [&] {
        const bool changed = sm.version() > v;
        v = sm.version();
        return changed;
    };
    sm.register_generator({"a", "h", 1}, kT0);
    EXPECT_TRUE(bumped());
    sm.mark_ready({"a", 1}, kT0);
    EXPECT_TRUE(bumped());
    sm.touch("a", kT0 + 5000);
    EXPECT_FALSE(bumped());
    EXPECT_EQ(gen("a").last_seen_at, "2026-04-10T12:00:05.000Z");
    sm.touch("ghost", kT0);  // unknown ids are ignored
    EXPECT_FALSE(bumped());
    sm.set_included({"a"}, true);
    EXPECT_TRUE(bumped());
    EXPECT_FALSE(start(std::vector<std::string>{"zz"}).started);
    EXPECT_FALSE(bumped()) << "a refused start changes nothing";
    ASSERT_TRUE(start().started);
    EXPECT_TRUE(bumped());
    sm.acknowledge_started({"a", 1, {}}, kT0);
    EXPECT_TRUE(bumped());
    sm.set_phase(Phase::Measure);
    EXPECT_TRUE(bumped());
    sm.set_phase(Phase::Measure);
    EXPECT_FALSE(bumped());
    EXPECT_TRUE(sm.request_abort());
    EXPECT_TRUE(bumped());
    sm.set_phase(Phase::Stop);
    EXPECT_TRUE(bumped());
    sm.acknowledge_stopped({"a", 1, {}}, kT0);
    EXPECT_TRUE(bumped());
    sm.finish_epoch({});
    EXPECT_TRUE(bumped());
    EXPECT_EQ(sm.snapshot().version, sm.version());
}

TEST_F(EpochStateTest, AbortOnlyWhenAnEpochRuns) {
    EXPECT_FALSE(sm.request_abort());
    add("a", 1);
    ASSERT_TRUE(start().started);
    EXPECT_TRUE(sm.request_abort());
    EXPECT_TRUE(sm.active()->abort_requested);
    EXPECT_FALSE(sm.request_abort()) << "second abort is a no-op";
}

TEST_F(EpochStateTest, FinishRecordsResultAndReturnsToIdle) {
    add("a", 1);
    ASSERT_TRUE(start().started);
    control::EpochResult r;
    r.epoch = 1;
    r.committed_delta = "42";
    sm.finish_epoch(r);
    const auto s = sm.snapshot();
    EXPECT_EQ(s.phase, Phase::Idle);
    EXPECT_FALSE(s.current_epoch);
    EXPECT_FALSE(s.current_label);
    EXPECT_TRUE(s.participants.empty());
    ASSERT_TRUE(s.last_result);
    EXPECT_EQ(s.last_result->committed_delta, "42");
    EXPECT_TRUE(sm.missing_stop_acks().empty());
}

TEST_F(EpochStateTest, SnapshotMatchesOriginalShape) {
    add("b", 2);
    add("a", 1);
    ASSERT_TRUE(start().started);
    const auto j = control::to_json(sm.snapshot());
    EXPECT_EQ(j["phase"], "starting");
    EXPECT_EQ(j["currentEpoch"], 1);
    EXPECT_EQ(j["currentLabel"], "run");
    EXPECT_EQ(j["participants"], control::Json::array({"a", "b"}));
    EXPECT_EQ(j["test"], "test-1");
    EXPECT_EQ(j["connector"], "spacetimedb");
    ASSERT_EQ(j["generators"].size(), 2u);
    EXPECT_EQ(j["generators"][0]["id"], "a");
    EXPECT_EQ(j["generators"][0]["localState"], "starting");
    EXPECT_EQ(j["generators"][0]["activeEpoch"], 1);
    EXPECT_TRUE(j["lastResult"].is_null());
}

// ---- workload manifests ---------------------------------------------------

namespace {

void add_with_workload(EpochStateMachine& sm, const std::string& id, double alpha, const char* protocol) {
    control::RegisterRequest reg{id, id + "-host", 4};
    reg.extra["manifest"] = control::Json{{"toolVersion", "0.1.0"}, {"workload", {{"alpha", alpha}}}};
    sm.register_generator(reg, kT0);
    control::ReadyRequest ready{id, 4};
    ready.extra["negotiatedProtocol"] = protocol;
    sm.mark_ready(ready, kT0);
}

}  // namespace

TEST_F(EpochStateTest, DifferingWorkloadsAreRefusedWithoutSideEffects) {
    add_with_workload(sm, "a", 1.5, "v3.bsatn.spacetimedb");
    add_with_workload(sm, "b", 2.0, "v3.bsatn.spacetimedb");
    const auto version = sm.version();
    const auto refused = start();
    EXPECT_FALSE(refused.started);
    EXPECT_EQ(refused.message,
              "Refusing to start: the participants' workloads differ -- \"alpha\": 1.5 on a vs 2.0 on b. Start every "
              "generator with the same options, or run bench-dist-coordinator with --allow-mixed.");
    ASSERT_EQ(refused.workload_differences.size(), 1u);
    EXPECT_EQ(sm.version(), version);
    EXPECT_EQ(sm.phase(), Phase::Idle);
    EXPECT_EQ(gen("a").local_state, GeneratorState::Ready);

    // Only the selected participants are compared.
    const auto only_a = start(std::vector<std::string>{"a"});
    EXPECT_TRUE(only_a.started) << only_a.message;
    EXPECT_EQ(only_a.epoch, 1u) << "a refusal does not use up an epoch number";
    EXPECT_EQ(sm.active()->manifests.size(), 1u);
    EXPECT_EQ(sm.active()->workload.common, (control::Json{{"alpha", 1.5}}));
}

TEST_F(EpochStateTest, AllowMixedStartsAndKeepsTheDifferences) {
    add_with_workload(sm, "a", 1.5, "v3.bsatn.spacetimedb");
    add_with_workload(sm, "b", 1.5, "v2.bsatn.spacetimedb");
    control::StartEpochRequest r;
    const auto outcome = sm.start_epoch(r, {}, /*allow_mixed=*/true);
    EXPECT_TRUE(outcome.started) << outcome.message;
    EXPECT_TRUE(outcome.workload_differences.empty());
    ASSERT_EQ(sm.active()->workload.differences.size(), 1u);
    EXPECT_EQ(sm.active()->workload.differences[0].key, "negotiatedProtocol");
    EXPECT_EQ(sm.active()->workload.common, nullptr);
}

TEST_F(EpochStateTest, ReRegisterReplacesTheManifestAndOldGeneratorsStillStart) {
    add_with_workload(sm, "a", 1.5, "v3.bsatn.spacetimedb");
    add_with_workload(sm, "b", 2.0, "v3.bsatn.spacetimedb");
    // b restarts as an older generator: no manifest, nothing to compare.
    add("b", 4, true, /*lease=*/false);
    ASSERT_NE(sm.manifest("b"), nullptr);
    EXPECT_FALSE(sm.manifest("b")->manifest);
    EXPECT_FALSE(sm.manifest("b")->negotiated_protocol);
    EXPECT_EQ(sm.manifest("b")->hostname, "b-host");
    EXPECT_EQ(sm.manifest("ghost"), nullptr);
    const auto outcome = start();
    EXPECT_TRUE(outcome.started) << outcome.message;
    EXPECT_EQ(sm.active()->workload.unknown, (std::vector<std::string>{"b"}));
}

// Liveness: leases run on a monotonic clock the test passes in.
TEST_F(EpochStateTest, SilentGeneratorIsLostLeftOutAndComesBackWhenItSpeaks) {
    add("a", 1);
    add("b", 1);
    sm.heard_from("a", 0);
    sm.heard_from("b", 0);
    sm.heard_from("nobody", 0);  // unknown ids are ignored
    EXPECT_EQ(sm.next_lease_expiry(10000), 10000);
    EXPECT_TRUE(sm.expire_leases(10000, 10000).empty()) << "silence equal to the lease is not past it";
    sm.heard_from("a", 6000);
    const auto v = sm.version();
    const auto lost = sm.expire_leases(10200, 10000);
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0].id, "b");
    EXPECT_EQ(lost[0].silent_ms, 10200);
    EXPECT_FALSE(lost[0].participant);
    EXPECT_EQ(lost[0].message, "generator b lost: silent for 10.2 s");
    EXPECT_GT(sm.version(), v);
    EXPECT_EQ(gen("b").local_state, GeneratorState::Lost);
    EXPECT_EQ(control::to_json(gen("b"))["localState"], "lost");
    EXPECT_EQ(sm.next_lease_expiry(10000), 16000) << "a lost generator has no lease running";

    // Named explicitly: refused, saying why; by default: left out.
    const auto named = start(std::vector<std::string>{"a", "b"});
    EXPECT_FALSE(named.started);
    EXPECT_EQ(named.message,
              "Requested generators are lost (not heard from within the lease; they rejoin when they contact the "
              "coordinator again): b");
    EXPECT_FALSE(sm.active());
}

TEST_F(EpochStateTest, LostGeneratorIsLeftOutOfTheDefaultChoiceAndRejoinsReady) {
    add("a", 1);
    add("b", 1);
    sm.heard_from("a", 0);
    sm.heard_from("b", 0);
    sm.heard_from("a", 9000);
    ASSERT_EQ(sm.expire_leases(10500, 10000).size(), 1u);
    auto first = start();
    ASSERT_TRUE(first.started);
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"a"}));
    sm.acknowledge_stopped({"a", 1, {}}, kT0);
    sm.finish_epoch({});
    sm.heard_from("b", 11000);
    EXPECT_EQ(gen("b").local_state, GeneratorState::Ready);
    ASSERT_TRUE(start().started);
    EXPECT_EQ(sm.active()->participants, (std::vector<std::string>{"a", "b"}));
}

TEST_F(EpochStateTest, LostParticipantFlagsTheEpochAndIsNotAwaitedForItsStopAck) {
    add("a", 1);
    add("b", 1);
    sm.heard_from("a", 0);
    sm.heard_from("b", 0);
    ASSERT_TRUE(start().started);
    sm.acknowledge_started({"a", 1, {}}, kT0);
    sm.acknowledge_started({"b", 1, {}}, kT0);
    sm.set_phase(Phase::Measure);
    sm.heard_from("a", 11000);
    const auto lost = sm.expire_leases(12000, 10000);
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_TRUE(lost[0].participant);
    EXPECT_EQ(lost[0].message, "generator b lost: silent for 12.0 s during measure");
    EXPECT_EQ(sm.active()->errors, (std::vector<std::string>{"generator b lost: silent for 12.0 s during measure"}));
    EXPECT_EQ(sm.snapshot().current_epoch_errors, sm.active()->errors);
    EXPECT_EQ(control::to_json(sm.snapshot())["currentEpochErrors"][0], lost[0].message);
    sm.set_phase(Phase::Stop);
    EXPECT_EQ(sm.missing_stop_acks(), (std::vector<std::string>{"a"})) << "b is lost: not waited for";

    // Speaking again during the same epoch: back to running and awaited
    // again (it can still ack), but the epoch stays flagged.
    sm.heard_from("b", 12500);
    EXPECT_EQ(gen("b").local_state, GeneratorState::Running);
    EXPECT_EQ(sm.missing_stop_acks(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(sm.active()->errors.size(), 1u);
}

TEST_F(EpochStateTest, ParticipantLostUntilTheEpochEndedComesBackReady) {
    add("a", 1);
    sm.heard_from("a", 0);
    ASSERT_TRUE(start().started);
    sm.acknowledge_started({"a", 1, {}}, kT0);
    ASSERT_EQ(sm.expire_leases(20000, 10000).size(), 1u);
    EXPECT_EQ(sm.missing_stop_acks(), std::vector<std::string>{});
    sm.finish_epoch({});
    sm.heard_from("a", 30000);
    EXPECT_EQ(gen("a").local_state, GeneratorState::Ready);
    EXPECT_FALSE(gen("a").active_epoch);
    // A late stop ack for the old epoch changes nothing more.
    sm.acknowledge_stopped({"a", 1, {}}, kT0);
    EXPECT_EQ(gen("a").local_state, GeneratorState::Ready);
}

TEST_F(EpochStateTest, ReRegisterOfALostGeneratorStartsItOverAsRegistered) {
    add("a", 1);
    sm.heard_from("a", 0);
    ASSERT_EQ(sm.expire_leases(20000, 10000).size(), 1u);
    sm.register_generator({"a", "a-host", 1}, kT0);
    sm.heard_from("a", 20001);
    EXPECT_EQ(gen("a").local_state, GeneratorState::Registered);
    sm.mark_ready({"a", 1}, kT0);
    EXPECT_EQ(gen("a").local_state, GeneratorState::Ready);
}

// ---- generators of the original harness ----------------------------------

TEST_F(EpochStateTest, AGeneratorThatHoldsNoLeaseIsNeverLostForSilence) {
    // The original's generators poll /state without their id, so nothing
    // renews a lease between /ready and /stopped.
    add("orig", 5, true, /*lease=*/false);
    add("ours", 5);
    sm.heard_from("orig", 0);
    sm.heard_from("ours", 0);
    const auto lost = sm.expire_leases(60000, 10000);
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0].id, "ours");
    EXPECT_EQ(gen("orig").local_state, GeneratorState::Ready);
    ASSERT_TRUE(start().started);
    EXPECT_EQ(sm.active()->participants, std::vector<std::string>{"orig"});
    EXPECT_TRUE(sm.expire_leases(600000, 10000).empty());
    EXPECT_TRUE(sm.active()->errors.empty());
}

TEST_F(EpochStateTest, ReRegisteringWithoutALeaseDropsTheOldOne) {
    add("a", 1);
    sm.heard_from("a", 0);
    ASSERT_TRUE(sm.next_lease_expiry(10000).has_value());
    sm.register_generator({"a", "a-host", 1}, kT0);  // the same id, now run by the original
    sm.mark_ready({"a", 1}, kT0);
    EXPECT_FALSE(sm.next_lease_expiry(10000).has_value());
    EXPECT_TRUE(sm.expire_leases(60000, 10000).empty());
    EXPECT_EQ(gen("a").local_state, GeneratorState::Ready);
}

TEST_F(EpochStateTest, ALostLeaseHolderReRegisteringWithoutALeaseIsNotLostAgain) {
    add("a", 1);
    sm.heard_from("a", 0);
    ASSERT_EQ(sm.expire_leases(20000, 10000).size(), 1u);
    sm.register_generator({"a", "a-host", 1}, kT0);
    sm.heard_from("a", 20001);
    sm.mark_ready({"a", 1}, kT0);
    EXPECT_TRUE(sm.expire_leases(90000, 10000).empty());
    EXPECT_EQ(gen("a").local_state, GeneratorState::Ready);
}

TEST(EpochStateFirstRevision, AnEpochOpensInWarmupWithParticipantsRunningAndNoStartBarrier) {
    EpochStateMachine sm{"test-1", "spacetimedb", OriginalRevision::First};
    sm.register_generator({"g", "h", 2}, kT0);
    sm.mark_ready({"g", 2}, kT0);
    const auto out = sm.start_epoch({}, {});
    ASSERT_TRUE(out.started) << out.message;
    EXPECT_EQ(out.message, "Epoch 1 started");
    EXPECT_EQ(sm.phase(), Phase::Warmup);
    const auto s = sm.snapshot();
    ASSERT_EQ(s.generators.size(), 1u);
    // The first revision's states: registered, ready, running (no starting).
    EXPECT_EQ(s.generators[0].local_state, GeneratorState::Running);
    EXPECT_EQ(s.generators[0].active_epoch, 1u);
    EXPECT_EQ(s.participants, std::vector<std::string>{"g"});
    // A first-revision generator stops on `stop` and acknowledges it.
    sm.set_phase(Phase::Stop);
    sm.acknowledge_stopped({"g", 1, {}}, kT0);
    EXPECT_TRUE(sm.missing_stop_acks().empty());
    EXPECT_EQ(sm.generators()[0].local_state, GeneratorState::Ready);
}

TEST(EpochStateFirstRevision, TheFinalRevisionStillStartsInStarting) {
    EpochStateMachine sm{"test-1", "spacetimedb"};
    sm.register_generator({"g", "h", 2}, kT0);
    sm.mark_ready({"g", 2}, kT0);
    ASSERT_TRUE(sm.start_epoch({}, {}).started);
    EXPECT_EQ(sm.phase(), Phase::Starting);
    EXPECT_EQ(sm.generators()[0].local_state, GeneratorState::Starting);
    EXPECT_EQ(sm.missing_start_acks(), std::vector<std::string>{"g"});
}

// ---- per-epoch load ------------------------------------------------------

namespace {

// Registers like our current generators: a lease, and the epoch's load
// applied (appliesEpochLoad) unless `applies` is false.
void add_loaded(EpochStateMachine& sm, const std::string& id, std::uint64_t opened, bool applies = true) {
    control::RegisterRequest reg{id, id + "-host", opened};
    reg.extra["manifest"] = control::Json{{"holdsLease", true}, {"appliesEpochLoad", applies}};
    sm.register_generator(reg, kT0);
    sm.mark_ready({id, opened}, kT0);
}

control::StartEpochRequest with_load(const control::EpochLoadRequest& load) {
    control::StartEpochRequest r;
    r.load = load;
    return r;
}

}  // namespace

TEST_F(EpochStateTest, AnEpochsLoadIsSplitAndEachShareIsInItsGeneratorsView) {
    add_loaded(sm, "gen-a", 30);
    add_loaded(sm, "gen-b", 10);
    add_loaded(sm, "gen-c", 8);
    control::EpochLoadRequest load;
    load.connections = 20;
    load.rate = 1000;
    load.alpha = 0.5;
    auto request = with_load(load);
    request.generator_ids = {{"gen-a", "gen-b"}};
    request.timing.window_seconds = 5;
    const auto view_before = sm.view_version();
    const auto outcome = sm.start_epoch(request, {});
    ASSERT_TRUE(outcome.started) << outcome.message;
    EXPECT_GT(sm.view_version(), view_before);

    // 20 over 30 + 10 opened: 15 and 5; the rate follows: 750 and 250.
    const auto& active = *sm.active();
    EXPECT_EQ(active.load, load);
    EXPECT_EQ(active.timing.window_seconds, 5.0);
    ASSERT_EQ(active.assignments.size(), 2u);
    EXPECT_EQ(active.assignments.at("gen-a").connections, 15u);
    EXPECT_EQ(active.assignments.at("gen-b").connections, 5u);
    EXPECT_EQ(active.assignments.at("gen-a").rate, 750.0);
    EXPECT_EQ(active.assignments.at("gen-b").alpha, 0.5);

    const auto a = sm.view_of("gen-a");
    ASSERT_TRUE(a.self && a.self->load);
    EXPECT_EQ(*a.self->load, active.assignments.at("gen-a"));
    EXPECT_EQ(control::to_json(a)["load"], (control::Json{{"connections", 15}, {"rate", 750}, {"alpha", 0.5}}));
    EXPECT_FALSE(sm.view_of("gen-c").self->load) << "not a participant: no share";
    EXPECT_EQ(sm.snapshot().current_load, active.assignments);

    // Until the epoch ends: then no share anywhere, and the view moved.
    sm.set_phase(Phase::Measure);
    EXPECT_TRUE(sm.view_of("gen-b").self->load);
    const auto view_during = sm.view_version();
    sm.finish_epoch({});
    EXPECT_GT(sm.view_version(), view_during);
    EXPECT_FALSE(sm.view_of("gen-a").self->load);
    EXPECT_TRUE(sm.snapshot().current_load.empty());
    EXPECT_FALSE(control::to_json(sm.snapshot()).contains("currentLoad"));
}

TEST_F(EpochStateTest, AnEpochWithoutALoadPublishesNoShare) {
    add_loaded(sm, "gen-a", 4);
    ASSERT_TRUE(start().started);
    EXPECT_FALSE(sm.view_of("gen-a").self->load);
    EXPECT_FALSE(control::to_json(sm.view_of("gen-a")).contains("load"));
    EXPECT_TRUE(sm.active()->assignments.empty());
}

TEST_F(EpochStateTest, ALoadSomeParticipantCannotRunIsRefusedNamingEachAndChangesNothing) {
    add_loaded(sm, "gen-a", 64);
    add_loaded(sm, "gen-b", 8);
    add("gen-old", 64);  // no appliesEpochLoad: an older generator
    control::EpochLoadRequest load;
    load.connections_per_generator = 16;
    const auto version = sm.version();
    const auto outcome = sm.start_epoch(with_load(load), {});
    EXPECT_FALSE(outcome.started);
    ASSERT_EQ(outcome.load_refusals.size(), 2u);
    EXPECT_EQ(outcome.load_refusals[0].generator, "gen-old");
    EXPECT_EQ(outcome.load_refusals[1].generator, "gen-b");
    EXPECT_EQ(outcome.message,
              "Refusing to start: the epoch's load cannot be applied -- gen-old does not apply per-epoch load: it is "
              "the original harness's generator or an older bench-dist-generator; leave it out with --generator-ids "
              "or exclude it; gen-b's share is 16 active connections but it opened 8; ask for at most 8 connections "
              "per generator, start gen-b with a larger --concurrency, or leave it out with --generator-ids.");
    EXPECT_FALSE(sm.active());
    EXPECT_EQ(sm.phase(), Phase::Idle);
    EXPECT_EQ(sm.version(), version);
    EXPECT_EQ(gen("gen-a").local_state, GeneratorState::Ready);

    // Leaving them out starts it.
    auto request = with_load(load);
    request.generator_ids = {{"gen-a"}};
    EXPECT_TRUE(sm.start_epoch(request, {}).started);
}

// Two generators started with different alphas and in-flight counts run the
// same workload when the epoch sets both.
TEST_F(EpochStateTest, TheLoadsSharesReplaceTheRegisteredWorkloadBeforeItIsCompared) {
    for (const auto& [id, alpha] : {std::pair{"gen-a", 1.5}, std::pair{"gen-b", 0.5}}) {
        control::RegisterRequest reg{id, "h", 8};
        reg.extra["manifest"] =
            control::Json{{"holdsLease", true},
                          {"appliesEpochLoad", true},
                          {"workload", {{"alpha", alpha}, {"maxInflight", 1}, {"rateMode", "closed"}}}};
        sm.register_generator(reg, kT0);
        sm.mark_ready({id, 8}, kT0);
    }
    EXPECT_FALSE(start().started) << "without a load the alphas differ";
    control::EpochLoadRequest load;
    load.alpha = 1;
    load.inflight = 4;
    load.rate_per_generator = 10;
    const auto outcome = sm.start_epoch(with_load(load), {});
    ASSERT_TRUE(outcome.started) << outcome.message;
    EXPECT_EQ(sm.active()->workload.common, (control::Json{{"alpha", 1.0}, {"maxInflight", 4}, {"rateMode", "open"}}));
    EXPECT_EQ(sm.active()->manifests.at("gen-b").manifest->workload["alpha"], 0.5) << "the registered one is kept";
}

TEST_F(EpochStateTest, ALoadThatSetsNothingIsNoLoad) {
    add("gen-old", 4);  // would be refused by any load
    const auto outcome = sm.start_epoch(with_load({}), {});
    ASSERT_TRUE(outcome.started) << outcome.message;
    EXPECT_FALSE(sm.active()->load);
    EXPECT_TRUE(sm.active()->assignments.empty());
    EXPECT_FALSE(sm.view_of("gen-old").self->load);
}
