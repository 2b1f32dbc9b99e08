// MetricsRegistry: the part of SpacetimeDB's /v1/metrics that stdb-standin
// serves. The coordinator's throughput figure is read from
// spacetime_num_txns_total, so the text must match the real server byte for
// byte in the ways a reader can notice: HELP/TYPE lines, labels sorted by
// name, series sorted by label values, a series absent until its first
// increment, a family absent until it has a series, Rust-style number text
// (0.00001, never 1e-05). Reducer threads increment through handles they look
// up once and cache, so the hot path is one relaxed atomic add with no lock
// and no allocation; only lookup and rendering take the registry's mutex.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace benchdist::standin {

// SpacetimeDB's WorkloadType, rendered as the `txn_type` label.
enum class TxnType : std::uint8_t { Reducer, Sql, Subscribe, Unsubscribe, Update, Internal, View, Procedure };
std::string_view txn_type_label(TxnType type);

inline constexpr std::string_view kNumTxnsMetric = "spacetime_num_txns_total";
inline constexpr std::string_view kNumTxnsHelp =
    "The cumulative number of transactions, including both commits and rollbacks";
inline constexpr std::string_view kTxnElapsedMetric = "spacetime_txn_elapsed_time_sec";
inline constexpr std::string_view kTxnElapsedHelp = "The total elapsed (wall) time of a transaction (in seconds)";

// The server's own buckets (crates/datastore/src/db_metrics/mod.rs): OLTP
// transactions take microseconds, so they start at 10 µs, not Prometheus' 5 ms.
inline constexpr std::size_t kTxnElapsedBucketCount = 13;
inline constexpr std::array<std::int64_t, kTxnElapsedBucketCount> kTxnElapsedBucketsNanos = {
    10'000,     50'000,      100'000,     500'000,       1'000'000,     5'000'000,     10'000'000,
    50'000'000, 100'000'000, 500'000'000, 1'000'000'000, 5'000'000'000, 10'000'000'000};

// A float as Rust's `f64` Display writes it: shortest round-trip digits, never
// an exponent ("0.00001", "1", "2.5"). stdb::format_value would write 1e-05,
// which a strict diff against the real server's text would flag.
std::string format_rust_f64(double value);

class MetricsRegistry {
    struct CounterSeries;
    struct HistogramSeries;

public:
    // A cached handle to one counter series. Default-constructed handles are
    // detached: inc() does nothing, value() is 0 (for code run without metrics).
    // Valid as long as the registry that issued it.
    class Counter {
    public:
        Counter() = default;
        void inc(std::uint64_t n = 1) const noexcept;
        std::uint64_t value() const noexcept;
        explicit operator bool() const noexcept { return series_ != nullptr; }

    private:
        friend class MetricsRegistry;
        explicit Counter(CounterSeries* s) : series_(s) {}
        CounterSeries* series_ = nullptr;
    };

    // A cached handle to one histogram series (same rules as Counter).
    class Histogram {
    public:
        Histogram() = default;
        void observe(std::chrono::nanoseconds elapsed) const noexcept;
        std::uint64_t count() const noexcept;
        explicit operator bool() const noexcept { return series_ != nullptr; }

    private:
        friend class MetricsRegistry;
        explicit Histogram(HistogramSeries* s) : series_(s) {}
        HistogramSeries* series_ = nullptr;
    };

    MetricsRegistry();
    MetricsRegistry(const MetricsRegistry&) = delete;
    MetricsRegistry& operator=(const MetricsRegistry&) = delete;
    ~MetricsRegistry();

    // spacetime_num_txns_total{committed,db,reducer,txn_type}. `db` is the
    // database identity as 64 lowercase hex digits; `reducer` is "" for
    // non-reducer transactions. The same labels always give the same series.
    Counter txn_counter(TxnType type, std::string_view db, std::string_view reducer, bool committed);
    // spacetime_txn_elapsed_time_sec{db,reducer,txn_type}.
    Histogram txn_elapsed(TxnType type, std::string_view db, std::string_view reducer);

    // The exposition text (format 0.0.4). Families in name order, series in
    // label-value order, only series with at least one observation.
    std::string render() const;

private:
    mutable std::mutex mu_;
    // Heap-allocated series: handles keep stable addresses as the lists grow.
    std::vector<std::unique_ptr<CounterSeries>> counters_;
    std::vector<std::unique_ptr<HistogramSeries>> histograms_;
};

}  // namespace benchdist::standin
