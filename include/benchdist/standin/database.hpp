// Database: stdb-standin's engine for one database running the keynote
// transfer module. It owns the `accounts` table and runs the module's two
// reducers with the real module's rules, error strings and order of checks,
// and reports each call the way SpacetimeDB's host does (committed, user
// error, or an internal error with the server's text), with the row changes
// subscribers need, the start timestamp and the duration. Like SpacetimeDB,
// one database runs its reducers one at a time on one thread, so the class is
// deliberately single-threaded and lock-free; what it shares with other
// threads (metrics, commit log) is thread-safe on its own.
//
// Storage: seed always creates ids 0..n-1 and transfer never inserts or
// deletes, so the table is exactly "id i has balances[i]" for i < n. A dense
// vector of balances is therefore the table, and "id < row_count()" is its
// primary-key lookup.
//
// Time: the reducer timestamp comes from an injected wall clock (µs since the
// Unix epoch) and the duration from an injected monotonic clock, so tests are
// deterministic. --reducer-delay-us makes every decoded transfer call hold
// the thread for that long before it runs, by spinning on steady_clock:
// sleeping is too coarse (tens of µs of timer slack) to model a reducer that
// costs a few µs, and a spinning thread is also what a busy database thread
// looks like to the rest of the process. The delay is a service time on a
// queue: a call that arrived (was handed to this thread) while the previous
// one was still being served starts when that one's service ends, not when
// the thread gets to it, so the hand-off between calls is not added to it
// and a saturated database commits exactly 1/delay per second -- the
// capacity a test or a saturation search can rely on.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "benchdist/bsatn/wide_int.hpp"
#include "benchdist/standin/commit_log.hpp"
#include "benchdist/standin/metrics_registry.hpp"
#include "benchdist/stdb/transfer_module.hpp"

namespace benchdist::standin {

using stdb::transfer::Account;
using stdb::transfer::SeedArgs;
using stdb::transfer::TransferArgs;

// "no such reducer" is what SpacetimeDB's host says (ReducerCallError::NoSuchReducer).
inline constexpr std::string_view kNoSuchReducer = "no such reducer";
// A guard so a mistyped `seed 4000000000` fails loudly instead of the process
// dying on a 32 GB allocation. 50M rows = 400 MB of balances.
inline constexpr std::uint32_t kMaxSeedRows = 50'000'000;

std::int64_t system_clock_micros();
std::int64_t steady_clock_nanos();

struct DatabaseClocks {
    std::function<std::int64_t()> wall_micros = system_clock_micros;     // reducer timestamps
    std::function<std::int64_t()> monotonic_nanos = steady_clock_nanos;  // durations
};

struct DatabaseConfig {
    std::string name;      // e.g. "test-1"
    bsatn::U256 identity;  // the database identity (see IdentitySource)
    bsatn::U256 owner;     // the publisher's identity
    std::chrono::microseconds reducer_delay{0};
    DatabaseClocks clocks;
    // Optional, not owned, must outlive the Database. With metrics set, every
    // reducer transaction counts into spacetime_num_txns_total and
    // spacetime_txn_elapsed_time_sec; with a commit log, every committed
    // transfer is recorded.
    MetricsRegistry* metrics = nullptr;
    CommitLog* commit_log = nullptr;
};

enum class ReducerKind : std::uint8_t { Transfer, Seed, Unknown };
std::string_view reducer_name(ReducerKind kind);  // "transfer", "seed", ""
ReducerKind find_reducer(std::string_view name);  // exact, case-sensitive

enum class CallStatus : std::uint8_t {
    Committed,
    UserError,         // the module returned an error: v2 Err(BSATN string), HTTP 530, rolled back
    Failed,            // the reducer failed inside (v2 InternalError, HTTP 530), rolled back
    NoSuchReducer,     // never ran: v2 InternalError("no such reducer"), HTTP 404
    InvalidArguments,  // never ran: v2 InternalError, HTTP 400
};

// Seed's change, kept compact: a million-row delete+insert list would cost
// tens of MB per call. The old rows are the old storage itself, moved (not
// copied) out of the database; the new rows are all alike. Subscribers of the
// whole table can be sent deletes of old_rows and inserts of new_rows, or
// simply be re-sent the current table.
struct TableReplacement {
    // Old row i is (id i, balance (*old_balances)[i]). Never null.
    std::shared_ptr<const std::vector<std::int64_t>> old_balances;
    std::uint32_t new_row_count = 0;  // new rows are ids 0..new_row_count-1
    std::int64_t new_balance = 0;     // every new row's balance

    std::size_t old_row_count() const { return old_balances->size(); }
    // 12-byte BSATN rows, ids ascending, appended to out.
    void append_old_rows_bsatn(std::vector<std::uint8_t>& out) const;
    void append_new_rows_bsatn(std::vector<std::uint8_t>& out) const;
};

// What a committed call changed in `accounts`. A transfer updates two rows,
// i.e. deletes their old versions and inserts the new ones; that is held
// inline so a committed transfer allocates nothing.
struct AccountsChange {
    std::array<Account, 2> deletes{};          // old rows of `from`, then `to`
    std::array<Account, 2> inserts{};          // new rows of `from`, then `to`
    std::uint8_t row_updates = 0;              // valid entries in deletes/inserts
    std::optional<TableReplacement> replaced;  // set by seed instead of row lists

    std::span<const Account> deleted_rows() const { return {deletes.data(), row_updates}; }
    std::span<const Account> inserted_rows() const { return {inserts.data(), row_updates}; }
    bool empty() const { return row_updates == 0 && !replaced; }
};

struct ReducerOutcome {
    CallStatus status = CallStatus::Committed;
    ReducerKind reducer = ReducerKind::Unknown;
    // Reducer start time; for NoSuchReducer/InvalidArguments the time of the
    // failure (what SpacetimeDB puts in ReducerResult.timestamp).
    std::int64_t timestamp_us = 0;
    std::chrono::nanoseconds duration{0};  // 0 when the reducer never ran
    std::string_view user_error;           // UserError: one of the module's kErr* strings (static storage)
    std::string internal_error;            // Failed / NoSuchReducer / InvalidArguments: the server's text
    AccountsChange change;                 // Committed only

    bool committed() const { return status == CallStatus::Committed; }
    // The error text to send (user_error or internal_error), "" when committed.
    std::string_view error_text() const;
    std::int64_t duration_micros() const;
};

class Database {
public:
    explicit Database(DatabaseConfig config);
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    const std::string& name() const { return config_.name; }
    const bsatn::U256& identity() const { return config_.identity; }
    const std::string& identity_hex() const { return identity_hex_; }  // 64 lowercase hex digits
    const bsatn::U256& owner() const { return config_.owner; }
    std::chrono::microseconds reducer_delay() const { return config_.reducer_delay; }
    void set_reducer_delay(std::chrono::microseconds delay) { config_.reducer_delay = delay; }

    // WebSocket CallReducer: arguments are the BSATN product of the parameters.
    // `arrived`: when the call was handed to the database thread (the
    // delay's queue, above); nullopt: now.
    ReducerOutcome call_reducer(std::string_view reducer, std::span<const std::uint8_t> bsatn_args,
                                std::optional<std::chrono::steady_clock::time_point> arrived = std::nullopt);
    // HTTP /call/{reducer}: a JSON array in parameter order, or an object keyed
    // by parameter name (seed accepts `initial_balance` and `initialBalance`).
    ReducerOutcome call_reducer_json(std::string_view reducer, const nlohmann::json& args);
    // The same from the raw request body; malformed JSON is InvalidArguments.
    ReducerOutcome call_reducer_json_text(std::string_view reducer, std::string_view body);

    // Typed entry points, for tests and tools.
    ReducerOutcome transfer(const TransferArgs& args);
    ReducerOutcome seed(const SeedArgs& args);

    // Debug: adds delta to one balance outside any transaction, breaking the
    // conserved total so tests can see verification fail. No metrics, no log.
    // False if the account does not exist.
    bool corrupt_balance(std::uint32_t id, std::int64_t delta);

    // Reads, for SQL, subscriptions and tests.
    std::size_t row_count() const { return balances_.size(); }
    std::optional<Account> find(std::uint32_t id) const;
    std::span<const std::int64_t> balances() const { return balances_; }  // index = id
    // Sum of balances, wrapping on overflow (only a corrupted table overflows).
    std::int64_t total_balance() const;
    // All rows (ids ascending) as 12-byte BSATN rows, appended to out.
    void append_rows_bsatn(std::vector<std::uint8_t>& out) const;
    // One row; false (nothing appended) if the id does not exist.
    bool append_row_bsatn(std::uint32_t id, std::vector<std::uint8_t>& out) const;

    // Counts one SQL transaction (txn_type="Sql", reducer="", committed) in
    // the metrics, as the real server does for every /sql statement.
    void record_sql_transaction(std::chrono::nanoseconds elapsed);

private:
    struct TxnMetrics {
        MetricsRegistry::Counter committed;
        MetricsRegistry::Counter rolled_back;
        MetricsRegistry::Histogram elapsed;
    };

    ReducerOutcome run(ReducerKind kind, const TransferArgs* transfer, const SeedArgs* seed,
                       std::optional<std::chrono::steady_clock::time_point> arrived = std::nullopt);
    void run_transfer(const TransferArgs& args, ReducerOutcome& out,
                      std::optional<std::chrono::steady_clock::time_point> arrived);
    // Holds the thread for the reducer delay, counted from when the call
    // arrived or the previous call's service ended, whichever is later.
    void serve_delay(std::optional<std::chrono::steady_clock::time_point> arrived);
    void run_seed(const SeedArgs& args, ReducerOutcome& out);
    ReducerOutcome not_called(ReducerKind kind, CallStatus status, std::string message) const;

    DatabaseConfig config_;
    // When the last delayed call's service ended (serve_delay).
    std::chrono::steady_clock::time_point served_until_{};
    std::string identity_hex_;
    std::vector<std::int64_t> balances_;
    TxnMetrics transfer_metrics_;
    TxnMetrics seed_metrics_;
    MetricsRegistry::Counter sql_counter_;
    MetricsRegistry::Histogram sql_elapsed_;
    CommitLog::DbId log_id_ = 0;
};

}  // namespace benchdist::standin
