// `bench-dist-generator run`: one generator loading a server on its own, no
// coordinator. It opens the connections (timed), loads for a warm-up, opens
// the measured window on the next whole second of the wall clock (so an
// n-second window holds n whole per-second intervals, as the coordinator
// does), reads the server's committed-transfer counter at both ends of the
// window, and prints one JSON object: TPS from the server's counter as in an
// epoch result, the client's outcomes and latency over the same window, and
// what the generator itself cost -- CPU per committed transfer (getrusage
// over the window), memory per connection above the idle baseline, the time
// to open every connection. It is useful on its own and drives
// bench/load_bench.sh.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "benchdist/control/latency_kind.hpp"
#include "benchdist/control/protocol.hpp"
#include "benchdist/control/version.hpp"
#include "benchdist/generator/resource_limits.hpp"
#include "benchdist/generator/resource_usage.hpp"
#include "benchdist/stats/client_server_check.hpp"
#include "benchdist/stats/interval_series.hpp"
#include "benchdist/stats/round_to.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdbhttp/server_api.hpp"
#include "generator_tool.hpp"

namespace benchdist::generator_tool {

namespace {

using control::Json;
using Clock = std::chrono::steady_clock;

std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

using stats::round_to;

// One read of the server's counter and when it happened (the midpoint of
// the request, steady clock, for the window's length).
struct CounterSample {
    stdbhttp::CounterRead read;
    Clock::time_point at;
};

CounterSample read_counter(const generator::GeneratorConfig& config, const std::string& identity) {
    const auto sent = Clock::now();
    auto read = stdbhttp::read_committed_transfers(config.endpoint, identity, std::chrono::milliseconds(10000),
                                                   config.stdb_token);
    const auto received = Clock::now();
    return {read, sent + (received - sent) / 2};
}

// User + system CPU of another process on this host, in microseconds
// (/proc/PID/stat fields 14 and 15, in clock ticks); nullopt if unreadable.
std::optional<std::uint64_t> process_cpu_us(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) is in parentheses and may contain spaces.
    const auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    std::uint64_t utime = 0;
    std::uint64_t stime = 0;
    // After ')' come field 3 (state) onwards: utime is the 12th of those, stime the 13th.
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    if (!fields) return std::nullopt;
    const long ticks = sysconf(_SC_CLK_TCK);
    return (utime + stime) * 1'000'000ull / static_cast<std::uint64_t>(ticks > 0 ? ticks : 100);
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int run_local(const generator::GeneratorConfig& config, const LocalRunOptions& options, StopFlag& stop) {
    const auto log = [&config](const std::string& text) { log_line(config.id, text); };
    std::vector<std::string> warnings;

    // The database must exist before anything is opened: its identity picks
    // its series out of /v1/metrics.
    std::string identity;
    try {
        identity = stdbhttp::fetch_database_identity(config.endpoint, config.database, std::chrono::milliseconds(10000),
                                                     config.stdb_token);
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << std::endl;
        return 1;
    }

    LoadParts parts;
    if (const auto failed = make_load_parts_or_report(config, parts)) return *failed;
    auto& session = *parts.session;
    // Idle baseline: pairs precomputed, worker threads started, nothing open.
    const auto idle = generator::take_resource_snapshot();

    const auto open_started = Clock::now();
    try {
        open_connections(session, config);
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << std::endl;
        return 1;
    }
    const double open_seconds = seconds_between(open_started, Clock::now());
    const auto opened = generator::take_resource_snapshot();
    log("opened " + std::to_string(session.opened()) + " connections in " + std::to_string(open_seconds) + " s");

    session.start(1);
    bool interrupted = false;
    const auto wait = [&](double seconds) {
        if (interrupted || seconds <= 0) return;
        interrupted = !stop.wait_for(std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0)));
    };
    if (options.warmup_seconds > 0) log("warming up for " + std::to_string(options.warmup_seconds) + " s");
    wait(options.warmup_seconds);
    if (options.align_window) {
        const std::int64_t now = unix_now_ms();
        wait(static_cast<double>((now / 1000 + 1) * 1000 - now) / 1000.0);
    }

    CounterSample before;
    CounterSample after;
    generator::ResourceSnapshot window_start_usage;
    generator::ResourceSnapshot window_end_usage;
    std::int64_t window_start_ms = 0;
    std::int64_t window_end_ms = 0;
    std::optional<std::uint64_t> server_cpu_before;
    std::optional<std::uint64_t> server_cpu_after;
    try {
        window_start_ms = unix_now_ms();
        window_start_usage = generator::take_resource_snapshot();
        if (options.server_pid > 0) server_cpu_before = process_cpu_us(options.server_pid);
        before = read_counter(config, identity);
        log("window open: measuring for " + std::to_string(options.seconds) + " s");
        wait(options.seconds);
        window_end_ms = unix_now_ms();
        after = read_counter(config, identity);
        window_end_usage = generator::take_resource_snapshot();
        if (options.server_pid > 0) server_cpu_after = process_cpu_us(options.server_pid);
    } catch (const std::exception& e) {
        session.stop();
        std::cerr << "error: " << e.what() << std::endl;
        return 1;
    }
    if (!session.stop()) warnings.push_back("some workers were still busy after the op timeout");
    const auto counters = session.counters();
    const auto intervals = session.take_intervals();
    const auto loaded = generator::take_resource_snapshot();

    if (after.read.committed < before.read.committed) {
        std::cerr << "error: the server's committed counter went back from " << before.read.committed << " to "
                  << after.read.committed << " during the window -- did the server restart?" << std::endl;
        return 1;
    }
    const std::uint64_t committed = after.read.committed - before.read.committed;
    const double window_seconds = seconds_between(before.at, after.at);
    const double tps = window_seconds > 0 ? static_cast<double>(committed) / window_seconds : 0.0;

    stats::WindowSelection selection;
    if (!intervals.empty() && window_end_ms > window_start_ms) {
        selection = stats::select_window(intervals, window_start_ms, window_end_ms, stats::IntervalOptions{});
    }
    const auto& window = selection.totals;
    // The client's count over exactly the span between the two counter reads
    // (their midpoints, wall clock), each second weighted by its share inside
    // it -- the coordinator's edge weighting -- so client and server count
    // the same time even when a read was late.
    const double read0_ms = static_cast<double>(before.read.sent_at_ms + before.read.received_at_ms) / 2.0;
    const double read1_ms = static_cast<double>(after.read.sent_at_ms + after.read.received_at_ms) / 2.0;
    double client_committed = 0;
    for (const auto& interval : intervals) {
        const double start = static_cast<double>(interval.start_ms);
        const double end = start + static_cast<double>(interval.length_ms);
        const double inside = std::max(0.0, std::min(end, read1_ms) - std::max(start, read0_ms));
        client_committed +=
            static_cast<double>(interval.totals.committed) * inside / static_cast<double>(interval.length_ms);
    }
    const double client_tps = read1_ms > read0_ms ? client_committed / ((read1_ms - read0_ms) / 1000.0) : 0.0;

    const auto cpu = generator::diff(window_start_usage, window_end_usage);
    const std::size_t connections = session.opened();
    // Growth above the idle baseline, per connection (signed: memory can go back).
    const auto per_connection = [connections, &idle](const generator::ResourceSnapshot& now) -> Json {
        if (connections == 0 || now.rss_bytes == 0 || idle.rss_bytes == 0) return nullptr;
        const double growth = static_cast<double>(now.rss_bytes) - static_cast<double>(idle.rss_bytes);
        return round_to(growth / static_cast<double>(connections), 1.0);
    };

    Json result = Json::object();
    result["mode"] = "local run (no coordinator)";
    result["toolVersion"] = std::string(control::tool_version());
    result["server"] = Json{{"url", config.endpoint.display()},
                            {"database", config.database},
                            {"identity", identity},
                            {"protocol", session.negotiated_protocol()
                                             ? Json(std::string(stdb::subprotocol_name(*session.negotiated_protocol())))
                                             : Json(nullptr)}};
    result["workload"] = config.workload_json();
    result["options"] = config.options_json(session.thread_count());
    result["window"] = Json{{"warmupSeconds", options.warmup_seconds},
                            {"requestedSeconds", options.seconds},
                            {"seconds", round_to(window_seconds, 0.001)},
                            {"startedAt", control::iso8601_millis(window_start_ms)},
                            {"endedAt", control::iso8601_millis(window_end_ms)},
                            {"interrupted", interrupted}};
    result["committedDelta"] = committed;
    result["tps"] = round_to(tps, 0.1);
    result["counterReads"] = Json{{"before", before.read.committed}, {"after", after.read.committed}};
    // How long each read took: how uncertain the window's edges are.
    result["counterReadMs"] = Json::array(
        {before.read.received_at_ms - before.read.sent_at_ms, after.read.received_at_ms - after.read.sent_at_ms});
    Json client = control::to_json(generator::report_counters(counters));
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
    result["resources"] =
        Json{{"connections", connections},
             {"threads", session.thread_count()},
             {"openParallelism", config.open_parallelism},
             {"openSeconds", round_to(open_seconds, 0.001)},
             {"cpuUserUs", cpu.cpu_user_us},
             {"cpuSystemUs", cpu.cpu_system_us},
             {"cpuUsPerCommitted",
              committed > 0 ? Json(round_to(static_cast<double>(cpu.cpu_us) / static_cast<double>(committed), 0.01))
                            : Json(nullptr)},
             {"cpuCores", cpu.wall_us > 0
                              ? round_to(static_cast<double>(cpu.cpu_us) / static_cast<double>(cpu.wall_us), 0.001)
                              : 0.0},
             {"rssIdleBytes", idle.rss_bytes},
             {"rssOpenBytes", opened.rss_bytes},
             {"rssLoadedBytes", loaded.rss_bytes},
             {"maxRssBytes", loaded.max_rss_bytes},
             {"rssPerConnectionOpenBytes", per_connection(opened)},
             {"rssPerConnectionLoadedBytes", per_connection(loaded)},
             {"openFileLimit", options.open_file_limit}};

    if (options.server_pid > 0) {
        if (server_cpu_before && server_cpu_after && *server_cpu_after >= *server_cpu_before) {
            const auto used = *server_cpu_after - *server_cpu_before;
            result["server"]["process"] =
                Json{{"pid", options.server_pid},
                     {"cpuUs", used},
                     {"cpuUsPerCommitted",
                      committed > 0 ? Json(round_to(static_cast<double>(used) / static_cast<double>(committed), 0.01))
                                    : Json(nullptr)},
                     {"cpuCores",
                      window_seconds > 0 ? round_to(static_cast<double>(used) / 1e6 / window_seconds, 0.001) : 0.0}};
        } else {
            warnings.push_back("--server-pid " + std::to_string(options.server_pid) + ": could not read /proc/" +
                               std::to_string(options.server_pid) + "/stat (not a process on this host?)");
        }
    }
    if (counters.errors() > 0) {
        warnings.push_back(std::to_string(counters.errors()) + " calls failed (" + std::to_string(counters.timeouts) +
                           " timeouts, " + std::to_string(counters.disconnects) + " disconnects, " +
                           std::to_string(counters.module_errors) + " module errors)");
    }
    // One rule with the coordinator's result (stats/client_server_check.hpp).
    const double round_trips_ms = static_cast<double>(before.read.received_at_ms - before.read.sent_at_ms) +
                                  static_cast<double>(after.read.received_at_ms - after.read.sent_at_ms);
    const auto check =
        stats::check_client_server(client_committed, static_cast<double>(committed), tps, round_trips_ms);
    if (tps > 0 && !check.agrees) {
        warnings.push_back("the client saw " + std::to_string(client_tps) + "/s but the server counted " +
                           std::to_string(tps) + "/s (more apart than 2% plus the " +
                           std::to_string(static_cast<long long>(check.edge_allowance)) +
                           " transfers the counter reads' round trips allow): another client is loading this "
                           "database, or the window's edges did not fall on whole seconds");
    }
    if (interrupted) warnings.push_back("interrupted: the window is shorter than requested");
    result["warnings"] = warnings;
    std::cout << result.dump(2) << std::endl;

    session.close_all();
    return interrupted ? 1 : 0;
}

}  // namespace benchdist::generator_tool
