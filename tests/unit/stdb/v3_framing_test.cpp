// Client frames (v2 one message, v3 several back to back) and the
// Sec-WebSocket-Protocol choice.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/stdb/v3_framing.hpp"

namespace {

using namespace benchdist::stdb;
using benchdist::bsatn::DecodeError;
using Bytes = std::vector<std::uint8_t>;

std::vector<ClientMessage> sample_messages() {
    const auto args = transfer::transfer_args_bytes({3, 9, 1});
    return {
        Subscribe{0, QuerySetId{0}, {"SELECT * FROM accounts"}},
        CallReducer{1, "transfer", Bytes(args.begin(), args.end())},
        Unsubscribe{2, QuerySetId{0}, UnsubscribeFlags::SendDroppedRows},
        OneOffQuery{3, "SELECT * FROM accounts WHERE id = 3"},
        CallProcedure{4, "noop", {}},
    };
}

TEST(V3Framing, ClientMessagesRoundTripBackToBack) {
    const auto messages = sample_messages();
    Bytes frame;
    encode_client_frame(frame, messages, ProtocolVersion::V3);
    EXPECT_EQ(decode_client_frame(frame, ProtocolVersion::V3), messages);
    // Equal to encoding each message alone and concatenating.
    Bytes concatenated;
    for (const auto& m : messages) {
        const auto one = encode_to_bytes(m);
        concatenated.insert(concatenated.end(), one.begin(), one.end());
    }
    EXPECT_EQ(frame, concatenated);
    // The cursor splits the same messages without copying.
    ClientFrameCursor cursor(frame, ProtocolVersion::V3);
    std::size_t i = 0;
    while (cursor.next()) {
        ASSERT_LT(i, messages.size());
        EXPECT_EQ(decode_client_message(cursor.message_bytes()), messages[i]);
        EXPECT_EQ(cursor.tag(), tag_of(messages[i]));
        ++i;
    }
    EXPECT_EQ(cursor.count(), messages.size());
}

TEST(V3Framing, GeneratorCoalescesCallsIntoOneBuffer) {
    Bytes frame;
    benchdist::bsatn::Writer w(frame);
    const auto args = transfer::transfer_args_bytes({9, 3, 1});
    for (std::uint32_t id = 10; id < 20; ++id) encode_call_reducer(w, id, "transfer", args);
    const auto decoded = decode_client_frame(frame, ProtocolVersion::V3);
    ASSERT_EQ(decoded.size(), 10u);
    for (std::uint32_t k = 0; k < 10; ++k) {
        const auto& call = std::get<CallReducer>(decoded[k]);
        EXPECT_EQ(call.request_id, 10 + k);
        EXPECT_EQ(transfer::decode_transfer_args(call.args), (transfer::TransferArgs{9, 3, 1}));
    }
}

TEST(V3Framing, V2TakesExactlyOneMessage) {
    const auto messages = sample_messages();
    Bytes frame;
    EXPECT_THROW(encode_client_frame(frame, messages, ProtocolVersion::V2), std::invalid_argument);
    EXPECT_THROW(encode_client_frame(frame, std::span<const ClientMessage>{}, ProtocolVersion::V3),
                 std::invalid_argument);
    encode_client_frame(frame, std::span<const ClientMessage>(messages).first(1), ProtocolVersion::V2);
    EXPECT_EQ(decode_client_frame(frame, ProtocolVersion::V2), std::vector<ClientMessage>{messages[0]});
    encode_client_frame(frame, std::span<const ClientMessage>(messages).subspan(1, 1), ProtocolVersion::V3);
    EXPECT_THROW(decode_client_frame(frame, ProtocolVersion::V2), DecodeError);
}

TEST(V3Framing, EmptyOrTrailingGarbageIsAnError) {
    for (const auto v : {ProtocolVersion::V2, ProtocolVersion::V3}) {
        EXPECT_THROW(decode_client_frame(Bytes{}, v), DecodeError);
    }
    Bytes frame = encode_to_bytes(sample_messages()[1]);
    frame.push_back(3);  // a dangling CallReducer tag
    EXPECT_THROW(decode_client_frame(frame, ProtocolVersion::V3), DecodeError);
}

struct Case {
    const char* header;
    std::optional<ProtocolVersion> chosen;
};

TEST(Subprotocol, ServerPreferenceWinsOverClientOrder) {
    const Case cases[] = {
        {"v3.bsatn.spacetimedb", ProtocolVersion::V3},
        {"v2.bsatn.spacetimedb", ProtocolVersion::V2},
        {"v3.bsatn.spacetimedb, v2.bsatn.spacetimedb", ProtocolVersion::V3},
        {"v2.bsatn.spacetimedb, v3.bsatn.spacetimedb", ProtocolVersion::V3},
        {"v2.bsatn.spacetimedb,v3.bsatn.spacetimedb", ProtocolVersion::V3},
        {"  v2.bsatn.spacetimedb\t,\tv1.bsatn.spacetimedb ", ProtocolVersion::V2},
        {"v1.bsatn.spacetimedb, v1.json.spacetimedb", std::nullopt},
        {"v1.bsatn.spacetimedb, v2.bsatn.spacetimedb", ProtocolVersion::V2},
        {"", std::nullopt},
        {",,", std::nullopt},
        {"V3.BSATN.SPACETIMEDB", std::nullopt},
        {"v3.bsatn.spacetimedbx", std::nullopt},
        {"chat, v3.bsatn.spacetimedb", ProtocolVersion::V3},
    };
    for (const auto& c : cases) EXPECT_EQ(select_subprotocol(c.header), c.chosen) << '"' << c.header << '"';
}

TEST(Subprotocol, NamesRoundTrip) {
    EXPECT_EQ(subprotocol_name(ProtocolVersion::V3), "v3.bsatn.spacetimedb");
    EXPECT_EQ(subprotocol_name(ProtocolVersion::V2), "v2.bsatn.spacetimedb");
    EXPECT_EQ(protocol_from_subprotocol("v3.bsatn.spacetimedb"), ProtocolVersion::V3);
    EXPECT_EQ(protocol_from_subprotocol("v2.bsatn.spacetimedb"), ProtocolVersion::V2);
    EXPECT_EQ(protocol_from_subprotocol("v1.bsatn.spacetimedb"), std::nullopt);
    EXPECT_EQ(select_subprotocol(kSubprotocolOfferV3V2), ProtocolVersion::V3);
}

}  // namespace
