#include "benchdist/stdb/v3_framing.hpp"

#include <stdexcept>
#include <string>

#include "benchdist/bsatn/reader.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/message_codec.hpp"

namespace benchdist::stdb {

void encode_client_frame(std::vector<std::uint8_t>& out, std::span<const ClientMessage> messages,
                         ProtocolVersion version) {
    if (messages.empty()) throw std::invalid_argument("a client payload needs at least one message");
    if (version == ProtocolVersion::V2 && messages.size() != 1)
        throw std::invalid_argument("a v2 client payload carries exactly one message, got " +
                                    std::to_string(messages.size()));
    bsatn::Writer w(out);
    for (const auto& m : messages) encode(w, m);
}

std::vector<ClientMessage> decode_client_frame(std::span<const std::uint8_t> payload, ProtocolVersion version) {
    bsatn::Reader r(payload);
    std::vector<ClientMessage> out;
    if (r.at_end()) r.fail("a ClientMessage, but the client payload is empty");
    if (version == ProtocolVersion::V2) {
        out.push_back(decode_client_message(r));
        r.expect_end("the ClientMessage of a v2 payload");
        return out;
    }
    while (!r.at_end()) out.push_back(decode_client_message(r));
    return out;
}

}  // namespace benchdist::stdb
