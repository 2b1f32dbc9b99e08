// Tests for the precomputed transfer pairs: harness mode against the original
// TypeScript generator's pairs (zipf_vectors.json and the 10M-pair SHA-256 in
// vectors.json), the default Zipf mode's contract, and the per-worker walk.
#include "benchdist/generator/transfer_pairs.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "benchdist/generator/zipf.hpp"

#include "test_data.hpp"

namespace benchdist::generator {
namespace {

using nlohmann::json;

using test_data::load_json;
using test_data::vector_named;

TransferPair pair_from_json(const json& j) { return {j.at(0).get<std::uint32_t>(), j.at(1).get<std::uint32_t>()}; }

TransferPairsOptions harness_options(std::uint32_t accounts, double alpha, std::size_t count) {
    TransferPairsOptions options;
    options.accounts = accounts;
    options.alpha = alpha;
    options.count = count;
    options.mode = PairMode::harness;
    return options;
}

// SHA-256 over all pairs serialized as (from u32 LE, to u32 LE), the format
// of the vector's digest.
std::string sha256_hex(const TransferPairs& pairs) {
    const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("EVP sha256 init failed");
    }
    // Serialize in fixed chunks with plain stores: this runs 10M times in
    // Debug builds, where push_back-per-byte would dominate the test's time.
    constexpr std::size_t kChunkPairs = 65536;
    std::vector<unsigned char> chunk(8 * kChunkPairs);
    const std::span<const std::uint32_t> from = pairs.from();
    const std::span<const std::uint32_t> to = pairs.to();
    for (std::size_t begin = 0; begin < pairs.size(); begin += kChunkPairs) {
        const std::size_t end = std::min(pairs.size(), begin + kChunkPairs);
        unsigned char* out = chunk.data();
        for (std::size_t i = begin; i < end; ++i) {
            for (const std::uint32_t v : {from[i], to[i]}) {
                out[0] = static_cast<unsigned char>(v);
                out[1] = static_cast<unsigned char>(v >> 8U);
                out[2] = static_cast<unsigned char>(v >> 16U);
                out[3] = static_cast<unsigned char>(v >> 24U);
                out += 4;
            }
        }
        EVP_DigestUpdate(ctx.get(), chunk.data(), static_cast<std::size_t>(out - chunk.data()));
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx.get(), digest.data(), &length);
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        std::array<char, 3> byte{};
        std::snprintf(byte.data(), byte.size(), "%02x", digest[i]);
        hex += byte.data();
    }
    return hex;
}

// ---------------------------------------------------------------------------
// Harness mode against zipf_vectors.json

TEST(TransferPairsHarnessTest, EveryZipfVectorCaseMatches) {
    const json data = load_json("zipf_vectors.json");
    ASSERT_FALSE(data.at("cases").empty());
    for (const auto& c : data.at("cases")) {
        const auto accounts = c.at("accounts").get<std::uint32_t>();
        const auto alpha = c.at("alpha").get<double>();
        SCOPED_TRACE("accounts=" + std::to_string(accounts) + " alpha=" + std::to_string(alpha));
        // histogram_top covers the first 100000 pairs, and `at` stays below that.
        const TransferPairs pairs(harness_options(accounts, alpha, 100'000));

        const auto& first = c.at("first");
        for (std::size_t i = 0; i < first.size(); ++i) {
            EXPECT_EQ(pairs[i], pair_from_json(first[i])) << "pair " << i;
        }
        for (const auto& [index, pair] : c.at("at").items()) {
            EXPECT_EQ(pairs[std::stoul(index)], pair_from_json(pair)) << "pair " << index;
        }
        std::vector<std::uint64_t> histogram(5, 0);
        for (const std::uint32_t from : pairs.from()) {
            if (from < histogram.size()) {
                ++histogram[from];
            }
        }
        EXPECT_EQ(histogram, c.at("histogram_top").get<std::vector<std::uint64_t>>());
    }
}

TEST(TransferPairsHarnessTest, TenMillionPairsMatchVectorIncludingSha256) {
    const json vectors = load_json("vectors.json");
    const json& decoded = vector_named(vectors, "harness.zipf.precomputed_pairs.N100000_s1.5").at("decoded");
    // Defaults are the harness's: 100000 accounts, alpha 1.5, 10M pairs.
    TransferPairsOptions options;
    options.mode = PairMode::harness;
    const TransferPairs pairs(options);
    ASSERT_EQ(pairs.size(), 10'000'000U);

    const auto& first16 = decoded.at("first16");
    for (std::size_t i = 0; i < first16.size(); ++i) {
        EXPECT_EQ(pairs[i], pair_from_json(first16[i])) << "pair " << i;
    }
    for (const auto& [index, pair] : decoded.at("at").items()) {
        EXPECT_EQ(pairs[std::stoul(index)], pair_from_json(pair)) << "pair " << index;
    }
    std::size_t equal = 0;
    const std::span<const std::uint32_t> from = pairs.from();
    const std::span<const std::uint32_t> to = pairs.to();
    for (std::size_t i = 0; i < from.size(); ++i) {
        equal += from[i] == to[i] ? 1 : 0;
    }
    EXPECT_EQ(equal, decoded.at("pairs_with_from_equal_to").get<std::size_t>());
    EXPECT_EQ(sha256_hex(pairs), decoded.at("sha256").get<std::string>());
}

// ---------------------------------------------------------------------------
// Default (zipf) mode

TEST(TransferPairsZipfTest, IsTheDefaultAndDeterministicPerSeed) {
    TransferPairsOptions options;
    EXPECT_EQ(options.mode, PairMode::zipf);
    options.count = 50'000;
    options.seed = 1234;
    const TransferPairs a(options);
    const TransferPairs b(options);
    options.seed = 1235;
    const TransferPairs c(options);
    ASSERT_EQ(a.size(), 50'000U);
    EXPECT_TRUE(std::equal(a.from().begin(), a.from().end(), b.from().begin()));
    EXPECT_TRUE(std::equal(a.to().begin(), a.to().end(), b.to().begin()));
    EXPECT_FALSE(std::equal(a.from().begin(), a.from().end(), c.from().begin()));
}

TEST(TransferPairsZipfTest, PairsAreDistinctInRangeAndFollowTheSampler) {
    TransferPairsOptions options;
    options.accounts = 1000;
    options.alpha = 1.5;
    options.count = 20'000;
    options.seed = 77;
    const TransferPairs pairs(options);
    // Same draws as pick_two_distinct over a sampler with the same seed.
    ZipfSampler sampler(1000, 1.5, 77);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        ASSERT_LT(pairs[i].from, 1000U);
        ASSERT_LT(pairs[i].to, 1000U);
        ASSERT_NE(pairs[i].from, pairs[i].to);
        ASSERT_EQ(pairs[i], pick_two_distinct(sampler));
    }
}

TEST(TransferPairsZipfTest, HarnessSeedOverrideChangesTheStream) {
    TransferPairsOptions options = harness_options(1000, 0.0, 64);
    const TransferPairs standard(options);
    options.seed = 0x1'0000'0000ULL + 0x12345678U;  // low 32 bits: the default seed
    const TransferPairs same(options);
    options.seed = 7;
    const TransferPairs other(options);
    EXPECT_TRUE(std::equal(standard.from().begin(), standard.from().end(), same.from().begin()));
    EXPECT_FALSE(std::equal(standard.from().begin(), standard.from().end(), other.from().begin()));
}

TEST(TransferPairsZipfTest, SingleAccountGivesUpAfterMaxSpins) {
    // Only one account: every redraw collides, so after 32 spins the pair
    // stays (0, 0) -- exactly 34 draws per pair, as in the harness.
    struct Counting {
        int calls = 0;
        std::uint32_t operator()() {
            ++calls;
            return 0;
        }
    } counting;
    EXPECT_EQ(pick_two_distinct(counting), (TransferPair{0, 0}));
    EXPECT_EQ(counting.calls, 34);
    TransferPairsOptions options;
    options.accounts = 1;
    options.count = 3;
    const TransferPairs pairs(options);
    EXPECT_EQ(pairs[2], (TransferPair{0, 0}));
}

TEST(TransferPairsTest, RejectsBadOptions) {
    TransferPairsOptions options;
    options.count = 0;
    EXPECT_THROW(TransferPairs{options}, std::invalid_argument);
    options.count = 10;
    options.accounts = 0;
    EXPECT_THROW(TransferPairs{options}, std::invalid_argument);
    options.accounts = 10;
    options.max_spins = -1;
    EXPECT_THROW(TransferPairs{options}, std::invalid_argument);
    options.max_spins = 32;
    options.alpha = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(TransferPairs{options}, std::invalid_argument);
}

TEST(TransferPairsTest, ModeNamesRoundTrip) {
    EXPECT_EQ(pair_mode_name(PairMode::harness), "harness");
    EXPECT_EQ(pair_mode_name(PairMode::zipf), "zipf");
    EXPECT_EQ(parse_pair_mode("harness"), PairMode::harness);
    EXPECT_EQ(parse_pair_mode("zipf"), PairMode::zipf);
    EXPECT_EQ(parse_pair_mode("Zipf"), std::nullopt);
    EXPECT_EQ(parse_pair_mode(""), std::nullopt);
}

// ---------------------------------------------------------------------------
// Per-worker offsets and the cursor

TEST(WorkerOffsetTest, FollowsTheHarnessRule) {
    EXPECT_EQ(pairs_per_worker(10'000'000, 64), 156'250U);
    EXPECT_EQ(pairs_per_worker(10, 3), 3U);
    EXPECT_EQ(pairs_per_worker(10, 20), 1U);  // max(1, floor(10/20))
    EXPECT_EQ(worker_start_index(0, 64, 10'000'000), 0U);
    EXPECT_EQ(worker_start_index(63, 64, 10'000'000), 63U * 156'250U);
    EXPECT_EQ(worker_start_index(2, 3, 10), 6U);
    EXPECT_EQ(worker_start_index(9, 20, 10), 9U);
    EXPECT_EQ(worker_start_index(15, 20, 10), 5U);  // past the end: wrapped
    EXPECT_THROW(pairs_per_worker(10, 0), std::invalid_argument);
    EXPECT_THROW(worker_start_index(3, 3, 10), std::invalid_argument);
    EXPECT_THROW(worker_start_index(0, 1, 0), std::invalid_argument);
}

TEST(PairCursorTest, WalksForwardWrapsAtCountAndResets) {
    TransferPairsOptions options = harness_options(1000, 0.0, 10);
    const TransferPairs pairs(options);
    // Worker 2 of 3: starts at 6, runs past its own slice into the next
    // worker's pairs and wraps at 10, not at the end of the slice.
    PairCursor cursor(pairs, 2, 3);
    EXPECT_EQ(cursor.start(), 6U);
    std::vector<TransferPair> walked;
    for (int i = 0; i < 7; ++i) {
        walked.push_back(cursor.next());
    }
    const std::vector<TransferPair> expected = {pairs[6], pairs[7], pairs[8], pairs[9], pairs[0], pairs[1], pairs[2]};
    EXPECT_EQ(walked, expected);
    EXPECT_EQ(cursor.position(), 3U);
    cursor.reset();
    EXPECT_EQ(cursor.position(), 6U);
    EXPECT_EQ(cursor.next(), pairs[6]);

    PairCursor first(pairs, 0, 3);
    EXPECT_EQ(first.next(), pairs[0]);
    EXPECT_EQ(first.position(), 1U);
}

TEST(PairCursorTest, SinglePairAlwaysRepeats) {
    const TransferPairs pairs(harness_options(1000, 0.0, 1));
    PairCursor cursor(pairs, 4, 5);
    EXPECT_EQ(cursor.start(), 0U);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(cursor.next(), pairs[0]);
    }
}

}  // namespace
}  // namespace benchdist::generator
