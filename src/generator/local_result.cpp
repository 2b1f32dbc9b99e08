#include "benchdist/generator/local_result.hpp"

#include <algorithm>
#include <string>

#include "benchdist/control/latency_kind.hpp"
#include "benchdist/control/version.hpp"
#include "benchdist/stats/client_server_check.hpp"
#include "benchdist/stats/interval_series.hpp"
#include "benchdist/stats/round_to.hpp"

namespace benchdist::generator {

namespace {

using control::Json;
using stats::round_to;

// The wall-clock midpoint of a counter read: when the server is taken to
// have read its counter.
double midpoint_ms(const stdbhttp::CounterRead& read) {
    return static_cast<double>(read.sent_at_ms + read.received_at_ms) / 2.0;
}

Json per_committed(std::uint64_t us, std::uint64_t committed) {
    return committed > 0 ? Json(round_to(static_cast<double>(us) / static_cast<double>(committed), 0.01))
                         : Json(nullptr);
}

Json resources_json(const LocalRunOptions& options, const LocalRunObservations& o, std::uint64_t committed,
                    const GeneratorConfig& config) {
    const auto cpu = diff(o.window_start_usage, o.window_end_usage);
    // Growth above the idle baseline, per connection (signed: memory can go back).
    const auto per_connection = [&o](const ResourceSnapshot& now) -> Json {
        if (o.connections == 0 || now.rss_bytes == 0 || o.idle.rss_bytes == 0) return nullptr;
        const double growth = static_cast<double>(now.rss_bytes) - static_cast<double>(o.idle.rss_bytes);
        return round_to(growth / static_cast<double>(o.connections), 1.0);
    };
    return Json{{"connections", o.connections},
                {"threads", o.threads},
                {"openParallelism", config.open_parallelism},
                {"openSeconds", round_to(o.open_seconds, 0.001)},
                {"cpuUserUs", cpu.cpu_user_us},
                {"cpuSystemUs", cpu.cpu_system_us},
                {"cpuUsPerCommitted", per_committed(cpu.cpu_us, committed)},
                {"cpuCores", cpu.wall_us > 0
                                 ? round_to(static_cast<double>(cpu.cpu_us) / static_cast<double>(cpu.wall_us), 0.001)
                                 : 0.0},
                {"rssIdleBytes", o.idle.rss_bytes},
                {"rssOpenBytes", o.opened.rss_bytes},
                {"rssLoadedBytes", o.loaded.rss_bytes},
                {"maxRssBytes", o.loaded.max_rss_bytes},
                {"rssPerConnectionOpenBytes", per_connection(o.opened)},
                {"rssPerConnectionLoadedBytes", per_connection(o.loaded)},
                {"openFileLimit", options.open_file_limit}};
}

// "2 timeouts, 78 disconnects, 0 module errors[, 1 internal errors]".
std::string failures_of(const LoadCounters& c) {
    return std::to_string(c.timeouts) + " timeouts, " + std::to_string(c.disconnects) + " disconnects, " +
           std::to_string(c.module_errors) + " module errors" +
           (c.internal_errors > 0 ? ", " + std::to_string(c.internal_errors) + " internal errors" : std::string());
}

std::string protocol_errors_warning(const ProtocolErrorCounts& p) {
    return "the server sent " + std::to_string(p.total()) +
           " messages this generator could not take (protocol errors: " + p.describe() +
           "); each closed its connection and failed the calls in flight on it, counted as disconnects -- is "
           "--stdb-url a SpacetimeDB speaking v2/v3.bsatn? (the log's `protocol error` lines show the first "
           "frames in hex)";
}

}  // namespace

double committed_between(const std::vector<stats::Interval>& intervals, double from_ms, double to_ms,
                         std::optional<double> load_from_ms, std::optional<double> load_to_ms) {
    double committed = 0;
    for (const auto& interval : intervals) {
        double start = static_cast<double>(interval.start_ms);
        double end = start + static_cast<double>(interval.length_ms);
        // The part of the second the load ran in holds all its transfers.
        if (load_from_ms) start = std::max(start, *load_from_ms);
        if (load_to_ms) end = std::min(end, *load_to_ms);
        if (end <= start) {
            // Outside the span (answers trailing the stop): whole length.
            start = static_cast<double>(interval.start_ms);
            end = start + static_cast<double>(interval.length_ms);
        }
        const double inside = std::max(0.0, std::min(end, to_ms) - std::max(start, from_ms));
        committed += static_cast<double>(interval.totals.committed) * inside / (end - start);
    }
    return committed;
}

Json build_local_result(const GeneratorConfig& config, const LocalRunOptions& options, const LocalRunObservations& o) {
    std::vector<std::string> warnings;
    if (o.workers_busy_at_stop) warnings.push_back("some workers were still busy after the op timeout");
    const std::uint64_t committed = o.after.committed - o.before.committed;
    const double tps = o.window_seconds > 0 ? static_cast<double>(committed) / o.window_seconds : 0.0;

    stats::WindowSelection selection;
    if (!o.intervals.empty() && o.window_end_ms > o.window_start_ms) {
        selection = stats::select_window(o.intervals, o.window_start_ms, o.window_end_ms, stats::IntervalOptions{});
    }
    const auto& window = selection.totals;
    // The client's count over exactly the span between the two counter reads
    // (their midpoints, wall clock), so client and server count the same
    // time even when a read was late.
    const double read0_ms = midpoint_ms(o.before);
    const double read1_ms = midpoint_ms(o.after);
    const auto as_ms = [](const std::optional<std::int64_t>& t) {
        return t ? std::optional(static_cast<double>(*t)) : std::nullopt;
    };
    const double client_committed =
        committed_between(o.intervals, read0_ms, read1_ms, as_ms(o.load_started_ms), as_ms(o.load_stopped_ms));
    const double client_tps = read1_ms > read0_ms ? client_committed / ((read1_ms - read0_ms) / 1000.0) : 0.0;

    Json result = Json::object();
    result["mode"] = "local run (no coordinator)";
    result["toolVersion"] = std::string(control::tool_version());
    result["server"] =
        Json{{"url", config.endpoint.display()},
             {"database", config.database},
             {"identity", o.database_identity},
             {"protocol", o.negotiated_protocol ? Json(std::string(stdb::subprotocol_name(*o.negotiated_protocol)))
                                                : Json(nullptr)}};
    result["workload"] = config.workload_json();
    result["options"] = config.options_json(o.threads);
    result["window"] = Json{{"warmupSeconds", options.warmup_seconds},
                            {"requestedSeconds", options.seconds},
                            {"seconds", round_to(o.window_seconds, 0.001)},
                            {"startedAt", control::iso8601_millis(o.window_start_ms)},
                            {"endedAt", control::iso8601_millis(o.window_end_ms)},
                            {"interrupted", o.interrupted}};
    result["committedDelta"] = committed;
    result["tps"] = round_to(tps, 0.1);
    result["counterReads"] = Json{{"before", o.before.committed}, {"after", o.after.committed}};
    // How long each read took: how uncertain the window's edges are.
    result["counterReadMs"] = Json::array({o.before.round_trip_ms(), o.after.round_trip_ms()});
    Json client = control::to_json(report_counters(o.counters));
    client["windowCommitted"] = round_to(client_committed, 1.0);
    client["windowTps"] = round_to(client_tps, 0.1);
    // Of the whole seconds whose latencies are reported (midpoint rule).
    client["latencyCoverage"] = round_to(selection.coverage(), 0.0001);
    result["client"] = client;
    const double ratio = tps > 0 ? client_tps / tps : 0.0;
    result["clientServerRatio"] = round_to(ratio, 0.000001);
    result["latency"] = window.latency.summary_json(control::latency_kind(config.rate > 0, config.max_inflight));
    if (config.rate > 0) {
        result["latencyUncorrected"] = window.latency_uncorrected.summary_json(control::kLocalUncorrectedLatencyKind);
        result["sendLag"] = window.send_lag.summary_json(control::kSendLagKind);
    }
    result["resources"] = resources_json(options, o, committed, config);
    // Which data path carried the load (--io-backend auto may have fallen back).
    if (!o.io_backend.empty()) result["resources"]["ioBackend"] = o.io_backend;

    if (options.server_pid > 0) {
        if (o.server_cpu_before_us && o.server_cpu_after_us && *o.server_cpu_after_us >= *o.server_cpu_before_us) {
            const auto used = *o.server_cpu_after_us - *o.server_cpu_before_us;
            result["server"]["process"] =
                Json{{"pid", options.server_pid},
                     {"cpuUs", used},
                     {"cpuUsPerCommitted", per_committed(used, committed)},
                     {"cpuCores", o.window_seconds > 0
                                      ? round_to(static_cast<double>(used) / 1e6 / o.window_seconds, 0.001)
                                      : 0.0}};
        } else {
            warnings.push_back("--server-pid " + std::to_string(options.server_pid) + ": could not read /proc/" +
                               std::to_string(options.server_pid) + "/stat (not a process on this host?)");
        }
    }
    const auto& counters = o.counters;
    if (counters.errors() > 0)
        warnings.push_back(std::to_string(counters.errors()) + " calls failed (" + failures_of(counters) + ")");
    if (counters.protocol_errors.total() > 0) warnings.push_back(protocol_errors_warning(counters.protocol_errors));
    // One rule with the coordinator's result (stats/client_server_check.hpp).
    const double round_trips_ms = static_cast<double>(o.before.round_trip_ms() + o.after.round_trip_ms());
    const auto check =
        stats::check_client_server(client_committed, static_cast<double>(committed), tps, round_trips_ms);
    // The evidence for the verdict (generator/local_verdict), which words a
    // disagreement by which side is higher.
    // With a window but no commit on the server, clients that saw commits
    // still disagree with it (check_client_server leaves that case to us).
    if (o.window_seconds > 0)
        result["clientServerCheck"] = Json{{"clientCommitted", round_to(client_committed, 1.0)},
                                           {"serverCommitted", committed},
                                           {"ratio", committed > 0 ? Json(round_to(check.ratio, 0.000001)) : Json()},
                                           {"tolerance", 0.02},
                                           {"allowance", round_to(check.allowance, 0.1)},
                                           {"edgeAllowance", round_to(check.edge_allowance, 0.1)},
                                           {"agrees", committed > 0 ? check.agrees : client_committed < 0.5}};
    if (o.interrupted) warnings.push_back("interrupted: the window is shorter than requested");
    result["warnings"] = warnings;
    return result;
}

}  // namespace benchdist::generator
