#include "benchdist/stdb/transfer_module.hpp"

#include "benchdist/bsatn/reader.hpp"

namespace benchdist::stdb::transfer {

void encode_transfer_args(bsatn::Writer& w, const TransferArgs& args) {
    w.write_u32(args.from);
    w.write_u32(args.to);
    w.write_i64(args.amount);
}

void encode_seed_args(bsatn::Writer& w, const SeedArgs& args) {
    w.write_u32(args.n);
    w.write_i64(args.initial_balance);
}

void encode_account(bsatn::Writer& w, const Account& row) {
    w.write_u32(row.id);
    w.write_i64(row.balance);
}

std::array<std::uint8_t, kTransferArgsSize> transfer_args_bytes(const TransferArgs& args) {
    std::array<std::uint8_t, kTransferArgsSize> out{};
    const auto amount = static_cast<std::uint64_t>(args.amount);
    for (int i = 0; i < 4; ++i) {
        out[i] = static_cast<std::uint8_t>(args.from >> (8 * i));
        out[4 + i] = static_cast<std::uint8_t>(args.to >> (8 * i));
    }
    for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<std::uint8_t>(amount >> (8 * i));
    return out;
}

TransferArgs decode_transfer_args(std::span<const std::uint8_t> bytes) {
    bsatn::Reader r(bytes);
    TransferArgs a;
    a.from = r.read_u32("transfer argument `from` (u32)");
    a.to = r.read_u32("transfer argument `to` (u32)");
    a.amount = r.read_i64("transfer argument `amount` (i64)");
    r.expect_end("transfer arguments (from u32, to u32, amount i64)");
    return a;
}

SeedArgs decode_seed_args(std::span<const std::uint8_t> bytes) {
    bsatn::Reader r(bytes);
    SeedArgs a;
    a.n = r.read_u32("seed argument `n` (u32)");
    a.initial_balance = r.read_i64("seed argument `initial_balance` (i64)");
    r.expect_end("seed arguments (n u32, initial_balance i64)");
    return a;
}

Account decode_account(std::span<const std::uint8_t> row) {
    bsatn::Reader r(row);
    Account a;
    a.id = r.read_u32("accounts.id (u32)");
    a.balance = r.read_i64("accounts.balance (i64)");
    r.expect_end("accounts row (id u32, balance i64)");
    return a;
}

void BalanceTally::add(const Account& row) {
    ++count_;
    if (row.balance != initial_balance_) ++changed_;
    std::int64_t sum = 0;
    if (__builtin_add_overflow(total_, row.balance, &sum)) {
        overflow_ = true;
    } else {
        total_ = sum;
    }
}

VerificationOutcome verify(const BalanceTally& tally) {
    constexpr std::string_view prefix = "spacetimedb verification failed: ";
    VerificationOutcome out;
    if (tally.count() == 0) {
        out.reason = std::string(prefix) + "no accounts (is the database seeded?)";
        return out;
    }
    std::int64_t expected = 0;
    const bool expected_overflow =
        __builtin_mul_overflow(tally.initial_balance(), static_cast<std::int64_t>(tally.count()), &expected);
    if (expected_overflow || tally.total_overflowed() || tally.total() != expected) {
        out.reason =
            std::string(prefix) + "total_balance mismatch: " + std::to_string(tally.count()) +
            " accounts x initial balance " + std::to_string(tally.initial_balance()) + " = " +
            (expected_overflow ? std::string("(overflows i64)") : std::to_string(expected)) + ", but they hold " +
            (tally.total_overflowed() ? std::string("(a sum that overflows i64)") : std::to_string(tally.total())) +
            " (was the database seeded with this initial balance?)";
        return out;
    }
    if (tally.changed() == 0) {
        out.reason = std::string(prefix) + "no account balances changed: all " + std::to_string(tally.count()) +
                     " accounts still hold the initial balance " + std::to_string(tally.initial_balance()) +
                     " (did any transfer commit?)";
        return out;
    }
    out.passed = true;
    return out;
}

}  // namespace benchdist::stdb::transfer
