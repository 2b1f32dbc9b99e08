// The lean ws:// data path (issue 18, item 2): once Beast's handshake is
// done (over a HeaderOnlyStream, so nothing past the 101's header was read),
// the socket's fd leaves Beast for a ConnIo (conn_io.hpp) and this
// connection takes over from the Beast one: it parses the server's frames
// where they were read (net/ws_frame.hpp), writes each outgoing message as
// one masked binary frame from the CallPipeline's buffer, header in front,
// answers pings, echoes closes, and keeps every rule of stdb_connection.hpp.
// Beast's websocket stream is destroyed: a connection costs its pipeline,
// three timers and the ConnIo.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "benchdist/generator/stdb_connection.hpp"
#include "generator/connection_impl.hpp"

namespace benchdist::generator::detail {

// What the Beast opener hands over after the upgrade.
struct LeanHandOff {
    ConnectionOptions options;  // options.io: the thread's ConnIoFactory
    std::string url;
    stdb::ProtocolVersion protocol = stdb::ProtocolVersion::V3;
    std::size_t max_inflight = 1;
    // The handshake's deadline, which also bounds the wait for InitialConnection.
    std::chrono::steady_clock::time_point open_deadline;
    StdbConnection::OpenHandler open_done;
    int fd = -1;  // connected, handshake done; owned from here on
};

// Adopts the fd into options.io and starts reading (InitialConnection next).
std::shared_ptr<StdbConnection::Impl> start_lean_connection(boost::asio::io_context& io, LeanHandOff hand_off);

}  // namespace benchdist::generator::detail
