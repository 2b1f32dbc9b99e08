#include <type_traits>

#include "benchdist/stdb/message_codec.hpp"

namespace benchdist::stdb {

namespace {

template <typename... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

void put_row_list(bsatn::Writer& w, const BsatnRowList& list) {
    std::visit(Overloaded{
                   [&](const FixedSizeHint& h) {
                       w.write_tag(0);
                       w.write_u16(h.row_size);
                   },
                   [&](const RowOffsetsHint& h) {
                       w.write_tag(1);
                       w.write_array_len(h.offsets.size());
                       for (const auto o : h.offsets) w.write_u64(o);
                   },
               },
               list.size_hint);
    w.write_bytes(list.rows_data);
}

void put_query_rows(bsatn::Writer& w, const QueryRows& rows) {
    w.write_array_len(rows.tables.size());
    for (const auto& t : rows.tables) {
        w.write_string(t.table);
        put_row_list(w, t.rows);
    }
}

void put_transaction_update(bsatn::Writer& w, const TransactionUpdate& update) {
    w.write_array_len(update.query_sets.size());
    for (const auto& qs : update.query_sets) {
        w.write_u32(qs.query_set_id.id);
        w.write_array_len(qs.tables.size());
        for (const auto& table : qs.tables) {
            w.write_string(table.table_name);
            w.write_array_len(table.rows.size());
            for (const auto& rows : table.rows) {
                w.write_tag(static_cast<std::uint8_t>(rows.index()));
                std::visit(Overloaded{
                               [&](const PersistentTableRows& p) {
                                   put_row_list(w, p.inserts);
                                   put_row_list(w, p.deletes);
                               },
                               [&](const EventTableRows& e) { put_row_list(w, e.events); },
                           },
                           rows);
            }
        }
    }
}

void put_reducer_outcome(bsatn::Writer& w, const ReducerOutcome& outcome) {
    w.write_tag(static_cast<std::uint8_t>(outcome.index()));
    std::visit(Overloaded{
                   [&](const ReducerOk& ok) {
                       w.write_bytes(ok.ret_value);
                       put_transaction_update(w, ok.transaction_update);
                   },
                   [&](const ReducerOkEmpty&) {},
                   [&](const ReducerErr& err) { w.write_bytes(err.payload); },
                   [&](const ReducerInternalError& e) { w.write_string(e.message); },
               },
               outcome);
}

}  // namespace

void encode(bsatn::Writer& w, const ClientMessage& message) {
    w.write_tag(static_cast<std::uint8_t>(message.index()));
    std::visit(Overloaded{
                   [&](const Subscribe& m) {
                       w.write_u32(m.request_id);
                       w.write_u32(m.query_set_id.id);
                       w.write_array_len(m.query_strings.size());
                       for (const auto& q : m.query_strings) w.write_string(q);
                   },
                   [&](const Unsubscribe& m) {
                       w.write_u32(m.request_id);
                       w.write_u32(m.query_set_id.id);
                       w.write_tag(static_cast<std::uint8_t>(m.flags));
                   },
                   [&](const OneOffQuery& m) {
                       w.write_u32(m.request_id);
                       w.write_string(m.query_string);
                   },
                   [&](const CallReducer& m) {
                       w.write_u32(m.request_id);
                       w.write_u8(0);
                       w.write_string(m.reducer);
                       w.write_bytes(m.args);
                   },
                   [&](const CallProcedure& m) {
                       w.write_u32(m.request_id);
                       w.write_u8(0);
                       w.write_string(m.procedure);
                       w.write_bytes(m.args);
                   },
               },
               message);
}

void encode(bsatn::Writer& w, const ServerMessage& message) {
    w.write_tag(static_cast<std::uint8_t>(message.index()));
    std::visit(Overloaded{
                   [&](const InitialConnection& m) {
                       w.write_wide(m.identity.value);
                       w.write_wide(m.connection_id.value);
                       w.write_string(m.token);
                   },
                   [&](const SubscribeApplied& m) {
                       w.write_u32(m.request_id);
                       w.write_u32(m.query_set_id.id);
                       put_query_rows(w, m.rows);
                   },
                   [&](const UnsubscribeApplied& m) {
                       w.write_u32(m.request_id);
                       w.write_u32(m.query_set_id.id);
                       if (m.rows) {
                           w.write_some_tag();
                           put_query_rows(w, *m.rows);
                       } else {
                           w.write_none();
                       }
                   },
                   [&](const SubscriptionError& m) {
                       if (m.request_id) {
                           w.write_some_tag();
                           w.write_u32(*m.request_id);
                       } else {
                           w.write_none();
                       }
                       w.write_u32(m.query_set_id.id);
                       w.write_string(m.error);
                   },
                   [&](const TransactionUpdate& m) { put_transaction_update(w, m); },
                   [&](const OneOffQueryResult& m) {
                       w.write_u32(m.request_id);
                       w.write_tag(static_cast<std::uint8_t>(m.result.index()));
                       if (const auto* rows = std::get_if<QueryRows>(&m.result))
                           put_query_rows(w, *rows);
                       else
                           w.write_string(std::get<std::string>(m.result));
                   },
                   [&](const ReducerResult& m) {
                       w.write_u32(m.request_id);
                       w.write_i64(m.timestamp.micros_since_unix_epoch);
                       put_reducer_outcome(w, m.result);
                   },
                   [&](const ProcedureResult& m) {
                       w.write_tag(static_cast<std::uint8_t>(m.status.index()));
                       if (const auto* r = std::get_if<ProcedureReturned>(&m.status))
                           w.write_bytes(r->value);
                       else
                           w.write_string(std::get<ProcedureInternalError>(m.status).message);
                       w.write_i64(m.timestamp.micros_since_unix_epoch);
                       w.write_i64(m.total_host_execution_duration.micros);
                       w.write_u32(m.request_id);
                   },
               },
               message);
}

std::vector<std::uint8_t> encode_to_bytes(const ClientMessage& message) {
    std::vector<std::uint8_t> out;
    bsatn::Writer w(out);
    encode(w, message);
    return out;
}

std::vector<std::uint8_t> encode_to_bytes(const ServerMessage& message) {
    std::vector<std::uint8_t> out;
    bsatn::Writer w(out);
    encode(w, message);
    return out;
}

}  // namespace benchdist::stdb
