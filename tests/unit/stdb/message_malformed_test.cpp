// Hostile or broken input: unknown tags, bad Option bytes, bad UTF-8, a
// non-zero CallReducer flags byte, absurd lengths, inconsistent row lists,
// trailing bytes. Each must be a DecodeError at the right offset from both
// the typed decoder and the zero-copy walkers.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/row_list.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "vector_support.hpp"

namespace {

using namespace benchdist::stdb;
using namespace benchdist::stdb::test_vectors;
using benchdist::bsatn::DecodeError;
using Bytes = std::vector<std::uint8_t>;

struct Rejection {
    std::size_t offset;
    std::string message;
};

Rejection rejection_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const DecodeError& e) {
        return {e.offset(), e.what()};
    }
    ADD_FAILURE() << "expected a DecodeError";
    return {SIZE_MAX, ""};
}

// Typed decoder and zero-copy walker must reject alike.
void expect_server_rejected(const Bytes& bytes, std::size_t offset, const std::string& needle) {
    const auto typed = rejection_of([&] { decode_server_message(bytes); });
    EXPECT_EQ(typed.offset, offset) << typed.message;
    EXPECT_NE(typed.message.find(needle), std::string::npos) << typed.message;
    const auto view = rejection_of([&] {
        benchdist::bsatn::Reader r(bytes);
        skip_server_message(r);
        r.expect_end("message");
    });
    EXPECT_EQ(view.offset, offset) << view.message;
    EXPECT_NE(view.message.find(needle), std::string::npos) << view.message;
}

void expect_client_rejected(const Bytes& bytes, std::size_t offset, const std::string& needle) {
    const auto typed = rejection_of([&] { decode_client_message(bytes); });
    EXPECT_EQ(typed.offset, offset) << typed.message;
    EXPECT_NE(typed.message.find(needle), std::string::npos) << typed.message;
    const auto view = rejection_of([&] {
        ClientFrameCursor c(bytes, ProtocolVersion::V2);
        c.next();
    });
    EXPECT_EQ(view.offset, offset) << view.message;
    EXPECT_NE(view.message.find(needle), std::string::npos) << view.message;
}

Bytes named(const char* name) { return vector_bytes(vector_named(name)); }

TEST(MessageMalformed, UnknownTopLevelTags) {
    expect_client_rejected({5}, 0, "unknown ClientMessage tag 5");
    expect_client_rejected({0xff, 1, 2}, 0, "unknown ClientMessage tag 255");
    expect_server_rejected({9}, 0, "unknown ServerMessage tag 9");
    expect_server_rejected({8, 0, 0, 0, 0}, 0, "unknown ServerMessage tag 8");
}

TEST(MessageMalformed, UnknownNestedTags) {
    Bytes b = named("v2.server.ReducerResult.OkEmpty");
    b[13] = 4;  // ReducerOutcome
    expect_server_rejected(b, 13, "unknown ReducerOutcome tag 4");

    b = named("v2.server.SubscribeApplied.FixedSize");
    b[25] = 2;  // RowSizeHint after "accounts"
    expect_server_rejected(b, 25, "unknown RowSizeHint tag 2");

    b = named("v2.server.TransactionUpdate");
    b[29] = 2;  // TableUpdateRows
    expect_server_rejected(b, 29, "unknown TableUpdateRows tag 2");

    b = named("v2.client.Unsubscribe");
    b[9] = 2;  // UnsubscribeFlags
    expect_client_rejected(b, 9, "unknown UnsubscribeFlags tag 2");

    b = named("v2.server.ProcedureResult");
    b[1] = 2;
    expect_server_rejected(b, 1, "unknown ProcedureStatus tag 2");

    b = named("v2.server.OneOffQueryResult.Err");
    b[5] = 2;
    expect_server_rejected(b, 5, "unknown Result<QueryRows, string> tag 2");
}

TEST(MessageMalformed, OptionByteOfTwo) {
    Bytes b = named("v2.server.SubscriptionError.no_request_id");
    b[1] = 2;
    expect_server_rejected(b, 1, "Option tag 2");
    b = named("v2.server.UnsubscribeApplied.none");
    b[9] = 2;
    expect_server_rejected(b, 9, "Option tag 2");
}

TEST(MessageMalformed, BadUtf8InStrings) {
    Bytes b = named("v2.client.CallReducer.transfer");
    b[10] = 0xff;  // first byte of "transfer"
    expect_client_rejected(b, 10, "CallReducer.reducer is not valid UTF-8");

    b = named("v2.client.Subscribe");
    b[17] = 0xc0;  // overlong lead byte inside the query
    expect_client_rejected(b, 17, "not valid UTF-8");

    b = named("v2.server.ReducerResult.InternalError");
    b[18] = 0xed;  // start of a surrogate sequence: ed a0 80
    b[19] = 0xa0;
    b[20] = 0x80;
    expect_server_rejected(b, 18, "ReducerOutcome::InternalError is not valid UTF-8");

    // The string nested inside Err's bytes is validated too, with offsets
    // that still point into the message.
    b = named("v2.server.ReducerResult.Err");
    b[22] = 0xff;
    expect_server_rejected(b, 22, "ReducerOutcome::Err message is not valid UTF-8");
}

TEST(MessageMalformed, CallReducerAndCallProcedureFlagsMustBeZero) {
    Bytes b = named("v2.client.CallReducer.transfer");
    b[5] = 1;
    expect_client_rejected(b, 5, "CallReducer.flags must be 0, got 1");
    b = named("v2.client.CallProcedure");
    b[5] = 1;
    expect_client_rejected(b, 5, "CallProcedure.flags must be 0, got 1");
}

TEST(MessageMalformed, LengthsLargerThanTheInputAreRejectedBeforeAllocating) {
    // Subscribe with 0xffffffff query strings: must fail on the count, not
    // after trying to reserve 4 billion strings.
    Bytes b = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    expect_client_rejected(b, 9, "Subscribe.query_strings length 4294967295 exceeds the 0 bytes that remain");

    // RowOffsets count that cannot fit (8 bytes per offset).
    b = named("v2.server.SubscribeApplied.RowOffsets");
    b[26] = 0xff;
    b[27] = 0xff;
    b[28] = 0xff;
    b[29] = 0x0f;
    expect_server_rejected(b, 26, "RowOffsets length");

    // TransactionUpdate query set count.
    b = {4, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0};
    expect_server_rejected(b, 1, "TransactionUpdate.query_sets length");

    // A byte string longer than the rest.
    b = named("v2.client.CallReducer.transfer");
    b[18] = 0x11;  // args length 17 with 16 bytes left
    expect_client_rejected(b, 18, "CallReducer.args length 17 exceeds the 16 bytes that remain");
}

Bytes subscribe_applied_with(const BsatnRowList& list) {
    SubscribeApplied m;
    m.request_id = 1;
    m.rows.tables.push_back(SingleTableRows{"accounts", list});
    return encode_to_bytes(ServerMessage(m));
}

TEST(MessageMalformed, InconsistentRowListsAreRejected) {
    const Bytes data(36, 0);
    // Row list starts after tag(1) request_id(4) query_set_id(4) count(4) "accounts"(12) = 25.
    expect_server_rejected(subscribe_applied_with({RowOffsetsHint{{0, 24, 12}}, data}), 25,
                           "RowOffsets not increasing");
    expect_server_rejected(subscribe_applied_with({RowOffsetsHint{{4, 12, 24}}, data}), 25, "RowOffsets[0] is 4");
    expect_server_rejected(subscribe_applied_with({RowOffsetsHint{{0, 12, 37}}, data}), 25, "past the end");
    expect_server_rejected(subscribe_applied_with({RowOffsetsHint{}, data}), 25,
                           "RowOffsets([]) row list has 36 bytes");
    expect_server_rejected(subscribe_applied_with({FixedSizeHint{12}, Bytes(35, 0)}), 25,
                           "rows_data length 35 is not a multiple of FixedSize(12)");
    expect_server_rejected(subscribe_applied_with({FixedSizeHint{0}, Bytes(3, 0)}), 25, "FixedSize(0)");
    // Equal offsets (zero-length rows) and FixedSize(0) without data are fine.
    EXPECT_NO_THROW(decode_server_message(subscribe_applied_with({RowOffsetsHint{{0, 0, 12}}, Bytes(12, 0)})));
    EXPECT_NO_THROW(decode_server_message(subscribe_applied_with({FixedSizeHint{0}, {}})));
}

TEST(MessageMalformed, ErrPayloadMustBeExactlyOneString) {
    ReducerResult rr;
    rr.result = ReducerErr{{1, 2, 3}};
    const Bytes b = encode_to_bytes(ServerMessage(rr));
    expect_server_rejected(b, 18, "ReducerOutcome::Err message");
    rr.result = ReducerErr{{1, 0, 0, 0, 'x', 'y'}};  // one trailing byte after "x"
    expect_server_rejected(encode_to_bytes(ServerMessage(rr)), 23, "trailing");
}

TEST(MessageMalformed, TrailingBytesAfterOneMessage) {
    Bytes b = named("v2.server.ReducerResult.OkEmpty");
    b.push_back(0);
    const auto r = rejection_of([&] { decode_server_message(b); });
    EXPECT_EQ(r.offset, 14u);
    EXPECT_NE(r.message.find("1 unexpected trailing bytes after ServerMessage"), std::string::npos) << r.message;
    Bytes c = named("v2.client.Unsubscribe");
    c.push_back(7);
    EXPECT_THROW(decode_client_message(c), DecodeError);
    EXPECT_THROW(
        {
            ClientFrameCursor cursor(c, ProtocolVersion::V2);
            cursor.next();
        },
        DecodeError);
}

}  // namespace
