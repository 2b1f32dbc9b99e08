#include "benchdist/standin/database.hpp"

#include <algorithm>
#include <new>
#include <utility>

#include <nlohmann/json.hpp>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/standin/json_args.hpp"

namespace benchdist::standin {

namespace xfer = stdb::transfer;

std::int64_t system_clock_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t steady_clock_nanos() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string_view reducer_name(ReducerKind kind) {
    switch (kind) {
        case ReducerKind::Transfer:
            return xfer::kTransferReducer;
        case ReducerKind::Seed:
            return xfer::kSeedReducer;
        case ReducerKind::Unknown:
            break;
    }
    return "";
}

ReducerKind find_reducer(std::string_view name) {
    if (name == xfer::kTransferReducer) return ReducerKind::Transfer;
    if (name == xfer::kSeedReducer) return ReducerKind::Seed;
    return ReducerKind::Unknown;
}

namespace {

void append_account(std::vector<std::uint8_t>& out, std::uint32_t id, std::int64_t balance) {
    bsatn::Writer w(out);
    xfer::encode_account(w, {id, balance});
}

void spin_until(std::chrono::steady_clock::time_point until) {
    while (std::chrono::steady_clock::now() < until) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

// The module does `balance - amount` / `balance + amount` without an overflow
// check; wrap like two's complement instead of invoking undefined behaviour.
std::int64_t wrapping_add(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

}  // namespace

void TableReplacement::append_old_rows_bsatn(std::vector<std::uint8_t>& out) const {
    out.reserve(out.size() + old_balances->size() * xfer::kAccountRowSize);
    for (std::size_t i = 0; i < old_balances->size(); ++i)
        append_account(out, static_cast<std::uint32_t>(i), (*old_balances)[i]);
}

void TableReplacement::append_new_rows_bsatn(std::vector<std::uint8_t>& out) const {
    out.reserve(out.size() + std::size_t{new_row_count} * xfer::kAccountRowSize);
    for (std::uint32_t i = 0; i < new_row_count; ++i) append_account(out, i, new_balance);
}

std::string_view ReducerOutcome::error_text() const {
    switch (status) {
        case CallStatus::Committed:
            return {};
        case CallStatus::UserError:
            return user_error;
        default:
            return internal_error;
    }
}

std::int64_t ReducerOutcome::duration_micros() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
}

Database::Database(DatabaseConfig config) : config_(std::move(config)), identity_hex_(config_.identity.to_hex_be()) {
    if (!config_.clocks.wall_micros) config_.clocks.wall_micros = system_clock_micros;
    if (!config_.clocks.monotonic_nanos) config_.clocks.monotonic_nanos = steady_clock_nanos;
    if (config_.metrics != nullptr) {
        auto& m = *config_.metrics;
        // Looked up once here so a reducer call touches only atomics.
        transfer_metrics_ = {m.txn_counter(TxnType::Reducer, identity_hex_, xfer::kTransferReducer, true),
                             m.txn_counter(TxnType::Reducer, identity_hex_, xfer::kTransferReducer, false),
                             m.txn_elapsed(TxnType::Reducer, identity_hex_, xfer::kTransferReducer)};
        seed_metrics_ = {m.txn_counter(TxnType::Reducer, identity_hex_, xfer::kSeedReducer, true),
                         m.txn_counter(TxnType::Reducer, identity_hex_, xfer::kSeedReducer, false),
                         m.txn_elapsed(TxnType::Reducer, identity_hex_, xfer::kSeedReducer)};
        sql_counter_ = m.txn_counter(TxnType::Sql, identity_hex_, "", true);
        sql_elapsed_ = m.txn_elapsed(TxnType::Sql, identity_hex_, "");
    }
    if (config_.commit_log != nullptr) log_id_ = config_.commit_log->register_database(config_.name);
}

ReducerOutcome Database::not_called(ReducerKind kind, CallStatus status, std::string message) const {
    ReducerOutcome out;
    out.status = status;
    out.reducer = kind;
    out.timestamp_us = config_.clocks.wall_micros();
    out.internal_error = std::move(message);
    return out;
}

ReducerOutcome Database::call_reducer(std::string_view reducer, std::span<const std::uint8_t> bsatn_args,
                                      std::optional<std::chrono::steady_clock::time_point> arrived) {
    const ReducerKind kind = find_reducer(reducer);
    try {
        switch (kind) {
            case ReducerKind::Transfer: {
                const auto args = xfer::decode_transfer_args(bsatn_args);
                return run(kind, &args, nullptr, arrived);
            }
            case ReducerKind::Seed: {
                const auto args = xfer::decode_seed_args(bsatn_args);
                return run(kind, nullptr, &args);
            }
            case ReducerKind::Unknown:
                break;
        }
    } catch (const bsatn::DecodeError& e) {
        return not_called(kind, CallStatus::InvalidArguments, invalid_arguments_message(reducer, e.what()));
    }
    return not_called(kind, CallStatus::NoSuchReducer, std::string(kNoSuchReducer));
}

ReducerOutcome Database::call_reducer_json(std::string_view reducer, const nlohmann::json& args) {
    switch (find_reducer(reducer)) {
        case ReducerKind::Transfer: {
            auto r = transfer_args_from_json(args);
            if (!r.ok())
                return not_called(ReducerKind::Transfer, CallStatus::InvalidArguments,
                                  invalid_arguments_message(reducer, r.error));
            return run(ReducerKind::Transfer, &*r.args, nullptr);
        }
        case ReducerKind::Seed: {
            auto r = seed_args_from_json(args);
            if (!r.ok())
                return not_called(ReducerKind::Seed, CallStatus::InvalidArguments,
                                  invalid_arguments_message(reducer, r.error));
            return run(ReducerKind::Seed, nullptr, &*r.args);
        }
        case ReducerKind::Unknown:
            break;
    }
    return not_called(ReducerKind::Unknown, CallStatus::NoSuchReducer, std::string(kNoSuchReducer));
}

ReducerOutcome Database::call_reducer_json_text(std::string_view reducer, std::string_view body) {
    const ReducerKind kind = find_reducer(reducer);
    if (kind == ReducerKind::Unknown) return not_called(kind, CallStatus::NoSuchReducer, std::string(kNoSuchReducer));
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error& e) {
        // Drop nlohmann's "[json.exception.parse_error.101] " tag: it means
        // nothing to a caller of a SpacetimeDB route.
        std::string_view what = e.what();
        if (const auto pos = what.find("] "); what.starts_with("[json.exception") && pos != std::string_view::npos)
            what.remove_prefix(pos + 2);
        return not_called(kind, CallStatus::InvalidArguments, invalid_arguments_message(reducer, what));
    }
    return call_reducer_json(reducer, json);
}

ReducerOutcome Database::transfer(const TransferArgs& args) { return run(ReducerKind::Transfer, &args, nullptr); }

ReducerOutcome Database::seed(const SeedArgs& args) { return run(ReducerKind::Seed, nullptr, &args); }

ReducerOutcome Database::run(ReducerKind kind, const TransferArgs* transfer, const SeedArgs* seed,
                             std::optional<std::chrono::steady_clock::time_point> arrived) {
    ReducerOutcome out;
    out.reducer = kind;
    out.timestamp_us = config_.clocks.wall_micros();
    const std::int64_t start_ns = config_.clocks.monotonic_nanos();
    if (kind == ReducerKind::Transfer) {
        run_transfer(*transfer, out, arrived);
    } else {
        run_seed(*seed, out);
    }
    out.duration = std::chrono::nanoseconds(config_.clocks.monotonic_nanos() - start_ns);

    TxnMetrics& m = kind == ReducerKind::Transfer ? transfer_metrics_ : seed_metrics_;
    (out.committed() ? m.committed : m.rolled_back).inc();
    m.elapsed.observe(out.duration);
    if (kind == ReducerKind::Transfer && out.committed() && config_.commit_log != nullptr) {
        config_.commit_log->append(log_id_, out.timestamp_us + out.duration_micros(), transfer->from, transfer->to);
    }
    return out;
}

void Database::serve_delay(std::optional<std::chrono::steady_clock::time_point> arrived) {
    const auto now = std::chrono::steady_clock::now();
    const auto start = std::max(arrived.value_or(now), served_until_);
    served_until_ = start + config_.reducer_delay;
    spin_until(served_until_);
}

void Database::run_transfer(const TransferArgs& args, ReducerOutcome& out,
                            std::optional<std::chrono::steady_clock::time_point> arrived) {
    if (config_.reducer_delay.count() > 0) serve_delay(arrived);
    // The module's checks, in the module's order; nothing is written until
    // all of them pass, so a failed call leaves the table untouched.
    if (args.from == args.to) {
        out.status = CallStatus::UserError;
        out.user_error = xfer::kErrSameAccount;
        return;
    }
    if (args.amount <= 0) {
        out.status = CallStatus::UserError;
        out.user_error = xfer::kErrNonPositiveAmount;
        return;
    }
    if (args.from >= balances_.size() || args.to >= balances_.size()) {
        out.status = CallStatus::UserError;
        out.user_error = xfer::kErrAccountMissing;
        return;
    }
    std::int64_t& from = balances_[args.from];
    std::int64_t& to = balances_[args.to];
    if (from < args.amount) {
        out.status = CallStatus::UserError;
        out.user_error = xfer::kErrInsufficientFunds;
        return;
    }
    out.change.deletes = {Account{args.from, from}, Account{args.to, to}};
    from = wrapping_sub(from, args.amount);
    to = wrapping_add(to, args.amount);
    out.change.inserts = {Account{args.from, from}, Account{args.to, to}};
    out.change.row_updates = 2;
    out.status = CallStatus::Committed;
}

void Database::run_seed(const SeedArgs& args, ReducerOutcome& out) {
    if (args.n > kMaxSeedRows) {
        out.status = CallStatus::Failed;
        out.internal_error = "stdb-standin: seed of " + std::to_string(args.n) +
                             " rows exceeds the stand-in's limit of " + std::to_string(kMaxSeedRows) + " rows";
        return;
    }
    std::vector<std::int64_t> fresh;
    try {
        fresh.assign(args.n, args.initial_balance);
    } catch (const std::bad_alloc&) {
        out.status = CallStatus::Failed;
        out.internal_error = "stdb-standin: out of memory seeding " + std::to_string(args.n) + " rows";
        return;
    }
    TableReplacement replaced;
    replaced.old_balances = std::make_shared<const std::vector<std::int64_t>>(std::move(balances_));
    replaced.new_row_count = args.n;
    replaced.new_balance = args.initial_balance;
    balances_ = std::move(fresh);
    out.change.replaced = std::move(replaced);
    out.status = CallStatus::Committed;
}

bool Database::corrupt_balance(std::uint32_t id, std::int64_t delta) {
    if (id >= balances_.size()) return false;
    balances_[id] = wrapping_add(balances_[id], delta);
    return true;
}

std::optional<Account> Database::find(std::uint32_t id) const {
    if (id >= balances_.size()) return std::nullopt;
    return Account{id, balances_[id]};
}

std::int64_t Database::total_balance() const {
    std::int64_t total = 0;
    for (const std::int64_t b : balances_) total = wrapping_add(total, b);
    return total;
}

void Database::append_rows_bsatn(std::vector<std::uint8_t>& out) const {
    out.reserve(out.size() + balances_.size() * xfer::kAccountRowSize);
    for (std::size_t i = 0; i < balances_.size(); ++i) append_account(out, static_cast<std::uint32_t>(i), balances_[i]);
}

bool Database::append_row_bsatn(std::uint32_t id, std::vector<std::uint8_t>& out) const {
    if (id >= balances_.size()) return false;
    append_account(out, id, balances_[id]);
    return true;
}

void Database::record_sql_transaction(std::chrono::nanoseconds elapsed) {
    sql_counter_.inc();
    sql_elapsed_.observe(elapsed);
}

}  // namespace benchdist::standin
