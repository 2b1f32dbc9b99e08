// The coordinator's clocks and its event log, injected so tests can drive
// time and read what was logged: a wall clock for timestamps only (waits use
// the steady clock), a monotonic clock for leases, and a log sink.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace benchdist::coordinator {

// Wall-clock time in unix milliseconds.
using WallClock = std::function<std::int64_t()>;
std::int64_t system_wall_clock_ms();

// A monotonic clock in ms for leases (tests inject a fake one and call
// Coordinator::check_leases()).
using MonotonicClock = std::function<std::int64_t()>;
std::int64_t steady_clock_ms();

// The Coordinator hands it one line of printable ASCII per event (text
// from peers escaped), so a sink can write it as it is.
using EventLog = std::function<void(const std::string& message)>;

}  // namespace benchdist::coordinator
