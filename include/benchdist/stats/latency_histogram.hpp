// A mergeable latency histogram with HDR-style log-linear buckets, so that
// percentiles can be combined across connections, threads and machines
// exactly (percentiles are merged from histograms, never averaged). Values
// are microseconds. Every power-of-two range is split into enough linear
// sub-buckets to keep `significant_digits` decimal digits: a reported value
// is never below the true one and at most 10^-digits above it, relatively.
// One histogram belongs to one thread: record() is O(1) and takes no lock;
// combining happens at reporting time with merge(). The bucket array is
// allocated by the first record (or merge of a non-empty histogram), not by
// the constructor, so histograms that a run never fills -- e.g. the
// open-loop ones kept beside every closed-loop interval -- cost a few words
// each; an unallocated histogram behaves as an empty one everywhere. The
// compact JSON form (only non-empty buckets) is what generators send to the
// coordinator, and from_json() checks it fully because it crosses machines.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>
#include <vector>

namespace benchdist::stats {

using Json = nlohmann::ordered_json;

class LatencyHistogram {
public:
    static constexpr int kDefaultSignificantDigits = 3;
    static constexpr int kMinSignificantDigits = 1;
    static constexpr int kMaxSignificantDigits = 5;
    // 2^26 - 1 µs, about 67.1 s. A power of two minus one because the
    // log-linear layout covers exactly such ranges; it is above the
    // generator's longest op timeout with room to spare. Larger values are
    // recorded as this value and counted in overflow().
    static constexpr std::uint64_t kMaxValueUs = (std::uint64_t{1} << 26) - 1;

    // Throws std::invalid_argument unless 1 <= significant_digits <= 5.
    // Allocates nothing.
    explicit LatencyHistogram(int significant_digits = kDefaultSignificantDigits);

    // The first call allocates the buckets (may throw std::bad_alloc); every
    // later one is O(1) and allocation-free.
    void record(std::uint64_t value_us) {
        if (counts_.empty()) allocate();
        if (value_us > kMaxValueUs) {
            value_us = kMaxValueUs;
            ++overflow_;
        }
        ++counts_[index_of(value_us)];
        ++count_;
        sum_ += value_us;
        if (value_us < min_) min_ = value_us;
        if (value_us > max_) max_ = value_us;
    }

    // Adds other's recordings. Exact: the result equals one histogram that
    // saw both inputs. Throws std::invalid_argument if the digits differ.
    // Merging an empty histogram allocates nothing.
    void merge(const LatencyHistogram& other);
    // Zeroes the counts but keeps the bucket array, so a reused histogram
    // does not allocate again.
    void reset() noexcept;
    // Whether the bucket array exists. For tests and memory accounting only:
    // no result depends on it.
    bool allocated() const noexcept { return !counts_.empty(); }

    int significant_digits() const noexcept { return digits_; }
    std::uint64_t count() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    // Exact sum of recorded (clamped) values; u64 holds 2.7e11 samples of
    // the maximum value, far beyond a run.
    std::uint64_t sum() const noexcept { return sum_; }
    std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }  // exact; 0 when empty
    std::uint64_t max() const noexcept { return max_; }                    // exact; 0 when empty
    double mean() const noexcept { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }
    std::uint64_t overflow() const noexcept { return overflow_; }  // values above kMaxValueUs

    // The smallest reported value v such that at least p% of recorded values
    // are <= v: the recording of rank ceil(p/100 * count) (at least 1) is
    // found, and its bucket's highest equivalent value is reported, capped
    // at max() (so p=100 gives max() exactly). p=0 gives min(). An empty
    // histogram gives 0. Throws std::invalid_argument for p outside [0, 100].
    std::uint64_t value_at_percentile(double p) const;

    // The bucket layout, for tests, encoders and tools. A bucket index
    // stands for the values lowest_equivalent(i)..highest_equivalent(i).
    std::size_t bucket_count() const noexcept { return bucket_count_; }
    // Throws std::out_of_range for index >= bucket_count().
    std::uint64_t count_at_index(std::size_t index) const;
    std::size_t index_of(std::uint64_t value_us) const noexcept {
        // Which power-of-two range, then which linear step inside it.
        const int pow2_ceiling = 64 - std::countl_zero(value_us | sub_bucket_mask_);
        const int bucket = pow2_ceiling - sub_bucket_magnitude_;
        const auto sub = static_cast<std::size_t>(value_us >> bucket);
        return (static_cast<std::size_t>(bucket) << (sub_bucket_magnitude_ - 1)) + sub;
    }
    std::uint64_t lowest_equivalent(std::size_t index) const noexcept;
    std::uint64_t highest_equivalent(std::size_t index) const noexcept;

    // {"sigDigits":3,"unit":"us","count":N,"sum":S,"min":a,"max":b,
    //  "overflow":o,"buckets":[[index,count],...]} with only non-empty
    // buckets in increasing index order. Unknown keys are ignored on input
    // (later versions may add some); everything else is checked, including
    // that the totals agree with the buckets, and a std::invalid_argument
    // names the offending key.
    Json to_json() const;
    // What results report: {"kind", "unit": "us", "count", "mean", "p50",
    // "p90", "p99", "p999", "max"}, `kind` saying what was measured.
    Json summary_json(std::string_view kind) const;
    static LatencyHistogram from_json(const Json& j);

    // Same digits and the same recordings; whether either side has
    // allocated its buckets does not matter.
    bool operator==(const LatencyHistogram& other) const noexcept;

private:
    void allocate() { counts_.assign(bucket_count_, 0); }

    int digits_;
    int sub_bucket_magnitude_;  // log2 of the linear steps in the first range
    std::uint64_t sub_bucket_mask_;
    std::size_t bucket_count_;
    std::vector<std::uint64_t> counts_;  // empty until the first record or merge
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
    std::uint64_t overflow_ = 0;
};

}  // namespace benchdist::stats
