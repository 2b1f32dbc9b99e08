#include "benchdist/stdb/server_message_view.hpp"

#include "wire_read.hpp"

namespace benchdist::stdb {

namespace {

void skip_query_rows(bsatn::Reader& r) {
    const std::uint32_t n = wire::read_count(r, "QueryRows.tables", 4 + 7);
    for (std::uint32_t i = 0; i < n; ++i) {
        wire::read_string(r, "SingleTableRows.table");
        wire::read_row_list(r, "SingleTableRows.rows");
    }
}

std::uint32_t skip_transaction_update(bsatn::Reader& r) {
    const std::uint32_t sets = wire::read_count(r, "TransactionUpdate.query_sets", 8);
    for (std::uint32_t i = 0; i < sets; ++i) {
        r.read_u32("QuerySetUpdate.query_set_id");
        const std::uint32_t tables = wire::read_count(r, "QuerySetUpdate.tables", 8);
        for (std::uint32_t t = 0; t < tables; ++t) {
            wire::read_string(r, "TableUpdate.table_name");
            const std::uint32_t n = wire::read_count(r, "TableUpdate.rows", 1 + 7);
            for (std::uint32_t k = 0; k < n; ++k) {
                if (wire::read_tag(r, 2, "TableUpdateRows") == 0) {
                    wire::read_row_list(r, "PersistentTableRows.inserts");
                    wire::read_row_list(r, "PersistentTableRows.deletes");
                } else {
                    wire::read_row_list(r, "EventTableRows.events");
                }
            }
        }
    }
    return sets;
}

void read_reducer_result_body(bsatn::Reader& r, ReducerResultView& v) {
    v.request_id = r.read_u32("ReducerResult.request_id");
    v.timestamp.micros_since_unix_epoch = r.read_i64("ReducerResult.timestamp");
    v.outcome = static_cast<ReducerOutcomeKind>(wire::read_tag(r, 4, "ReducerOutcome"));
    v.error_text = {};
    v.ret_value = {};
    v.query_set_count = 0;
    switch (v.outcome) {
        case ReducerOutcomeKind::Ok:
            v.ret_value = wire::read_byte_string(r, "ReducerOk.ret_value");
            v.query_set_count = skip_transaction_update(r);
            break;
        case ReducerOutcomeKind::OkEmpty:
            break;
        case ReducerOutcomeKind::Err: {
            // Position the nested reader at the payload's absolute offset so
            // errors inside it still point into the frame.
            const std::uint32_t n = wire::read_count(r, "ReducerOutcome::Err payload", 1);
            const std::size_t at = r.absolute_position();
            bsatn::Reader inner(r.read_raw(n, "ReducerOutcome::Err payload"), at);
            v.error_text = wire::read_string(inner, "ReducerOutcome::Err message");
            inner.expect_end("the string inside ReducerOutcome::Err");
            break;
        }
        case ReducerOutcomeKind::InternalError:
            v.error_text = wire::read_string(r, "ReducerOutcome::InternalError");
            break;
    }
}

}  // namespace

std::string_view reducer_outcome_name(ReducerOutcomeKind kind) {
    switch (kind) {
        case ReducerOutcomeKind::Ok:
            return "Ok";
        case ReducerOutcomeKind::OkEmpty:
            return "OkEmpty";
        case ReducerOutcomeKind::Err:
            return "Err";
        case ReducerOutcomeKind::InternalError:
            return "InternalError";
    }
    return "unknown";
}

ServerMessageTag read_server_message_view(bsatn::Reader& r, ReducerResultView* result) {
    const auto tag = static_cast<ServerMessageTag>(wire::read_tag(r, kServerMessageVariants, "ServerMessage"));
    switch (tag) {
        case ServerMessageTag::InitialConnection:
            r.read_raw(32, "InitialConnection.identity");
            r.read_raw(16, "InitialConnection.connection_id");
            wire::read_string(r, "InitialConnection.token");
            break;
        case ServerMessageTag::SubscribeApplied:
            r.read_u32("SubscribeApplied.request_id");
            r.read_u32("SubscribeApplied.query_set_id");
            skip_query_rows(r);
            break;
        case ServerMessageTag::UnsubscribeApplied:
            r.read_u32("UnsubscribeApplied.request_id");
            r.read_u32("UnsubscribeApplied.query_set_id");
            if (wire::read_option_is_some(r, "UnsubscribeApplied.rows")) skip_query_rows(r);
            break;
        case ServerMessageTag::SubscriptionError:
            if (wire::read_option_is_some(r, "SubscriptionError.request_id"))
                r.read_u32("SubscriptionError.request_id");
            r.read_u32("SubscriptionError.query_set_id");
            wire::read_string(r, "SubscriptionError.error");
            break;
        case ServerMessageTag::TransactionUpdate:
            skip_transaction_update(r);
            break;
        case ServerMessageTag::OneOffQueryResult:
            r.read_u32("OneOffQueryResult.request_id");
            if (wire::read_tag(r, 2, "Result<QueryRows, string>") == 0)
                skip_query_rows(r);
            else
                wire::read_string(r, "OneOffQueryResult error");
            break;
        case ServerMessageTag::ReducerResult: {
            ReducerResultView scratch;
            read_reducer_result_body(r, result != nullptr ? *result : scratch);
            break;
        }
        case ServerMessageTag::ProcedureResult:
            if (wire::read_tag(r, 2, "ProcedureStatus") == 0)
                wire::read_byte_string(r, "ProcedureStatus::Returned");
            else
                wire::read_string(r, "ProcedureStatus::InternalError");
            r.read_i64("ProcedureResult.timestamp");
            r.read_i64("ProcedureResult.total_host_execution_duration");
            r.read_u32("ProcedureResult.request_id");
            break;
    }
    return tag;
}

bool ServerBodyCursor::next() {
    if (reader_.at_end()) {
        if (count_ == 0) reader_.fail("a ServerMessage, but the server message body is empty");
        return false;
    }
    const std::size_t start = reader_.position();
    tag_ = read_server_message_view(reader_, &result_);
    ++count_;
    message_ = body_.subspan(start, reader_.position() - start);
    if (version_ == ProtocolVersion::V2) reader_.expect_end("the ServerMessage of a v2 payload");
    return true;
}

void encode_reducer_result(bsatn::Writer& w, std::uint32_t request_id, Timestamp timestamp, ReducerOutcomeKind kind,
                           std::string_view error_text) {
    w.write_tag(static_cast<std::uint8_t>(ServerMessageTag::ReducerResult));
    w.write_u32(request_id);
    w.write_i64(timestamp.micros_since_unix_epoch);
    w.write_tag(static_cast<std::uint8_t>(kind));
    switch (kind) {
        case ReducerOutcomeKind::Ok:
            w.write_u32(0);  // ret_value: empty bytes
            w.write_u32(0);  // transaction_update.query_sets: empty
            break;
        case ReducerOutcomeKind::OkEmpty:
            break;
        case ReducerOutcomeKind::Err: {
            const std::size_t at = w.begin_length_prefixed();
            w.write_string(error_text);
            w.end_length_prefixed(at);
            break;
        }
        case ReducerOutcomeKind::InternalError:
            w.write_string(error_text);
            break;
    }
}

}  // namespace benchdist::stdb
