// Zero-copy handling of client messages for the two hot loops: the generator
// encoding CallReducer into a reused buffer, and the stand-in server walking
// a client frame (one message on v2, several on v3) and picking out
// CallReducers without building owned messages. Views point into the input
// buffer and are valid only while it is. Validation is the same as
// decode_client_message's (shared code), so both accept the same bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "benchdist/bsatn/reader.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::stdb {

// Appends ClientMessage::CallReducer { request_id, flags 0, reducer, args }.
// Allocates nothing once the writer's buffer has grown to size. On v3 call it
// several times on one buffer to coalesce calls into one frame.
void encode_call_reducer(bsatn::Writer& w, std::uint32_t request_id, std::string_view reducer,
                         std::span<const std::uint8_t> args);

struct CallReducerView {
    std::uint32_t request_id = 0;
    std::string_view reducer;
    std::span<const std::uint8_t> args;
};

// Reads and validates one ClientMessage without copying and returns its tag;
// when it is a CallReducer and `call` is not null, fills *call.
ClientMessageTag read_client_message_view(bsatn::Reader& r, CallReducerView* call);

// Walks one client WebSocket payload message by message. v2: exactly one
// message, trailing bytes are an error; v3: one or more back to back. An
// empty payload is an error on both. next() throws bsatn::DecodeError.
class ClientFrameCursor {
public:
    ClientFrameCursor(std::span<const std::uint8_t> payload, ProtocolVersion version)
        : payload_(payload), reader_(payload), version_(version) {}

    // Advances to the next message; false once the payload is used up.
    bool next();

    ClientMessageTag tag() const { return tag_; }
    // The whole current message (decode_client_message(message_bytes()) for the typed form).
    std::span<const std::uint8_t> message_bytes() const { return message_; }
    // The current message if it is a CallReducer, else nullptr.
    const CallReducerView* call_reducer() const { return tag_ == ClientMessageTag::CallReducer ? &call_ : nullptr; }
    // Messages read so far.
    std::size_t count() const { return count_; }

private:
    std::span<const std::uint8_t> payload_;
    bsatn::Reader reader_;
    ProtocolVersion version_;
    std::size_t count_ = 0;
    ClientMessageTag tag_ = ClientMessageTag::Subscribe;
    std::span<const std::uint8_t> message_;
    CallReducerView call_;
};

}  // namespace benchdist::stdb
