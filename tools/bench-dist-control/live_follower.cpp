#include "live_follower.hpp"

#include <algorithm>
#include <ostream>
#include <thread>

#include "terminal.hpp"

namespace benchdist::control_tool {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

LiveFollower::LiveFollower(const Coordinator& coordinator, std::ostream& out, Options options)
    : coordinator_(coordinator),
      out_(out),
      options_(options),
      presenter_({.term = terminal_info(options.fd), .show_result = options.show_result}) {}

void LiveFollower::set_clock(std::int64_t server_time_ms, std::int64_t asked_ms, std::int64_t answered_ms) {
    offset_ms_ = server_time_ms - (asked_ms + answered_ms) / 2;
}

RenderClock LiveFollower::clock() const {
    const auto local = wall_ms();
    return {local, local + offset_ms_.value_or(0)};
}

void LiveFollower::write(const std::string& text) {
    if (!text.empty() && !options_.json) out_ << text << std::flush;
}

LiveFollower::Step LiveFollower::step() {
    const auto t = Clock::now();
    if (has_view_ && t >= next_frame_) {
        // Read again: the window may have been resized.
        if (presenter_.terminal().tty) presenter_.set_terminal(terminal_info(options_.fd));
        write(presenter_.on_tick(view_, clock()));
        next_frame_ += 1s;
        if (next_frame_ <= t) next_frame_ = t + 1s;  // it fell behind (a prompt, a slow answer): no burst
        return Step::Waited;
    }
    const bool near_end = view_.running && view_.phase == "stop";
    const auto earliest = !has_view_ || near_end ? t : last_request_ + 500ms;
    if (earliest > t) {
        std::this_thread::sleep_until(std::min(earliest, next_frame_));
        return Step::Waited;
    }
    if (!offset_ms_) {
        const auto asked = wall_ms();
        const auto state = coordinator_.state();
        offset_ms_ = state.server_time_ms ? *state.server_time_ms - (asked + wall_ms()) / 2 : 0;
    }
    // Held until the next frame is due (the first answer at once).
    const auto wait = has_view_ ? std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(next_frame_ - t),
                                             std::chrono::milliseconds(50), std::chrono::milliseconds(30000))
                                : std::chrono::milliseconds(0);
    last_request_ = t;
    const std::string path = "/admin/live?since=" + std::to_string(has_view_ ? view_.version : 0) +
                             "&waitMs=" + std::to_string(wait.count());
    auto answer = coordinator_.request("GET", path, {}, wait + 10s);
    if (answer.status == 404) return Step::NoRoute;
    const auto json = coordinator_.checked("GET", path, std::move(answer));
    if (options_.json) out_ << control::compact(json) << std::flush;
    auto parsed = parse_live(json);
    if (parsed.server_time_ms) offset_ms_ = *parsed.server_time_ms - wall_ms();
    apply_live(view_, std::move(parsed));
    if (!has_view_) {
        has_view_ = true;
        next_frame_ = Clock::now() + 1s;
    }
    write(presenter_.on_change(view_, clock()));
    return Step::Answered;
}

}  // namespace benchdist::control_tool
