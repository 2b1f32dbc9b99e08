#include "generator/due_queue.hpp"

#include <gtest/gtest.h>

#include <vector>

using benchdist::generator::DueQueue;
using benchdist::generator::next_wake;
using benchdist::generator::rearm_earlier;
using namespace std::chrono_literals;

namespace {
const DueQueue::TimePoint t0{};
}

TEST(DueQueue, GivesOnlyWhatIsDueEarliestFirst) {
    DueQueue q;
    q.push(t0 + 30us, 3);
    q.push(t0 + 10us, 1);
    q.push(t0 + 20us, 2);
    EXPECT_EQ(q.earliest(), t0 + 10us);
    EXPECT_FALSE(q.pop_due(t0 + 5us)) << "nothing due yet";
    std::vector<std::size_t> order;
    while (const auto e = q.pop_due(t0 + 20us)) order.push_back(e->worker);
    EXPECT_EQ(order, (std::vector<std::size_t>{1, 2}));
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q.earliest(), t0 + 30us);
    const auto last = q.pop_due(t0 + 30us);
    ASSERT_TRUE(last);
    EXPECT_EQ(last->worker, 3u);
    EXPECT_EQ(last->due, t0 + 30us);
    EXPECT_TRUE(q.empty());
}

TEST(DueQueue, ClearDropsEveryEntry) {
    DueQueue q;
    q.push(t0, 0);
    q.push(t0, 1);
    q.clear();
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.pop_due(t0 + 1s));
}

// The timer fires at the earliest due time, but a thread that just woke
// waits a tick before waking again: calls falling due meanwhile leave
// together, at most a tick late.
TEST(DueQueue, WakesAtTheDueTimeButAtMostOncePerTick) {
    EXPECT_EQ(next_wake(t0 + 5ms, t0, 1ms), t0 + 5ms) << "idle thread: wake when due";
    EXPECT_EQ(next_wake(t0 + 100us, t0, 1ms), t0 + 1ms) << "just woke: wait out the tick";
    EXPECT_EQ(next_wake(t0 + 100us, t0, 0ms), t0 + 100us) << "tick 0: a wake-up per due call";
}

TEST(DueQueue, TheTimerMovesEarlierOnlyWhenThatGainsMoreThanATick) {
    EXPECT_FALSE(rearm_earlier(t0 + 1500us, t0 + 1000us, 1ms));
    EXPECT_TRUE(rearm_earlier(t0 + 2500us, t0 + 1000us, 1ms));
    EXPECT_FALSE(rearm_earlier(t0 + 1000us, t0 + 1000us, 0ms));
    EXPECT_TRUE(rearm_earlier(t0 + 1001us, t0 + 1000us, 0ms));
}
