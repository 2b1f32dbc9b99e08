// StandinServer: stdb-standin's network side. One HTTP port serves
// SpacetimeDB's HTTP API (/v1/ping, /v1/metrics, /v1/identity,
// /v1/database/...) and its WebSocket API (/v1/database/{name}/subscribe,
// protocols v3.bsatn and v2.bsatn) for the keynote transfer module. Each
// database runs its reducers on its own thread, one at a time and in order as
// SpacetimeDB does, while network I/O runs on a separate pool of threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace benchdist::standin {

struct StandinOptions {
    std::string listen_address = "127.0.0.1";
    std::uint16_t port = 3000;  // 0 = pick a free port (printed at start)
    unsigned io_threads = 1;
    std::vector<std::string> databases{"test-1"};
    // Simulated work inside each transfer; it holds the database's reducer
    // thread, so throughput is capped at 1/N.
    std::uint64_t reducer_delay_us = 0;
    // Holds each reply back by N without holding the database (network
    // distance, durable-commit wait of confirmed reads).
    std::uint64_t reply_delay_us = 0;
    // Ground truth: a line per committed transfer, written off the hot path.
    std::string commit_log_path;
    // Enables POST /v1/debug/database/{name}/corrupt (breaks the conserved total).
    bool debug_routes = false;
    // Refuse anonymous callers (no token) on /v1/database/* and the
    // WebSocket upgrade with 401, as a server or proxy that requires
    // authentication does: how tests check that every client sends
    // --stdb-token. Tokens come from POST /v1/identity, which stays open.
    bool require_token = false;
    // SpacetimeDB's incoming WebSocket message limit.
    std::size_t max_message_bytes = 32u << 20;
    std::size_t max_http_body_bytes = 16u << 20;
    // Where the server's own warnings go (one line each, e.g. accepting
    // failed because the process ran out of descriptors). Unset: dropped.
    std::function<void(const std::string& line)> warn;
};

class StandinServer {
public:
    explicit StandinServer(StandinOptions options);
    ~StandinServer();
    StandinServer(const StandinServer&) = delete;
    StandinServer& operator=(const StandinServer&) = delete;

    // Binds and starts serving. Throws std::runtime_error on bind failure.
    void start();
    std::uint16_t port() const;
    // Identity (64 hex) of a database, for logs and tests.
    std::string database_identity(const std::string& name) const;
    // Stops accepting, closes connections, stops database threads, flushes
    // the commit log. Idempotent.
    void stop();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace benchdist::standin
