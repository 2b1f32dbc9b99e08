// The steady-state rules (stats/steady_state.hpp) on synthetic counter
// series: when `--warmup auto` may open the window, and how a window's
// stability is classified.
#include "benchdist/stats/steady_state.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace benchdist::stats {
namespace {

// Reads every `step_ms` from t = 0, the counter growing by each rate in turn
// (counts/s) over one step.
std::vector<CounterPoint> series(const std::vector<double>& rates, std::int64_t step_ms = 1000) {
    std::vector<CounterPoint> out{{0, 1000}};
    double counter = 1000;
    for (const double r : rates) {
        counter += r * static_cast<double>(step_ms) / 1000.0;
        out.push_back({out.back().at_ms + step_ms, static_cast<std::uint64_t>(counter)});
    }
    return out;
}

std::vector<RateStep> steps_of(const std::vector<double>& rates) {
    const auto reads = series(rates);
    return rate_steps(reads);
}

TEST(RateSteps, RatesBetweenConsecutiveReads) {
    const std::vector<CounterPoint> reads{{0, 0}, {1000, 500}, {1500, 1000}, {1500, 1200}, {2500, 1200}};
    const auto steps = rate_steps(reads);
    ASSERT_EQ(steps.size(), 3u);  // the read at the same time spans nothing
    EXPECT_DOUBLE_EQ(steps[0].per_second, 500);
    EXPECT_DOUBLE_EQ(steps[1].per_second, 1000);
    EXPECT_DOUBLE_EQ(steps[2].per_second, 200);  // from the read at 1500 ms that counted
}

TEST(RateSteps, CounterGoingBackwardsIsARateOfZero) {
    const std::vector<CounterPoint> reads{{0, 1000}, {1000, 2000}, {2000, 10}};
    const auto steps = rate_steps(reads);
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_DOUBLE_EQ(steps[1].per_second, 0);
}

TEST(SteadyRule, RatesNeededIsWholeSecondsAndAtLeastTwo) {
    EXPECT_EQ((SteadyRule{0.05, 5}.rates_needed()), 5u);
    EXPECT_EQ((SteadyRule{0.05, 2.5}.rates_needed()), 3u);
    EXPECT_EQ((SteadyRule{0.05, 1}.rates_needed()), 2u);
}

TEST(SteadyCheck, ConstantRateIsStable) {
    const auto c = check_steady(steps_of({1000, 1000, 1000, 1000, 1000}), {0.05, 5});
    EXPECT_TRUE(c.stable);
    ASSERT_TRUE(c.cv);
    EXPECT_NEAR(*c.cv, 0, 1e-9);
    EXPECT_NEAR(c.mean, 1000, 1e-9);
}

TEST(SteadyCheck, FewerRatesThanNeededIsNotYet) {
    const auto c = check_steady(steps_of({1000, 1000, 1000, 1000}), {0.05, 5});
    EXPECT_FALSE(c.stable);
    EXPECT_FALSE(c.cv);
}

TEST(SteadyCheck, RampIsNotStableUntilItSettles) {
    // Climbing by 20% a second, then flat: only the flat tail is stable.
    const std::vector<double> ramp{100, 200, 400, 800, 1000, 1000, 1000};
    const SteadyRule rule{0.05, 3};
    const auto climbing = check_steady(steps_of({100, 200, 400, 800}), rule);
    EXPECT_FALSE(climbing.stable);
    ASSERT_TRUE(climbing.cv);
    EXPECT_GT(*climbing.cv, 0.05);
    EXPECT_FALSE(check_steady(steps_of({100, 200, 400, 800, 1000, 1000}), rule).stable);
    EXPECT_TRUE(check_steady(steps_of(ramp), rule).stable);
}

TEST(SteadyCheck, CvAtTheLimitIsStableAndJustAboveIsNot) {
    // Two rates 900 and 1100: mean 1000, population sd 100, CV 0.10.
    EXPECT_TRUE(check_steady(steps_of({900, 1100}), {0.10, 2}).stable);
    EXPECT_FALSE(check_steady(steps_of({890, 1110}), {0.10, 2}).stable);
}

TEST(SteadyCheck, ZeroMeanIsNeverStable) {
    const auto c = check_steady(steps_of({0, 0, 0}), {0.05, 3});
    EXPECT_FALSE(c.stable);
    EXPECT_FALSE(c.cv);
}

TEST(SteadyCheck, OnlyTheLastRatesCount) {
    // A wild start does not hold back a steady end.
    EXPECT_TRUE(check_steady(steps_of({0, 5000, 10, 1000, 1010, 990}), {0.05, 3}).stable);
}

TEST(WindowStability, ConstantIsClassifiedWithoutWarning) {
    const auto w = window_stability(series({1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}));
    EXPECT_EQ(w.samples, 8u);
    EXPECT_TRUE(w.classified);
    EXPECT_EQ(w.warning, StabilityWarning::None);
    ASSERT_TRUE(w.cv);
    EXPECT_NEAR(*w.cv, 0, 1e-9);
    ASSERT_TRUE(w.slope_per_second);
    EXPECT_NEAR(*w.slope_per_second, 0, 1e-9);
    EXPECT_NEAR(w.mean_per_second, 1000, 1e-9);
    EXPECT_NEAR(w.seconds, 8, 1e-9);
}

TEST(WindowStability, RampUpIsNotAWarning) {
    const auto w = window_stability(series({800, 850, 900, 950, 1000, 1050, 1100, 1150}));
    EXPECT_TRUE(w.classified);
    EXPECT_EQ(w.warning, StabilityWarning::None);
    ASSERT_TRUE(w.slope_per_second);
    EXPECT_NEAR(*w.slope_per_second, 50, 1e-6);
    ASSERT_TRUE(w.relative_slope_per_second);
    EXPECT_NEAR(*w.relative_slope_per_second, 50.0 / 975.0, 1e-6);
}

TEST(WindowStability, RampDownIsDecaying) {
    // -50/s per second over 8 s loses 400/s, 41% of the mean 975/s.
    const auto w = window_stability(series({1150, 1100, 1050, 1000, 950, 900, 850, 800}));
    EXPECT_TRUE(w.classified);
    EXPECT_EQ(w.warning, StabilityWarning::Decaying);
    ASSERT_TRUE(w.slope_per_second);
    EXPECT_NEAR(*w.slope_per_second, -50, 1e-6);
    EXPECT_NE(w.note.find("fell by"), std::string::npos) << w.note;
}

TEST(WindowStability, DecayIsMoreThanATenthOfTheMeanOverTheWindow) {
    // 1005 down to 995 over 10 s: the line loses 1% of the mean.
    EXPECT_EQ(window_stability(series({1005, 1004, 1003, 1002, 1001, 999, 998, 997, 996, 995})).warning,
              StabilityWarning::None);
    // Slope -9/s per second over 10 s: 90/s, 9% of the mean 1000/s.
    EXPECT_EQ(
        window_stability(series({1040.5, 1031.5, 1022.5, 1013.5, 1004.5, 995.5, 986.5, 977.5, 968.5, 959.5})).warning,
        StabilityWarning::None);
    // Slope -11/s per second over 10 s: 110/s, 11%.
    EXPECT_EQ(
        window_stability(series({1049.5, 1038.5, 1027.5, 1016.5, 1005.5, 994.5, 983.5, 972.5, 961.5, 950.5})).warning,
        StabilityWarning::Decaying);
}

TEST(WindowStability, LastQuarterFarBelowTheRestIsCollapsed) {
    const auto w = window_stability(series({1000, 1000, 1000, 1000, 1000, 1000, 100, 100}));
    EXPECT_TRUE(w.classified);
    EXPECT_EQ(w.warning, StabilityWarning::Collapsed);
    EXPECT_NE(w.note.find("last quarter"), std::string::npos) << w.note;
}

TEST(WindowStability, AZeroCommitStepAfterTheFirstIsCollapsed) {
    // Recovers afterwards, so the last quarter alone would not say it.
    const auto w = window_stability(series({1000, 1000, 0, 1000, 1000, 1000, 1000, 1000}));
    EXPECT_EQ(w.warning, StabilityWarning::Collapsed);
    EXPECT_NE(w.note.find("nothing was committed"), std::string::npos) << w.note;
}

TEST(WindowStability, AnIdleFirstStepIsNotACollapse) {
    // The first step can still be the load starting; it is not a stall.
    const auto w = window_stability(series({0, 1000, 1000, 1000, 1000, 1000, 1000, 1000}));
    EXPECT_NE(w.warning, StabilityWarning::Collapsed) << w.note;
}

TEST(WindowStability, ZeroCommitStepAtATrickleIsNotACollapse) {
    // At 2 commits/s an empty second is expected, not a stall.
    const auto w = window_stability(series({2, 2, 0, 4, 2, 2, 2, 2}));
    EXPECT_NE(w.warning, StabilityWarning::Collapsed) << w.note;
}

TEST(WindowStability, ZeroMeanIsNotClassified) {
    const auto w = window_stability(series({0, 0, 0, 0}));
    EXPECT_EQ(w.samples, 4u);
    EXPECT_FALSE(w.classified);
    EXPECT_FALSE(w.cv);
    EXPECT_FALSE(w.relative_slope_per_second);
    EXPECT_NE(w.note.find("nothing was committed"), std::string::npos) << w.note;
}

TEST(WindowStability, TwoSamplesAreTooFewToClassify) {
    const auto w = window_stability(series({1000, 100}));
    EXPECT_EQ(w.samples, 2u);
    EXPECT_FALSE(w.classified);
    EXPECT_EQ(w.warning, StabilityWarning::None);
    EXPECT_TRUE(w.cv);
    EXPECT_TRUE(w.slope_per_second);
    EXPECT_NE(w.note.find("at least 3"), std::string::npos) << w.note;
}

TEST(WindowStability, OneReadHasNoRate) {
    const std::vector<CounterPoint> reads{{0, 5}};
    const auto w = window_stability(reads);
    EXPECT_EQ(w.samples, 0u);
    EXPECT_FALSE(w.classified);
    EXPECT_FALSE(w.cv);
    EXPECT_FALSE(w.slope_per_second);
}

TEST(WindowStability, AShortLastStepWeighsLittle) {
    // Seven steady seconds and a 50 ms last step that caught a slow burst:
    // weighted by length, neither a collapse nor a decay.
    auto reads = series({1000, 1000, 1000, 1000, 1000, 1000, 1000});
    reads.push_back({reads.back().at_ms + 50, reads.back().counter + 20});
    const auto w = window_stability(reads);
    EXPECT_EQ(w.samples, 8u);
    EXPECT_EQ(w.warning, StabilityWarning::None) << w.note;
    EXPECT_NEAR(w.mean_per_second, 7020.0 / 7.05, 1e-6);
}

}  // namespace
}  // namespace benchdist::stats
