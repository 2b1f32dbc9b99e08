#include "benchdist/stdb/server_payload.hpp"

#include <stdexcept>
#include <string>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/bsatn/reader.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/message_codec.hpp"

namespace benchdist::stdb {

Compression server_payload_compression(std::span<const std::uint8_t> payload) {
    if (payload.empty()) throw bsatn::DecodeError(0, "expected a compression tag, but the server payload is empty");
    const std::uint8_t tag = payload[0];
    if (tag > 2)
        throw bsatn::DecodeError(0, "unknown compression tag " + std::to_string(tag) +
                                        " (expected 0 none, 1 brotli or 2 gzip)");
    return static_cast<Compression>(tag);
}

std::span<const std::uint8_t> open_server_payload(std::span<const std::uint8_t> payload,
                                                  std::vector<std::uint8_t>& scratch, std::size_t max_decompressed) {
    const Compression c = server_payload_compression(payload);
    const auto rest = payload.subspan(1);
    if (c == Compression::None) return rest;
    scratch.clear();
    decompress(c, rest, scratch, max_decompressed);
    return scratch;
}

std::vector<ServerMessage> decode_server_body(std::span<const std::uint8_t> body, ProtocolVersion version,
                                              std::size_t base_offset) {
    bsatn::Reader r(body, base_offset);
    std::vector<ServerMessage> out;
    if (r.at_end()) r.fail("a ServerMessage, but the server message body is empty");
    if (version == ProtocolVersion::V2) {
        out.push_back(decode_server_message(r));
        r.expect_end("the ServerMessage of a v2 payload");
        return out;
    }
    while (!r.at_end()) out.push_back(decode_server_message(r));
    return out;
}

std::vector<ServerMessage> decode_server_payload(std::span<const std::uint8_t> payload, ProtocolVersion version,
                                                 std::size_t max_decompressed) {
    std::vector<std::uint8_t> scratch;
    const auto body = open_server_payload(payload, scratch, max_decompressed);
    const bool compressed = payload[0] != 0;
    return decode_server_body(body, version, compressed ? 0 : 1);
}

void frame_server_body(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> body,
                       Compression connection_compression, std::size_t threshold) {
    out.clear();
    const Compression used = body.size() > threshold ? connection_compression : Compression::None;
    out.push_back(static_cast<std::uint8_t>(used));
    compress(used, body, out);
}

void encode_server_payload(std::vector<std::uint8_t>& out, std::span<const ServerMessage> messages,
                           ProtocolVersion version, Compression connection_compression, std::size_t threshold) {
    if (messages.empty()) throw std::invalid_argument("a server payload needs at least one message");
    if (version == ProtocolVersion::V2 && messages.size() != 1)
        throw std::invalid_argument("a v2 server payload carries exactly one message, got " +
                                    std::to_string(messages.size()));
    std::vector<std::uint8_t> body;
    bsatn::Writer w(body);
    for (const auto& m : messages) encode(w, m);
    frame_server_body(out, body, connection_compression, threshold);
}

std::vector<std::uint8_t> encode_server_payload(const ServerMessage& message, Compression connection_compression,
                                                std::size_t threshold) {
    std::vector<std::uint8_t> out;
    encode_server_payload(out, std::span<const ServerMessage>(&message, 1), ProtocolVersion::V2, connection_compression,
                          threshold);
    return out;
}

}  // namespace benchdist::stdb
