#include "benchdist/standin/standin_server.hpp"

#include <stdexcept>

#include "benchdist/net/http_server.hpp"
#include "http_api.hpp"
#include "server_context.hpp"
#include "ws_session.hpp"

namespace benchdist::standin {

struct StandinServer::Impl {
    ServerContext ctx;
    std::unique_ptr<net::HttpServer> http;
    bool stopped = false;
};

StandinServer::StandinServer(StandinOptions options) : impl_(std::make_unique<Impl>()) {
    auto& ctx = impl_->ctx;
    if (options.databases.empty()) throw std::invalid_argument("stdb-standin needs at least one --database");
    ctx.options = std::move(options);
    ctx.reply_delay_us.store(ctx.options.reply_delay_us);
    if (!ctx.options.commit_log_path.empty()) ctx.commit_log = std::make_unique<CommitLog>(ctx.options.commit_log_path);
    for (const auto& name : ctx.options.databases) {
        if (ctx.find(name) != nullptr) throw std::invalid_argument("database \"" + name + "\" is listed twice");
        DatabaseConfig config;
        config.name = name;
        config.identity = ctx.mint_identity();
        config.owner = ctx.mint_identity();
        config.reducer_delay = std::chrono::microseconds(ctx.options.reducer_delay_us);
        config.metrics = &ctx.metrics;
        config.commit_log = ctx.commit_log.get();
        ctx.hosts.push_back(std::make_unique<DatabaseHost>(std::move(config)));
    }
    ctx.delay_schedule = std::make_unique<ReplyDelaySchedule>(ctx.hosts.front()->io_context(), ctx.reply_delay_us);
    net::HttpServerOptions http;
    http.bind_address = ctx.options.listen_address;
    http.port = ctx.options.port;
    http.threads = ctx.options.io_threads;
    http.max_body_bytes = ctx.options.max_http_body_bytes;
    http.json_errors = false;         // the real server answers errors in plain text
    http.max_connections = 1u << 20;  // load tests open tens of thousands
    // ... from one address, many at once, each one a WebSocket upgrade that
    // may wait for a busy server to read it: no per-address cap, no separate
    // budget or shorter deadline for connections before their first
    // request. The stand-in is a test double, not exposed to a network.
    http.max_pending_connections = http.max_connections;
    http.max_pending_per_address = 0;
    http.first_request_timeout = http.read_timeout;
    http.on_accept_error = ctx.options.warn;
    // The database threads deliver replies to sessions of the I/O
    // io_context (through the reply relays): they stop, and the relays drop
    // the sessions they hold, before HttpServer::stop destroys it.
    http.after_io_threads = [&ctx] {
        ctx.delay_schedule->stop();
        for (auto& h : ctx.hosts) h->stop();
        ctx.drop_relays();
    };
    impl_->http = std::make_unique<net::HttpServer>(
        http,
        [&ctx](net::HttpRequest req, net::Respond respond) { handle_http(ctx, std::move(req), std::move(respond)); },
        [&ctx](net::UpgradeRequest&& up) { start_websocket_session(std::move(up), ctx); });
}

StandinServer::~StandinServer() { stop(); }

void StandinServer::start() {
    for (auto& h : impl_->ctx.hosts) h->start();
    impl_->http->start();
}

std::uint16_t StandinServer::port() const { return impl_->http->port(); }

std::string StandinServer::database_identity(const std::string& name) const {
    const auto* host = impl_->ctx.find(name);
    return host ? host->identity_hex() : std::string{};
}

void StandinServer::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    // Network first, so no new work reaches the databases; then let each
    // database finish what is queued (after_io_threads, set in the
    // constructor, runs inside http->stop: the pending delay step first, as
    // it would keep its database's thread waiting); then flush the ground truth.
    impl_->http->stop();
    if (impl_->ctx.commit_log) impl_->ctx.commit_log->close();
}

}  // namespace benchdist::standin
