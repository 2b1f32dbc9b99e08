// HttpServer: the project's one HTTP/1.1 server helper (Boost.Beast inside,
// none of it in this header). It owns the listening socket and a pool of I/O
// threads, enforces the limits a control plane exposed to a network needs
// (body and header size, read deadlines so trickled headers cannot pin a
// connection, a cap on concurrent connections that only clients which have
// proved themselves count against) and hands each complete request to one
// handler. Handlers answer through a Respond callback that may be called
// later and from any thread, which is what long-polling and the stand-in's
// database thread need. WebSocket upgrade requests can be handed off whole
// to an UpgradeHandler (see websocket_upgrade.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "benchdist/net/http_message.hpp"

namespace benchdist::net {

// What a HeaderScreen decides about a request from its headers alone.
struct ScreenVerdict {
    // Set: refuse the request with this answer (sent, then the connection
    // closes; the body is never read).
    std::optional<HttpResponse> refusal;
    // The headers prove the client (e.g. the right bearer token), so its
    // connection is admitted: it may hold one of max_connections slots,
    // long-polls and keep-alive included. False (and no refusal): the
    // request is served, but the connection stays pending and is closed
    // after the answer -- e.g. a health check open to everyone, which must
    // not let anyone keep a connection.
    bool authenticated = true;

    static ScreenVerdict admit() { return {}; }
    static ScreenVerdict serve_once() { return {std::nullopt, false}; }
    static ScreenVerdict refuse(HttpResponse answer) { return {std::move(answer), false}; }
};

// Judges a request from its headers alone (see screen_headers below).
using HeaderScreen = std::function<ScreenVerdict(const HttpRequest& head)>;

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
    // body is read (`head` has none): refuse it, let it through as
    // authenticated (admitted), or serve it once (see ScreenVerdict). For
    // checks that need no body, e.g. authentication, so a caller without the
    // token cannot make the server read a body of up to the route's limit.
    // Unset: every complete, valid head is admitted.
    HeaderScreen screen_headers;
    std::size_t max_header_bytes = 16u * 1024;
    // Deadline for reading one whole request (headers and body) on an
    // admitted connection, for the body of the request that admitted it,
    // and for an idle keep-alive connection to send its next one.
    std::chrono::milliseconds read_timeout{15000};

    // Admission (the policy: src/net/connection_admission.hpp). A connection
    // is pending from accept until the head of its first request passes
    // screen_headers as authenticated; then it is admitted and counts
    // against max_connections until it closes. Over max_connections an
    // authenticated request gets 503 and the connection closes. Pending
    // connections never count against it: they have their own caps, and a
    // newcomer over either evicts (closes without an answer) the oldest
    // pending connection, of its own source first, instead of being
    // refused. A pending connection must send its first head within
    // first_request_timeout (or read_timeout, if that is shorter); it is
    // closed without an answer otherwise.
    std::size_t max_connections = 1024;
    std::chrono::milliseconds first_request_timeout{5000};
    std::size_t max_pending_connections = 256;  // at least 1
    // Per source address (an IPv6 source: per /64); 0: no such cap.
    std::size_t max_pending_per_address = 64;
    // A handler that has not answered by then gets a 504 sent for it
    // (long-polls must stay below this).
    std::chrono::milliseconds handler_timeout{120000};
    // Errors the server itself produces (413, 431, 400, 503) as
    // {"error": "..."} JSON (the coordinator's convention) or plain text (the
    // real SpacetimeDB's, which stdb-standin copies).
    bool json_errors = true;
    // Run by stop() once the I/O threads have finished, before the sessions
    // and the io_context are destroyed: where an owner stops threads of its
    // own that still hand work to those sessions (stdb-standin's database
    // threads post replies to them), so that nothing touches the io_context
    // after it is gone. Optional.
    std::function<void()> after_io_threads;
    // Told (from an I/O thread) when accepting starts failing for want of
    // resources (EMFILE, ENFILE, ENOBUFS, ENOMEM: out of file descriptors
    // or kernel memory): one line naming the error and the fix. The server
    // then waits before accepting again, 5 ms doubling up to 1 s while the
    // failures go on, instead of spinning a core; the next such failure
    // after a success is told again. Optional.
    std::function<void(const std::string& message)> on_accept_error;
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

    // Connections now, by admission state, and pending ones evicted so far
    // (for logs and tests).
    struct ConnectionCounts {
        std::size_t pending = 0;
        std::size_t admitted = 0;
        std::uint64_t evicted = 0;
    };
    ConnectionCounts connection_counts() const;

    struct Impl;  // public only so the .cpp's session class can name it

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace benchdist::net
