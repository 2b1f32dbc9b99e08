// Every strict prefix of every message vector must be rejected with a
// DecodeError (or PayloadError for a compressed payload) by every decoder we
// have -- typed and zero-copy -- and never read out of bounds (run under
// ASan). For v3 payloads a prefix that ends exactly between two messages is a
// valid, shorter payload; that case must decode to the leading messages.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/v3_framing.hpp"
#include "vector_support.hpp"

namespace {

using namespace benchdist::stdb;
using namespace benchdist::stdb::test_vectors;
using benchdist::bsatn::DecodeError;
using Bytes = std::vector<std::uint8_t>;

std::span<const std::uint8_t> prefix(const Bytes& b, std::size_t n) {
    return std::span<const std::uint8_t>(b).first(n);
}

void walk_server_body(std::span<const std::uint8_t> body, ProtocolVersion v) {
    ServerBodyCursor c(body, v);
    while (c.next()) {
    }
}

void walk_client_frame(std::span<const std::uint8_t> payload, ProtocolVersion v) {
    ClientFrameCursor c(payload, v);
    while (c.next()) {
    }
}

// Offsets at which a message ends, walking a complete body.
std::set<std::size_t> client_boundaries(const Bytes& payload) {
    std::set<std::size_t> ends;
    benchdist::bsatn::Reader r(payload);
    while (!r.at_end()) {
        read_client_message_view(r, nullptr);
        ends.insert(r.position());
    }
    return ends;
}

std::set<std::size_t> server_boundaries(std::span<const std::uint8_t> body) {
    std::set<std::size_t> ends;
    benchdist::bsatn::Reader r(body);
    while (!r.at_end()) {
        skip_server_message(r);
        ends.insert(r.position());
    }
    return ends;
}

TEST(MessageTruncation, EveryPrefixOfEveryClientMessageIsRejected) {
    std::size_t checked = 0;
    for (const json* v : vectors_with_prefix("v2.client.")) {
        const Bytes bytes = vector_bytes(*v);
        SCOPED_TRACE(v->at("name").get<std::string>());
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            SCOPED_TRACE(n);
            EXPECT_THROW(decode_client_message(prefix(bytes, n)), DecodeError);
            EXPECT_THROW(walk_client_frame(prefix(bytes, n), ProtocolVersion::V2), DecodeError);
            EXPECT_THROW(walk_client_frame(prefix(bytes, n), ProtocolVersion::V3), DecodeError);
            EXPECT_THROW(decode_client_frame(prefix(bytes, n), ProtocolVersion::V3), DecodeError);
            benchdist::bsatn::Reader r(prefix(bytes, n));
            EXPECT_THROW(decode_client_message(r), DecodeError);
            ++checked;
        }
    }
    EXPECT_GT(checked, 100u);
}

TEST(MessageTruncation, EveryPrefixOfEveryServerMessageIsRejected) {
    std::size_t checked = 0;
    for (const json* v : vectors_with_prefix("v2.server.")) {
        const Bytes bytes = vector_bytes(*v);
        SCOPED_TRACE(v->at("name").get<std::string>());
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            SCOPED_TRACE(n);
            EXPECT_THROW(decode_server_message(prefix(bytes, n)), DecodeError);
            EXPECT_THROW(walk_server_body(prefix(bytes, n), ProtocolVersion::V2), DecodeError);
            EXPECT_THROW(walk_server_body(prefix(bytes, n), ProtocolVersion::V3), DecodeError);
            Bytes payload{0};
            payload.insert(payload.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
            EXPECT_THROW(decode_server_payload(payload, ProtocolVersion::V2), DecodeError);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 852u);  // the total length of the 16 vectors
}

// ws.* and sdk_live frames: whole WebSocket payloads.
TEST(MessageTruncation, EveryPrefixOfEveryWebSocketPayloadIsRejectedOrIsAShorterV3Payload) {
    std::size_t rejected = 0;
    std::size_t shorter_ok = 0;
    std::vector<const json*> frames = vectors_with_prefix("ws.");
    for (const json* v : vectors_with_prefix("sdk_live.v3.")) frames.push_back(v);
    for (const json* v : vectors_with_prefix("sdk_live.v2.")) frames.push_back(v);
    for (const json* v : frames) {
        const std::string name = v->at("name");
        const Bytes bytes = vector_bytes(*v);
        SCOPED_TRACE(name);
        const bool v3 = name.find(".v3.") != std::string::npos;
        const auto version = v3 ? ProtocolVersion::V3 : ProtocolVersion::V2;
        const bool client = name.find("client") != std::string::npos;
        if (client) {
            const auto ends = client_boundaries(bytes);
            const auto full = decode_client_frame(bytes, version);
            for (std::size_t n = 0; n < bytes.size(); ++n) {
                SCOPED_TRACE(n);
                if (v3 && ends.count(n)) {
                    const auto part = decode_client_frame(prefix(bytes, n), version);
                    ASSERT_LT(part.size(), full.size());
                    EXPECT_TRUE(std::equal(part.begin(), part.end(), full.begin()));
                    EXPECT_NO_THROW(walk_client_frame(prefix(bytes, n), version));
                    ++shorter_ok;
                } else {
                    EXPECT_THROW(decode_client_frame(prefix(bytes, n), version), DecodeError);
                    EXPECT_THROW(walk_client_frame(prefix(bytes, n), version), DecodeError);
                    ++rejected;
                }
            }
            continue;
        }
        const bool compressed = bytes.at(0) != 0;
        Bytes scratch;
        const auto body = open_server_payload(bytes, scratch);
        const auto ends = server_boundaries(body);
        const auto full = decode_server_payload(bytes, version);
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            SCOPED_TRACE(n);
            const auto cut = prefix(bytes, n);
            if (compressed) {
                if (n == 0) {
                    EXPECT_THROW(decode_server_payload(cut, version), DecodeError);
                } else {
                    EXPECT_THROW(decode_server_payload(cut, version), PayloadError);
                    Bytes s;
                    EXPECT_THROW(open_server_payload(cut, s), PayloadError);
                }
                ++rejected;
                continue;
            }
            if (v3 && n > 1 && ends.count(n - 1)) {
                const auto part = decode_server_payload(cut, version);
                ASSERT_LT(part.size(), full.size());
                EXPECT_TRUE(std::equal(part.begin(), part.end(), full.begin()));
                ++shorter_ok;
                continue;
            }
            EXPECT_THROW(decode_server_payload(cut, version), DecodeError);
            if (n > 0) {
                Bytes s;
                const auto cut_body = open_server_payload(cut, s);
                EXPECT_THROW(walk_server_body(cut_body, version), DecodeError);
            }
            ++rejected;
        }
    }
    EXPECT_GT(rejected, 700u);
    EXPECT_EQ(shorter_ok, 1u /*two_messages*/ + 1u /*two_calls*/ + 1u /*Subscribe_and_CallReducer*/ +
                              2u /*three_calls*/ + 1u /*InitialConnection_and_ReducerResult*/);
}

TEST(MessageTruncation, ErrorsNameTheOffsetAndWhatWasExpected) {
    const Bytes bytes = vector_bytes(vector_named("v2.client.CallReducer.transfer"));
    try {
        decode_client_message(prefix(bytes, 10));
        FAIL() << "no error";
    } catch (const DecodeError& e) {
        // Cut inside the reducer name's length prefix: offset 6 is where it starts.
        EXPECT_EQ(e.offset(), 6u);
        EXPECT_NE(std::string(e.what()).find("CallReducer.reducer"), std::string::npos) << e.what();
    }
    // Inside a tag-0 server payload, offsets count the tag byte too.
    Bytes payload = vector_bytes(vector_named("ws.v2.server_payload.InitialConnection"));
    payload.resize(40);
    try {
        decode_server_payload(payload, ProtocolVersion::V2);
        FAIL() << "no error";
    } catch (const DecodeError& e) {
        EXPECT_EQ(e.offset(), 34u);  // 1 tag + 1 message tag + 32 identity bytes
        EXPECT_NE(std::string(e.what()).find("InitialConnection.connection_id"), std::string::npos) << e.what();
    }
}

}  // namespace
