// --metrics-listen: the store the load's progress ticks feed and the HTTP
// server (its own thread) that renders it for each scrape.
#include "benchdist/metrics/exposition.hpp"
#include "benchdist/net/bearer_auth.hpp"
#include "generator_tool.hpp"

namespace benchdist::generator_tool {

namespace {
constexpr const char* kScrapeHint =
    "this generator was started with --metrics-auth-token (or BENCH_DIST_METRICS_TOKEN): scrape with "
    "\"Authorization: Bearer <token>\" (Prometheus: authorization: {credentials: ...})";
}  // namespace

MetricsEndpoint::MetricsEndpoint(const net::ListenAddress& address, const std::string& token,
                                 const std::string& generator_id)
    : store(generator_id), server(options(address, token), handler(token)) {
    server.start();
}

net::HttpServerOptions MetricsEndpoint::options(const net::ListenAddress& address, const std::string& token) {
    net::HttpServerOptions o;
    o.bind_address = address.host;
    o.port = address.port;
    o.threads = 1;
    // A scrape is a bodiless GET from one or two Prometheus servers: small
    // limits, so the endpoint costs the load machine nothing else.
    o.max_body_bytes = 1024;
    o.max_connections = 16;
    o.max_pending_connections = 16;
    o.max_pending_per_address = 8;
    o.json_errors = false;
    o.screen_headers = net::bearer_token_screen(token, {}, kScrapeHint);
    return o;
}

net::RequestHandler MetricsEndpoint::handler(const std::string& token) {
    return net::require_bearer_token(token, metrics::metrics_only_handler([this] { return store.render(); }), {},
                                     kScrapeHint);
}

}  // namespace benchdist::generator_tool
