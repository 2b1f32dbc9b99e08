// stdb-standin: a small server that speaks SpacetimeDB's HTTP and WebSocket
// API for the keynote transfer module only, so bench-dist can be demoed and
// tested without a SpacetimeDB install. See docs/stdb-standin.md.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "benchdist/control/version.hpp"
#include "benchdist/net/listen_address.hpp"
#include "benchdist/net/stop_signals.hpp"
#include "benchdist/standin/standin_server.hpp"

int main(int argc, char** argv) {
    CLI::App app{
        "stdb-standin: SpacetimeDB's HTTP + WebSocket API (v3/v2 BSATN) for the keynote transfer module only.\n"
        "In-memory, no durability, one reducer thread per database. For demos, tests and benchmarks of bench-dist."};
    app.set_version_flag("--version", std::string(benchdist::control::tool_version()));
    std::string listen = "127.0.0.1:3000";
    benchdist::standin::StandinOptions o;
    std::vector<std::string> databases;
    app.add_option("--listen", listen, "Address and port to serve HTTP and WebSocket on (port 0 picks a free one)")
        ->capture_default_str();
    app.add_option("--io-threads", o.io_threads, "Network I/O threads (reducers run on one thread per database)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 256u));
    app.add_option("--database", databases,
                   "Database name to host (repeatable; each has its own identity and metric series) [default: test-1]");
    app.add_option("--reducer-delay-us", o.reducer_delay_us,
                   "Simulated work inside each transfer, holding the database's single reducer thread: a service "
                   "time on a queue, so a saturated database commits exactly 1/N per second")
        ->capture_default_str();
    app.add_option("--reply-delay-us", o.reply_delay_us,
                   "Hold every reply back by N microseconds without holding the database (models network distance "
                   "or the durability wait of confirmed reads)")
        ->capture_default_str();
    app.add_option("--commit-log", o.commit_log_path,
                   "Append one line per committed transfer (commit time in us, database, from, to) to FILE, written "
                   "off the hot path: ground truth for tests");
    app.add_flag("--debug-routes", o.debug_routes,
                 "Enable POST /v1/debug/database/{name}/corrupt?id=N&delta=D, which breaks the conserved total so "
                 "verification failures can be tested. Off by default");
    app.add_flag("--require-token", o.require_token,
                 "Answer 401 to callers without a token on /v1/database/* and the WebSocket upgrade (tokens come "
                 "from POST /v1/identity): a server that requires authentication, for testing --stdb-token");
    app.add_option("--max-message-bytes", o.max_message_bytes, "Largest incoming WebSocket message")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    if (!databases.empty()) o.databases = databases;
    const auto parsed = benchdist::net::parse_listen_address(listen);
    if (const auto* problem = std::get_if<std::string>(&parsed)) {
        std::cerr << "stdb-standin: invalid --listen: " << *problem << "\n";
        return 2;
    }
    o.listen_address = std::get<benchdist::net::ListenAddress>(parsed).host;
    o.port = std::get<benchdist::net::ListenAddress>(parsed).port;
    o.warn = [](const std::string& line) { std::cerr << "stdb-standin: warning: " << line << std::endl; };

    // Block the stop signals in every thread; the main thread waits for them.
    const sigset_t signals = benchdist::net::block_stop_signals();

    try {
        benchdist::standin::StandinServer server(o);
        server.start();
        std::printf("stdb-standin listening on http://%s:%u (ws://%s:%u/v1/database/{name}/subscribe)\n",
                    o.listen_address.c_str(), server.port(), o.listen_address.c_str(), server.port());
        for (const auto& name : o.databases) {
            std::printf("database %s identity %s\n", name.c_str(), server.database_identity(name).c_str());
        }
        std::fflush(stdout);
        const int sig = benchdist::net::wait_for_stop_signal(signals);
        std::printf("stdb-standin: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        std::fflush(stdout);
        server.stop();
    } catch (const std::exception& e) {
        std::cerr << "stdb-standin: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
