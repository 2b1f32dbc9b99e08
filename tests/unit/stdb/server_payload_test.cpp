// Server payload framing: the compression tag, the >1024-byte rule, v2 vs v3
// bodies in both directions.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/server_payload.hpp"

namespace {

using namespace benchdist::stdb;
using benchdist::bsatn::DecodeError;
using Bytes = std::vector<std::uint8_t>;

// A SubscriptionError whose encoding is exactly `size` bytes.
ServerMessage message_of_size(std::size_t size) {
    SubscriptionError e;
    e.query_set_id.id = 1;
    const std::size_t fixed = 1 + 1 + 4 + 4;  // tag, None, query_set_id, string length
    e.error = std::string(size - fixed, 'x');
    ServerMessage m(e);
    EXPECT_EQ(encode_to_bytes(m).size(), size);
    return m;
}

TEST(ServerPayload, CompressesOnlyAboveTheThreshold) {
    for (const auto algo : {Compression::Gzip, Compression::Brotli}) {
        for (const std::size_t size : {1000u, 1023u, 1024u, 1025u, 5000u}) {
            const ServerMessage m = message_of_size(size);
            const Bytes payload = encode_server_payload(m, algo);
            const std::uint8_t expected_tag = size > 1024 ? static_cast<std::uint8_t>(algo) : 0;
            EXPECT_EQ(payload.at(0), expected_tag) << size;
            if (size > 1024) {
                EXPECT_LT(payload.size(), size);  // 'x' * n compresses well
            }
            const auto back = decode_server_payload(payload, ProtocolVersion::V2);
            ASSERT_EQ(back.size(), 1u);
            EXPECT_EQ(back[0], m);
        }
        // Compression::None never compresses.
        EXPECT_EQ(encode_server_payload(message_of_size(5000), Compression::None).at(0), 0);
    }
    // The threshold is a parameter.
    EXPECT_EQ(encode_server_payload(message_of_size(100), Compression::Gzip, 99).at(0), 2);
    EXPECT_EQ(encode_server_payload(message_of_size(100), Compression::Gzip, 100).at(0), 0);
}

TEST(ServerPayload, V3CarriesSeveralMessagesUnderOneTag) {
    std::vector<ServerMessage> messages;
    for (int i = 0; i < 6; ++i) {
        ReducerResult rr;
        rr.request_id = static_cast<std::uint32_t>(i);
        rr.result = ReducerErr::make(std::string(300, 'e'));
        messages.emplace_back(rr);
    }
    Bytes payload;
    encode_server_payload(payload, messages, ProtocolVersion::V3, Compression::Brotli);
    EXPECT_EQ(payload.at(0), 1);  // 6 x ~320 bytes together exceed the threshold
    EXPECT_EQ(decode_server_payload(payload, ProtocolVersion::V3), messages);
    // A v2 connection takes exactly one message, both ways.
    EXPECT_THROW(encode_server_payload(payload, messages, ProtocolVersion::V2, Compression::None),
                 std::invalid_argument);
    EXPECT_THROW(encode_server_payload(payload, std::span<const ServerMessage>{}, ProtocolVersion::V3,
                                       Compression::None),
                 std::invalid_argument);
    encode_server_payload(payload, messages, ProtocolVersion::V3, Compression::Gzip);
    EXPECT_THROW(decode_server_payload(payload, ProtocolVersion::V2), DecodeError);
}

TEST(ServerPayload, TagErrors) {
    EXPECT_THROW(decode_server_payload(Bytes{}, ProtocolVersion::V2), DecodeError);
    try {
        decode_server_payload(Bytes{3, 6}, ProtocolVersion::V2);
        FAIL();
    } catch (const DecodeError& e) {
        EXPECT_EQ(e.offset(), 0u);
        EXPECT_NE(std::string(e.what()).find("unknown compression tag 3"), std::string::npos);
    }
    // A tag with no body: empty body on both versions.
    EXPECT_THROW(decode_server_payload(Bytes{0}, ProtocolVersion::V3), DecodeError);
    EXPECT_THROW(decode_server_payload(Bytes{0}, ProtocolVersion::V2), DecodeError);
    // A compressed tag followed by garbage is a PayloadError.
    EXPECT_THROW(decode_server_payload(Bytes{2, 1, 2, 3}, ProtocolVersion::V2), PayloadError);
    EXPECT_THROW(decode_server_payload(Bytes{1, 0xff, 0xff}, ProtocolVersion::V2), PayloadError);
}

TEST(ServerPayload, OpenServerPayloadDoesNotCopyUncompressedBodies) {
    const Bytes payload = encode_server_payload(message_of_size(50), Compression::Gzip);
    Bytes scratch;
    const auto body = open_server_payload(payload, scratch);
    EXPECT_EQ(body.data(), payload.data() + 1);
    EXPECT_TRUE(scratch.empty());
    const Bytes big = encode_server_payload(message_of_size(3000), Compression::Gzip);
    const auto big_body = open_server_payload(big, scratch);
    EXPECT_EQ(big_body.data(), scratch.data());
    EXPECT_EQ(big_body.size(), 3000u);
    // The cap applies to the decompressed body.
    EXPECT_THROW(open_server_payload(big, scratch, 2999), PayloadError);
}

}  // namespace
