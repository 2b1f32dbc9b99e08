// What one binary message from the server means for a connection, on both
// data paths (lean_connection.cpp for plain ws://, the Beast glue in
// stdb_connection_impl.hpp for wss:// and tests): decompress it, walk its
// server messages, open the connection on InitialConnection, end the call
// each ReducerResult answers, and turn whatever cannot be taken into the
// protocol error of the right kind. One owner, so the two paths can never
// disagree on what the server's bytes mean; each connection supplies its
// states and reactions through ServerMessageTarget.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/generator/call_pipeline.hpp"
#include "benchdist/generator/protocol_errors.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::generator {

class ServerMessageTarget {
public:
    virtual bool awaiting_initial() const = 0;
    // InitialConnection arrived while awaited: the connection is open.
    virtual void opened() = 0;
    virtual bool open() const = 0;
    virtual bool closed() const = 0;
    // Reports the error and gives the connection up.
    virtual void protocol_error(ProtocolErrorKind kind, std::string_view detail,
                                std::span<const std::uint8_t> frame) = 0;
    // Not the server's fault (a handler threw): gives the connection up.
    virtual void fail_connection(const std::string& why) = 0;
    virtual const std::string& url() const = 0;

protected:
    ~ServerMessageTarget() = default;
};

// Takes one whole binary message. `now` is the batch's clock reading
// (CallPipeline::begin_dispatch): the outcomes' time and the deadline base
// of the calls their handlers make, which wait in the outbox until the
// caller flushes. True when the message was taken; false when it ended the
// connection (a protocol error, a failure, or the connection closed while
// its results were handed out) and the caller must not read on.
bool take_server_message(ServerMessageTarget& target, CallPipeline& calls, std::span<const std::uint8_t> payload,
                         stdb::ProtocolVersion protocol, std::vector<std::uint8_t>& scratch,
                         CallPipeline::Clock::time_point now);

}  // namespace benchdist::generator
