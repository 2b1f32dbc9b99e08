// apply_epoch_timing: what a start request's timing keys do to the options
// of that one epoch.
#include <gtest/gtest.h>

#include "benchdist/coordinator/coordinator_options.hpp"

namespace bc = benchdist::coordinator;

TEST(EpochTiming, NothingSetKeepsTheCommandLine) {
    bc::CoordinatorOptions o;
    o.warmup_seconds = 3;
    o.window_seconds = 20;
    const auto e = bc::apply_epoch_timing(o, {});
    EXPECT_EQ(e.warmup_seconds, 3);
    EXPECT_EQ(e.window_seconds, 20);
    EXPECT_FALSE(e.warmup_auto);
}

TEST(EpochTiming, AnEpochMayAskForASteadyStateWarmupWithItsParameters) {
    bc::CoordinatorOptions o;
    o.warmup_seconds = 3;
    benchdist::control::EpochTiming t;
    t.warmup_auto = true;
    t.stable_cv = 0.1;
    t.stable_seconds = 2;
    t.warmup_max_seconds = 30;
    t.window_seconds = 5;
    const auto e = bc::apply_epoch_timing(o, t);
    EXPECT_TRUE(e.warmup_auto);
    EXPECT_DOUBLE_EQ(e.stable_cv, 0.1);
    EXPECT_DOUBLE_EQ(e.stable_seconds, 2);
    EXPECT_DOUBLE_EQ(e.warmup_max_seconds, 30);
    EXPECT_DOUBLE_EQ(e.window_seconds, 5);
}

TEST(EpochTiming, AFixedWarmupTurnsOffTheCommandLinesAutoWarmupForThatEpoch) {
    bc::CoordinatorOptions o;
    o.warmup_auto = true;
    benchdist::control::EpochTiming t;
    t.warmup_seconds = 1.5;
    const auto e = bc::apply_epoch_timing(o, t);
    EXPECT_FALSE(e.warmup_auto);
    EXPECT_DOUBLE_EQ(e.warmup_seconds, 1.5);
    // Parameters alone tune the command line's auto warmup.
    t = {};
    t.stable_cv = 0.2;
    const auto tuned = bc::apply_epoch_timing(o, t);
    EXPECT_TRUE(tuned.warmup_auto);
    EXPECT_DOUBLE_EQ(tuned.stable_cv, 0.2);
}
