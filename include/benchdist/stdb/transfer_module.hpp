// The keynote "transfer" module as the benchmark sees it: the BSATN of its
// reducer arguments (`seed`, `transfer`), its `accounts` rows, its exact error
// strings, and the verification rule run after an epoch (total balance
// conserved, something actually changed). Pure functions, no I/O, shared by
// the generator, the coordinator and stdb-standin so all three agree.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "benchdist/bsatn/writer.hpp"

namespace benchdist::stdb::transfer {

inline constexpr std::string_view kAccountsTable = "accounts";
inline constexpr std::string_view kTransferReducer = "transfer";
inline constexpr std::string_view kSeedReducer = "seed";
inline constexpr std::string_view kAccountsQuery = "SELECT * FROM accounts";

// The module's user errors, in the order transfer checks them.
inline constexpr std::string_view kErrSameAccount = "same_account";
inline constexpr std::string_view kErrNonPositiveAmount = "non_positive_amount";
inline constexpr std::string_view kErrAccountMissing = "account_missing";
inline constexpr std::string_view kErrInsufficientFunds = "insufficient_funds";

inline constexpr std::size_t kTransferArgsSize = 16;
inline constexpr std::size_t kSeedArgsSize = 12;
inline constexpr std::size_t kAccountRowSize = 12;

// transfer refuses from == to (kErrSameAccount), so a workload needs two
// accounts at least: with one, every drawn pair is that account twice and
// no call is ever sent (the epoch "passes" at 0 TPS).
inline constexpr std::uint32_t kMinAccounts = 2;

// The harness's seed: `spacetime call test-1 seed 100000 10000000`.
inline constexpr std::uint32_t kDefaultAccounts = 100000;
inline constexpr std::int64_t kDefaultInitialBalance = 10000000;

struct TransferArgs {
    std::uint32_t from = 0;
    std::uint32_t to = 0;
    std::int64_t amount = 0;
    friend bool operator==(const TransferArgs&, const TransferArgs&) = default;
};

struct SeedArgs {
    std::uint32_t n = 0;
    std::int64_t initial_balance = 0;
    friend bool operator==(const SeedArgs&, const SeedArgs&) = default;
};

struct Account {
    std::uint32_t id = 0;
    std::int64_t balance = 0;
    friend bool operator==(const Account&, const Account&) = default;
};

void encode_transfer_args(bsatn::Writer& w, const TransferArgs& args);
void encode_seed_args(bsatn::Writer& w, const SeedArgs& args);
void encode_account(bsatn::Writer& w, const Account& row);

// Fixed-size encodings for hot paths: no allocation.
std::array<std::uint8_t, kTransferArgsSize> transfer_args_bytes(const TransferArgs& args);

// Decoders require the exact size (trailing bytes are a DecodeError), as a
// reducer's argument product must be consumed whole.
TransferArgs decode_transfer_args(std::span<const std::uint8_t> bytes);
SeedArgs decode_seed_args(std::span<const std::uint8_t> bytes);
Account decode_account(std::span<const std::uint8_t> row);

// What verification needs to know about the accounts table, accumulated one
// row at a time so a million-row table never has to be held twice.
class BalanceTally {
public:
    explicit BalanceTally(std::int64_t initial_balance) : initial_balance_(initial_balance) {}

    void add(const Account& row);

    std::uint64_t count() const { return count_; }
    std::int64_t total() const { return total_; }
    bool total_overflowed() const { return overflow_; }
    std::uint64_t changed() const { return changed_; }
    std::int64_t initial_balance() const { return initial_balance_; }

private:
    std::int64_t initial_balance_;
    std::uint64_t count_ = 0;
    std::int64_t total_ = 0;
    bool overflow_ = false;
    std::uint64_t changed_ = 0;
};

struct VerificationOutcome {
    bool passed = false;
    // Empty when passed. Starts with the original harness's text
    // ("spacetimedb verification failed: ...") so scripts matching it still
    // work, followed by the figures that explain it.
    std::string reason;
};

// The rule: at least one account; the sum of balances equals
// initial_balance x count; at least one balance differs from the initial one.
VerificationOutcome verify(const BalanceTally& tally);

}  // namespace benchdist::stdb::transfer
