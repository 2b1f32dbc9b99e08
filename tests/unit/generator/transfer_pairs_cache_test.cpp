// The pairs cache: the command line's pairs are used as they are, other
// alpha/accounts are computed once and kept while they are the last asked
// for, and a set handed out is never changed by a later request.
#include "benchdist/generator/transfer_pairs_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace benchdist::generator {
namespace {

TransferPairsOptions small() {
    TransferPairsOptions o;
    o.accounts = 1000;
    o.alpha = 1.5;
    o.count = 512;
    o.seed = 7;
    return o;
}

TEST(TransferPairsCache, TheCommandLinesPairsAreNotComputedAgain) {
    auto base = std::make_shared<const TransferPairs>(small());
    TransferPairsCache cache(small(), base);
    const auto found = cache.get(1.5, 1000);
    EXPECT_EQ(found.pairs, base);
    EXPECT_FALSE(found.computed);
}

TEST(TransferPairsCache, OtherValuesAreComputedOnceWithTheCommandLinesCountAndSeed) {
    auto base = std::make_shared<const TransferPairs>(small());
    TransferPairsCache cache(small(), base);
    const auto two = cache.get(1.5, 2);
    ASSERT_TRUE(two.computed);
    ASSERT_EQ(two.pairs->size(), 512u);
    for (std::size_t i = 0; i < two.pairs->size(); ++i) {
        const auto p = (*two.pairs)[i];
        EXPECT_LT(p.from, 2u);
        EXPECT_LT(p.to, 2u);
        EXPECT_NE(p.from, p.to);
    }
    const auto again = cache.get(1.5, 2);
    EXPECT_FALSE(again.computed);
    EXPECT_EQ(again.pairs, two.pairs);
    EXPECT_EQ(cache.get(1.5, 1000).pairs, base);
    EXPECT_EQ(cache.get(1.5, 2).pairs, two.pairs) << "the command line's set does not evict the other";

    auto seeded = small();
    seeded.alpha = 0.5;
    const TransferPairs expected(seeded);
    const auto half = cache.get(0.5, 1000);
    ASSERT_TRUE(half.computed);
    EXPECT_TRUE(std::equal(half.pairs->from().begin(), half.pairs->from().end(), expected.from().begin()));
    EXPECT_TRUE(std::equal(half.pairs->to().begin(), half.pairs->to().end(), expected.to().begin()));
}

TEST(TransferPairsCache, ASetInUseOutlivesItsEvictionUnchanged) {
    TransferPairsCache cache(small(), std::make_shared<const TransferPairs>(small()));
    const auto in_use = cache.get(1.5, 2).pairs;
    const std::vector<std::uint32_t> before(in_use->from().begin(), in_use->from().end());
    const auto other = cache.get(2.0, 50);  // evicts the accounts=2 set from the cache
    EXPECT_TRUE(other.computed);
    EXPECT_EQ(std::vector<std::uint32_t>(in_use->from().begin(), in_use->from().end()), before);
    EXPECT_TRUE(cache.get(1.5, 2).computed) << "only the last other set is kept";
}

TEST(TransferPairsCache, BadValuesThrowAsTransferPairsDoes) {
    TransferPairsCache cache(small(), std::make_shared<const TransferPairs>(small()));
    EXPECT_THROW(cache.get(std::nan(""), 10), std::invalid_argument);
}

}  // namespace
}  // namespace benchdist::generator
