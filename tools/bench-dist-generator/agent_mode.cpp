// bench-dist-generator's agent mode: wires the HTTP coordinator client, the
// load session and the stop flag into generator::AgentRunner, which holds
// the agent loop (include/benchdist/generator/agent_runner.hpp).
#include <unistd.h>

#include <chrono>

#include "benchdist/generator/agent_runner.hpp"
#include "benchdist/generator/coordinator_client.hpp"
#include "generator_tool.hpp"

namespace benchdist::generator_tool {

namespace {

// The load session as the agent sees it; opening logs progress as `run` does.
class SessionLoad final : public generator::AgentLoad {
public:
    SessionLoad(generator::LoadSession& session, const generator::GeneratorConfig& config)
        : session_(session), config_(config) {}

    void open_connections() override { generator_tool::open_connections(session_, config_); }
    void start(std::uint64_t epoch) override { session_.start(epoch); }
    bool stop() override { return session_.stop(); }
    generator::LoadCounters counters() const override { return session_.counters(); }
    std::vector<stats::Interval> take_intervals() override { return session_.take_intervals(); }
    std::optional<std::int64_t> load_started_unix_ms() const override { return session_.load_started_unix_ms(); }
    std::optional<std::int64_t> load_stopped_unix_ms() const override { return session_.load_stopped_unix_ms(); }
    std::optional<std::uint64_t> running_epoch() const override { return session_.running_epoch(); }
    std::size_t live_connections() const override { return session_.live_connections(); }
    std::optional<stdb::ProtocolVersion> negotiated_protocol() const override { return session_.negotiated_protocol(); }
    void close_all() override { session_.close_all(); }

private:
    generator::LoadSession& session_;
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

int run_agent(const generator::GeneratorConfig& config, StopFlag& stop) {
    LoadParts parts;
    if (const auto failed = make_load_parts_or_report(config, parts)) return *failed;
    const auto started_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    auto manifest = config.manifest(parts.session->thread_count(), static_cast<std::int64_t>(getpid()), started_ms);

    generator::CoordinatorClient client(config.coordinator_url);
    client.set_auth_token(config.auth_token);
    SessionLoad load(*parts.session, config);
    StopFlagClock clock(stop);
    generator::AgentSinks sinks{[&config](const std::string& text) { log_line(config.id, text); },
                                [](const std::string& line) { error_line(line); }};
    generator::AgentRunner runner(config, std::move(manifest), client, load, clock, std::move(sinks),
                                  static_cast<std::uint32_t>(getpid()));
    const int exit_code = runner.run();
    parts.session.reset();
    log_line(config.id, "connections closed");
    return exit_code;
}

}  // namespace benchdist::generator_tool
