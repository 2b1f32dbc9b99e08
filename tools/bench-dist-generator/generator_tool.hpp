// What bench-dist-generator's two modes share: the stop flag the signal
// thread sets, the log line format, and the entry points of the modes.
// main.cpp parses the command line into a GeneratorConfig and calls one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "benchdist/control/protocol.hpp"
#include "benchdist/generator/generator_config.hpp"
#include "benchdist/generator/load_session.hpp"
#include "benchdist/generator/local_result.hpp"
#include "benchdist/generator/local_verdict.hpp"
#include "benchdist/generator/metrics_store.hpp"
#include "benchdist/generator/transfer_pairs.hpp"
#include "benchdist/net/http_server.hpp"
#include "benchdist/net/listen_address.hpp"

namespace benchdist::generator_tool {

// Set by the signal thread; every wait in the modes wakes up on it.
class StopFlag {
public:
    void request() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_all();
    }
    bool requested() {
        std::lock_guard lock(m_);
        return stop_;
    }
    // False when a stop was requested (before or during the wait).
    bool wait_for(std::chrono::milliseconds d) {
        std::unique_lock lock(m_);
        return !cv_.wait_for(lock, d, [this] { return stop_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool stop_ = false;
};

// "[generator <id>] text" on stderr. The text quotes the coordinator's and
// the server's error messages, so it is escaped (text::printable): one
// line, printable ASCII, whatever a peer sent.
void log_line(const std::string& id, const std::string& text);
// A line such as "error: ..." on stderr, escaped the same way.
void error_line(const std::string& line);

// The pairs and the session (worker threads started, nothing opened), built
// from the config; the caller reports construction errors.
struct LoadParts {
    std::shared_ptr<const generator::TransferPairs> pairs;
    std::unique_ptr<generator::LoadSession> session;
};
LoadParts make_load_parts(const generator::GeneratorConfig& config);
// make_load_parts, with its errors printed: nullopt on success, else the
// exit code (2 for bad pair options, 1 otherwise).
std::optional<int> make_load_parts_or_report(const generator::GeneratorConfig& config, LoadParts& parts);

// Opens every connection, logging progress about every tenth.
void open_connections(generator::LoadSession& session, const generator::GeneratorConfig& config);

// --metrics-listen: this generator's Prometheus metrics at GET /metrics on
// its own server thread, fed through `store` (metrics_endpoint.cpp). An
// empty token: no check; the figures are read-only, so binding to loopback
// or the monitoring network is the usual guard.
class MetricsEndpoint {
public:
    // Listening when it returns; throws std::runtime_error naming the
    // address when it cannot bind.
    MetricsEndpoint(const net::ListenAddress& address, const std::string& token, const std::string& generator_id);
    std::uint16_t port() const { return server.port(); }

    generator::MetricsStore store;

private:
    static net::HttpServerOptions options(const net::ListenAddress& address, const std::string& token);
    net::RequestHandler handler(const std::string& token);

    net::HttpServer server;
};

// Follows the coordinator at config.coordinator_url until stopped; the exit
// code. `metrics` (may be null) gets the load's progress ticks.
int run_agent(const generator::GeneratorConfig& config, StopFlag& stop, generator::MetricsStore* metrics);

// `bench-dist-generator run`: opens the connections, loads the server for
// warm-up + window, reads the server's committed counter at both ends of the
// window and prints one JSON result on stdout; the exit code.
// Exits 0 only for a valid verdict (generator/local_verdict.hpp).
// `metrics` (may be null) gets a tick of the load about once a second.
int run_local(const generator::GeneratorConfig& config, const generator::LocalRunOptions& options,
              generator::LocalVerdictOptions verdict, StopFlag& stop, generator::MetricsStore* metrics);

}  // namespace benchdist::generator_tool
