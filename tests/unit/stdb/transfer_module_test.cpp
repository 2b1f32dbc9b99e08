#include "benchdist/stdb/transfer_module.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "benchdist/bsatn/decode_error.hpp"

namespace xfer = benchdist::stdb::transfer;
using benchdist::bsatn::DecodeError;
using benchdist::bsatn::Writer;

namespace {
std::vector<std::uint8_t> from_hex(std::string_view hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}
}  // namespace

TEST(TransferModule, TransferArgsMatchGoldenVector) {
    // vectors.json bsatn.transfer_args: transfer(from=3, to=9, amount=1)
    const auto golden = from_hex("03000000090000000100000000000000");
    std::vector<std::uint8_t> buf;
    Writer w(buf);
    xfer::encode_transfer_args(w, {3, 9, 1});
    EXPECT_EQ(buf, golden);
    const auto fixed = xfer::transfer_args_bytes({3, 9, 1});
    EXPECT_EQ(std::vector<std::uint8_t>(fixed.begin(), fixed.end()), golden);
    EXPECT_EQ(xfer::decode_transfer_args(golden), (xfer::TransferArgs{3, 9, 1}));
}

TEST(TransferModule, NegativeAmountRoundTrips) {
    const auto bytes = xfer::transfer_args_bytes({0xFFFFFFFFu, 0, -5});
    EXPECT_EQ(xfer::decode_transfer_args(bytes), (xfer::TransferArgs{0xFFFFFFFFu, 0, -5}));
}

TEST(TransferModule, SeedArgsMatchGoldenVector) {
    // vectors.json bsatn.seed_args: seed(n=100000, initial_balance=10000000)
    const auto golden = from_hex("a08601008096980000000000");
    std::vector<std::uint8_t> buf;
    Writer w(buf);
    xfer::encode_seed_args(w, {100000, 10000000});
    EXPECT_EQ(buf, golden);
    EXPECT_EQ(xfer::decode_seed_args(golden), (xfer::SeedArgs{100000, 10000000}));
}

TEST(TransferModule, AccountRowMatchesGoldenVector) {
    // vectors.json bsatn.accounts_row: (3, 9999999)
    const auto golden = from_hex("030000007f96980000000000");
    EXPECT_EQ(xfer::decode_account(golden), (xfer::Account{3, 9999999}));
    std::vector<std::uint8_t> buf;
    Writer w(buf);
    xfer::encode_account(w, {3, 9999999});
    EXPECT_EQ(buf, golden);
}

TEST(TransferModule, ArgumentDecodersRejectWrongSizes) {
    const auto transfer = from_hex("03000000090000000100000000000000");
    for (std::size_t n = 0; n < transfer.size(); ++n) {
        EXPECT_THROW(xfer::decode_transfer_args(std::span(transfer).first(n)), DecodeError) << n;
    }
    auto longer = transfer;
    longer.push_back(0);
    EXPECT_THROW(xfer::decode_transfer_args(longer), DecodeError);
    EXPECT_THROW(xfer::decode_seed_args(transfer), DecodeError);  // 16 bytes is not 12
    EXPECT_THROW(xfer::decode_account(std::span(transfer).first(11)), DecodeError);
}

TEST(TransferModule, TrailingBytesErrorNamesTheReducer) {
    const auto seed = from_hex("a0860100809698000000000000");
    try {
        xfer::decode_seed_args(seed);
        FAIL() << "expected DecodeError";
    } catch (const DecodeError& e) {
        EXPECT_EQ(e.offset(), 12u);
        EXPECT_NE(std::string(e.what()).find("seed arguments"), std::string::npos) << e.what();
    }
}

TEST(Verification, PassesWhenConservedAndChanged) {
    xfer::BalanceTally t(100);
    t.add({0, 95});
    t.add({1, 105});
    t.add({2, 100});
    EXPECT_EQ(t.count(), 3u);
    EXPECT_EQ(t.total(), 300);
    EXPECT_EQ(t.changed(), 2u);
    const auto v = xfer::verify(t);
    EXPECT_TRUE(v.passed);
    EXPECT_TRUE(v.reason.empty());
}

TEST(Verification, FailsWithNoAccounts) {
    xfer::BalanceTally t(100);
    const auto v = xfer::verify(t);
    EXPECT_FALSE(v.passed);
    EXPECT_EQ(v.reason.rfind("spacetimedb verification failed: no accounts", 0), 0u) << v.reason;
}

TEST(Verification, FailsWhenTotalNotConserved) {
    xfer::BalanceTally t(100);
    t.add({0, 95});
    t.add({1, 104});
    const auto v = xfer::verify(t);
    EXPECT_FALSE(v.passed);
    EXPECT_EQ(v.reason.rfind("spacetimedb verification failed: total_balance mismatch", 0), 0u) << v.reason;
    EXPECT_NE(v.reason.find("200"), std::string::npos) << v.reason;
    EXPECT_NE(v.reason.find("199"), std::string::npos) << v.reason;
}

TEST(Verification, FailsWhenNothingChanged) {
    xfer::BalanceTally t(100);
    t.add({0, 100});
    t.add({1, 100});
    const auto v = xfer::verify(t);
    EXPECT_FALSE(v.passed);
    EXPECT_EQ(v.reason.rfind("spacetimedb verification failed: no account balances changed", 0), 0u) << v.reason;
}

TEST(Verification, OverflowingSumIsAMismatchNotWrapAround) {
    xfer::BalanceTally t(0);
    t.add({0, INT64_MAX});
    t.add({1, INT64_MAX});
    t.add({2, -INT64_MAX});
    t.add({3, -INT64_MAX});
    // A wrapped sum would be 0 == 0 x 4 and pass; the tally must notice.
    EXPECT_TRUE(t.total_overflowed());
    EXPECT_FALSE(xfer::verify(t).passed);
}
