// StdbConnection: one SpacetimeDB WebSocket client connection (v3 or v2
// BSATN) as the load generator needs it -- open, call the `transfer`
// reducer with exactly one request in flight, learn the outcome, close.
// Beast lives only in the .cpp; callers see an io_context by forward
// declaration. Every member function must be called on the thread that runs
// that io_context (one io_context per worker thread, so no strand and no
// lock is needed), and every callback runs there too. The hot path reuses
// one write buffer, one read buffer and one decompression scratch buffer,
// and decodes ReducerResult with the zero-copy view; the per-call callback
// is a std::function, which holds a small lambda (one pointer) without
// allocating in libstdc++.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace benchdist::generator {

// The server's addresses, resolved once and shared by every connection so
// opening 10,000 connections does not mean 10,000 DNS lookups.
class ResolvedServer;

// Resolves target.host:target.port (blocking). Throws std::runtime_error
// naming the URL when the host cannot be resolved. wss:// is refused with a
// clear message (TLS is not implemented in this client yet).
std::shared_ptr<const ResolvedServer> resolve_server(const stdb::HttpTarget& target);

struct ConnectionOptions {
    stdb::HttpTarget target;  // from stdb::subscribe_target
    // nullopt offers "v3.bsatn.spacetimedb, v2.bsatn.spacetimedb" (server picks v3).
    std::optional<stdb::ProtocolVersion> force_protocol;
    std::string token;  // sent as "Authorization: Bearer <token>" when non-empty
    std::chrono::milliseconds connect_timeout{10000};
    // From the start of the WebSocket handshake until InitialConnection.
    std::chrono::milliseconds handshake_timeout{10000};
    // How long a close handshake may take before the socket is dropped.
    std::chrono::milliseconds close_timeout{2000};
};

enum class CallStatus {
    Committed,      // Ok / OkEmpty
    ModuleError,    // Err(string): the reducer refused (e.g. insufficient_funds)
    InternalError,  // InternalError(string): panic, no such reducer, bad args...
    Timeout,        // no ReducerResult within the op timeout; the connection is then closed
    Disconnected,   // the connection ended (or was never open) before the result
};
std::string_view call_status_name(CallStatus s);

struct CallOutcome {
    CallStatus status = CallStatus::Committed;
    // Module/internal error text, or what ended the connection. Valid only
    // during the callback.
    std::string_view text;
};

class StdbConnection {
public:
    // Empty string on success, else a message for an operator, e.g.
    // "server refused the WebSocket upgrade: 404 `test-9` not found -- check --stdb-module".
    using OpenHandler = std::function<void(const std::string& error)>;
    using CallHandler = std::function<void(const CallOutcome&)>;
    using CloseHandler = std::function<void()>;

    StdbConnection(boost::asio::io_context& io, std::shared_ptr<const ResolvedServer> server,
                   ConnectionOptions options);
    // Drops the socket without a close handshake if still open (use
    // async_close first for a polite close). Pending handlers are not called.
    ~StdbConnection();
    StdbConnection(const StdbConnection&) = delete;
    StdbConnection& operator=(const StdbConnection&) = delete;

    // TCP connect, WebSocket upgrade, then wait for InitialConnection. Call once.
    void async_open(OpenHandler done);

    // Sends CallReducer transfer{from, to, amount} with a fresh request id.
    // Precondition: open and no call in flight (else the handler gets
    // Disconnected / InternalError immediately via post). If no result arrives
    // within op_timeout the handler gets Timeout and the connection is closed,
    // so a closed loop never has two requests on one connection.
    void async_call_transfer(std::uint32_t from, std::uint32_t to, std::int64_t amount,
                             std::chrono::milliseconds op_timeout, CallHandler done);

    // Close frame (normal), bounded by close_timeout; done always runs once.
    // A call in flight gets Disconnected.
    void async_close(CloseHandler done);

    bool is_open() const;
    // The negotiated protocol (valid once open).
    stdb::ProtocolVersion protocol() const;
    // The URL this connection goes to (for messages).
    std::string url() const;

private:
    class Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace benchdist::generator
