// The SQL that stdb-standin understands: exactly what the benchmark and its
// tests send to SpacetimeDB, i.e. `SELECT * FROM accounts`, optionally with
// `WHERE id = <u32>` (also `accounts.id`). Keywords are case-insensitive,
// whitespace is free, a trailing `;` is allowed, the table name may be quoted
// with "..." or `...`. Table and column names are case-sensitive, as in
// SpacetimeDB. This is a deliberate subset, not a SQL engine: anything else
// is rejected with a message shaped like the real server's (its parser's
// "Unsupported ..." / "sql parser error: ..." texts), and unsupported-but-valid
// SQL says that the stand-in only implements the subset, so nobody mistakes a
// stand-in limit for a bug in their query. The same parse serves /sql,
// Subscribe and OneOffQuery.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "benchdist/standin/database.hpp"

namespace benchdist::standin {

// Appended to messages about valid SQL outside the subset.
inline constexpr std::string_view kSqlSubsetNote =
    " (stdb-standin implements only SELECT * FROM accounts [WHERE id = <u32>])";

struct AccountsQuery {
    std::optional<std::uint32_t> id;  // WHERE id = <id>
    friend bool operator==(const AccountsQuery&, const AccountsQuery&) = default;
};

struct SqlParseResult {
    std::optional<AccountsQuery> query;  // set on success
    std::string error;                   // the server's error text otherwise
    bool ok() const { return query.has_value(); }
};

// Unknown table: "no such table: `acounts`". Unknown column:
// "`accounts` does not have a field `x`". Out-of-range literal:
// "The literal expression `-1` cannot be parsed as type `U32`".
SqlParseResult parse_sql(std::string_view sql);

// Whether a row belongs to the query's result (for filtering row changes
// sent to a subscriber).
bool query_matches(const AccountsQuery& query, const Account& row);

std::vector<Account> execute_query(const Database& db, const AccountsQuery& query);
// The result as 12-byte BSATN rows appended to out; returns the row count.
std::size_t append_query_rows_bsatn(const Database& db, const AccountsQuery& query, std::vector<std::uint8_t>& out);

// The 200 body of POST /v1/database/{name}/sql: an array of one statement
// result {schema, rows, total_duration_micros, stats}. nlohmann::json sorts
// object keys; sql_result_body() writes the same document with the real
// server's key order (schema, rows, total_duration_micros, stats) and is fast
// enough for a million rows.
nlohmann::json sql_result_json(std::span<const Account> rows, std::int64_t total_duration_micros);
std::string sql_result_body(std::span<const Account> rows, std::int64_t total_duration_micros);

struct SqlHttpResponse {
    int status = 200;          // 200, or 400 with the error text as body
    std::string content_type;  // "application/json" or "text/plain; charset=utf-8"
    std::string body;
    std::int64_t duration_micros = 0;  // for the spacetime-execution-duration-micros header
};

// Parse, run and render one /sql request; on success counts one Sql
// transaction in the database's metrics.
SqlHttpResponse run_sql_http(Database& db, std::string_view sql);

}  // namespace benchdist::standin
