// `bench-dist-generator run`: one generator loading a server on its own, no
// coordinator. It opens the connections (timed), loads for a warm-up, opens
// the measured window on the next whole second of the wall clock (so an
// n-second window holds n whole per-second intervals, as the coordinator
// does), reads the server's committed-transfer counter at both ends of the
// window, and prints one JSON object: TPS from the server's counter as in an
// epoch result, the client's outcomes and latency over the same window, and
// what the generator itself cost -- CPU per committed transfer (getrusage
// over the window), memory per connection above the idle baseline, the time
// to open every connection. It exits 0 only for a valid verdict
// (generator/local_verdict.hpp: e.g. every call failed, nothing committed,
// interrupted, another client's load). It is useful on its own and drives
// bench/load_bench.sh.
#include <chrono>
#include <iostream>
#include <string>

#include "benchdist/generator/agent_runner.hpp"
#include "benchdist/generator/local_result.hpp"
#include "benchdist/generator/resource_usage.hpp"
#include "benchdist/stats/interval_series.hpp"
#include "benchdist/stdbhttp/server_api.hpp"
#include "benchdist/text/printable.hpp"
#include "generator_tool.hpp"

namespace benchdist::generator_tool {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

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

double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int run_local(const generator::GeneratorConfig& config, const generator::LocalRunOptions& options,
              generator::LocalVerdictOptions verdict, StopFlag& stop, generator::MetricsStore* metrics) {
    const auto log = [&config](const std::string& text) { log_line(config.id, text); };
    generator::LocalRunObservations o;

    // The database must exist before anything is opened: its identity picks
    // its series out of /v1/metrics.
    try {
        o.database_identity = stdbhttp::fetch_database_identity(config.endpoint, config.database,
                                                                std::chrono::milliseconds(10000), config.stdb_token);
    } catch (const std::exception& e) {
        error_line(std::string("error: ") + e.what());
        return 1;
    }

    LoadParts parts;
    if (const auto failed = make_load_parts_or_report(config, parts)) return *failed;
    auto& session = *parts.session;
    // Idle baseline: pairs precomputed, worker threads started, nothing open.
    o.idle = generator::take_resource_snapshot();

    const auto open_started = Clock::now();
    try {
        open_connections(session, config);
    } catch (const std::exception& e) {
        error_line(std::string("error: ") + e.what());
        return 1;
    }
    o.open_seconds = seconds_between(open_started, Clock::now());
    o.opened = generator::take_resource_snapshot();
    log("opened " + std::to_string(session.opened()) + " connections in " + std::to_string(o.open_seconds) + " s");

    session.start(1);
    // With --metrics-listen the load is ticked into the metrics about once a
    // second, as the agent does; the intervals taken for it are kept for
    // the result.
    std::vector<stats::Interval> taken;
    const auto tick = [&](std::optional<std::uint64_t> epoch) {
        if (!metrics) return;
        auto fresh = session.take_finished_intervals();
        metrics->on_tick(generator::LoadTick{epoch, session.counters(), session.live_connections(), fresh});
        stats::merge_into(taken, fresh);
    };
    const auto wait = [&](double seconds) {
        if (o.interrupted || seconds <= 0) return;
        const auto until = Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
        for (auto left = until - Clock::now(); left > Clock::duration::zero() && !o.interrupted;
             left = until - Clock::now()) {
            const auto step = metrics ? std::min<Clock::duration>(left, generator::AgentRunner::kProgressPeriod) : left;
            o.interrupted = !stop.wait_for(std::chrono::ceil<std::chrono::milliseconds>(step));
            tick(1);
        }
    };
    if (options.warmup_seconds > 0) log("warming up for " + std::to_string(options.warmup_seconds) + " s");
    wait(options.warmup_seconds);
    if (options.align_window) {
        const std::int64_t now = unix_now_ms();
        wait(static_cast<double>((now / 1000 + 1) * 1000 - now) / 1000.0);
    }

    CounterSample before;
    CounterSample after;
    try {
        o.window_start_ms = unix_now_ms();
        o.window_start_usage = generator::take_resource_snapshot();
        if (options.server_pid > 0) o.server_cpu_before_us = generator::process_cpu_us(options.server_pid);
        before = read_counter(config, o.database_identity);
        log("window open: measuring for " + std::to_string(options.seconds) + " s");
        wait(options.seconds);
        o.window_end_ms = unix_now_ms();
        after = read_counter(config, o.database_identity);
        o.window_end_usage = generator::take_resource_snapshot();
        if (options.server_pid > 0) o.server_cpu_after_us = generator::process_cpu_us(options.server_pid);
    } catch (const std::exception& e) {
        session.stop();
        error_line(std::string("error: ") + e.what());
        return 1;
    }
    o.workers_busy_at_stop = !session.stop();
    o.load_started_ms = session.load_started_unix_ms();
    o.load_stopped_ms = session.load_stopped_unix_ms();
    o.counters = session.counters();
    tick(std::nullopt);  // the stop's tick
    stats::merge_into(taken, session.take_intervals());
    o.intervals = std::move(taken);
    o.loaded = generator::take_resource_snapshot();

    if (after.read.committed < before.read.committed) {
        std::cerr << "error: the server's committed counter went back from " << before.read.committed << " to "
                  << after.read.committed << " during the window -- did the server restart?" << std::endl;
        return 1;
    }
    o.before = before.read;
    o.after = after.read;
    o.window_seconds = seconds_between(before.at, after.at);
    o.negotiated_protocol = session.negotiated_protocol();
    o.threads = session.thread_count();
    o.io_backend = std::string(session.io_backend());
    o.connections = session.opened();
    auto result = generator::build_local_result(config, options, o);
    verdict.desired_connections = static_cast<std::uint64_t>(config.concurrency);
    verdict.opened_connections = o.connections;
    const bool valid = generator::judge_local_result(result, verdict);
    // pretty(): a server's error text in the result may not be UTF-8; it is
    // replaced rather than thrown on.
    std::cout << control::pretty(result) << std::flush;
    // The verdict last on stderr too, where a terminal shows it under the JSON.
    const auto stored = control::read_verdict(result);
    std::cerr << (valid ? "verdict: valid" : "verdict: INVALID") << "\n";
    for (const auto& r : stored->reasons) std::cerr << "  - [" << r.code << "] " << text::printable(r.message) << "\n";

    session.close_all();
    return valid ? 0 : 1;
}

}  // namespace benchdist::generator_tool
