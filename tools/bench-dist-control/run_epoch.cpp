#include "run_epoch.hpp"

#include <unistd.h>

#include <iostream>
#include <sstream>

#include "benchdist/control/state_format.hpp"
#include "benchdist/control/verdict.hpp"
#include "benchdist/text/printable.hpp"
#include "interrupts.hpp"

namespace benchdist::control_tool {

namespace bc = benchdist::control;

bool result_failed(const bc::EpochResult& r) {
    if (const auto verdict = bc::read_verdict(r.extra)) return !verdict->valid;
    return r.error.has_value() || r.verification == "failed";
}

EpochRun run_epoch(Coordinator c, const bc::Json& request, const EpochRunOptions& options, std::ostream& out) {
    using Clock = std::chrono::steady_clock;
    // No retry outlives --timeout.
    if (options.timeout_seconds > 0) {
        c.give_up_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(options.timeout_seconds));
    }
    if (options.campaign) c.interrupts_to_stop_retrying = 2;
    EpochRun run;
    run.response = bc::start_epoch_response_from_json(
        c.call("POST", "/admin/start-epoch", request.dump(), std::chrono::seconds(10), true));
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
                std::cerr << "bench-dist-control: Ctrl-C: the campaign stops after epoch " << run.epoch
                          << " (Ctrl-C again stops that epoch now)\n"
                          << std::flush;
            }
            if (interrupt_count() >= 2 && !stop_asked) {
                stop_asked = true;
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
        state = c.wait_change(state.version, options.poll, options.poll);
    }
    run.result = *state.last_result;
    run.result_json = bc::to_json(run.result);
    return run;
}

}  // namespace benchdist::control_tool
