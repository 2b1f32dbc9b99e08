// The reply-delay schedule of the stand-in's debug route: the parsing of its
// query (what is refused, naming the parameter) and the schedule itself on
// an io_context this test drives, one step at a time.
#include "standin/delay_schedule.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace benchdist::standin {
namespace {

using namespace std::chrono_literals;

DelayScheduleParse parse(std::optional<std::string_view> reply, std::optional<std::string_view> step) {
    return parse_delay_schedule(reply, step);
}

bool error_has(const DelayScheduleParse& p, std::string_view text) {
    return !p.schedule && p.error.find(text) != std::string::npos;
}

TEST(DelayScheduleParse, ValuesAndStep) {
    const auto p = parse("8000,4000,2000,1000,0", "250");
    ASSERT_TRUE(p.schedule) << p.error;
    EXPECT_EQ(p.schedule->reply_us, (std::vector<std::uint64_t>{8000, 4000, 2000, 1000, 0}));
    EXPECT_EQ(p.schedule->step, 250ms);
}

TEST(DelayScheduleParse, OneValueAndTheDefaultStep) {
    const auto p = parse("500", std::nullopt);
    ASSERT_TRUE(p.schedule) << p.error;
    EXPECT_EQ(p.schedule->reply_us, (std::vector<std::uint64_t>{500}));
    EXPECT_EQ(p.schedule->step, 1000ms);
}

TEST(DelayScheduleParse, RefusesWhatIsNotAListOfDelays) {
    EXPECT_TRUE(error_has(parse(std::nullopt, "10"), "replyUs is required"));
    for (const char* bad : {"", "abc", "10,", ",10", "10,,20", "-5", "1.5", "10 ,20", "60000001", "9999999999"}) {
        const auto p = parse(bad, "10");
        EXPECT_TRUE(error_has(p,
                              "replyUs must be a comma-separated list of whole numbers of microseconds from 0 to "
                              "60000000"))
            << bad << ": " << p.error;
    }
    // The largest delay is accepted.
    EXPECT_TRUE(parse("60000000", "10").schedule);
}

TEST(DelayScheduleParse, RefusesTooManySteps) {
    std::string hundred;
    for (int i = 0; i < 100; ++i) hundred += (i ? "," : "") + std::to_string(i);
    EXPECT_TRUE(parse(hundred, "10").schedule);
    const auto p = parse(hundred + ",5", "10");
    EXPECT_TRUE(error_has(p, "replyUs has more than 100 values")) << p.error;
}

TEST(DelayScheduleParse, RefusesAStepOfZeroOrTooLong) {
    for (const char* bad : {"0", "600001", "abc", "", "-1", "1e3"}) {
        const auto p = parse("10,0", bad);
        EXPECT_TRUE(error_has(p, "stepMs must be a whole number of milliseconds from 1 to 600000"))
            << bad << ": " << p.error;
    }
    EXPECT_TRUE(parse("10,0", "600000").schedule);
}

TEST(ReplyDelaySchedule, StepsThroughTheValuesOnTheIoContext) {
    boost::asio::io_context io;
    std::atomic<std::uint64_t> delay{7};
    ReplyDelaySchedule schedule(io, delay);
    schedule.start({{300, 200, 100}, 1ms});
    EXPECT_EQ(delay.load(), 300u);  // the first value at once
    EXPECT_EQ(schedule.pending_steps(), 2u);
    // Each handler the io_context runs is one step.
    ASSERT_EQ(io.run_one(), 1u);
    EXPECT_EQ(delay.load(), 200u);
    ASSERT_EQ(io.run_one(), 1u);
    EXPECT_EQ(delay.load(), 100u);
    EXPECT_EQ(schedule.pending_steps(), 0u);
    // Nothing left to wait for.
    io.restart();
    EXPECT_EQ(io.run(), 0u);
}

TEST(ReplyDelaySchedule, AFixedDelayReplacesARunningSchedule) {
    boost::asio::io_context io;
    std::atomic<std::uint64_t> delay{0};
    ReplyDelaySchedule schedule(io, delay);
    schedule.start({{300, 200, 100}, 1ms});
    schedule.replace(42);
    EXPECT_EQ(delay.load(), 42u);
    EXPECT_EQ(schedule.pending_steps(), 0u);
    io.run();  // the cancelled step runs and changes nothing
    EXPECT_EQ(delay.load(), 42u);
    // Without a value the delay in force stays.
    schedule.start({{5, 6}, 1ms});
    schedule.replace(std::nullopt);
    io.restart();
    io.run();
    EXPECT_EQ(delay.load(), 5u);
}

TEST(ReplyDelaySchedule, ANewScheduleReplacesTheRunningOne) {
    boost::asio::io_context io;
    std::atomic<std::uint64_t> delay{0};
    ReplyDelaySchedule schedule(io, delay);
    schedule.start({{300, 200, 100}, 1ms});
    schedule.start({{9, 8}, 1ms});
    EXPECT_EQ(delay.load(), 9u);
    io.run();
    EXPECT_EQ(delay.load(), 8u);  // the old schedule's steps never applied
}

TEST(ReplyDelaySchedule, StopLetsTheIoContextFinishAtOnce) {
    boost::asio::io_context io;
    std::atomic<std::uint64_t> delay{0};
    ReplyDelaySchedule schedule(io, delay);
    schedule.start({{1, 2}, 600000ms});  // ten minutes to the next step
    schedule.stop();
    const auto before = std::chrono::steady_clock::now();
    io.run();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
    EXPECT_EQ(delay.load(), 1u);
    schedule.start({{3}, 1ms});  // stopped for good
    EXPECT_EQ(delay.load(), 1u);
}

}  // namespace
}  // namespace benchdist::standin
