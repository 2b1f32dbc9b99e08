#include "benchdist/stats/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using benchdist::stats::Json;
using benchdist::stats::LatencyHistogram;

constexpr std::size_t kSamples = 100000;
constexpr std::uint64_t kMax = LatencyHistogram::kMaxValueUs;

std::uint64_t to_us(double v) {
    if (v < 0) return 0;
    return std::min<std::uint64_t>(static_cast<std::uint64_t>(std::llround(v)), kMax);
}

std::vector<std::uint64_t> uniform_samples() {
    std::mt19937_64 rng(1);
    std::uniform_int_distribution<std::uint64_t> d(1, 1000000);
    std::vector<std::uint64_t> out(kSamples);
    for (auto& v : out) v = d(rng);
    return out;
}

std::vector<std::uint64_t> exponential_samples() {
    std::mt19937_64 rng(2);
    std::exponential_distribution<double> d(1.0 / 2000.0);  // mean 2 ms
    std::vector<std::uint64_t> out(kSamples);
    for (auto& v : out) v = to_us(d(rng));
    return out;
}

// A fast mode and a slow tail mode, the shape a stalled server gives.
std::vector<std::uint64_t> bimodal_samples() {
    std::mt19937_64 rng(3);
    std::normal_distribution<double> fast(500.0, 50.0);
    std::normal_distribution<double> slow(50000.0, 5000.0);
    std::bernoulli_distribution is_slow(0.1);
    std::vector<std::uint64_t> out(kSamples);
    for (auto& v : out) v = to_us(is_slow(rng) ? slow(rng) : fast(rng));
    return out;
}

LatencyHistogram histogram_of(const std::vector<std::uint64_t>& values, int digits) {
    LatencyHistogram h(digits);
    for (auto v : values) h.record(v);
    return h;
}

void expect_invalid(const Json& j, const std::string& needle) {
    try {
        (void)LatencyHistogram::from_json(j);
        ADD_FAILURE() << "accepted: " << j.dump();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "message \"" << e.what() << "\" does not mention " << needle;
    }
}

class HistogramDigits : public ::testing::TestWithParam<int> {};

// Percentiles in hundredths of a percent, so the reference rank is exact
// integer arithmetic independent of the code under test.
const std::vector<std::uint64_t> kPercentilesE2 = {1, 100, 1000, 2500, 5000, 7500, 9000, 9900, 9990, 9999, 10000};

void check_percentiles(const std::vector<std::uint64_t>& raw, int digits) {
    const LatencyHistogram h = histogram_of(raw, digits);
    std::vector<std::uint64_t> sorted = raw;
    std::sort(sorted.begin(), sorted.end());
    std::uint64_t scale = 1;
    for (int i = 0; i < digits; ++i) scale *= 10;
    for (std::uint64_t pe2 : kPercentilesE2) {
        const std::uint64_t rank = std::max<std::uint64_t>(1, (pe2 * sorted.size() + 9999) / 10000);
        const std::uint64_t truth = sorted[rank - 1];
        const std::uint64_t got = h.value_at_percentile(static_cast<double>(pe2) / 100.0);
        SCOPED_TRACE("p" + std::to_string(static_cast<double>(pe2) / 100.0) + " truth " + std::to_string(truth));
        EXPECT_GE(got, truth);
        // Never more than 10^-digits above the truth, relatively.
        EXPECT_LE((got - truth) * scale, truth);
    }
    EXPECT_EQ(h.value_at_percentile(0), sorted.front());
    EXPECT_EQ(h.value_at_percentile(100), sorted.back());
}

TEST_P(HistogramDigits, PercentilesOfUniformWithinPrecision) { check_percentiles(uniform_samples(), GetParam()); }
TEST_P(HistogramDigits, PercentilesOfExponentialWithinPrecision) {
    check_percentiles(exponential_samples(), GetParam());
}
TEST_P(HistogramDigits, PercentilesOfBimodalWithinPrecision) { check_percentiles(bimodal_samples(), GetParam()); }

TEST_P(HistogramDigits, MinMaxMeanAreExact) {
    const auto raw = exponential_samples();
    const LatencyHistogram h = histogram_of(raw, GetParam());
    std::uint64_t sum = 0;
    for (auto v : raw) sum += v;
    EXPECT_EQ(h.count(), raw.size());
    EXPECT_EQ(h.sum(), sum);
    EXPECT_EQ(h.min(), *std::min_element(raw.begin(), raw.end()));
    EXPECT_EQ(h.max(), *std::max_element(raw.begin(), raw.end()));
    EXPECT_DOUBLE_EQ(h.mean(), static_cast<double>(sum) / static_cast<double>(raw.size()));
    EXPECT_EQ(h.overflow(), 0u);
}

TEST_P(HistogramDigits, MergeOfPartsEqualsHistogramOfUnion) {
    const int digits = GetParam();
    auto all = bimodal_samples();
    const auto extra = uniform_samples();
    all.insert(all.end(), extra.begin(), extra.end());
    const LatencyHistogram whole = histogram_of(all, digits);

    LatencyHistogram parts[3] = {LatencyHistogram(digits), LatencyHistogram(digits), LatencyHistogram(digits)};
    for (std::size_t i = 0; i < all.size(); ++i) parts[i % 3].record(all[i]);
    LatencyHistogram merged(digits);
    for (const auto& p : parts) merged.merge(p);

    ASSERT_EQ(merged.bucket_count(), whole.bucket_count());
    for (std::size_t i = 0; i < whole.bucket_count(); ++i)
        ASSERT_EQ(merged.count_at_index(i), whole.count_at_index(i)) << "bucket " << i;
    EXPECT_EQ(merged, whole);
    EXPECT_EQ(merged.value_at_percentile(99.9), whole.value_at_percentile(99.9));
}

TEST_P(HistogramDigits, JsonRoundTripIsExact) {
    LatencyHistogram h = histogram_of(bimodal_samples(), GetParam());
    h.record(kMax + 5);  // overflow travels too
    const Json j = h.to_json();
    const LatencyHistogram back = LatencyHistogram::from_json(j);
    EXPECT_EQ(back, h);
    EXPECT_EQ(back.to_json().dump(), j.dump());
    // Through text, as it crosses the network.
    EXPECT_EQ(LatencyHistogram::from_json(Json::parse(j.dump())), h);
}

TEST_P(HistogramDigits, BucketLayoutTilesTheRange) {
    const LatencyHistogram h(GetParam());
    EXPECT_EQ(h.lowest_equivalent(0), 0u);
    for (std::size_t i = 0; i < h.bucket_count(); ++i) {
        ASSERT_EQ(h.index_of(h.lowest_equivalent(i)), i);
        ASSERT_EQ(h.index_of(h.highest_equivalent(i)), i);
        if (i + 1 < h.bucket_count()) {
            ASSERT_EQ(h.lowest_equivalent(i + 1), h.highest_equivalent(i) + 1);
        }
    }
    EXPECT_EQ(h.highest_equivalent(h.bucket_count() - 1), kMax);
}

INSTANTIATE_TEST_SUITE_P(SigDigits, HistogramDigits, ::testing::Values(2, 3, 4),
                         [](const ::testing::TestParamInfo<int>& info) { return "d" + std::to_string(info.param); });

TEST(LatencyHistogram, RejectsDigitsOutsideOneToFive) {
    EXPECT_THROW(LatencyHistogram(0), std::invalid_argument);
    EXPECT_THROW(LatencyHistogram(6), std::invalid_argument);
    EXPECT_NO_THROW(LatencyHistogram(1));
    EXPECT_NO_THROW(LatencyHistogram(5));
    EXPECT_EQ(LatencyHistogram().significant_digits(), 3);
}

TEST(LatencyHistogram, MergeRequiresSameDigits) {
    LatencyHistogram a(3);
    LatencyHistogram b(2);
    b.record(10);
    EXPECT_THROW(a.merge(b), std::invalid_argument);
    EXPECT_TRUE(a.empty());
}

TEST(LatencyHistogram, SmallValuesAreExact) {
    LatencyHistogram h;
    for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
    EXPECT_EQ(h.value_at_percentile(0), 1u);
    EXPECT_EQ(h.value_at_percentile(29), 29u);
    EXPECT_EQ(h.value_at_percentile(50), 50u);
    EXPECT_EQ(h.value_at_percentile(50.5), 51u);
    EXPECT_EQ(h.value_at_percentile(99), 99u);
    EXPECT_EQ(h.value_at_percentile(100), 100u);
    EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogram, ReportsHighestEquivalentValueCappedAtMax) {
    // At 1 digit, 1000 falls in the bucket 992..1023.
    LatencyHistogram h(1);
    EXPECT_EQ(h.lowest_equivalent(h.index_of(1000)), 992u);
    EXPECT_EQ(h.highest_equivalent(h.index_of(1000)), 1023u);
    h.record(1000);
    h.record(2000);
    EXPECT_EQ(h.value_at_percentile(50), 1023u);
    EXPECT_EQ(h.value_at_percentile(100), 2000u);  // capped at the exact max
    LatencyHistogram one(1);
    one.record(1000);
    EXPECT_EQ(one.value_at_percentile(50), 1000u);
}

TEST(LatencyHistogram, ZeroIsRecordable) {
    LatencyHistogram h;
    h.record(0);
    h.record(0);
    h.record(7);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.value_at_percentile(50), 0u);
    EXPECT_EQ(h.count_at_index(0), 2u);
}

TEST(LatencyHistogram, ValuesAboveMaxAreClampedAndCounted) {
    LatencyHistogram h;
    h.record(kMax);
    EXPECT_EQ(h.overflow(), 0u);
    h.record(kMax + 1);
    h.record(std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(h.overflow(), 2u);
    EXPECT_EQ(h.count(), 3u);
    EXPECT_EQ(h.max(), kMax);
    EXPECT_EQ(h.sum(), 3 * kMax);
    EXPECT_EQ(h.count_at_index(h.bucket_count() - 1), 3u);
    EXPECT_EQ(h.value_at_percentile(100), kMax);
    EXPECT_GE(kMax, 60u * 1000 * 1000);  // at least 60 s
}

TEST(LatencyHistogram, EmptyHistogram) {
    const LatencyHistogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.mean(), 0.0);
    EXPECT_EQ(h.value_at_percentile(99), 0u);
    EXPECT_EQ(LatencyHistogram::from_json(h.to_json()), h);
}

TEST(LatencyHistogram, BucketsAreAllocatedOnlyByTheFirstRecording) {
    LatencyHistogram h;
    EXPECT_FALSE(h.allocated());
    EXPECT_GT(h.bucket_count(), 0u);  // the layout is known without the array
    EXPECT_EQ(h.count_at_index(0), 0u);
    EXPECT_EQ(h.count_at_index(h.bucket_count() - 1), 0u);
    EXPECT_THROW((void)h.count_at_index(h.bucket_count()), std::out_of_range);
    EXPECT_EQ(h.value_at_percentile(50), 0u);
    EXPECT_EQ(h.to_json()["buckets"], Json::array());

    // Merging empties and reading empty JSON allocate nothing.
    LatencyHistogram other;
    h.merge(other);
    EXPECT_FALSE(h.allocated());
    EXPECT_FALSE(LatencyHistogram::from_json(h.to_json()).allocated());

    h.record(42);
    EXPECT_TRUE(h.allocated());
    EXPECT_EQ(h.count_at_index(h.index_of(42)), 1u);

    // Merging into an unallocated histogram copies the other's buckets.
    LatencyHistogram target;
    target.merge(h);
    EXPECT_TRUE(target.allocated());
    EXPECT_EQ(target, h);
    EXPECT_EQ(target.value_at_percentile(100), 42u);
}

TEST(LatencyHistogram, AllocatedEmptyEqualsUnallocated) {
    LatencyHistogram reused(2);
    reused.record(7);
    reused.reset();  // keeps its zeroed array
    EXPECT_TRUE(reused.allocated());
    const LatencyHistogram fresh(2);
    EXPECT_FALSE(fresh.allocated());
    EXPECT_EQ(reused, fresh);
    EXPECT_EQ(fresh, reused);
    EXPECT_EQ(reused.to_json(), fresh.to_json());
    EXPECT_NE(reused, LatencyHistogram(3));  // digits still matter

    LatencyHistogram a;
    LatencyHistogram b;
    a.record(9);
    EXPECT_NE(a, b);
    EXPECT_NE(b, a);
    b.record(9);
    EXPECT_EQ(a, b);
}

TEST(LatencyHistogram, PercentileOutsideRangeThrows) {
    LatencyHistogram h;
    h.record(1);
    EXPECT_THROW((void)h.value_at_percentile(-0.1), std::invalid_argument);
    EXPECT_THROW((void)h.value_at_percentile(100.1), std::invalid_argument);
    EXPECT_THROW((void)h.value_at_percentile(std::nan("")), std::invalid_argument);
}

TEST(LatencyHistogram, ResetEqualsFresh) {
    LatencyHistogram h(2);
    h.record(5);
    h.record(kMax + 1);
    h.reset();
    EXPECT_EQ(h, LatencyHistogram(2));
    h.record(9);
    EXPECT_EQ(h.min(), 9u);
    EXPECT_EQ(h.max(), 9u);
}

TEST(LatencyHistogram, JsonIsSparseAndCompact) {
    LatencyHistogram h;
    h.record(5);
    h.record(5);
    h.record(7);
    const Json expected = Json::parse(
        R"({"sigDigits":3,"unit":"us","count":3,"sum":17,"min":5,"max":7,"overflow":0,"buckets":[[5,2],[7,1]]})");
    EXPECT_EQ(h.to_json(), expected);
}

TEST(LatencyHistogram, FromJsonIgnoresUnknownKeys) {
    LatencyHistogram h;
    h.record(42);
    Json j = h.to_json();
    j["addedLater"] = true;
    EXPECT_EQ(LatencyHistogram::from_json(j), h);
}

TEST(LatencyHistogram, FromJsonRejectsMalformedInput) {
    LatencyHistogram h;
    h.record(5);
    h.record(5);
    h.record(3000);
    const Json good = h.to_json();
    const std::size_t top = h.bucket_count() - 1;
    auto with = [&](const char* key, Json value) {
        Json j = good;
        j[key] = std::move(value);
        return j;
    };
    auto without = [&](const char* key) {
        Json j = good;
        j.erase(key);
        return j;
    };

    expect_invalid(Json::array(), "object");
    expect_invalid(without("sigDigits"), "\"sigDigits\" is missing");
    expect_invalid(without("buckets"), "\"buckets\" is missing");
    expect_invalid(without("overflow"), "\"overflow\"");
    expect_invalid(with("sigDigits", 6), "\"sigDigits\"");
    expect_invalid(with("sigDigits", "3"), "\"sigDigits\"");
    expect_invalid(with("unit", "ms"), "\"unit\"");
    expect_invalid(with("count", -3), "\"count\"");
    expect_invalid(with("count", 3.0), "\"count\"");
    expect_invalid(with("count", 4), "\"count\"");
    expect_invalid(with("sum", 1), "\"sum\"");
    expect_invalid(with("sum", 999999), "\"sum\"");
    expect_invalid(with("min", 6), "\"min\"");
    expect_invalid(with("min", 4000), "\"min\"");
    expect_invalid(with("max", 4000), "\"max\"");
    expect_invalid(with("max", kMax + 1), "\"max\"");
    expect_invalid(with("overflow", 1), "\"overflow\"");
    expect_invalid(with("buckets", Json::object()), "\"buckets\"");
    expect_invalid(with("buckets", Json::parse("[[5,2,1],[2111,1]]")), "\"buckets\"");
    expect_invalid(with("buckets", Json::parse("[[5,-2],[2111,1]]")), "\"buckets\"");
    expect_invalid(with("buckets", Json::parse("[[2111,1],[5,2]]")), "strictly increasing");
    expect_invalid(with("buckets", Json::parse("[[5,1],[5,1],[2111,1]]")), "strictly increasing");
    expect_invalid(with("buckets", Json::parse("[[5,2],[6,0],[2111,1]]")), "non-empty");
    expect_invalid(with("buckets", Json::array({Json::array({5, 2}), Json::array({top + 1, 1})})), "beyond");

    Json empty = LatencyHistogram().to_json();
    empty["min"] = 1;
    expect_invalid(empty, "\"count\"");

    // A valid overflow needs max at the clamp value.
    LatencyHistogram clamped;
    clamped.record(kMax + 1);
    EXPECT_EQ(LatencyHistogram::from_json(clamped.to_json()), clamped);
    Json over = clamped.to_json();
    over["overflow"] = 2;
    expect_invalid(over, "\"overflow\"");
}

}  // namespace
