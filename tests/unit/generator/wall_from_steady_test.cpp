#include "generator/wall_from_steady.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using benchdist::generator::WallFromSteady;
using namespace std::chrono_literals;

namespace {

// The fake clocks the converter reads when it measures the offset.
WallFromSteady::Steady::time_point fake_steady;
WallFromSteady::System::time_point fake_system;
WallFromSteady::Steady::time_point read_fake_steady() { return fake_steady; }
WallFromSteady::System::time_point read_fake_system() { return fake_system; }

class WallFromSteadyTest : public ::testing::Test {
protected:
    void SetUp() override {
        fake_steady = WallFromSteady::Steady::time_point(100s);
        fake_system = WallFromSteady::System::time_point(1'700'000'000'000ms);
    }
    WallFromSteady wall{1s, &read_fake_steady, &read_fake_system};
};

}  // namespace

TEST_F(WallFromSteadyTest, StampsFollowTheSteadyTimeGivenNotTheClockAtTheCall) {
    EXPECT_EQ(wall.ms(fake_steady), 1'700'000'000'000);
    // Later readings convert without measuring again within the period.
    EXPECT_EQ(wall.ms(fake_steady + 250ms), 1'700'000'000'250);
    EXPECT_EQ(wall.ms(fake_steady + 999ms), 1'700'000'000'999);
    EXPECT_EQ(wall.measurements(), 1u);
}

TEST_F(WallFromSteadyTest, ASystemClockStepIsFollowedWithinOneRefreshPeriod) {
    EXPECT_EQ(wall.ms(fake_steady), 1'700'000'000'000);
    // The system clock jumps back 10 s while the steady clock runs on 500 ms.
    fake_steady += 500ms;
    fake_system += 500ms - 10s;
    // Until the period is over the old offset still serves (monotonic stamps).
    EXPECT_EQ(wall.ms(fake_steady), 1'700'000'000'500);
    // At the refresh the new offset is measured and the step shows.
    fake_steady += 500ms;
    fake_system += 500ms;
    EXPECT_EQ(wall.ms(fake_steady), 1'699'999'991'000);
    EXPECT_EQ(wall.measurements(), 2u);
}

TEST(WallFromSteady, RealClocksAgreeWithinAMillisecondOrTwo) {
    WallFromSteady wall;
    const auto steady = std::chrono::steady_clock::now();
    const auto direct =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    const auto derived = wall.ms(steady);
    EXPECT_LE(std::abs(derived - direct), 2);
}
