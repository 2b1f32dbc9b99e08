// Client->server WebSocket payloads: on v2 exactly one ClientMessage, on v3
// one or more concatenated with no count or length prefix. Client payloads
// never carry a compression byte. The generator builds v3 frames by encoding
// several messages into one buffer; the stand-in server splits them here (or
// with ClientFrameCursor in client_message_view.hpp, without copying).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::stdb {

// Appends the messages back to back. v2 takes exactly one message, v3 one or
// more (std::invalid_argument otherwise).
void encode_client_frame(std::vector<std::uint8_t>& out, std::span<const ClientMessage> messages,
                         ProtocolVersion version);

// v2: exactly one message filling the payload; v3: messages until the payload
// is consumed exactly. Empty payloads are an error on both. Throws
// bsatn::DecodeError with offsets into the payload.
std::vector<ClientMessage> decode_client_frame(std::span<const std::uint8_t> payload, ProtocolVersion version);

}  // namespace benchdist::stdb
