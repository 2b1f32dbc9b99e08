#include "database_host.hpp"

#include "benchdist/stdb/row_list.hpp"
#include "benchdist/stdb/transfer_module.hpp"

namespace benchdist::standin {

namespace {

constexpr std::uint16_t kRowSize = static_cast<std::uint16_t>(stdb::transfer::kAccountRowSize);

stdb::BsatnRowList fixed_rows(std::vector<std::uint8_t> data) {
    // The real server sends RowOffsets([]) with no data for an empty list.
    if (data.empty()) return stdb::BsatnRowList{};
    stdb::BsatnRowList list;
    list.size_hint = stdb::FixedSizeHint{kRowSize};
    list.rows_data = std::move(data);
    return list;
}

void append_account(std::vector<std::uint8_t>& out, const Account& row) {
    bsatn::Writer w(out);
    stdb::transfer::encode_account(w, row);
}

// Rows of a table replacement (seed) that a query selects.
void append_replaced_rows(const TableReplacement& r, const AccountsQuery& q, bool old_rows,
                          std::vector<std::uint8_t>& out) {
    if (!q.id) {
        if (old_rows)
            r.append_old_rows_bsatn(out);
        else
            r.append_new_rows_bsatn(out);
        return;
    }
    const std::uint32_t id = *q.id;
    if (old_rows && id < r.old_row_count()) append_account(out, {id, (*r.old_balances)[id]});
    if (!old_rows && id < r.new_row_count) append_account(out, {id, r.new_balance});
}

}  // namespace

stdb::TransactionUpdate DatabaseHost::update_for(const Subscriber& subscriber, const AccountsChange& change) const {
    stdb::TransactionUpdate update;
    for (const auto& sub : subscriber.subscriptions) {
        std::vector<std::uint8_t> inserts;
        std::vector<std::uint8_t> deletes;
        for (const auto& q : sub.queries) {
            if (change.replaced) {
                append_replaced_rows(*change.replaced, q, false, inserts);
                append_replaced_rows(*change.replaced, q, true, deletes);
                continue;
            }
            for (const auto& row : change.inserted_rows()) {
                if (query_matches(q, row)) append_account(inserts, row);
            }
            for (const auto& row : change.deleted_rows()) {
                if (query_matches(q, row)) append_account(deletes, row);
            }
        }
        if (inserts.empty() && deletes.empty()) continue;
        stdb::TableUpdate table;
        table.table_name = std::string(stdb::transfer::kAccountsTable);
        table.rows.emplace_back(
            stdb::PersistentTableRows{fixed_rows(std::move(inserts)), fixed_rows(std::move(deletes))});
        stdb::QuerySetUpdate qs;
        qs.query_set_id = sub.query_set_id;
        qs.tables.push_back(std::move(table));
        update.query_sets.push_back(std::move(qs));
    }
    return update;
}

stdb::QueryRows DatabaseHost::rows_for(const std::vector<AccountsQuery>& queries) const {
    stdb::QueryRows rows;
    for (const auto& q : queries) {
        std::vector<std::uint8_t> data;
        append_query_rows_bsatn(db_, q, data);
        rows.tables.push_back({std::string(stdb::transfer::kAccountsTable), fixed_rows(std::move(data))});
    }
    return rows;
}

}  // namespace benchdist::standin
