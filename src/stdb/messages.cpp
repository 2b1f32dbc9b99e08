#include "benchdist/stdb/messages.hpp"

#include "benchdist/bsatn/reader.hpp"
#include "benchdist/bsatn/writer.hpp"

namespace benchdist::stdb {

std::optional<Identity> Identity::from_hex(std::string_view hex) {
    Identity id;
    if (!bsatn::U256::from_hex_be(hex, id.value)) return std::nullopt;
    return id;
}

std::optional<ConnectionId> ConnectionId::from_hex(std::string_view hex) {
    ConnectionId id;
    if (!bsatn::U128::from_hex_be(hex, id.value)) return std::nullopt;
    return id;
}

ReducerErr ReducerErr::make(std::string_view message) {
    ReducerErr err;
    bsatn::Writer w(err.payload);
    w.write_string(message);
    return err;
}

std::string ReducerErr::message() const {
    bsatn::Reader r(payload);
    std::string s = r.read_string("ReducerOutcome::Err message");
    r.expect_end("ReducerOutcome::Err message");
    return s;
}

std::string_view client_message_name(ClientMessageTag tag) {
    switch (tag) {
        case ClientMessageTag::Subscribe:
            return "Subscribe";
        case ClientMessageTag::Unsubscribe:
            return "Unsubscribe";
        case ClientMessageTag::OneOffQuery:
            return "OneOffQuery";
        case ClientMessageTag::CallReducer:
            return "CallReducer";
        case ClientMessageTag::CallProcedure:
            return "CallProcedure";
    }
    return "unknown ClientMessage";
}

std::string_view server_message_name(ServerMessageTag tag) {
    switch (tag) {
        case ServerMessageTag::InitialConnection:
            return "InitialConnection";
        case ServerMessageTag::SubscribeApplied:
            return "SubscribeApplied";
        case ServerMessageTag::UnsubscribeApplied:
            return "UnsubscribeApplied";
        case ServerMessageTag::SubscriptionError:
            return "SubscriptionError";
        case ServerMessageTag::TransactionUpdate:
            return "TransactionUpdate";
        case ServerMessageTag::OneOffQueryResult:
            return "OneOffQueryResult";
        case ServerMessageTag::ReducerResult:
            return "ReducerResult";
        case ServerMessageTag::ProcedureResult:
            return "ProcedureResult";
    }
    return "unknown ServerMessage";
}

}  // namespace benchdist::stdb
