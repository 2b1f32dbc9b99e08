// Server->client WebSocket payloads on v2/v3: [compression tag][body], where
// the tag (0 none, 1 brotli, 2 gzip) covers the whole body and the body is one
// ServerMessage (v2) or one or more back to back (v3). The encoder mirrors the
// real server's rule: compress only when the uncompressed body is longer
// than 1024 bytes and the connection asked for compression. Client payloads
// (no tag, never compressed) are in v3_framing.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/payload_compression.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::stdb {

// Bodies strictly longer than this are compressed (SpacetimeDB's constant).
inline constexpr std::size_t kCompressionThreshold = 1024;

// --- Decoding --------------------------------------------------------------

// Reads the tag and returns the uncompressed body: a view into `payload`
// when the tag is 0 (nothing copied), otherwise into `scratch`, which is
// cleared and refilled (reuse it across messages to avoid allocating).
// Throws bsatn::DecodeError for a missing/unknown tag, PayloadError for a
// bad compressed stream or a body over max_decompressed.
std::span<const std::uint8_t> open_server_payload(std::span<const std::uint8_t> payload,
                                                  std::vector<std::uint8_t>& scratch,
                                                  std::size_t max_decompressed = kDefaultMaxDecompressedBytes);

// The tag alone (DecodeError if missing or unknown).
Compression server_payload_compression(std::span<const std::uint8_t> payload);

// Typed decoding of a body: v2 exactly one message (trailing bytes are an
// error), v3 one or more until the body is consumed exactly (empty is an
// error). base_offset shifts error offsets (1 = offsets into the payload).
std::vector<ServerMessage> decode_server_body(std::span<const std::uint8_t> body, ProtocolVersion version,
                                              std::size_t base_offset = 0);

// Tag + decompression + decode_server_body. For an uncompressed payload,
// error offsets point into the payload; for a compressed one, into the
// decompressed body.
std::vector<ServerMessage> decode_server_payload(std::span<const std::uint8_t> payload, ProtocolVersion version,
                                                 std::size_t max_decompressed = kDefaultMaxDecompressedBytes);

// --- Encoding --------------------------------------------------------------

// Replaces `out` with [tag][body], compressing the body with the connection's
// algorithm only if body.size() > threshold (gzip level 1 / brotli quality 1).
void frame_server_body(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> body,
                       Compression connection_compression, std::size_t threshold = kCompressionThreshold);

// Encodes the messages back to back and frames them as above. v2 takes
// exactly one message, v3 one or more (std::invalid_argument otherwise).
void encode_server_payload(std::vector<std::uint8_t>& out, std::span<const ServerMessage> messages,
                           ProtocolVersion version, Compression connection_compression,
                           std::size_t threshold = kCompressionThreshold);
std::vector<std::uint8_t> encode_server_payload(const ServerMessage& message, Compression connection_compression,
                                                std::size_t threshold = kCompressionThreshold);

}  // namespace benchdist::stdb
