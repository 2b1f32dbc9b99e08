#include "benchdist/stdb/message_codec.hpp"
#include "wire_read.hpp"

namespace benchdist::stdb {

namespace {

Bytes to_bytes(std::span<const std::uint8_t> s) { return Bytes(s.begin(), s.end()); }

BsatnRowList get_row_list(bsatn::Reader& r, const char* what) {
    const wire::RowListWire wl = wire::read_row_list(r, what);
    BsatnRowList out;
    if (wl.fixed_size) {
        out.size_hint = FixedSizeHint{wl.row_size};
    } else {
        RowOffsetsHint hint;
        hint.offsets.reserve(wl.offset_count());
        for (std::size_t i = 0; i < wl.offset_count(); ++i) hint.offsets.push_back(wl.offset(i));
        out.size_hint = std::move(hint);
    }
    out.rows_data = to_bytes(wl.rows_data);
    return out;
}

// Smallest encodings, used to reject counts that cannot fit before reserving.
constexpr std::size_t kMinRowList = 1 + 2 + 4;  // FixedSize hint + empty data
constexpr std::size_t kMinSingleTableRows = 4 + kMinRowList;
constexpr std::size_t kMinTableUpdate = 4 + 4;  // name + empty rows array
constexpr std::size_t kMinQuerySetUpdate = 4 + 4;
constexpr std::size_t kMinTableUpdateRows = 1 + kMinRowList;

QueryRows get_query_rows(bsatn::Reader& r) {
    QueryRows out;
    const std::uint32_t n = wire::read_count(r, "QueryRows.tables", kMinSingleTableRows);
    out.tables.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        SingleTableRows t;
        t.table = std::string(wire::read_string(r, "SingleTableRows.table"));
        t.rows = get_row_list(r, "SingleTableRows.rows");
        out.tables.push_back(std::move(t));
    }
    return out;
}

TableUpdateRows get_table_update_rows(bsatn::Reader& r) {
    if (wire::read_tag(r, 2, "TableUpdateRows") == 0) {
        PersistentTableRows p;
        p.inserts = get_row_list(r, "PersistentTableRows.inserts");
        p.deletes = get_row_list(r, "PersistentTableRows.deletes");
        return p;
    }
    EventTableRows e;
    e.events = get_row_list(r, "EventTableRows.events");
    return e;
}

TransactionUpdate get_transaction_update(bsatn::Reader& r) {
    TransactionUpdate out;
    const std::uint32_t sets = wire::read_count(r, "TransactionUpdate.query_sets", kMinQuerySetUpdate);
    out.query_sets.reserve(sets);
    for (std::uint32_t i = 0; i < sets; ++i) {
        QuerySetUpdate qs;
        qs.query_set_id.id = r.read_u32("QuerySetUpdate.query_set_id");
        const std::uint32_t tables = wire::read_count(r, "QuerySetUpdate.tables", kMinTableUpdate);
        qs.tables.reserve(tables);
        for (std::uint32_t t = 0; t < tables; ++t) {
            TableUpdate tu;
            tu.table_name = std::string(wire::read_string(r, "TableUpdate.table_name"));
            const std::uint32_t n = wire::read_count(r, "TableUpdate.rows", kMinTableUpdateRows);
            tu.rows.reserve(n);
            for (std::uint32_t k = 0; k < n; ++k) tu.rows.push_back(get_table_update_rows(r));
            qs.tables.push_back(std::move(tu));
        }
        out.query_sets.push_back(std::move(qs));
    }
    return out;
}

ReducerOutcome get_reducer_outcome(bsatn::Reader& r) {
    switch (wire::read_tag(r, 4, "ReducerOutcome")) {
        case 0: {
            ReducerOk ok;
            ok.ret_value = to_bytes(wire::read_byte_string(r, "ReducerOk.ret_value"));
            ok.transaction_update = get_transaction_update(r);
            return ok;
        }
        case 1:
            return ReducerOkEmpty{};
        case 2: {
            // The payload is a byte string that must hold exactly one BSATN
            // string (what the server and the SDK put and expect there).
            const std::uint32_t n = wire::read_count(r, "ReducerOutcome::Err payload", 1);
            const std::size_t at = r.absolute_position();
            const auto payload = r.read_raw(n, "ReducerOutcome::Err payload");
            bsatn::Reader inner(payload, at);
            wire::read_string(inner, "ReducerOutcome::Err message");
            inner.expect_end("the string inside ReducerOutcome::Err");
            return ReducerErr{to_bytes(payload)};
        }
        default:
            return ReducerInternalError{std::string(wire::read_string(r, "ReducerOutcome::InternalError"))};
    }
}

}  // namespace

ClientMessage decode_client_message(bsatn::Reader& r) {
    switch (wire::read_tag(r, kClientMessageVariants, "ClientMessage")) {
        case 0: {
            Subscribe m;
            m.request_id = r.read_u32("Subscribe.request_id");
            m.query_set_id.id = r.read_u32("Subscribe.query_set_id");
            const std::uint32_t n = wire::read_count(r, "Subscribe.query_strings", 4);
            m.query_strings.reserve(n);
            for (std::uint32_t i = 0; i < n; ++i)
                m.query_strings.emplace_back(wire::read_string(r, "Subscribe.query_strings[]"));
            return m;
        }
        case 1: {
            Unsubscribe m;
            m.request_id = r.read_u32("Unsubscribe.request_id");
            m.query_set_id.id = r.read_u32("Unsubscribe.query_set_id");
            m.flags = static_cast<UnsubscribeFlags>(wire::read_tag(r, 2, "UnsubscribeFlags"));
            return m;
        }
        case 2: {
            OneOffQuery m;
            m.request_id = r.read_u32("OneOffQuery.request_id");
            m.query_string = std::string(wire::read_string(r, "OneOffQuery.query_string"));
            return m;
        }
        case 3: {
            CallReducer m;
            m.request_id = r.read_u32("CallReducer.request_id");
            wire::read_zero_flags(r, "CallReducer.flags");
            m.reducer = std::string(wire::read_string(r, "CallReducer.reducer"));
            m.args = to_bytes(wire::read_byte_string(r, "CallReducer.args"));
            return m;
        }
        default: {
            CallProcedure m;
            m.request_id = r.read_u32("CallProcedure.request_id");
            wire::read_zero_flags(r, "CallProcedure.flags");
            m.procedure = std::string(wire::read_string(r, "CallProcedure.procedure"));
            m.args = to_bytes(wire::read_byte_string(r, "CallProcedure.args"));
            return m;
        }
    }
}

ServerMessage decode_server_message(bsatn::Reader& r) {
    switch (wire::read_tag(r, kServerMessageVariants, "ServerMessage")) {
        case 0: {
            InitialConnection m;
            m.identity.value = r.read_u256("InitialConnection.identity");
            m.connection_id.value = r.read_u128("InitialConnection.connection_id");
            m.token = std::string(wire::read_string(r, "InitialConnection.token"));
            return m;
        }
        case 1: {
            SubscribeApplied m;
            m.request_id = r.read_u32("SubscribeApplied.request_id");
            m.query_set_id.id = r.read_u32("SubscribeApplied.query_set_id");
            m.rows = get_query_rows(r);
            return m;
        }
        case 2: {
            UnsubscribeApplied m;
            m.request_id = r.read_u32("UnsubscribeApplied.request_id");
            m.query_set_id.id = r.read_u32("UnsubscribeApplied.query_set_id");
            if (wire::read_option_is_some(r, "UnsubscribeApplied.rows")) m.rows = get_query_rows(r);
            return m;
        }
        case 3: {
            SubscriptionError m;
            if (wire::read_option_is_some(r, "SubscriptionError.request_id"))
                m.request_id = r.read_u32("SubscriptionError.request_id");
            m.query_set_id.id = r.read_u32("SubscriptionError.query_set_id");
            m.error = std::string(wire::read_string(r, "SubscriptionError.error"));
            return m;
        }
        case 4:
            return get_transaction_update(r);
        case 5: {
            OneOffQueryResult m;
            m.request_id = r.read_u32("OneOffQueryResult.request_id");
            if (wire::read_tag(r, 2, "Result<QueryRows, string>") == 0)
                m.result = get_query_rows(r);
            else
                m.result = std::string(wire::read_string(r, "OneOffQueryResult error"));
            return m;
        }
        case 6: {
            ReducerResult m;
            m.request_id = r.read_u32("ReducerResult.request_id");
            m.timestamp.micros_since_unix_epoch = r.read_i64("ReducerResult.timestamp");
            m.result = get_reducer_outcome(r);
            return m;
        }
        default: {
            ProcedureResult m;
            if (wire::read_tag(r, 2, "ProcedureStatus") == 0)
                m.status = ProcedureReturned{to_bytes(wire::read_byte_string(r, "ProcedureStatus::Returned"))};
            else
                m.status = ProcedureInternalError{std::string(wire::read_string(r, "ProcedureStatus::InternalError"))};
            m.timestamp.micros_since_unix_epoch = r.read_i64("ProcedureResult.timestamp");
            m.total_host_execution_duration.micros = r.read_i64("ProcedureResult.total_host_execution_duration");
            m.request_id = r.read_u32("ProcedureResult.request_id");
            return m;
        }
    }
}

ClientMessage decode_client_message(std::span<const std::uint8_t> bytes) {
    bsatn::Reader r(bytes);
    ClientMessage m = decode_client_message(r);
    r.expect_end("ClientMessage");
    return m;
}

ServerMessage decode_server_message(std::span<const std::uint8_t> bytes) {
    bsatn::Reader r(bytes);
    ServerMessage m = decode_server_message(r);
    r.expect_end("ServerMessage");
    return m;
}

}  // namespace benchdist::stdb
