// Bearer-token authentication for our HTTP control plane. The coordinator's
// routes start epochs and register load generators, so once it listens on a
// network address anyone who can reach the port could drive a benchmark; a
// shared secret (--auth-token / BENCH_DIST_TOKEN) sent as
// `Authorization: Bearer <token>` keeps them out. The check compares in
// constant time so response timing does not reveal how much of a guess was
// right, and the 401 it produces never echoes the presented or expected
// token: the token must not leak into logs, error messages or results.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "benchdist/net/http_message.hpp"
#include "benchdist/net/http_server.hpp"

namespace benchdist::net {

// Equality whose running time depends only on the lengths of the inputs,
// never on where they first differ.
bool constant_time_equals(std::string_view a, std::string_view b) noexcept;

enum class BearerCheck {
    Ok,
    Missing,    // no Authorization header
    NotBearer,  // an Authorization header with another scheme, or no token after "Bearer"
    Wrong,      // a bearer token that is not the expected one
};

// Checks the request's first Authorization header against `expected` (which
// must not be empty). The scheme name is case-insensitive (RFC 7235);
// whitespace around the token is ignored.
BearerCheck check_bearer(const HttpRequest& request, std::string_view expected);

// The value of an Authorization header carrying `token`.
std::string bearer_header_value(std::string_view token);

// A 401 with {"error": "<why>: <hint>"} and `WWW-Authenticate: Bearer`. `hint`
// tells the caller how to fix it; the token itself never appears.
HttpResponse unauthorized_response(BearerCheck why, std::string_view hint);

// The check of require_bearer_token as an HttpServerOptions::screen_headers
// function, so a request without the token is refused before its body is
// read. A request with the token is authenticated (its connection is
// admitted); one to an open path without it is served once, unadmitted.
// Empty token: an empty function (no check: every valid head is admitted).
HeaderScreen bearer_token_screen(std::string token, std::vector<std::string> open_paths, std::string hint);

// Wraps `inner` so that every request except those for `open_paths` (exact
// path match, e.g. a health check a load balancer must reach without the
// secret) must carry `token`; the others get unauthorized_response(why,
// hint). An empty token turns the check off and returns `inner` unchanged.
RequestHandler require_bearer_token(std::string token, RequestHandler inner, std::vector<std::string> open_paths,
                                    std::string hint);

}  // namespace benchdist::net
