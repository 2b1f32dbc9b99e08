// Every v2.client / v2.server / ws / sdk_live vector of vectors.json: decode
// into typed messages, compare with the SDK's decoding field by field, walk
// with the zero-copy views, and re-encode to the same bytes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdb/v3_framing.hpp"
#include "vector_support.hpp"

namespace {

using namespace benchdist::stdb;
using namespace benchdist::stdb::test_vectors;
using Bytes = std::vector<std::uint8_t>;

// Keys beside a server vector's decoded tag/value that are not message fields but
// extra interpretations (checked separately below).
const char* const kExtraKeys[] = {"rows_data_decoded_as_accounts", "inserts_decoded", "deletes_decoded",
                                  "err_payload_as_string"};

json without_extras(json decoded) {
    for (const char* k : kExtraKeys) decoded.erase(k);
    return decoded;
}

const TransactionUpdate* update_of(const ServerMessage& m) {
    if (const auto* tu = std::get_if<TransactionUpdate>(&m)) return tu;
    if (const auto* rr = std::get_if<ReducerResult>(&m))
        if (const auto* ok = std::get_if<ReducerOk>(&rr->result)) return &ok->transaction_update;
    return nullptr;
}

const QueryRows* query_rows_of(const ServerMessage& m) {
    if (const auto* sa = std::get_if<SubscribeApplied>(&m)) return &sa->rows;
    if (const auto* ua = std::get_if<UnsubscribeApplied>(&m)) return ua->rows ? &*ua->rows : nullptr;
    if (const auto* oq = std::get_if<OneOffQueryResult>(&m)) return std::get_if<QueryRows>(&oq->result);
    return nullptr;
}

void check_reducer_view(const ServerMessage& m, const ReducerResultView& view) {
    const auto& rr = std::get<ReducerResult>(m);
    EXPECT_EQ(view.request_id, rr.request_id);
    EXPECT_EQ(view.timestamp, rr.timestamp);
    EXPECT_EQ(static_cast<std::size_t>(view.outcome), rr.result.index());
    if (const auto* err = std::get_if<ReducerErr>(&rr.result)) {
        EXPECT_EQ(view.error_text, err->message());
    } else if (const auto* ie = std::get_if<ReducerInternalError>(&rr.result)) {
        EXPECT_EQ(view.error_text, ie->message);
    } else {
        EXPECT_TRUE(view.error_text.empty());
    }
    if (const auto* ok = std::get_if<ReducerOk>(&rr.result)) {
        EXPECT_EQ(Bytes(view.ret_value.begin(), view.ret_value.end()), ok->ret_value);
        EXPECT_EQ(view.query_set_count, ok->transaction_update.query_sets.size());
    }
}

// One ServerMessage's bytes against its decoded JSON (without extras).
ServerMessage check_server_message(std::span<const std::uint8_t> bytes, const json& decoded) {
    const ServerMessage m = decode_server_message(bytes);
    EXPECT_EQ(to_json(m), without_extras(decoded));
    EXPECT_EQ(encode_to_bytes(m), Bytes(bytes.begin(), bytes.end()));

    // The zero-copy walk sees the same message and consumes it exactly.
    ServerBodyCursor cursor(bytes, ProtocolVersion::V2);
    EXPECT_TRUE(cursor.next());
    EXPECT_EQ(cursor.tag(), tag_of(m));
    EXPECT_EQ(cursor.message_bytes().size(), bytes.size());
    if (const auto* view = cursor.reducer_result()) check_reducer_view(m, *view);
    EXPECT_FALSE(cursor.next());

    // The allocation-free ReducerResult encoder matches for row-less outcomes.
    if (const auto* rr = std::get_if<ReducerResult>(&m)) {
        const auto kind = static_cast<ReducerOutcomeKind>(rr->result.index());
        const auto* ok = std::get_if<ReducerOk>(&rr->result);
        if (ok == nullptr || (ok->ret_value.empty() && ok->transaction_update.query_sets.empty())) {
            std::string text;
            if (const auto* err = std::get_if<ReducerErr>(&rr->result)) text = err->message();
            if (const auto* ie = std::get_if<ReducerInternalError>(&rr->result)) text = ie->message;
            Bytes fast;
            benchdist::bsatn::Writer w(fast);
            encode_reducer_result(w, rr->request_id, rr->timestamp, kind, text);
            EXPECT_EQ(fast, Bytes(bytes.begin(), bytes.end()));
        }
    }
    return m;
}

ClientMessage check_client_message(std::span<const std::uint8_t> bytes, const json& decoded) {
    const ClientMessage m = decode_client_message(bytes);
    EXPECT_EQ(to_json(m), decoded);
    EXPECT_EQ(encode_to_bytes(m), Bytes(bytes.begin(), bytes.end()));
    ClientFrameCursor cursor(bytes, ProtocolVersion::V2);
    EXPECT_TRUE(cursor.next());
    EXPECT_EQ(cursor.tag(), tag_of(m));
    if (const auto* call = std::get_if<CallReducer>(&m)) {
        const auto* view = cursor.call_reducer();
        EXPECT_NE(view, nullptr);
        if (view != nullptr) {
            EXPECT_EQ(view->request_id, call->request_id);
            EXPECT_EQ(view->reducer, call->reducer);
            EXPECT_EQ(Bytes(view->args.begin(), view->args.end()), call->args);
        }
        Bytes fast;
        benchdist::bsatn::Writer w(fast);
        encode_call_reducer(w, call->request_id, call->reducer, call->args);
        EXPECT_EQ(fast, Bytes(bytes.begin(), bytes.end()));
    }
    EXPECT_FALSE(cursor.next());
    return m;
}

void check_v2_server(const json& v) {
    const Bytes bytes = vector_bytes(v);
    const json& decoded = v.at("decoded");
    const ServerMessage m = check_server_message(bytes, decoded);
    const json& value = decoded;
    if (value.contains("rows_data_decoded_as_accounts")) {
        const QueryRows* rows = query_rows_of(m);
        ASSERT_NE(rows, nullptr);
        json all = json::array();
        for (const auto& t : rows->tables)
            for (const auto& a : accounts_json(t.rows)) all.push_back(a);
        EXPECT_EQ(all, value.at("rows_data_decoded_as_accounts"));
    }
    if (value.contains("inserts_decoded")) {
        const TransactionUpdate* tu = update_of(m);
        ASSERT_NE(tu, nullptr);
        const auto& rows = std::get<PersistentTableRows>(tu->query_sets.at(0).tables.at(0).rows.at(0));
        EXPECT_EQ(accounts_json(rows.inserts), value.at("inserts_decoded"));
        EXPECT_EQ(accounts_json(rows.deletes), value.at("deletes_decoded"));
    }
    if (value.contains("err_payload_as_string")) {
        const auto& rr = std::get<ReducerResult>(m);
        EXPECT_EQ(std::get<ReducerErr>(rr.result).message(), value.at("err_payload_as_string").get<std::string>());
        EXPECT_EQ(ReducerErr::make(value.at("err_payload_as_string").get<std::string>()),
                  std::get<ReducerErr>(rr.result));
    }
}

void check_client_messages(std::span<const std::uint8_t> payload, const json& messages, ProtocolVersion version) {
    const auto decoded = decode_client_frame(payload, version);
    ASSERT_EQ(decoded.size(), messages.size());
    Bytes re;
    encode_client_frame(re, decoded, version);
    EXPECT_EQ(re, Bytes(payload.begin(), payload.end()));
    ClientFrameCursor cursor(payload, version);
    std::size_t i = 0;
    while (cursor.next()) {
        ASSERT_LT(i, decoded.size());
        EXPECT_EQ(to_json(decoded[i]), messages[i]);
        // Each piece the cursor cuts out is a complete message on its own.
        check_client_message(cursor.message_bytes(), messages[i]);
        ++i;
    }
    EXPECT_EQ(i, messages.size());
}

void check_ws(const json& v) {
    const std::string name = v.at("name");
    const Bytes bytes = vector_bytes(v);
    const json& decoded = v.at("decoded");
    if (name == "ws.v3.client_payload.two_calls") {
        check_client_messages(bytes, decoded.at("messages"), ProtocolVersion::V3);
        EXPECT_THROW(decode_client_frame(bytes, ProtocolVersion::V2), benchdist::bsatn::DecodeError);
        return;
    }
    const auto version = name.starts_with("ws.v3.") ? ProtocolVersion::V3 : ProtocolVersion::V2;
    EXPECT_EQ(static_cast<int>(server_payload_compression(bytes)), decoded.at("compression_tag").get<int>());
    const auto messages = decode_server_payload(bytes, version);
    const json expected = decoded.contains("messages") ? decoded.at("messages") : json::array({decoded.at("message")});
    ASSERT_EQ(messages.size(), expected.size());
    for (std::size_t i = 0; i < messages.size(); ++i) EXPECT_EQ(to_json(messages[i]), without_extras(expected[i]));

    Bytes scratch;
    const auto body = open_server_payload(bytes, scratch);
    if (decoded.contains("decompressed_hex")) {
        EXPECT_EQ(to_hex(body), decoded.at("decompressed_hex").get<std::string>());
    }

    // Every message the cursor cuts from the body is a complete message.
    ServerBodyCursor cursor(body, version);
    std::size_t i = 0;
    while (cursor.next()) {
        ASSERT_LT(i, expected.size());
        check_server_message(cursor.message_bytes(), expected[i]);
        ++i;
    }
    EXPECT_EQ(i, expected.size());

    const auto compression = static_cast<Compression>(decoded.at("compression_tag").get<int>());
    if (compression == Compression::None) {
        Bytes re;
        encode_server_payload(re, messages, version, Compression::None);
        EXPECT_EQ(re, bytes);
        // Below the threshold a compressing connection still sends tag 0.
        encode_server_payload(re, messages, version, Compression::Gzip);
        EXPECT_EQ(re, bytes);
    } else {
        // Compressed bytes need not match (Node's zlib vs ours): re-encode
        // with compression forced (threshold 0) and check it decodes back.
        Bytes re;
        encode_server_payload(re, messages, version, compression, 0);
        ASSERT_FALSE(re.empty());
        EXPECT_EQ(re[0], static_cast<std::uint8_t>(compression));
        EXPECT_EQ(decode_server_payload(re, version), messages);
        // At the real threshold this 92-byte body goes out uncompressed.
        encode_server_payload(re, messages, version, compression);
        EXPECT_EQ(re[0], 0);
        EXPECT_EQ(Bytes(re.begin() + 1, re.end()), Bytes(body.begin(), body.end()));
    }
}

void check_sdk_live(const json& v) {
    const std::string name = v.at("name");
    const Bytes bytes = vector_bytes(v);
    const json& decoded = v.at("decoded");
    if (name.starts_with("sdk_live.v2.client.") || name.starts_with("sdk_live.v3.client_frame.")) {
        const auto version = name.starts_with("sdk_live.v2.") ? ProtocolVersion::V2 : ProtocolVersion::V3;
        check_client_messages(bytes, decoded.at("messages"), version);
        if (decoded.contains("connection")) {
            std::string offer;
            for (const auto& p : decoded.at("connection").at("offered_sec_websocket_protocol")) {
                if (!offer.empty()) offer += ", ";
                offer += p.get<std::string>();
            }
            EXPECT_EQ(offer, kSubprotocolOfferV3V2);
            EXPECT_EQ(select_subprotocol(offer), ProtocolVersion::V3);
        }
        return;
    }
    if (name == "sdk_live.v3.server_frame.InitialConnection_and_ReducerResult") {
        const auto messages = decode_server_payload(bytes, ProtocolVersion::V3);
        ASSERT_EQ(messages.size(), 2u);
        EXPECT_EQ(to_json(messages[0]), vector_named("v2.server.InitialConnection").at("decoded"));
        const auto& rr = std::get<ReducerResult>(messages[1]);
        EXPECT_EQ(rr.request_id, 0u);
        EXPECT_EQ(rr.result, ReducerOutcome(ReducerOk{}));
        Bytes re;
        encode_server_payload(re, messages, ProtocolVersion::V3, Compression::None);
        EXPECT_EQ(re, bytes);
        // A v2 connection must refuse two messages in one payload.
        EXPECT_THROW(decode_server_payload(bytes, ProtocolVersion::V2), benchdist::bsatn::DecodeError);
        for (const auto& hex : decoded.at("sdk_client_frame_sent_before_reply_hex")) {
            const auto calls = decode_client_frame(from_hex(hex.get<std::string>()), ProtocolVersion::V3);
            ASSERT_EQ(calls.size(), 1u);
            const auto& call = std::get<CallReducer>(calls[0]);
            EXPECT_EQ(call.request_id, 0u);
            EXPECT_EQ(call.reducer, "transfer");
            EXPECT_EQ(transfer::decode_transfer_args(call.args), (transfer::TransferArgs{1, 2, 5}));
        }
        return;
    }
    ADD_FAILURE() << "no check written for vector " << name;
}

std::vector<std::string> covered_vector_names() {
    std::vector<std::string> names;
    for (const char* prefix : {"v2.client.", "v2.server.", "ws.", "sdk_live.v2.", "sdk_live.v3."})
        for (const json* v : vectors_with_prefix(prefix)) names.push_back(v->at("name"));
    return names;
}

class MessageVector : public ::testing::TestWithParam<std::string> {};

TEST_P(MessageVector, DecodesComparesAndReencodes) {
    const json& v = vector_named(GetParam());
    const std::string& name = GetParam();
    if (name.starts_with("v2.client."))
        check_client_message(vector_bytes(v), v.at("decoded"));
    else if (name.starts_with("v2.server."))
        check_v2_server(v);
    else if (name.starts_with("ws."))
        check_ws(v);
    else
        check_sdk_live(v);
}

INSTANTIATE_TEST_SUITE_P(Vectors, MessageVector, ::testing::ValuesIn(covered_vector_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return s;
                         });

TEST(MessageVectors, CoversEveryMessageVectorInTheFile) {
    // If vectors.json grows, this count changes and the new vectors show up
    // as parameterised cases above (or fail in check_sdk_live).
    EXPECT_EQ(covered_vector_names().size(), 31u);
    EXPECT_EQ(vectors_with_prefix("v2.client.").size(), 6u);
    EXPECT_EQ(vectors_with_prefix("v2.server.").size(), 16u);
}

TEST(MessageVectors, TokenFlowVectorIsTheUrlTheSdkOpened) {
    // Not a message; the hex is the URL's UTF-8.
    const json& v = vector_named("sdk_live.token_flow");
    const Bytes bytes = vector_bytes(v);
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), v.at("decoded").at("ws_url").get<std::string>());
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()),
              "ws://127.0.0.1:3000/v1/database/test-1/subscribe?token=SHORT-LIVED&compression=Gzip");
}

}  // namespace
