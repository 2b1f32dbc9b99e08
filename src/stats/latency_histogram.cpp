#include "benchdist/stats/latency_histogram.hpp"
#include "benchdist/stats/round_to.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "json_read.hpp"

namespace benchdist::stats {

namespace {

constexpr std::string_view kWhere = "latency histogram";

// Linear steps in the first power-of-two range: the smallest power of two
// >= 2 * 10^digits, so that one step is at most 10^-digits of any value in
// the upper half of a range, where every later range starts.
int sub_bucket_magnitude_for(int digits) {
    std::uint64_t needed = 2;
    for (int i = 0; i < digits; ++i) needed *= 10;
    return std::bit_width(needed - 1);
}

}  // namespace

LatencyHistogram::LatencyHistogram(int significant_digits) : digits_(significant_digits) {
    if (significant_digits < kMinSignificantDigits || significant_digits > kMaxSignificantDigits)
        throw std::invalid_argument("latency histogram: significant digits must be 1..5, got " +
                                    std::to_string(significant_digits));
    sub_bucket_magnitude_ = sub_bucket_magnitude_for(significant_digits);
    sub_bucket_mask_ = (std::uint64_t{1} << sub_bucket_magnitude_) - 1;
    bucket_count_ = index_of(kMaxValueUs) + 1;
}

std::uint64_t LatencyHistogram::count_at_index(std::size_t index) const {
    if (index >= bucket_count_)
        throw std::out_of_range("latency histogram: bucket index " + std::to_string(index) + " is beyond " +
                                std::to_string(bucket_count_) + " buckets");
    return counts_.empty() ? 0 : counts_[index];
}

bool LatencyHistogram::operator==(const LatencyHistogram& other) const noexcept {
    if (digits_ != other.digits_ || count_ != other.count_ || sum_ != other.sum_ || overflow_ != other.overflow_ ||
        max_ != other.max_ || min() != other.min())
        return false;
    // Equal totals with count 0 means both are empty, allocated or not.
    if (count_ == 0) return true;
    return counts_ == other.counts_;  // both non-empty, so both allocated with the same layout
}

std::uint64_t LatencyHistogram::lowest_equivalent(std::size_t index) const noexcept {
    const std::size_t half = std::size_t{1} << (sub_bucket_magnitude_ - 1);
    const auto range = static_cast<int>(index >> (sub_bucket_magnitude_ - 1));
    if (range == 0) return index;  // the first range steps by one
    const std::uint64_t sub = (index & (half - 1)) + half;
    return sub << (range - 1);
}

std::uint64_t LatencyHistogram::highest_equivalent(std::size_t index) const noexcept {
    const auto range = static_cast<int>(index >> (sub_bucket_magnitude_ - 1));
    const int shift = range == 0 ? 0 : range - 1;
    return lowest_equivalent(index) + (std::uint64_t{1} << shift) - 1;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    if (other.digits_ != digits_)
        throw std::invalid_argument("latency histogram: cannot merge " + std::to_string(other.digits_) +
                                    " significant digits into " + std::to_string(digits_));
    if (other.count_ == 0) return;
    if (counts_.empty()) {
        counts_ = other.counts_;
    } else {
        for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    }
    count_ += other.count_;
    sum_ += other.sum_;
    overflow_ += other.overflow_;
    if (other.min_ < min_) min_ = other.min_;
    if (other.max_ > max_) max_ = other.max_;
}

void LatencyHistogram::reset() noexcept {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    sum_ = 0;
    min_ = std::numeric_limits<std::uint64_t>::max();
    max_ = 0;
    overflow_ = 0;
}

std::uint64_t LatencyHistogram::value_at_percentile(double p) const {
    if (!(p >= 0.0 && p <= 100.0))
        throw std::invalid_argument("latency histogram: percentile must be in [0, 100], got " + std::to_string(p));
    if (count_ == 0) return 0;
    if (p == 0.0) return min_;
    // The tiny subtraction keeps 29% of 100 at rank 29 when the product
    // lands a rounding error above the integer.
    const double exact = p / 100.0 * static_cast<double>(count_);
    auto rank = static_cast<std::uint64_t>(std::ceil(exact - 1e-9 * exact));
    if (rank < 1) rank = 1;
    if (rank > count_) rank = count_;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::min(highest_equivalent(i), max_);
    }
    return max_;  // unreachable while the counts agree with count_
}

Json LatencyHistogram::to_json() const {
    Json buckets = Json::array();
    for (std::size_t i = 0; i < counts_.size(); ++i)  // nothing to list when unallocated
        if (counts_[i] != 0) buckets.push_back(Json::array({i, counts_[i]}));
    return Json{{"sigDigits", digits_}, {"unit", "us"}, {"count", count_},       {"sum", sum_},
                {"min", min()},         {"max", max_},  {"overflow", overflow_}, {"buckets", std::move(buckets)}};
}

LatencyHistogram LatencyHistogram::from_json(const Json& j) {
    using namespace detail;
    const std::uint64_t digits = u64_field(j, kWhere, "sigDigits");
    if (digits < kMinSignificantDigits || digits > kMaxSignificantDigits)
        bad_field(kWhere, "sigDigits", "must be 1..5");
    const Json& unit = field(j, kWhere, "unit");
    if (!unit.is_string() || unit.get<std::string>() != "us") bad_field(kWhere, "unit", "must be \"us\"");

    LatencyHistogram h(static_cast<int>(digits));
    const std::uint64_t count = u64_field(j, kWhere, "count");
    const std::uint64_t sum = u64_field(j, kWhere, "sum");
    const std::uint64_t min = u64_field(j, kWhere, "min");
    const std::uint64_t max = u64_field(j, kWhere, "max");
    const std::uint64_t overflow = u64_field(j, kWhere, "overflow");

    const Json& buckets = field(j, kWhere, "buckets");
    if (!buckets.is_array()) bad_field(kWhere, "buckets", "must be an array of [index, count] pairs");
    std::uint64_t total = 0;
    std::size_t first = 0;
    std::size_t last = 0;
    bool any = false;
    for (const Json& pair : buckets) {
        if (!pair.is_array() || pair.size() != 2)
            bad_field(kWhere, "buckets", "must be an array of [index, count] pairs");
        const std::uint64_t index = as_u64(pair[0], kWhere, "buckets");
        const std::uint64_t n = as_u64(pair[1], kWhere, "buckets");
        if (index >= h.bucket_count_)
            bad_field(kWhere, "buckets",
                      "has index " + std::to_string(index) + " beyond the layout of " + std::to_string(digits) +
                          " significant digits (" + std::to_string(h.bucket_count_) + " buckets)");
        if (any && index <= last) bad_field(kWhere, "buckets", "indices must be strictly increasing");
        if (n == 0) bad_field(kWhere, "buckets", "must list only non-empty buckets");
        if (total + n < total) bad_field(kWhere, "buckets", "counts overflow");
        total += n;
        if (h.counts_.empty()) h.allocate();  // an empty histogram stays unallocated
        h.counts_[index] = n;
        if (!any) first = index;
        last = index;
        any = true;
    }
    if (total != count) bad_field(kWhere, "count", "does not equal the sum of the bucket counts");
    if (count == 0) {
        if (sum != 0 || min != 0 || max != 0 || overflow != 0)
            bad_field(kWhere, "count", "is 0 but sum, min, max or overflow is not");
        return h;
    }
    if (min > max) bad_field(kWhere, "min", "is greater than \"max\"");
    if (max > kMaxValueUs) bad_field(kWhere, "max", "is above the largest trackable value");
    if (h.index_of(min) != first) bad_field(kWhere, "min", "is not in the lowest non-empty bucket");
    if (h.index_of(max) != last) bad_field(kWhere, "max", "is not in the highest non-empty bucket");
    if (overflow > h.counts_[h.index_of(kMaxValueUs)])
        bad_field(kWhere, "overflow", "exceeds the count of the top bucket");
    if (overflow != 0 && max != kMaxValueUs)
        bad_field(kWhere, "overflow", "is non-zero but \"max\" is not the clamp value");
    // sum lies between count*min and count*max; compare by division to stay
    // clear of u64 overflow.
    if (sum / count < min || sum / count + (sum % count != 0 ? 1 : 0) > max)
        bad_field(kWhere, "sum", "is inconsistent with count, min and max");
    h.count_ = count;
    h.sum_ = sum;
    h.min_ = min;
    h.max_ = max;
    h.overflow_ = overflow;
    return h;
}

Json LatencyHistogram::summary_json(std::string_view kind) const {
    return Json{{"kind", std::string(kind)},
                {"unit", "us"},
                {"count", count()},
                {"mean", round_to(mean(), 0.1)},
                {"p50", value_at_percentile(50)},
                {"p90", value_at_percentile(90)},
                {"p99", value_at_percentile(99)},
                {"p999", value_at_percentile(99.9)},
                {"max", max()}};
}

}  // namespace benchdist::stats
