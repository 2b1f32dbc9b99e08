// HttpServer: the project's one HTTP/1.1 server helper (Boost.Beast inside,
// none of it in this header). It owns the listening socket and a pool of I/O
// threads, enforces the limits a control plane exposed to a network needs
// (body and header size, read deadline so trickled headers cannot pin a
// connection, a cap on concurrent connections) and hands each complete
// request to one handler. Handlers answer through a Respond callback that
// may be called later and from any thread, which is what long-polling and
// the stand-in's database thread need. WebSocket upgrade requests can be
// handed off whole to an UpgradeHandler (see websocket_upgrade.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "benchdist/net/http_message.hpp"

namespace benchdist::net {

// Refuses a request from its headers alone (see screen_headers below).
using HeaderScreen = std::function<std::optional<HttpResponse>(const HttpRequest& head)>;

struct HttpServerOptions {
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 0;  // 0 picks a free port; see HttpServer::port()
    unsigned threads = 1;
    std::size_t max_body_bytes = 1u << 20;
    // Optional per-request body limit, chosen from the request's target once
    // its headers are in and before any of the body is read (e.g. a small
    // limit for control requests and max_body_bytes only for the one route
    // that carries large reports). Unset: max_body_bytes for every request.
    std::function<std::size_t(std::string_view target)> body_limit_for;
    // Optional check of a request once its headers are in, before any of its
    // body is read: an answer refuses the request (it is sent, then the
    // connection closes), nullopt lets it through. `head` has no body. For
    // checks that need none, e.g. authentication, so a caller without the
    // token cannot make the server read a body of up to the route's limit.
    HeaderScreen screen_headers;
    std::size_t max_header_bytes = 16u * 1024;
    // Deadline for reading one whole request (headers and body), and for an
    // idle keep-alive connection to send its next one.
    std::chrono::milliseconds read_timeout{15000};
    std::size_t max_connections = 1024;
    // A handler that has not answered by then gets a 504 sent for it
    // (long-polls must stay below this).
    std::chrono::milliseconds handler_timeout{120000};
    // Errors the server itself produces (413, 431, 400, 503) as
    // {"error": "..."} JSON (the coordinator's convention) or plain text (the
    // real SpacetimeDB's, which stdb-standin copies).
    bool json_errors = true;
};

// Call exactly once per request, from any thread.
using Respond = std::function<void(HttpResponse)>;
using RequestHandler = std::function<void(HttpRequest, Respond)>;

class UpgradeRequest;  // defined in websocket_upgrade.hpp (Beast types)
using UpgradeHandler = std::function<void(UpgradeRequest&&)>;

class HttpServer {
public:
    HttpServer(HttpServerOptions options, RequestHandler handler, UpgradeHandler upgrade = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds, listens and starts the I/O threads. Throws std::runtime_error
    // naming the address when it cannot bind (in use, not local, ...).
    void start();
    // The bound port (useful when options.port was 0).
    std::uint16_t port() const;
    // Stops accepting, drops open connections and joins the threads. Idempotent.
    void stop();

    struct Impl;  // public only so the .cpp's session class can name it

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace benchdist::net
