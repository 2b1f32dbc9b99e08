#include "run_epoch.hpp"

#include <unistd.h>

#include <iostream>
#include <optional>
#include <sstream>

#include "benchdist/control/state_format.hpp"
#include "benchdist/control/verdict.hpp"
#include "benchdist/text/printable.hpp"
#include "interrupts.hpp"
#include "live_follower.hpp"

namespace benchdist::control_tool {

namespace bc = benchdist::control;

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Whether the live view has seen `epoch` end (its result in, or a later
// epoch begun).
bool view_shows_end(const LiveFollower& live, std::uint64_t epoch) {
    const auto& v = live.view();
    return live.has_view() && v.epoch && (*v.epoch > epoch || (*v.epoch == epoch && !v.running));
}

// One step of the live view, then a read of the state when the view says
// the epoch is over -- or every few seconds, should it never say. false:
// the live view cannot go on (no route, an answer that is not a live
// series); the quiet wait takes over, and fails as before if the
// coordinator is gone.
bool follow_live(LiveFollower& live, const Coordinator& c, bc::CoordinatorState& state, std::uint64_t epoch,
                 Clock::time_point& last_state_read) {
    try {
        if (live.step() == LiveFollower::Step::NoRoute) return false;
    } catch (const std::exception& e) {  // Failure, LiveFormatError
        live.detach();
        std::cerr << "bench-dist-control: no live view: " << text::printable(e.what())
                  << "; waiting for the epoch without it\n";
        return false;
    }
    if (view_shows_end(live, epoch) || Clock::now() - last_state_read >= std::chrono::seconds(5)) {
        state = c.state();
        last_state_read = Clock::now();
    }
    return true;
}

// The periodic state read above can see the result before the live view
// has drawn the epoch's end: let the view catch up, for at most 3 s, so its
// last frame says done before the result is printed under it.
void finish_live(LiveFollower& live, std::uint64_t epoch) {
    const auto until = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < until) {
        if (view_shows_end(live, epoch)) return;
        try {
            if (live.step() == LiveFollower::Step::NoRoute) return;
        } catch (const std::exception&) {  // the result is in; the view's trouble is not worth a message now
            live.detach();
            return;
        }
    }
}

}  // namespace

bool result_failed(const bc::EpochResult& r) {
    if (const auto verdict = bc::read_verdict(r.extra)) return !verdict->valid;
    return r.error.has_value() || r.verification == "failed";
}

EpochRun run_epoch(Coordinator c, const bc::Json& request, const EpochRunOptions& options, std::ostream& out) {
    // No retry outlives --timeout.
    if (options.timeout_seconds > 0) {
        c.give_up_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(options.timeout_seconds));
    }
    if (options.campaign) c.interrupts_to_stop_retrying = 2;
    EpochRun run;
    const auto asked_ms = wall_ms();
    run.response = bc::start_epoch_response_from_json(
        c.call("POST", "/admin/start-epoch", request.dump(), std::chrono::seconds(10), true));
    const auto answered_ms = wall_ms();
    if (options.print_start)
        out << text::printable(run.response.message) << "\n" << bc::format_state(run.response.state);
    run.state = run.response.state;
    if (!run.response.started) {
        run.end = EpochRun::End::Refused;
        run.message = run.response.message;
        return run;
    }
    run.epoch = run.response.state.current_epoch.value_or(0);
    if (options.print_start) out << "waiting for epoch " << run.epoch << " to complete...\n" << std::flush;

    std::optional<LiveFollower> live;
    if (options.live) {
        live.emplace(c, out, LiveFollower::Options{.fd = options.live_fd, .show_result = false});
        if (run.response.state.server_time_ms)
            live->set_clock(*run.response.state.server_time_ms, asked_ms, answered_ms);
    }
    auto last_state_read = Clock::now();

    install_interrupt_handler();
    const auto deadline = Clock::now() + std::chrono::duration<double>(options.timeout_seconds);
    auto& state = run.state;
    bool stop_asked = false;
    bool announced = false;
    for (;;) {
        if (state.last_result && state.last_result->epoch == run.epoch && state.current_epoch != run.epoch) break;
        if (options.campaign) {
            if (interrupt_count() == 1 && !announced) {
                announced = true;
                if (live) live->detach();
                std::cerr << "bench-dist-control: Ctrl-C: the campaign stops after epoch " << run.epoch
                          << " (Ctrl-C again stops that epoch now)\n"
                          << std::flush;
            }
            if (interrupt_count() >= 2 && !stop_asked) {
                stop_asked = true;
                if (live) live->detach();
                const auto message = c.stop_epoch();
                std::cerr << "bench-dist-control: second Ctrl-C: "
                          << (message ? "asked the coordinator to stop epoch " + std::to_string(run.epoch) + ": " +
                                            text::printable(*message)
                                      : c.no_stop_route())
                          << "\n";
                run.end = EpochRun::End::Interrupted;
                run.message = "stopped by a second Ctrl-C";
                return run;
            }
        } else if (interrupt_count() > 0) {
            if (live) live->detach();
            if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
                out << "\nstop epoch " << run.epoch << " now? Its result is still written, marked aborted. [y/N] "
                    << std::flush;
                std::string answer;
                std::getline(std::cin, answer);
                if (answer == "y" || answer == "Y" || answer == "yes") {
                    if (!c.stop_epoch()) std::cerr << "bench-dist-control: " << c.no_stop_route() << "\n";
                    reset_interrupts();
                    continue;  // wait for the (aborted) epoch's result
                }
            }
            std::cerr << "detached; epoch " << run.epoch << " keeps running on the coordinator\n";
            run.end = EpochRun::End::Interrupted;
            run.message = "detached by Ctrl-C";
            return run;
        }
        if (options.timeout_seconds > 0 && Clock::now() >= deadline) {
            run.end = EpochRun::End::TimedOut;
            std::ostringstream message;
            message << "epoch " << run.epoch << " did not finish within " << options.timeout_seconds
                    << " s; it keeps running (bench-dist-control stop-epoch ends it)";
            run.message = message.str();
            return run;
        }
        if (live) {
            if (follow_live(*live, c, state, run.epoch, last_state_read)) continue;
            live.reset();
        }
        state = c.wait_change(state.version, options.poll, options.poll);
    }
    if (live) finish_live(*live, run.epoch);
    run.result = *state.last_result;
    run.result_json = bc::to_json(run.result);
    return run;
}

}  // namespace benchdist::control_tool
