// Test support shared by the stdb codec tests: loads tests/data/vectors.json
// (golden bytes made by the official SpacetimeDB TypeScript SDK) and renders
// our typed messages in that file's `decoded` JSON shape, so a whole decoded
// message can be compared with the SDK's view of it in one assertion.
#pragma once

#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/row_list.hpp"
#include "benchdist/stdb/transfer_module.hpp"

namespace benchdist::stdb::test_vectors {

using nlohmann::json;

inline const json& all_vectors() {
    static const json vectors = [] {
        std::ifstream in(std::string(BENCHDIST_TEST_DATA_DIR) + "/vectors.json");
        if (!in) throw std::runtime_error("cannot open vectors.json in " BENCHDIST_TEST_DATA_DIR);
        return json::parse(in);
    }();
    return vectors;
}

inline const json& vector_named(std::string_view name) {
    for (const auto& v : all_vectors())
        if (v.at("name").get<std::string>() == name) return v;
    throw std::runtime_error("no vector named " + std::string(name));
}

inline std::vector<const json*> vectors_with_prefix(std::string_view prefix) {
    std::vector<const json*> out;
    for (const auto& v : all_vectors())
        if (v.at("name").get<std::string>().starts_with(prefix)) out.push_back(&v);
    return out;
}

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) throw std::runtime_error("odd hex length");
    std::vector<std::uint8_t> out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const auto b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xF]);
    }
    return out;
}

inline std::vector<std::uint8_t> vector_bytes(const json& v) { return from_hex(v.at("hex").get<std::string>()); }

inline std::string iso_from_micros(std::int64_t micros) {
    std::int64_t secs = micros / 1000000;
    std::int64_t frac = micros % 1000000;
    if (frac < 0) {
        frac += 1000000;
        --secs;
    }
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::ostringstream os;
    os << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << '.' << std::setw(6) << std::setfill('0') << frac << 'Z';
    return os.str();
}

inline json sum_json(std::string_view tag, std::size_t index) { return json{{"tag", tag}, {"tag_index", index}}; }
inline json sum_json(std::string_view tag, std::size_t index, json value) {
    return json{{"tag", tag}, {"tag_index", index}, {"value", std::move(value)}};
}
inline json bytes_json(std::span<const std::uint8_t> b) { return json{{"bytes_hex", to_hex(b)}}; }
inline json timestamp_json(Timestamp t) {
    return json{{"micros_since_unix_epoch", std::to_string(t.micros_since_unix_epoch)},
                {"iso", iso_from_micros(t.micros_since_unix_epoch)}};
}

inline json to_json(const BsatnRowList& l) {
    json hint;
    if (const auto* f = std::get_if<FixedSizeHint>(&l.size_hint)) {
        hint = sum_json("FixedSize", 0, f->row_size);
    } else {
        json offs = json::array();
        for (const auto o : std::get<RowOffsetsHint>(l.size_hint).offsets) offs.push_back(std::to_string(o));
        hint = sum_json("RowOffsets", 1, offs);
    }
    return json{{"size_hint", hint}, {"rows_data", bytes_json(l.rows_data)}};
}

inline json to_json(const QueryRows& q) {
    json tables = json::array();
    for (const auto& t : q.tables) tables.push_back(json{{"table", t.table}, {"rows", to_json(t.rows)}});
    return json{{"tables", tables}};
}

inline json to_json(const TransactionUpdate& u) {
    json sets = json::array();
    for (const auto& qs : u.query_sets) {
        json tables = json::array();
        for (const auto& t : qs.tables) {
            json rows = json::array();
            for (const auto& r : t.rows) {
                if (const auto* p = std::get_if<PersistentTableRows>(&r))
                    rows.push_back(sum_json("PersistentTable", 0,
                                            json{{"inserts", to_json(p->inserts)}, {"deletes", to_json(p->deletes)}}));
                else
                    rows.push_back(
                        sum_json("EventTable", 1, json{{"events", to_json(std::get<EventTableRows>(r).events)}}));
            }
            tables.push_back(json{{"table_name", t.table_name}, {"rows", rows}});
        }
        sets.push_back(json{{"query_set_id", json{{"id", qs.query_set_id.id}}}, {"tables", tables}});
    }
    return json{{"query_sets", sets}};
}

inline json to_json(const ClientMessage& m) {
    const std::size_t idx = m.index();
    const std::string name(client_message_name(tag_of(m)));
    json v;
    if (const auto* s = std::get_if<Subscribe>(&m)) {
        v = json{{"request_id", s->request_id},
                 {"query_set_id", json{{"id", s->query_set_id.id}}},
                 {"query_strings", s->query_strings}};
    } else if (const auto* u = std::get_if<Unsubscribe>(&m)) {
        const bool send = u->flags == UnsubscribeFlags::SendDroppedRows;
        v = json{{"request_id", u->request_id},
                 {"query_set_id", json{{"id", u->query_set_id.id}}},
                 {"flags", sum_json(send ? "SendDroppedRows" : "Default", send ? 1 : 0)}};
    } else if (const auto* q = std::get_if<OneOffQuery>(&m)) {
        v = json{{"request_id", q->request_id}, {"query_string", q->query_string}};
    } else if (const auto* c = std::get_if<CallReducer>(&m)) {
        v = json{{"request_id", c->request_id}, {"flags", 0}, {"reducer", c->reducer}, {"args", bytes_json(c->args)}};
    } else {
        const auto& p = std::get<CallProcedure>(m);
        v = json{{"request_id", p.request_id}, {"flags", 0}, {"procedure", p.procedure}, {"args", bytes_json(p.args)}};
    }
    return sum_json(name, idx, v);
}

inline json reducer_outcome_json(const ReducerOutcome& o) {
    if (const auto* ok = std::get_if<ReducerOk>(&o))
        return sum_json("Ok", 0,
                        json{{"ret_value", bytes_json(ok->ret_value)},
                             {"transaction_update", to_json(ok->transaction_update)}});
    if (std::holds_alternative<ReducerOkEmpty>(o)) return sum_json("OkEmpty", 1);
    if (const auto* err = std::get_if<ReducerErr>(&o)) return sum_json("Err", 2, bytes_json(err->payload));
    return sum_json("InternalError", 3, std::get<ReducerInternalError>(o).message);
}

inline json to_json(const ServerMessage& m) {
    const std::size_t idx = m.index();
    const std::string name(server_message_name(tag_of(m)));
    json v;
    if (const auto* ic = std::get_if<InitialConnection>(&m)) {
        v = json{{"identity", json{{"identity_hex_be", ic->identity.to_hex()}}},
                 {"connection_id", json{{"connection_id_hex_be", ic->connection_id.to_hex()}}},
                 {"token", ic->token}};
    } else if (const auto* sa = std::get_if<SubscribeApplied>(&m)) {
        v = json{{"request_id", sa->request_id},
                 {"query_set_id", json{{"id", sa->query_set_id.id}}},
                 {"rows", to_json(sa->rows)}};
    } else if (const auto* ua = std::get_if<UnsubscribeApplied>(&m)) {
        v = json{{"request_id", ua->request_id},
                 {"query_set_id", json{{"id", ua->query_set_id.id}}},
                 {"rows", ua->rows ? json{{"some", to_json(*ua->rows)}} : json{{"none", json::array()}}}};
    } else if (const auto* se = std::get_if<SubscriptionError>(&m)) {
        v = json{{"request_id", se->request_id ? json{{"some", *se->request_id}} : json{{"none", json::array()}}},
                 {"query_set_id", json{{"id", se->query_set_id.id}}},
                 {"error", se->error}};
    } else if (const auto* tu = std::get_if<TransactionUpdate>(&m)) {
        v = to_json(*tu);
    } else if (const auto* oq = std::get_if<OneOffQueryResult>(&m)) {
        json result;
        if (const auto* rows = std::get_if<QueryRows>(&oq->result))
            result = json{{"ok", to_json(*rows)}};
        else
            result = json{{"err", std::get<std::string>(oq->result)}};
        v = json{{"request_id", oq->request_id}, {"result", result}};
    } else if (const auto* rr = std::get_if<ReducerResult>(&m)) {
        v = json{{"request_id", rr->request_id},
                 {"timestamp", timestamp_json(rr->timestamp)},
                 {"result", reducer_outcome_json(rr->result)}};
    } else {
        const auto& pr = std::get<ProcedureResult>(m);
        json status;
        if (const auto* ret = std::get_if<ProcedureReturned>(&pr.status))
            status = sum_json("Returned", 0, bytes_json(ret->value));
        else
            status = sum_json("InternalError", 1, std::get<ProcedureInternalError>(pr.status).message);
        v = json{{"status", status},
                 {"timestamp", timestamp_json(pr.timestamp)},
                 {"total_host_execution_duration",
                  json{{"micros", std::to_string(pr.total_host_execution_duration.micros)}}},
                 {"request_id", pr.request_id}};
    }
    return sum_json(name, idx, v);
}

// The accounts rows of a row list in the vectors' {"id", "balance"} form.
inline json accounts_json(const BsatnRowList& list) {
    json out = json::array();
    for (const auto row : rows_of(list)) {
        const auto a = transfer::decode_account(row);
        out.push_back(json{{"id", a.id}, {"balance", std::to_string(a.balance)}});
    }
    return out;
}

}  // namespace benchdist::stdb::test_vectors
