// The thin loop under watch and start-epoch's live view: long-polls
// GET /admin/live?since=<version>&waitMs= through the control's one
// coordinator client (bearer token, retries), keeps the view
// (live_view.hpp), and writes what LivePresenter (live_render.hpp) says,
// once a second and when something changes. At most two requests a second,
// as the route asks, except while the window has closed and the result is
// near: then it long-polls back to back, so an epoch's end is seen before
// a next epoch (a campaign's) replaces the series.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>

#include "coordinator_client.hpp"
#include "live_render.hpp"
#include "live_view.hpp"

namespace benchdist::control_tool {

class LiveFollower {
public:
    struct Options {
        int fd = 1;  // the descriptor behind `out`: its terminal decides the drawing
        bool show_result = true;
        bool json = false;  // write each answer as one line of JSON instead of drawing
    };
    LiveFollower(const Coordinator& coordinator, std::ostream& out, Options options);

    // The coordinator's clock from a state it answered (serverTimeMs),
    // between the local wall-clock times the request was sent and answered.
    // Without one, the first step reads GET /admin/status for it; a
    // coordinator that sends none is taken to share our clock.
    void set_clock(std::int64_t server_time_ms, std::int64_t asked_ms, std::int64_t answered_ms);

    enum class Step {
        Answered,  // an answer came and was applied (and drawn)
        Waited,    // a frame was drawn, or the pace made it wait
        NoRoute,   // 404: the coordinator has no /admin/live (older, or the original harness's)
    };
    // One step: a frame if one is due, else one long-poll of at most about
    // a second. Throws Failure (the coordinator unreachable, or a refusal
    // other than 404) and LiveFormatError (an answer of the wrong shape).
    Step step();

    bool has_view() const { return has_view_; }
    const LiveView& view() const { return view_; }
    LivePresenter& presenter() { return presenter_; }
    // Something else is about to be written to the same terminal.
    void detach() { presenter_.detach(); }

    // Now, on the local wall clock and the coordinator's (estimated).
    RenderClock clock() const;

private:
    void write(const std::string& text);

    Coordinator coordinator_;
    std::ostream& out_;
    Options options_;
    LivePresenter presenter_;
    LiveView view_;
    bool has_view_ = false;
    std::optional<std::int64_t> offset_ms_;  // coordinator's clock minus ours
    std::chrono::steady_clock::time_point next_frame_{};
    std::chrono::steady_clock::time_point last_request_{};
};

}  // namespace benchdist::control_tool
