// bench-dist-generator's agent mode: wires the HTTP coordinator client, the
// load session and the stop flag into generator::AgentRunner, which holds
// the agent loop (include/benchdist/generator/agent_runner.hpp).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "benchdist/generator/agent_runner.hpp"
#include "benchdist/generator/coordinator_client.hpp"
#include "benchdist/generator/transfer_pairs_cache.hpp"
#include "generator_tool.hpp"

namespace benchdist::generator_tool {

namespace {

// The load session as the agent sees it; opening logs progress as `run` does.
// An epoch's alpha and accounts pick its pairs from the cache (computed
// here, before the load starts, when new).
class SessionLoad final : public generator::AgentLoad {
public:
    SessionLoad(generator::LoadSession& session, std::shared_ptr<const generator::TransferPairs> pairs,
                const generator::GeneratorConfig& config)
        : session_(session), pairs_(config.pair_options(), std::move(pairs)), config_(config) {}

    void open_connections() override { generator_tool::open_connections(session_, config_); }
    generator::EpochLoadSettings start(std::uint64_t epoch, const generator::EpochLoadSettings& asked) override {
        const auto found = pairs_.get(asked.alpha, asked.accounts);
        if (found.computed) {
            // Before /started: the start barrier waited this long for them.
            char line[160];
            std::snprintf(line, sizeof line,
                          "epoch %llu: computed %zu transfer pairs for alpha=%g accounts=%u in %lld ms",
                          static_cast<unsigned long long>(epoch), found.pairs->size(), asked.alpha,
                          static_cast<unsigned>(asked.accounts), static_cast<long long>(found.took.count()));
            log_line(config_.id, line);
        }
        session_.start(epoch, {asked.connections, asked.max_inflight, asked.rate, found.pairs});
        generator::EpochLoadSettings ran = asked;
        ran.connections = session_.epoch_run().connections;
        return ran;
    }
    std::size_t load_threads() const override {
        return std::min(session_.thread_count(), session_.epoch_run().connections);
    }
    bool stop() override { return session_.stop(); }
    generator::LoadCounters counters() const override { return session_.counters(); }
    std::vector<stats::Interval> take_intervals() override { return session_.take_intervals(); }
    std::vector<stats::Interval> take_finished_intervals() override { return session_.take_finished_intervals(); }
    std::optional<std::int64_t> load_started_unix_ms() const override { return session_.load_started_unix_ms(); }
    std::optional<std::int64_t> load_stopped_unix_ms() const override { return session_.load_stopped_unix_ms(); }
    std::optional<std::uint64_t> running_epoch() const override { return session_.running_epoch(); }
    std::size_t live_connections() const override { return session_.live_connections(); }
    std::optional<stdb::ProtocolVersion> negotiated_protocol() const override { return session_.negotiated_protocol(); }
    void close_all() override { session_.close_all(); }

private:
    generator::LoadSession& session_;
    generator::TransferPairsCache pairs_;
    const generator::GeneratorConfig& config_;
};

class StopFlagClock final : public generator::AgentClock {
public:
    explicit StopFlagClock(StopFlag& stop) : stop_(stop) {}
    Clock::time_point now() override { return Clock::now(); }
    bool wait_for(std::chrono::milliseconds d) override { return stop_.wait_for(d); }
    bool stop_requested() override { return stop_.requested(); }

private:
    StopFlag& stop_;
};

}  // namespace

int run_agent(const generator::GeneratorConfig& config, StopFlag& stop, generator::MetricsStore* metrics) {
    LoadParts parts;
    if (const auto failed = make_load_parts_or_report(config, parts)) return *failed;
    const auto started_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    auto manifest = config.manifest(parts.session->thread_count(), static_cast<std::int64_t>(getpid()), started_ms);

    generator::CoordinatorClient client(config.coordinator_url);
    client.set_auth_token(config.auth_token);
    SessionLoad load(*parts.session, parts.pairs, config);
    StopFlagClock clock(stop);
    generator::AgentSinks sinks{[&config](const std::string& text) { log_line(config.id, text); },
                                [](const std::string& line) { error_line(line); }};
    if (metrics) sinks.on_tick = [metrics](const generator::LoadTick& tick) { metrics->on_tick(tick); };
    generator::AgentRunner runner(config, std::move(manifest), client, load, clock, std::move(sinks),
                                  static_cast<std::uint32_t>(getpid()));
    const int exit_code = runner.run();
    parts.session.reset();
    log_line(config.id, "connections closed");
    return exit_code;
}

}  // namespace benchdist::generator_tool
