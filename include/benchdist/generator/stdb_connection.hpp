// StdbConnection: one SpacetimeDB WebSocket client connection (v3 or v2
// BSATN) as the load generator needs it -- open, call the `transfer`
// reducer with up to max_inflight requests in flight (1 = the original's
// closed loop), learn each outcome by request id, close. Calls made while a
// write is under way, or while the results of one server message are being
// handed out, are queued and go out together: on v3 as one WebSocket message
// (as the official SDK coalesces, capped at 256 KiB), on v2 one message each.
// wss:// runs the same code over a TLS stream (a separate instantiation, so
// plain ws:// pays nothing for it), with the server's certificate checked
// against the system store plus --stdb-ca-file (net/tls_context.hpp).
// The calls in flight and the outgoing messages are kept by a CallPipeline
// (call_pipeline.hpp, no sockets); the Beast glue around it is a template
// over the stream type in src/generator/stdb_connection_impl.hpp, included by
// the .cpp and the tests, so callers see an io_context by forward
// declaration and no Beast at all. Every member function must be called on
// the thread that runs that io_context (one io_context per worker thread, so
// no strand and no lock is needed), and every callback runs there too. The hot path reuses
// one write buffer, one read buffer and one decompression scratch buffer,
// and decodes ReducerResult with the zero-copy view; the per-call callback
// is a std::function, which holds a small lambda (one pointer) without
// allocating in libstdc++.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "benchdist/generator/call_pipeline.hpp"
#include "benchdist/generator/protocol_errors.hpp"
#include "benchdist/net/tls_context.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace benchdist::generator {

// The server's addresses, resolved once and shared by every connection so
// opening 10,000 connections does not mean 10,000 DNS lookups.
class ResolvedServer;

// A worker thread's backend for the lean ws:// data path (src/generator/conn_io.hpp).
class ConnIoFactory;

// Resolves target.host:target.port (blocking). Throws std::runtime_error
// naming the URL when the host cannot be resolved. For a wss:// target the
// result also carries the TLS trust settings every connection to it uses:
// `tls`, or net::default_tls_client_context() when null (what the tools set
// from --stdb-ca-file). Connections must be given the target resolved here.
std::shared_ptr<const ResolvedServer> resolve_server(const stdb::HttpTarget& target,
                                                     std::shared_ptr<const net::TlsClientContext> tls = nullptr);

struct ConnectionOptions {
    stdb::HttpTarget target;  // from stdb::subscribe_target
    // nullopt offers "v3.bsatn.spacetimedb, v2.bsatn.spacetimedb" (server picks v3).
    std::optional<stdb::ProtocolVersion> force_protocol;
    std::string token;  // sent as "Authorization: Bearer <token>" when non-empty
    std::chrono::milliseconds connect_timeout{10000};
    // From the TCP connection (TLS handshake, upgrade) until InitialConnection.
    std::chrono::milliseconds handshake_timeout{10000};
    // How long a close handshake may take before the socket is dropped.
    std::chrono::milliseconds close_timeout{2000};
    // An open connection with no frame from the server for this long is
    // pinged, and given up (its calls fail as Disconnected) when the ping
    // is not answered either: between 1 and 1.5 times this after the last
    // frame (generator/silence_watch.hpp). SpacetimeDB pings every 15 s and
    // drops a client silent for 30 s. 0 turns the check off.
    std::chrono::milliseconds idle_timeout{30000};
    // Calls that may await their result at once (0 counts as 1).
    std::size_t max_inflight = 1;
    // Local IP address (literal) the socket binds to, port 0, before it
    // connects; empty lets the kernel choose. Each local address has its own
    // ephemeral port range per destination (see source_addresses.hpp). Only
    // the server's addresses of the same family are tried. Bind failures name
    // --source-addresses and the address.
    std::string source_address;
    // Told of every protocol error (protocol_errors.hpp) while the connection
    // is opening or open -- a message it cannot take, or a result for a
    // request id not in flight -- on the connection's thread, before the
    // connection closes and its calls fail as Disconnected (or its open
    // fails). One per connection at most: the first ends it. May be empty.
    ProtocolErrorHandler on_protocol_error;
    // Plain ws:// only: after Beast's handshake the socket goes to a ConnIo
    // from this factory (the connection's thread's) and the lean data path
    // (src/generator/lean_connection.*) runs the connection. Null: Beast's
    // data path, as for wss://. Must outlive the connection.
    ConnIoFactory* io = nullptr;
};

class StdbConnection {
public:
    // Empty string on success, else a message for an operator, e.g.
    // "server refused the WebSocket upgrade: 404 `test-9` not found -- check --stdb-module".
    using OpenHandler = std::function<void(const std::string& error)>;
    using CallHandler = CallPipeline::CallHandler;
    using CloseHandler = std::function<void()>;

    StdbConnection(boost::asio::io_context& io, std::shared_ptr<const ResolvedServer> server,
                   ConnectionOptions options);
    // Drops the socket without a close handshake if still open (use
    // async_close first for a polite close). Pending handlers are not called.
    ~StdbConnection();
    StdbConnection(const StdbConnection&) = delete;
    StdbConnection& operator=(const StdbConnection&) = delete;

    // TCP connect, TLS handshake (wss://), WebSocket upgrade, then wait for
    // InitialConnection, all but the connect under handshake_timeout. Call
    // once. A rejected certificate fails with a message naming the host and
    // --stdb-ca-file.
    void async_open(OpenHandler done);

    // Sends CallReducer transfer{from, to, amount} with a fresh request id.
    // Precondition: open and fewer than max_inflight calls in flight (else
    // the handler gets Disconnected / InternalError immediately via post).
    // If a result does not arrive within op_timeout the connection is closed:
    // that call's handler gets Timeout, the other calls in flight get
    // Disconnected, so a request that timed out is never followed by more on
    // the same connection.
    void async_call_transfer(std::uint32_t from, std::uint32_t to, std::int64_t amount,
                             std::chrono::milliseconds op_timeout, CallHandler done);

    // Close frame (normal), bounded by close_timeout; done always runs once.
    // A call in flight gets Disconnected.
    void async_close(CloseHandler done);

    bool is_open() const;
    std::size_t in_flight() const;
    // Calls it may have in flight at once (ConnectionOptions::max_inflight),
    // and raising it for a later epoch that asks for more; never lowered.
    // On the connection's thread, not from inside a call's handler.
    std::size_t max_inflight() const;
    void raise_max_inflight(std::size_t n);
    // WebSocket messages written and CallReducer messages they carried, so
    // tests and reports can see v3 coalescing at work.
    std::uint64_t frames_sent() const;
    std::uint64_t calls_sent() const;
    // The negotiated protocol (valid once open).
    stdb::ProtocolVersion protocol() const;
    // The URL this connection goes to (for messages).
    std::string url() const;

    // The implementation, one per stream type
    // (src/generator/stdb_connection_impl.hpp).
    class Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace benchdist::generator
