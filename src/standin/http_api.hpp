// The HTTP side of stdb-standin: SpacetimeDB's /v1 routes that the benchmark
// and its users touch (ping, health, metrics, identity, database info and
// identity, sql, call, and a debug route to corrupt a balance), answered with
// the real server's status codes and plain-text error bodies.
#pragma once

#include "benchdist/net/http_server.hpp"

namespace benchdist::standin {

struct ServerContext;

void handle_http(ServerContext& ctx, net::HttpRequest request, net::Respond respond);

}  // namespace benchdist::standin
