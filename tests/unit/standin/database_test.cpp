#include "benchdist/standin/database.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "benchdist/bsatn/reader.hpp"
#include "benchdist/standin/commit_log.hpp"
#include "benchdist/standin/identity_source.hpp"
#include "benchdist/standin/json_args.hpp"
#include "benchdist/standin/metrics_registry.hpp"

namespace sd = benchdist::standin;
namespace xfer = benchdist::stdb::transfer;
using nlohmann::json;

namespace {

constexpr std::int64_t kT0 = 1767225600123456;

// Deterministic clocks: every wall read advances 10 µs, every monotonic read 1500 ns.
struct FakeClocks {
    std::int64_t wall = kT0;
    std::int64_t mono = 0;
    sd::DatabaseClocks clocks() {
        return {[this] { return std::exchange(wall, wall + 10); }, [this] { return std::exchange(mono, mono + 1500); }};
    }
};

class DatabaseTest : public ::testing::Test {
protected:
    sd::DatabaseConfig config(sd::MetricsRegistry* metrics = nullptr, sd::CommitLog* log = nullptr) {
        sd::IdentitySource ids(42);
        sd::DatabaseConfig c;
        c.name = "test-1";
        c.identity = ids.next();
        c.owner = ids.next();
        c.clocks = clocks_.clocks();
        c.metrics = metrics;
        c.commit_log = log;
        return c;
    }
    static std::vector<std::int64_t> snapshot(const sd::Database& db) {
        return {db.balances().begin(), db.balances().end()};
    }
    static std::vector<std::uint8_t> transfer_bytes(std::uint32_t from, std::uint32_t to, std::int64_t amount) {
        const auto a = xfer::transfer_args_bytes({from, to, amount});
        return {a.begin(), a.end()};
    }

    FakeClocks clocks_;
};

}  // namespace

// ---------------------------------------------------------------- identity

TEST(IdentitySource, MintsLocalIdentitiesDeterministically) {
    sd::IdentitySource a(7), b(7), c(8);
    const auto a1 = a.next();
    const auto a2 = a.next();
    EXPECT_EQ(a1, b.next());
    EXPECT_EQ(a2, b.next());
    EXPECT_NE(a1, a2);
    EXPECT_NE(a1, c.next());
    for (const auto& id : {a1, a2}) {
        const std::string hex = id.to_hex_be();
        EXPECT_EQ(hex.size(), 64u);
        EXPECT_TRUE(hex.starts_with("c200")) << hex;
        EXPECT_TRUE(sd::is_local_identity(id));
        // On the wire (little-endian) the last two bytes are 00 c2.
        EXPECT_EQ(id.le[30], 0x00);
        EXPECT_EQ(id.le[31], 0xc2);
    }
    EXPECT_FALSE(sd::is_local_identity(benchdist::bsatn::U256::from_u64(1)));
    EXPECT_TRUE(sd::is_local_identity(sd::IdentitySource::from_entropy().next()));
}

// ---------------------------------------------------------------- seed

TEST_F(DatabaseTest, StartsEmptyAndKnowsItsIdentity) {
    auto c = config();
    const auto identity = c.identity;
    sd::Database db(std::move(c));
    EXPECT_EQ(db.name(), "test-1");
    EXPECT_EQ(db.identity(), identity);
    EXPECT_EQ(db.identity_hex(), identity.to_hex_be());
    EXPECT_TRUE(db.identity_hex().starts_with("c200"));
    EXPECT_NE(db.owner(), db.identity());
    EXPECT_EQ(db.row_count(), 0u);
    EXPECT_FALSE(db.find(0));
}

TEST_F(DatabaseTest, SeedCreatesDenseIdsWithInitialBalance) {
    sd::Database db(config());
    const auto out = db.seed({5, 1000});
    ASSERT_TRUE(out.committed());
    EXPECT_EQ(out.reducer, sd::ReducerKind::Seed);
    EXPECT_EQ(out.timestamp_us, kT0);
    EXPECT_EQ(out.duration, std::chrono::nanoseconds(1500));
    EXPECT_EQ(db.row_count(), 5u);
    for (std::uint32_t i = 0; i < 5; ++i) EXPECT_EQ(db.find(i), (xfer::Account{i, 1000}));
    EXPECT_FALSE(db.find(5));
    EXPECT_EQ(db.total_balance(), 5000);
    ASSERT_TRUE(out.change.replaced);
    EXPECT_EQ(out.change.replaced->old_row_count(), 0u);
    EXPECT_EQ(out.change.replaced->new_row_count, 5u);
    EXPECT_EQ(out.change.replaced->new_balance, 1000);
    EXPECT_EQ(out.change.row_updates, 0);
    EXPECT_FALSE(out.change.empty());
}

TEST_F(DatabaseTest, SeedReplacesTheWholeTableAndReportsOldRows) {
    sd::Database db(config());
    db.seed({4, 100});
    ASSERT_TRUE(db.transfer({0, 1, 30}).committed());
    const auto before = snapshot(db);
    const auto out = db.seed({2, 7});
    ASSERT_TRUE(out.committed());
    EXPECT_EQ(snapshot(db), (std::vector<std::int64_t>{7, 7}));
    ASSERT_TRUE(out.change.replaced);
    const auto& rep = *out.change.replaced;
    EXPECT_EQ(*rep.old_balances, before);
    std::vector<std::uint8_t> old_rows, new_rows;
    rep.append_old_rows_bsatn(old_rows);
    rep.append_new_rows_bsatn(new_rows);
    ASSERT_EQ(old_rows.size(), 4 * xfer::kAccountRowSize);
    ASSERT_EQ(new_rows.size(), 2 * xfer::kAccountRowSize);
    EXPECT_EQ(xfer::decode_account(std::span(old_rows).subspan(12, 12)), (xfer::Account{1, 130}));
    EXPECT_EQ(xfer::decode_account(std::span(new_rows).subspan(12, 12)), (xfer::Account{1, 7}));
    // Seeding zero rows empties the table.
    EXPECT_TRUE(db.seed({0, 5}).committed());
    EXPECT_EQ(db.row_count(), 0u);
}

TEST_F(DatabaseTest, SeedOfAMillionRowsIsCompact) {
    sd::Database db(config());
    const auto out = db.seed({1'000'000, xfer::kDefaultInitialBalance});
    ASSERT_TRUE(out.committed());
    EXPECT_EQ(db.row_count(), 1'000'000u);
    EXPECT_EQ(db.find(999'999), (xfer::Account{999'999, xfer::kDefaultInitialBalance}));
    // The change does not list a million rows; it describes them.
    EXPECT_EQ(out.change.row_updates, 0);
    EXPECT_EQ(out.change.replaced->new_row_count, 1'000'000u);
    const auto again = db.seed({1'000'000, 1});
    EXPECT_EQ(again.change.replaced->old_row_count(), 1'000'000u);
}

TEST_F(DatabaseTest, SeedBeyondTheStandInLimitFailsWithoutChangingAnything) {
    sd::Database db(config());
    db.seed({3, 10});
    const auto out = db.seed({sd::kMaxSeedRows + 1, 10});
    EXPECT_EQ(out.status, sd::CallStatus::Failed);
    EXPECT_NE(out.internal_error.find("limit"), std::string::npos) << out.internal_error;
    EXPECT_EQ(out.error_text(), out.internal_error);
    EXPECT_EQ(db.row_count(), 3u);
}

// ---------------------------------------------------------------- transfer

TEST_F(DatabaseTest, TransferMovesMoneyAndReportsRowUpdates) {
    sd::Database db(config());
    db.seed({10, 100});
    const auto bytes = transfer_bytes(3, 9, 40);
    const auto out = db.call_reducer("transfer", bytes);
    ASSERT_TRUE(out.committed()) << out.error_text();
    EXPECT_EQ(out.reducer, sd::ReducerKind::Transfer);
    EXPECT_EQ(out.error_text(), "");
    EXPECT_EQ(out.timestamp_us, kT0 + 10);  // second wall read (the first was seed's)
    EXPECT_EQ(out.duration, std::chrono::nanoseconds(1500));
    EXPECT_EQ(out.duration_micros(), 1);
    EXPECT_EQ(db.find(3)->balance, 60);
    EXPECT_EQ(db.find(9)->balance, 140);
    EXPECT_EQ(db.total_balance(), 1000);
    ASSERT_EQ(out.change.row_updates, 2);
    EXPECT_FALSE(out.change.replaced);
    EXPECT_EQ(out.change.deleted_rows()[0], (xfer::Account{3, 100}));
    EXPECT_EQ(out.change.deleted_rows()[1], (xfer::Account{9, 100}));
    EXPECT_EQ(out.change.inserted_rows()[0], (xfer::Account{3, 60}));
    EXPECT_EQ(out.change.inserted_rows()[1], (xfer::Account{9, 140}));
}

TEST_F(DatabaseTest, TransferOfTheWholeBalanceIsAllowed) {
    sd::Database db(config());
    db.seed({2, 50});
    EXPECT_TRUE(db.transfer({0, 1, 50}).committed());
    EXPECT_EQ(db.find(0)->balance, 0);
    EXPECT_EQ(db.find(1)->balance, 100);
}

struct RuleCase {
    const char* label;
    xfer::TransferArgs args;
    std::string_view expected;
};

class TransferRules : public DatabaseTest, public ::testing::WithParamInterface<RuleCase> {};

TEST_P(TransferRules, FailsWithTheModulesErrorAndChangesNothing) {
    sd::Database db(config());
    db.seed({10, 100});
    ASSERT_TRUE(db.transfer({1, 2, 25}).committed());
    const auto before = snapshot(db);
    const auto& c = GetParam();
    const auto out = db.transfer(c.args);
    EXPECT_EQ(out.status, sd::CallStatus::UserError);
    EXPECT_EQ(out.user_error, c.expected);
    EXPECT_EQ(out.error_text(), c.expected);
    EXPECT_TRUE(out.change.empty());
    EXPECT_EQ(snapshot(db), before);
}

// The module checks same_account, then non_positive_amount, then
// account_missing, then insufficient_funds; the cases pin that order by
// breaking several rules at once.
INSTANTIATE_TEST_SUITE_P(
    ModuleOrder, TransferRules,
    ::testing::Values(RuleCase{"same", {4, 4, 1}, xfer::kErrSameAccount},
                      RuleCase{"same_missing_nonpositive", {999, 999, -5}, xfer::kErrSameAccount},
                      RuleCase{"zero", {1, 2, 0}, xfer::kErrNonPositiveAmount},
                      RuleCase{"negative", {1, 2, -1}, xfer::kErrNonPositiveAmount},
                      RuleCase{"negative_missing", {1, 999, -1}, xfer::kErrNonPositiveAmount},
                      RuleCase{"min_i64", {1, 2, INT64_MIN}, xfer::kErrNonPositiveAmount},
                      RuleCase{"from_missing", {10, 2, 1}, xfer::kErrAccountMissing},
                      RuleCase{"to_missing", {2, 10, 1}, xfer::kErrAccountMissing},
                      RuleCase{"missing_and_poor", {2, 4000000000u, 1000000}, xfer::kErrAccountMissing},
                      RuleCase{"poor", {1, 2, 76}, xfer::kErrInsufficientFunds},
                      RuleCase{"poor_max", {3, 2, INT64_MAX}, xfer::kErrInsufficientFunds}),
    [](const auto& info) { return std::string(info.param.label); });

TEST_F(DatabaseTest, TransferOnAnEmptyTableIsAccountMissing) {
    sd::Database db(config());
    EXPECT_EQ(db.transfer({0, 1, 1}).user_error, xfer::kErrAccountMissing);
}

TEST_F(DatabaseTest, UnknownReducerIsAnInternalErrorWithTheServersText) {
    sd::Database db(config());
    db.seed({2, 10});
    const auto out = db.call_reducer("transfers", transfer_bytes(0, 1, 1));
    EXPECT_EQ(out.status, sd::CallStatus::NoSuchReducer);
    EXPECT_EQ(out.internal_error, "no such reducer");
    EXPECT_EQ(out.error_text(), "no such reducer");
    EXPECT_EQ(out.timestamp_us, kT0 + 10);  // the time of the failure
    EXPECT_EQ(out.duration.count(), 0);
    EXPECT_EQ(db.call_reducer("Transfer", {}).status, sd::CallStatus::NoSuchReducer);  // names are case-sensitive
    EXPECT_EQ(db.call_reducer_json("nope", json::array()).internal_error, "no such reducer");
    EXPECT_EQ(db.call_reducer_json_text("nope", "not json").internal_error, "no such reducer");
}

TEST_F(DatabaseTest, UndecodableBsatnArgsAreInvalidArguments) {
    sd::Database db(config());
    db.seed({2, 10});
    const auto before = snapshot(db);
    auto bytes = transfer_bytes(0, 1, 1);
    bytes.pop_back();
    auto out = db.call_reducer("transfer", bytes);
    EXPECT_EQ(out.status, sd::CallStatus::InvalidArguments);
    EXPECT_TRUE(out.internal_error.starts_with("invalid arguments for reducer transfer: BSATN decode error at byte 8"))
        << out.internal_error;
    bytes = transfer_bytes(0, 1, 1);
    bytes.push_back(0);  // trailing bytes are rejected too
    EXPECT_EQ(db.call_reducer("transfer", bytes).status, sd::CallStatus::InvalidArguments);
    out = db.call_reducer("seed", std::vector<std::uint8_t>{1, 2, 3});
    EXPECT_TRUE(out.internal_error.starts_with("invalid arguments for reducer seed: ")) << out.internal_error;
    EXPECT_EQ(snapshot(db), before);
}

TEST_F(DatabaseTest, SeedThroughBsatnMatchesTheHarnessCall) {
    sd::Database db(config());
    std::vector<std::uint8_t> args;
    benchdist::bsatn::Writer w(args);
    xfer::encode_seed_args(w, {xfer::kDefaultAccounts, xfer::kDefaultInitialBalance});
    ASSERT_TRUE(db.call_reducer("seed", args).committed());
    EXPECT_EQ(db.row_count(), xfer::kDefaultAccounts);
    EXPECT_EQ(db.total_balance(), std::int64_t{xfer::kDefaultAccounts} * xfer::kDefaultInitialBalance);
}

TEST_F(DatabaseTest, CorruptBalanceBreaksTheConservedTotal) {
    sd::Database db(config());
    db.seed({3, 10});
    EXPECT_TRUE(db.corrupt_balance(1, -4));
    EXPECT_EQ(db.find(1)->balance, 6);
    EXPECT_EQ(db.total_balance(), 26);
    EXPECT_FALSE(db.corrupt_balance(3, 1));
    xfer::BalanceTally tally(10);
    for (const auto b : db.balances()) tally.add({0, b});
    EXPECT_FALSE(xfer::verify(tally).passed);
}

TEST_F(DatabaseTest, RowsEncodeAsTwelveByteBsatn) {
    sd::Database db(config());
    db.seed({10, 10000000});
    db.corrupt_balance(3, -1);
    std::vector<std::uint8_t> one;
    ASSERT_TRUE(db.append_row_bsatn(3, one));
    // section 2: accounts row (id=3, balance=9999999)
    EXPECT_EQ(one, (std::vector<std::uint8_t>{0x03, 0, 0, 0, 0x7f, 0x96, 0x98, 0, 0, 0, 0, 0}));
    EXPECT_FALSE(db.append_row_bsatn(10, one));
    EXPECT_EQ(one.size(), 12u);
    std::vector<std::uint8_t> all{0xAA};  // appends, keeps what was there
    db.append_rows_bsatn(all);
    ASSERT_EQ(all.size(), 1 + 10 * 12u);
    for (std::uint32_t i = 0; i < 10; ++i)
        EXPECT_EQ(xfer::decode_account(std::span(all).subspan(1 + 12 * i, 12)), *db.find(i));
}

TEST_F(DatabaseTest, ReducerDelaySpinsForAtLeastTheDelay) {
    sd::DatabaseConfig c = config();
    c.clocks = {};  // real clocks
    c.reducer_delay = std::chrono::microseconds(300);
    sd::Database db(std::move(c));
    db.seed({2, 10});
    EXPECT_EQ(db.reducer_delay(), std::chrono::microseconds(300));
    const auto out = db.transfer({0, 1, 1});
    EXPECT_TRUE(out.committed());
    EXPECT_GE(out.duration, std::chrono::microseconds(300));
    // The delay models the reducer's work, so failed transfers pay it too.
    EXPECT_GE(db.transfer({0, 0, 1}).duration, std::chrono::microseconds(300));
    db.set_reducer_delay(std::chrono::microseconds(0));
    EXPECT_EQ(db.reducer_delay().count(), 0);
}

// The delay is a service time on a queue: calls that arrived together are
// served one after another, each a full delay, so a saturated database
// never commits faster than 1/delay -- and the thread's own hand-off between
// calls is not added on top (not asserted: a timing upper bound would fail
// on a busy machine; the saturation test in campaign_test measures it).
TEST_F(DatabaseTest, ReducerDelayIsAServiceTimeCallsArrivingTogetherQueueFor) {
    sd::DatabaseConfig c = config();
    c.clocks = {};
    c.reducer_delay = std::chrono::microseconds(300);
    sd::Database db(std::move(c));
    db.seed({2, 1000});
    const auto arrived = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(db.call_reducer("transfer", transfer_bytes(0, 1, 1), arrived).committed());
    EXPECT_GE(std::chrono::steady_clock::now() - arrived, std::chrono::microseconds(3000));
}

// ---------------------------------------------------------------- metrics and commit log

TEST_F(DatabaseTest, CountsTransactionsInTheMetricsRegistry) {
    sd::MetricsRegistry metrics;
    sd::Database db(config(&metrics));
    EXPECT_EQ(metrics.render(), "");  // no series before the first transaction
    db.seed({4, 100});
    db.transfer({0, 1, 1});
    db.transfer({0, 2, 1});
    db.transfer({0, 0, 1});
    db.call_reducer("nope", {});                                // never ran: not a transaction
    db.call_reducer("transfer", std::vector<std::uint8_t>{1});  // never ran either
    const auto& hex = db.identity_hex();
    EXPECT_EQ(metrics.txn_counter(sd::TxnType::Reducer, hex, "transfer", true).value(), 2u);
    EXPECT_EQ(metrics.txn_counter(sd::TxnType::Reducer, hex, "transfer", false).value(), 1u);
    EXPECT_EQ(metrics.txn_counter(sd::TxnType::Reducer, hex, "seed", true).value(), 1u);
    EXPECT_EQ(metrics.txn_counter(sd::TxnType::Reducer, hex, "seed", false).value(), 0u);
    EXPECT_EQ(metrics.txn_elapsed(sd::TxnType::Reducer, hex, "transfer").count(), 3u);
    const std::string text = metrics.render();
    EXPECT_NE(text.find("spacetime_num_txns_total{committed=\"true\",db=\"" + hex +
                        "\",reducer=\"transfer\",txn_type=\"Reducer\"} 2\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("reducer=\"nope\""), std::string::npos);
    db.record_sql_transaction(std::chrono::microseconds(5));
    EXPECT_EQ(metrics.txn_counter(sd::TxnType::Sql, hex, "", true).value(), 1u);
}

TEST_F(DatabaseTest, RecordsCommittedTransfersInTheCommitLog) {
    const auto path =
        std::filesystem::temp_directory_path() / ("standin_db_commitlog_" + std::to_string(::getpid()) + ".log");
    std::filesystem::remove(path);
    {
        sd::CommitLog log(path);
        sd::Database db(config(nullptr, &log));
        db.seed({3, 10});
        const auto a = db.transfer({0, 1, 1});
        db.transfer({0, 1, 100});  // insufficient funds: not logged
        const auto b = db.transfer({2, 0, 3});
        log.close();
        const auto records = sd::read_commit_log(path);
        ASSERT_EQ(records.size(), 2u);
        EXPECT_EQ(records[0], (sd::CommitRecord{a.timestamp_us + a.duration_micros(), "test-1", 0, 1}));
        EXPECT_EQ(records[1], (sd::CommitRecord{b.timestamp_us + b.duration_micros(), "test-1", 2, 0}));
    }
    std::filesystem::remove(path);
}

// ---------------------------------------------------------------- JSON arguments

TEST_F(DatabaseTest, JsonArrayArgumentsRunTheSameReducers) {
    sd::Database db(config());
    ASSERT_TRUE(db.call_reducer_json("seed", json::parse("[4, 100]")).committed());
    EXPECT_EQ(db.row_count(), 4u);
    ASSERT_TRUE(db.call_reducer_json("transfer", json::parse("[3, 1, 60]")).committed());
    EXPECT_EQ(db.find(3)->balance, 40);
    EXPECT_EQ(db.call_reducer_json("transfer", json::parse("[3, 1, 60]")).user_error, xfer::kErrInsufficientFunds);
    EXPECT_EQ(db.call_reducer_json_text("transfer", "[1, 1, 1]").user_error, xfer::kErrSameAccount);
    EXPECT_TRUE(db.call_reducer_json_text("transfer", " [0,1,1] ").committed());
}

TEST_F(DatabaseTest, JsonObjectArgumentsAcceptBothSeedSpellings) {
    sd::Database db(config());
    ASSERT_TRUE(db.call_reducer_json("seed", json::parse(R"({"n": 3, "initial_balance": 5})")).committed());
    EXPECT_EQ(db.total_balance(), 15);
    ASSERT_TRUE(db.call_reducer_json("seed", json::parse(R"({"initialBalance": 7, "n": 2})")).committed());
    EXPECT_EQ(db.total_balance(), 14);
    ASSERT_TRUE(db.call_reducer_json("transfer", json::parse(R"({"amount": 2, "to": 0, "from": 1})")).committed());
    EXPECT_EQ(db.find(0)->balance, 9);
}

struct JsonCase {
    const char* label;
    const char* reducer;
    const char* body;
    const char* expected;
};

class JsonArgErrors : public DatabaseTest, public ::testing::WithParamInterface<JsonCase> {};

TEST_P(JsonArgErrors, AreInvalidArgumentsWithTheServersPrefix) {
    sd::Database db(config());
    db.seed({4, 100});
    const auto before = snapshot(db);
    const auto& c = GetParam();
    const auto out = db.call_reducer_json_text(c.reducer, c.body);
    EXPECT_EQ(out.status, sd::CallStatus::InvalidArguments);
    EXPECT_EQ(out.internal_error, c.expected);
    EXPECT_EQ(snapshot(db), before);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonArgErrors,
    ::testing::Values(
        JsonCase{"string", "transfer", R"([1, "x", 3])",
                 R"(invalid arguments for reducer transfer: [1]: invalid type: string "x", expected u32)"},
        JsonCase{"float", "transfer", "[1, 2, 1.5]",
                 "invalid arguments for reducer transfer: [2]: invalid type: floating point `1.5`, expected i64"},
        JsonCase{"integral_float", "transfer", "[1.0, 2, 1]",
                 "invalid arguments for reducer transfer: [0]: invalid type: floating point `1.0`, expected u32"},
        JsonCase{"negative_u32", "transfer", "[-1, 2, 1]",
                 "invalid arguments for reducer transfer: [0]: invalid value: integer `-1`, expected u32"},
        JsonCase{"big_u32", "transfer", "[1, 4294967296, 1]",
                 "invalid arguments for reducer transfer: [1]: invalid value: integer `4294967296`, expected u32"},
        JsonCase{"big_i64", "transfer", "[1, 2, 9223372036854775808]",
                 "invalid arguments for reducer transfer: [2]: invalid value: integer `9223372036854775808`, "
                 "expected i64"},
        JsonCase{"bool", "transfer", "[true, 2, 1]",
                 "invalid arguments for reducer transfer: [0]: invalid type: boolean `true`, expected u32"},
        JsonCase{"null", "seed", "[null, 1]",
                 "invalid arguments for reducer seed: [0]: invalid type: null, expected u32"},
        JsonCase{"too_few", "transfer", "[1, 2]",
                 "invalid arguments for reducer transfer: invalid length 2, expected 3 arguments "
                 "(from: u32, to: u32, amount: i64)"},
        JsonCase{"too_many", "seed", "[1, 2, 3]",
                 "invalid arguments for reducer seed: invalid length 3, expected 2 arguments "
                 "(n: u32, initial_balance: i64)"},
        JsonCase{"object_wrong_type", "seed", R"({"n": 1, "initialBalance": "5"})",
                 R"(invalid arguments for reducer seed: initialBalance: invalid type: string "5", expected i64)"},
        JsonCase{"missing_field", "transfer", R"({"from": 1, "to": 2})",
                 "invalid arguments for reducer transfer: missing field `amount`"},
        JsonCase{"unknown_field", "transfer", R"({"from": 1, "to": 2, "amount": 1, "memo": 1})",
                 "invalid arguments for reducer transfer: unknown field `memo`, expected one of `from`, `to`, "
                 "`amount`"},
        JsonCase{"both_spellings", "seed", R"({"n": 1, "initialBalance": 5, "initial_balance": 5})",
                 "invalid arguments for reducer seed: duplicate field `initial_balance`"},
        JsonCase{"scalar", "transfer", "5",
                 "invalid arguments for reducer transfer: invalid type: integer `5`, expected a JSON array or object "
                 "of arguments (from: u32, to: u32, amount: i64)"}),
    [](const auto& info) { return std::string(info.param.label); });

TEST_F(DatabaseTest, MalformedJsonBodyIsInvalidArguments) {
    sd::Database db(config());
    const auto out = db.call_reducer_json_text("transfer", "[1, 2,");
    EXPECT_EQ(out.status, sd::CallStatus::InvalidArguments);
    EXPECT_TRUE(out.internal_error.starts_with("invalid arguments for reducer transfer: parse error at line 1"))
        << out.internal_error;
    EXPECT_EQ(out.internal_error.find("json.exception"), std::string::npos);
}

TEST(JsonArgs, DecodeWithoutADatabase) {
    const auto t = sd::transfer_args_from_json(json::parse("[3, 9, 1]"));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t.args, (xfer::TransferArgs{3, 9, 1}));
    const auto s = sd::seed_args_from_json(json::parse("[100000, 10000000]"));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*s.args, (xfer::SeedArgs{100000, 10000000}));
    const auto neg = sd::transfer_args_from_json(json::parse("[0, 4294967295, -9223372036854775808]"));
    ASSERT_TRUE(neg.ok());
    EXPECT_EQ(*neg.args, (xfer::TransferArgs{0, 4294967295u, INT64_MIN}));
    EXPECT_EQ(sd::invalid_arguments_message("transfer", "x"), "invalid arguments for reducer transfer: x");
}
