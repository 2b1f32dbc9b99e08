#include "benchdist/generator/agent.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace benchdist::generator {
namespace {

using control::CoordinatorState;
using control::Phase;

CoordinatorState state(Phase phase, std::optional<std::uint64_t> epoch, std::vector<std::string> participants) {
    CoordinatorState s;
    s.phase = phase;
    s.current_epoch = epoch;
    s.participants = std::move(participants);
    return s;
}

TEST(AgentDecide, StartsWhenStartingOrWarmupAndParticipant) {
    EXPECT_EQ(decide(state(Phase::Starting, 4, {"a", "me"}), "me", std::nullopt),
              (AgentDecision{AgentAction::Start, 4, true}));
    EXPECT_EQ(decide(state(Phase::Warmup, 2, {"me"}), "me", std::nullopt),
              (AgentDecision{AgentAction::Start, 2, false}));
}

// Only `starting` is a start barrier: warmup is the original's first
// revision (no barrier, no /started route) or ours after the barrier.
TEST(AgentDecide, AcknowledgesTheStartOnlyInTheStartingPhase) {
    EXPECT_TRUE(decide(state(Phase::Starting, 4, {"me"}), "me", std::nullopt).acknowledge);
    EXPECT_FALSE(decide(state(Phase::Warmup, 4, {"me"}), "me", std::nullopt).acknowledge);
    EXPECT_FALSE(decide(state(Phase::Starting, 4, {"me"}), "me", 3).acknowledge) << "a stop acknowledges nothing";
}

TEST(AgentDecide, NeverStartsTheEpochThatEndedAgain) {
    for (Phase p : {Phase::Starting, Phase::Warmup}) {
        EXPECT_EQ(decide(state(p, 4, {"me"}), "me", std::nullopt, 4).action, AgentAction::None)
            << control::phase_name(p);
        EXPECT_EQ(decide(state(p, 5, {"me"}), "me", std::nullopt, 4),
                  (AgentDecision{AgentAction::Start, 5, p == Phase::Starting}))
            << control::phase_name(p);
    }
    // It does not keep a running epoch from being stopped.
    EXPECT_EQ(decide(state(Phase::Stop, 4, {"me"}), "me", 4, 4), (AgentDecision{AgentAction::Stop, 4}));
}

TEST(AgentDecide, DoesNotStartWhenNotParticipantOrWrongPhaseOrNoEpoch) {
    EXPECT_EQ(decide(state(Phase::Starting, 4, {"a", "b"}), "me", std::nullopt).action, AgentAction::None);
    EXPECT_EQ(decide(state(Phase::Idle, std::nullopt, {}), "me", std::nullopt).action, AgentAction::None);
    // The original never joins an epoch that is already measuring.
    EXPECT_EQ(decide(state(Phase::Measure, 4, {"me"}), "me", std::nullopt).action, AgentAction::None);
    EXPECT_EQ(decide(state(Phase::Stop, 4, {"me"}), "me", std::nullopt).action, AgentAction::None);
    EXPECT_EQ(decide(state(Phase::Starting, std::nullopt, {"me"}), "me", std::nullopt).action, AgentAction::None);
}

TEST(AgentDecide, KeepsRunningThroughStartingWarmupAndMeasure) {
    for (Phase p : {Phase::Starting, Phase::Warmup, Phase::Measure}) {
        EXPECT_EQ(decide(state(p, 7, {"me"}), "me", 7).action, AgentAction::None) << control::phase_name(p);
    }
}

TEST(AgentDecide, StopsOnStopPhaseIdleOtherEpochOrRemoval) {
    EXPECT_EQ(decide(state(Phase::Stop, 7, {"me"}), "me", 7), (AgentDecision{AgentAction::Stop, 7}));
    EXPECT_EQ(decide(state(Phase::Idle, std::nullopt, {}), "me", 7), (AgentDecision{AgentAction::Stop, 7}));
    EXPECT_EQ(decide(state(Phase::Measure, 7, {"other"}), "me", 7), (AgentDecision{AgentAction::Stop, 7}));
    // A newer epoch that includes us: stop the old one first; the next poll starts the new one.
    EXPECT_EQ(decide(state(Phase::Starting, 8, {"me"}), "me", 7), (AgentDecision{AgentAction::Stop, 7}));
    EXPECT_EQ(decide(state(Phase::Starting, 8, {"me"}), "me", std::nullopt, 7),
              (AgentDecision{AgentAction::Start, 8, true}));
}

TEST(ControlLease, RenewedByAnswersExpiresAfterItsLengthAndAdoptsTheCoordinators) {
    const auto t0 = ControlLease::Clock::time_point{} + std::chrono::hours(1);
    ControlLease lease(std::chrono::milliseconds(10000), t0);
    EXPECT_EQ(lease.deadline(), t0 + std::chrono::seconds(10));
    EXPECT_FALSE(lease.expired(t0 + std::chrono::milliseconds(9999)));
    EXPECT_TRUE(lease.expired(t0 + std::chrono::seconds(10)));
    lease.renew(t0 + std::chrono::seconds(5));
    EXPECT_FALSE(lease.expired(t0 + std::chrono::seconds(14)));
    EXPECT_EQ(lease.silent_for(t0 + std::chrono::seconds(7)), std::chrono::seconds(2));
    lease.adopt(std::nullopt);  // an older coordinator: keep ours
    lease.adopt(0.0);
    EXPECT_EQ(lease.length(), std::chrono::seconds(10));
    lease.adopt(2.5);
    EXPECT_EQ(lease.length(), std::chrono::milliseconds(2500));
    EXPECT_TRUE(lease.expired(t0 + std::chrono::milliseconds(7500)));
    // Long-polls end well inside the lease.
    EXPECT_EQ(lease.poll_wait(std::chrono::milliseconds(1000)), std::chrono::milliseconds(625));
    EXPECT_EQ(lease.poll_wait(std::chrono::milliseconds(100)), std::chrono::milliseconds(100));
}

TEST(Backoff, DoublesUpToTheCapWithHalfOfEachStepRandomised) {
    Backoff b(std::chrono::milliseconds(250), std::chrono::milliseconds(10000));
    EXPECT_EQ(b.next(0.0), std::chrono::milliseconds(125));    // 250: 125..250
    EXPECT_EQ(b.next(0.999), std::chrono::milliseconds(499));  // 500: 250..500
    EXPECT_EQ(b.next(0.5), std::chrono::milliseconds(750));    // 1000
    std::vector<std::chrono::milliseconds> steps;
    for (int i = 0; i < 6; ++i) {
        steps.push_back(b.step());
        b.next(1.0);
    }
    EXPECT_EQ(steps,
              (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(2000), std::chrono::milliseconds(4000),
                                                      std::chrono::milliseconds(8000), std::chrono::milliseconds(10000),
                                                      std::chrono::milliseconds(10000),
                                                      std::chrono::milliseconds(10000)}));
    EXPECT_EQ(b.next(1.0), std::chrono::milliseconds(10000));
    b.reset();
    EXPECT_EQ(b.step(), std::chrono::milliseconds(250));
}

}  // namespace
}  // namespace benchdist::generator
