#include "benchdist/generator/clock_offset.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace benchdist::generator {
namespace {

TEST(ClockOffsetEstimator, EmptyHasNoEstimate) {
    ClockOffsetEstimator e;
    EXPECT_FALSE(e.estimate().has_value());
    EXPECT_EQ(e.size(), 0u);
    EXPECT_EQ(e.window(), ClockOffsetEstimator::kDefaultWindow);
}

TEST(ClockOffsetEstimator, ZeroWindowIsRejected) { EXPECT_THROW(ClockOffsetEstimator(0), std::invalid_argument); }

TEST(ClockOffsetEstimator, OneSampleGivesServerMinusMidpoint) {
    ClockOffsetEstimator e;
    // Sent at 1000, answered at 1010: midpoint 1005; server said 1255.
    ASSERT_TRUE(e.add({1000.0, 1010.0, 1255.0}));
    const auto est = e.estimate();
    ASSERT_TRUE(est.has_value());
    EXPECT_DOUBLE_EQ(est->offset_ms, 250.0);
    EXPECT_DOUBLE_EQ(est->rtt_ms, 10.0);
    EXPECT_EQ(est->samples, 1u);
}

TEST(ClockOffsetEstimator, NegativeOffsetWhenCoordinatorIsBehind) {
    ClockOffsetEstimator e;
    ASSERT_TRUE(e.add({5000.0, 5004.0, 4902.0}));
    EXPECT_DOUBLE_EQ(e.estimate()->offset_ms, -100.0);
}

TEST(ClockOffsetEstimator, SmallestRoundTripWins) {
    ClockOffsetEstimator e;
    // True offset +40. A slow exchange whose server stamp came late looks
    // like +540; the quick one is within 1 ms.
    ASSERT_TRUE(e.add({0.0, 1000.0, 1040.0}));     // midpoint 500 -> +540, rtt 1000
    ASSERT_TRUE(e.add({2000.0, 2002.0, 2041.0}));  // midpoint 2001 -> +40, rtt 2
    ASSERT_TRUE(e.add({3000.0, 3050.0, 3065.0}));  // midpoint 3025 -> +40, rtt 50
    const auto est = e.estimate();
    ASSERT_TRUE(est.has_value());
    EXPECT_DOUBLE_EQ(est->offset_ms, 40.0);
    EXPECT_DOUBLE_EQ(est->rtt_ms, 2.0);
    EXPECT_EQ(est->samples, 3u);
}

TEST(ClockOffsetEstimator, NewestOfEqualRoundTripsWins) {
    ClockOffsetEstimator e;
    ASSERT_TRUE(e.add({0.0, 4.0, 12.0}));       // +10
    ASSERT_TRUE(e.add({100.0, 104.0, 114.0}));  // +12, same rtt, newer
    EXPECT_DOUBLE_EQ(e.estimate()->offset_ms, 12.0);
}

TEST(ClockOffsetEstimator, OnlyTheLastWindowSamplesCount) {
    ClockOffsetEstimator e(3);
    ASSERT_TRUE(e.add({0.0, 1.0, 100.5}));   // rtt 1, +100: the best, until it falls out
    ASSERT_TRUE(e.add({10.0, 15.0, 32.5}));  // rtt 5, +20
    ASSERT_TRUE(e.add({20.0, 28.0, 54.0}));  // rtt 8, +30
    EXPECT_DOUBLE_EQ(e.estimate()->offset_ms, 100.0);
    ASSERT_TRUE(e.add({30.0, 36.0, 73.0}));  // rtt 6, +40; evicts the first
    EXPECT_EQ(e.size(), 3u);
    auto est = e.estimate();
    EXPECT_DOUBLE_EQ(est->offset_ms, 20.0);
    EXPECT_DOUBLE_EQ(est->rtt_ms, 5.0);
    EXPECT_EQ(est->samples, 3u);
    ASSERT_TRUE(e.add({40.0, 49.0, 94.5}));  // rtt 9; evicts the rtt-5 one
    est = e.estimate();
    EXPECT_DOUBLE_EQ(est->offset_ms, 40.0);
    EXPECT_DOUBLE_EQ(est->rtt_ms, 6.0);
    // Wrapping the ring several times keeps exactly the last three.
    for (int i = 0; i < 7; ++i) ASSERT_TRUE(e.add({100.0 + i, 100.0 + i + 20.0, 0.0}));
    ASSERT_TRUE(e.add({200.0, 203.0, 301.5}));  // rtt 3, +100
    est = e.estimate();
    EXPECT_DOUBLE_EQ(est->rtt_ms, 3.0);
    EXPECT_DOUBLE_EQ(est->offset_ms, 100.0);
    EXPECT_EQ(e.size(), 3u);
}

TEST(ClockOffsetEstimator, ImpossibleSamplesAreIgnored) {
    ClockOffsetEstimator e;
    EXPECT_FALSE(e.add({10.0, 9.0, 10.0}));  // answered before it was sent: a clock step
    EXPECT_FALSE(e.add({std::nan(""), 9.0, 10.0}));
    EXPECT_FALSE(e.add({0.0, std::numeric_limits<double>::infinity(), 10.0}));
    EXPECT_FALSE(e.add({0.0, 1.0, -std::numeric_limits<double>::infinity()}));
    EXPECT_FALSE(e.estimate().has_value());
    EXPECT_TRUE(e.add({10.0, 10.0, 15.0}));  // rtt 0 is possible at ms resolution
    EXPECT_DOUBLE_EQ(e.estimate()->offset_ms, 5.0);
    EXPECT_DOUBLE_EQ(e.estimate()->rtt_ms, 0.0);
}

TEST(ClockOffsetEstimator, ClearForgetsEverything) {
    ClockOffsetEstimator e(2);
    ASSERT_TRUE(e.add({0.0, 1.0, 2.0}));
    ASSERT_TRUE(e.add({0.0, 1.0, 2.0}));
    ASSERT_TRUE(e.add({0.0, 1.0, 2.0}));
    e.clear();
    EXPECT_EQ(e.size(), 0u);
    EXPECT_FALSE(e.estimate().has_value());
    ASSERT_TRUE(e.add({0.0, 2.0, 11.0}));
    EXPECT_DOUBLE_EQ(e.estimate()->offset_ms, 10.0);
    EXPECT_EQ(e.estimate()->samples, 1u);
}

}  // namespace
}  // namespace benchdist::generator
