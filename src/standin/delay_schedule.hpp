// A reply-delay schedule for the stand-in's debug route
// (POST /v1/debug/delay-schedule?replyUs=8000,4000,0&stepMs=1000): the reply
// delay takes each value in turn, the first at once and each next one
// stepMs later, so a test can make the server's rate move and then settle
// (what `--warmup auto` must wait out). The parsing is pure; the schedule
// runs on timers of the io_context it is given (a database's), never on a
// sleeping thread, and a new schedule or a fixed delay replaces it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace benchdist::standin {

// The longest delay the debug routes accept. Longer ones would outlast the
// WebSocket idle timeout and every client's op timeout, which is never what
// a test means.
inline constexpr std::uint64_t kMaxDebugDelayUs = 60'000'000;
// The most steps one schedule may have, and the longest step.
inline constexpr std::size_t kMaxScheduleSteps = 100;
inline constexpr std::uint64_t kMaxScheduleStepMs = 600'000;

struct DelaySchedule {
    std::vector<std::uint64_t> reply_us;  // at least one
    std::chrono::milliseconds step{1000};
};

// From the route's query parameters (absent: nullopt): replyUs, a comma-
// separated list of 1 to kMaxScheduleSteps whole numbers of microseconds up
// to kMaxDebugDelayUs, and stepMs, a whole number of ms from 1 to
// kMaxScheduleStepMs (required once there are two values or more; default
// 1000). `error` names the parameter and what it must be.
struct DelayScheduleParse {
    std::optional<DelaySchedule> schedule;
    std::string error;
};
DelayScheduleParse parse_delay_schedule(std::optional<std::string_view> reply_us,
                                        std::optional<std::string_view> step_ms);

// Drives `reply_delay_us` (the delay every reply reads) through a schedule
// on `io`'s timers. Safe to call from any thread.
class ReplyDelaySchedule {
public:
    ReplyDelaySchedule(boost::asio::io_context& io, std::atomic<std::uint64_t>& reply_delay_us);
    ~ReplyDelaySchedule();
    ReplyDelaySchedule(const ReplyDelaySchedule&) = delete;
    ReplyDelaySchedule& operator=(const ReplyDelaySchedule&) = delete;

    // Sets the first delay now and the others each step later, replacing a
    // running schedule.
    void start(const DelaySchedule& schedule);
    // Ends a running schedule; with a value, sets the delay to it.
    void replace(std::optional<std::uint64_t> reply_us);
    // Ends a running schedule for good (the server stops): its pending timer
    // is cancelled so the io_context can finish.
    void stop();
    // Steps of the running schedule not yet applied (0: none running).
    std::size_t pending_steps() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace benchdist::standin
