// Resource usage: what the generator process itself spends, so a run can
// report CPU microseconds per committed transfer and memory per open
// connection beside the server's throughput -- the figures that say whether
// one generator can stand in for a rack of clients. A snapshot is taken
// before and after a phase (idle baseline, opening, the load) and the two
// are diffed; all of it comes from the kernel's own accounting
// (getrusage, /proc/self/statm), so it covers every thread, the io threads
// included, without instrumenting the hot path.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace benchdist::generator {

struct ResourceSnapshot {
    std::uint64_t cpu_user_us = 0;  // getrusage(RUSAGE_SELF): all threads
    std::uint64_t cpu_system_us = 0;
    std::uint64_t rss_bytes = 0;      // resident now (/proc/self/statm); 0 if unreadable
    std::uint64_t max_rss_bytes = 0;  // peak resident so far (ru_maxrss)
    std::chrono::steady_clock::time_point taken_at{};
};

ResourceSnapshot take_resource_snapshot();

struct ResourceDelta {
    std::uint64_t cpu_user_us = 0;
    std::uint64_t cpu_system_us = 0;
    std::uint64_t cpu_us = 0;           // user + system
    std::uint64_t wall_us = 0;          // monotonic time between the snapshots
    std::int64_t rss_growth_bytes = 0;  // negative when memory went back to the system
    std::uint64_t max_rss_bytes = 0;    // the peak as of `after`
};

// after - before. CPU and wall time never run backwards between two
// snapshots of one process; if they are given in the wrong order the
// differences are 0 rather than wrapping.
ResourceDelta diff(const ResourceSnapshot& before, const ResourceSnapshot& after);

// User + system CPU of another process on this host (a server beside the
// generator in a benchmark), in microseconds; nullopt if unreadable.
std::optional<std::uint64_t> process_cpu_us(int pid);

}  // namespace benchdist::generator
