// BSATN encoding and decoding of whole v2 ClientMessages and ServerMessages
// (the typed, allocating path: the stand-in server, the SDK-conformance tests
// and anything that needs every field). Decoding validates everything the
// real server or SDK would (tags, the zero flags byte, UTF-8, lengths against
// what remains, row-list consistency) and throws bsatn::DecodeError naming the
// byte offset and what was expected there. For the generator's hot path see
// client_message_view.hpp and server_message_view.hpp.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "benchdist/bsatn/reader.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/messages.hpp"

namespace benchdist::stdb {

// Append one message.
void encode(bsatn::Writer& w, const ClientMessage& message);
void encode(bsatn::Writer& w, const ServerMessage& message);

// Read one message, leaving the reader just after it (v3 bodies hold several).
ClientMessage decode_client_message(bsatn::Reader& r);
ServerMessage decode_server_message(bsatn::Reader& r);

// Exactly one message filling the whole buffer (trailing bytes are an error).
ClientMessage decode_client_message(std::span<const std::uint8_t> bytes);
ServerMessage decode_server_message(std::span<const std::uint8_t> bytes);

// Convenience for tests and cold paths.
std::vector<std::uint8_t> encode_to_bytes(const ClientMessage& message);
std::vector<std::uint8_t> encode_to_bytes(const ServerMessage& message);

}  // namespace benchdist::stdb
