#include "interrupts.hpp"

#include <atomic>
#include <csignal>

namespace benchdist::control_tool {

namespace {
std::atomic<int> count{0};
void on_sigint(int) { count.fetch_add(1); }
}  // namespace

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }
int interrupt_count() { return count.load(); }
void reset_interrupts() { count = 0; }

}  // namespace benchdist::control_tool
