#include "benchdist/standin/sql_subset.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "benchdist/standin/identity_source.hpp"
#include "benchdist/standin/metrics_registry.hpp"

namespace sd = benchdist::standin;
namespace xfer = benchdist::stdb::transfer;
using nlohmann::json;

namespace {

sd::DatabaseConfig config(sd::MetricsRegistry* metrics = nullptr) {
    sd::IdentitySource ids(1);
    sd::DatabaseConfig c;
    c.name = "test-1";
    c.identity = ids.next();
    c.owner = ids.next();
    c.metrics = metrics;
    return c;
}

std::string error_of(std::string_view sql) {
    const auto r = sd::parse_sql(sql);
    EXPECT_FALSE(r.ok()) << sql;
    return r.error;
}

}  // namespace

TEST(SqlSubset, AcceptsTheQueriesTheSuiteSends) {
    const sd::AccountsQuery all{};
    const sd::AccountsQuery id5{5};
    const std::pair<const char*, sd::AccountsQuery> cases[] = {
        {"SELECT * FROM accounts", all},
        {"select * from accounts", all},
        {"  SeLeCt\n*\tFROM   accounts ; ", all},
        {"SELECT*FROM accounts;", all},
        {"SELECT * FROM \"accounts\"", all},
        {"SELECT * FROM `accounts`", all},
        {"-- verification\nSELECT * FROM accounts", all},
        {"SELECT * FROM accounts WHERE id = 5", id5},
        {"select * from accounts where id=5;", id5},
        {"SELECT * FROM accounts WHERE accounts.id = 5", id5},
        {"SELECT * FROM accounts WHERE \"id\" = 5", id5},
        {"SELECT * FROM accounts WHERE id = 4294967295", sd::AccountsQuery{4294967295u}},
    };
    for (const auto& [sql, expected] : cases) {
        const auto r = sd::parse_sql(sql);
        ASSERT_TRUE(r.ok()) << sql << ": " << r.error;
        EXPECT_EQ(*r.query, expected) << sql;
    }
    EXPECT_TRUE(sd::parse_sql(xfer::kAccountsQuery).ok());
}

TEST(SqlSubset, UnknownTableMatchesTheGoldenSubscriptionError) {
    std::ifstream in(std::string(BENCHDIST_TEST_DATA_DIR) + "/vectors.json");
    ASSERT_TRUE(in) << "cannot open vectors.json";
    const auto vectors = json::parse(in);
    std::string golden;
    for (const auto& v : vectors) {
        if (v["name"] == "v2.server.SubscriptionError.with_request_id") golden = v["decoded"]["value"]["error"];
    }
    ASSERT_EQ(golden, "no such table: `acounts`");
    EXPECT_EQ(error_of("SELECT * FROM acounts"), golden);
    // Table names are case-sensitive, as in SpacetimeDB.
    EXPECT_EQ(error_of("SELECT * FROM Accounts"), "no such table: `Accounts`");
    EXPECT_EQ(error_of("select * from \"acc ounts\" where id = 1"), "no such table: `acc ounts`");
}

TEST(SqlSubset, RejectsEverythingElseWithTheServersWording) {
    const std::string note(sd::kSqlSubsetNote);
    const std::pair<const char*, std::string> cases[] = {
        {"", "Empty SQL query"},
        {"   ", "Empty SQL query"},
        {";", "Empty SQL query"},
        {"DELETE FROM accounts", "Unsupported: DELETE statements" + note},
        {"update accounts set balance = 0", "Unsupported: UPDATE statements" + note},
        {"SELECT id FROM accounts", "Unsupported projection: id" + note},
        {"SELECT id, balance FROM accounts", "Unsupported projection: id, balance" + note},
        {"SELECT COUNT(*) FROM accounts", "Unsupported projection: COUNT(*)" + note},
        {"SELECT", "sql parser error: Expected: an expression, found: EOF"},
        {"SELECT *", "A FROM clause is required"},
        {"SELECT * accounts", "sql parser error: Expected: FROM, found: accounts"},
        {"SELECT * FROM", "sql parser error: Expected: identifier, found: EOF"},
        {"SELECT * FROM WHERE", "sql parser error: Expected: identifier, found: WHERE"},
        {"SELECT * FROM public.accounts", "Multi-part names are not supported: public.accounts"},
        {"SELECT * FROM accounts, accounts", "Implicit joins are not supported"},
        {"SELECT * FROM accounts LIMIT 5", "Unsupported: LIMIT" + note},
        {"SELECT * FROM acounts LIMIT 5", "Unsupported: LIMIT" + note},  // syntax before names
        {"SELECT * FROM accounts JOIN x", "Unsupported: JOIN" + note},
        {"SELECT * FROM accounts WHERE id = 1 AND id = 2", "Unsupported: AND" + note},
        {"SELECT * FROM accounts WHERE id > 5", "Unsupported: operator `>` in WHERE" + note},
        {"SELECT * FROM accounts WHERE id <> 5", "Unsupported: operator `<>` in WHERE" + note},
        {"SELECT * FROM accounts WHERE balance = 5", "Unsupported: WHERE on column `balance`" + note},
        {"SELECT * FROM accounts WHERE owner = 5", "`accounts` does not have a field `owner`"},
        {"SELECT * FROM accounts WHERE a.id = 5", "`a` is not in scope"},
        {"SELECT * FROM accounts WHERE id = -1", "The literal expression `-1` cannot be parsed as type `U32`"},
        {"SELECT * FROM accounts WHERE id = 4294967296",
         "The literal expression `4294967296` cannot be parsed as type `U32`"},
        {"SELECT * FROM accounts WHERE id = 1.5", "The literal expression `1.5` cannot be parsed as type `U32`"},
        {"SELECT * FROM accounts WHERE id = 'x'", "The literal expression `x` cannot be parsed as type `U32`"},
        {"SELECT * FROM accounts WHERE id =", "sql parser error: Expected: a literal, found: EOF"},
        {"SELECT * FROM accounts; SELECT * FROM accounts", "Multiple SQL statements are not supported"},
        {"SELECT * FROM accounts )", "sql parser error: Expected: end of statement, found: )"},
        {"SELECT * FROM \"accounts", "sql parser error: Expected close delimiter '\"' before EOF"},
        {"SELECT * FROM accounts WHERE id = 'x", "sql parser error: Unterminated string literal"},
        {"SELECT * FROM accounts @", "sql parser error: Unexpected character '@'"},
        {"42", "sql parser error: Expected: an SQL statement, found: 42"},
    };
    for (const auto& [sql, expected] : cases) EXPECT_EQ(error_of(sql), expected) << sql;
}

TEST(SqlSubset, ExecutesAgainstTheDatabase) {
    sd::Database db(config());
    db.seed({4, 100});
    db.transfer({0, 3, 10});
    const auto all = sd::execute_query(db, {});
    EXPECT_EQ(all, (std::vector<xfer::Account>{{0, 90}, {1, 100}, {2, 100}, {3, 110}}));
    EXPECT_EQ(sd::execute_query(db, {3}), (std::vector<xfer::Account>{{3, 110}}));
    EXPECT_TRUE(sd::execute_query(db, {4}).empty());

    std::vector<std::uint8_t> rows;
    EXPECT_EQ(sd::append_query_rows_bsatn(db, {}, rows), 4u);
    EXPECT_EQ(rows.size(), 48u);
    EXPECT_EQ(xfer::decode_account(std::span(rows).subspan(36, 12)), (xfer::Account{3, 110}));
    rows.clear();
    EXPECT_EQ(sd::append_query_rows_bsatn(db, {1}, rows), 1u);
    EXPECT_EQ(xfer::decode_account(rows), (xfer::Account{1, 100}));
    EXPECT_EQ(sd::append_query_rows_bsatn(db, {9}, rows), 0u);
    EXPECT_EQ(rows.size(), 12u);

    EXPECT_TRUE(sd::query_matches({}, {7, 1}));
    EXPECT_TRUE(sd::query_matches({7}, {7, 1}));
    EXPECT_FALSE(sd::query_matches({8}, {7, 1}));
}

TEST(SqlSubset, HttpBodyHasTheServersShape) {
    const std::vector<xfer::Account> rows{{0, 10000000}, {1, 10000000}, {3, 9999999}};
    // Section 6.4, verbatim.
    const auto expected = json::parse(R"([{"schema":{"elements":[{"name":{"some":"id"},"algebraic_type":{"U32":[]}},
                        {"name":{"some":"balance"},"algebraic_type":{"I64":[]}}]},
  "rows":[[0,10000000],[1,10000000],[3,9999999]],
  "total_duration_micros":812,
  "stats":{"rows_inserted":0,"rows_deleted":0,"rows_updated":0}}])");
    EXPECT_EQ(sd::sql_result_json(rows, 812), expected);
    const std::string body = sd::sql_result_body(rows, 812);
    EXPECT_EQ(json::parse(body), expected);
    // The real server's key order.
    EXPECT_EQ(body, R"([{"schema":{"elements":[{"name":{"some":"id"},"algebraic_type":{"U32":[]}},)"
                    R"({"name":{"some":"balance"},"algebraic_type":{"I64":[]}}]},)"
                    R"("rows":[[0,10000000],[1,10000000],[3,9999999]],"total_duration_micros":812,)"
                    R"("stats":{"rows_inserted":0,"rows_deleted":0,"rows_updated":0}}])");
    // i64 extremes stay exact.
    const std::vector<xfer::Account> extreme{{4294967295u, INT64_MIN}, {0, INT64_MAX}};
    const auto parsed = json::parse(sd::sql_result_body(extreme, 0));
    EXPECT_EQ(parsed[0]["rows"][0][1].get<std::int64_t>(), INT64_MIN);
    EXPECT_EQ(parsed[0]["rows"][1][1].get<std::int64_t>(), INT64_MAX);
    EXPECT_EQ(parsed, sd::sql_result_json(extreme, 0));
    EXPECT_EQ(json::parse(sd::sql_result_body({}, 1))[0]["rows"], json::array());
}

TEST(SqlSubset, RunSqlHttpAnswersAndCountsASqlTransaction) {
    sd::MetricsRegistry metrics;
    sd::Database db(config(&metrics));
    db.seed({3, 5});
    auto ok = sd::run_sql_http(db, "SELECT * FROM accounts WHERE id = 2");
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.content_type, "application/json");
    const auto body = json::parse(ok.body);
    EXPECT_EQ(body[0]["rows"], json::parse("[[2,5]]"));
    EXPECT_EQ(body[0]["total_duration_micros"].get<std::int64_t>(), ok.duration_micros);
    EXPECT_EQ(metrics.txn_counter(sd::TxnType::Sql, db.identity_hex(), "", true).value(), 1u);

    auto bad = sd::run_sql_http(db, "SELECT * FROM acounts");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.content_type, "text/plain; charset=utf-8");
    EXPECT_EQ(bad.body, "no such table: `acounts`");
    EXPECT_EQ(metrics.txn_counter(sd::TxnType::Sql, db.identity_hex(), "", true).value(), 1u);

    EXPECT_EQ(json::parse(sd::run_sql_http(db, "SELECT * FROM accounts").body)[0]["rows"].size(), 3u);
}
