// The result of `bench-dist-generator run` (one generator loading a server
// on its own), apart from the sequence that observed it: the run records
// the server's counter at both window edges, its own resource snapshots, the
// server process's CPU and the load's counters and intervals into
// LocalRunObservations, and build_local_result turns them into the printed
// JSON -- TPS from the server's counter, the client's count over the same
// span, the one client/server cross-check (stats/client_server_check.hpp),
// latency, the generator's own cost, and warnings. Pure, so each rule is
// unit-tested without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/generator/generator_config.hpp"
#include "benchdist/generator/load_counters.hpp"
#include "benchdist/generator/resource_usage.hpp"
#include "benchdist/stats/interval.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdbhttp/server_api.hpp"

namespace benchdist::generator {

struct LocalRunOptions {
    double seconds = 10;            // the measured window
    double warmup_seconds = 1;      // load before the window, not measured
    bool align_window = true;       // open the window on a whole second of the wall clock
    control::Json open_file_limit;  // what raising the limit at start found, for the result
    // A server process on this host (e.g. stdb-standin in a benchmark) whose
    // CPU over the same window is reported per committed transfer; 0: none.
    int server_pid = 0;
};

struct LocalRunObservations {
    std::string database_identity;
    std::optional<stdb::ProtocolVersion> negotiated_protocol;
    std::size_t threads = 0;
    std::string io_backend;       // LoadSession::io_backend(); empty: not reported
    std::size_t connections = 0;  // opened
    double open_seconds = 0;
    // The process at rest (pairs built, threads started, nothing open),
    // with every connection open, and after the load.
    ResourceSnapshot idle;
    ResourceSnapshot opened;
    ResourceSnapshot loaded;
    // The window: the wall clock where it opened and closed, the process's
    // usage at both ends, the counter reads, and the steady-clock seconds
    // between the reads' midpoints.
    std::int64_t window_start_ms = 0;
    std::int64_t window_end_ms = 0;
    ResourceSnapshot window_start_usage;
    ResourceSnapshot window_end_usage;
    stdbhttp::CounterRead before;
    stdbhttp::CounterRead after;
    double window_seconds = 0;
    // The server process's CPU (microseconds) at both ends, when asked for
    // and readable.
    std::optional<std::uint64_t> server_cpu_before_us;
    std::optional<std::uint64_t> server_cpu_after_us;
    LoadCounters counters;
    std::vector<stats::Interval> intervals;
    bool workers_busy_at_stop = false;
    // When the load started and stopped (wall clock): the span the edge
    // seconds' transfers fall in.
    std::optional<std::int64_t> load_started_ms;
    std::optional<std::int64_t> load_stopped_ms;
    bool interrupted = false;
};

// The printed result; `after` must not be below `before` (the run refuses
// that case before building a result).
control::Json build_local_result(const GeneratorConfig& config, const LocalRunOptions& options,
                                 const LocalRunObservations& o);

// Commits the intervals count inside [from_ms, to_ms] (wall clock), each
// interval weighted by the share of its loaded time inside the span --
// |I ∩ W ∩ S| / |I ∩ S| with S = [load_from_ms, load_to_ms], the
// coordinator's rule: a second in which the load started 600 ms in holds
// 400 ms of transfers, all of them inside a window that opened with the
// load. Without a load span, by the interval's whole length.
double committed_between(const std::vector<stats::Interval>& intervals, double from_ms, double to_ms,
                         std::optional<double> load_from_ms = std::nullopt,
                         std::optional<double> load_to_ms = std::nullopt);

}  // namespace benchdist::generator
