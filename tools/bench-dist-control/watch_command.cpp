// watch: the coordinator's epochs as they run, for as long as the operator
// looks (live_follower.hpp does the fetching and drawing).
#include <unistd.h>

#include <iostream>

#include "benchdist/text/printable.hpp"
#include "commands.hpp"
#include "interrupts.hpp"
#include "live_follower.hpp"

namespace benchdist::control_tool {

int run_watch(const Coordinator& c, const WatchArgs& args) {
    install_interrupt_handler();
    LiveFollower live(c, std::cout, {.fd = STDOUT_FILENO, .show_result = true, .json = args.json});
    std::size_t ended = 0;
    bool all_valid = true;
    for (;;) {
        if (interrupt_count() > 0) {
            live.detach();
            return 130;
        }
        LiveFollower::Step step;
        try {
            step = live.step();
        } catch (const Failure& e) {
            live.detach();
            std::cerr << "bench-dist-control: watch: " << text::printable(e.what()) << "\n";
            return 1;
        } catch (const LiveFormatError& e) {
            live.detach();
            std::cerr << "bench-dist-control: watch: " << text::printable(e.what()) << " -- is "
                      << text::printable(c.url) << " a bench-dist coordinator of this version?\n";
            return 1;
        }
        if (step == LiveFollower::Step::NoRoute) {
            std::cerr << "bench-dist-control: watch: the coordinator at " << text::printable(c.url)
                      << " has no live series (GET /admin/live answered 404): it is older than bench-dist-control "
                         "or the original harness's. `bench-dist-control status` shows its state.\n";
            return 1;
        }
        if (args.once && step == LiveFollower::Step::Answered) {
            if (!args.json) {
                // The numbers line too, which a plain first answer leaves for the next second.
                if (!live.presenter().terminal().tty && live.view().running)
                    std::cout << plain_line(live.view(), live.clock()) << "\n";
            }
            return 0;
        }
        for (const auto& e : live.presenter().take_ended()) {
            ++ended;
            if (e.verdict != "valid") all_valid = false;
        }
        if (args.epochs && ended >= *args.epochs) return all_valid ? 0 : 1;
    }
}

}  // namespace benchdist::control_tool
