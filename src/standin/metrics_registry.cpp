#include "benchdist/standin/metrics_registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>
#include <vector>

#include "benchdist/stdb/prometheus.hpp"

namespace benchdist::standin {

struct MetricsRegistry::CounterSeries {
    TxnType type;
    std::string db;
    std::string reducer;
    bool committed;
    std::atomic<std::uint64_t> value{0};

    CounterSeries(TxnType t, std::string_view d, std::string_view r, bool c)
        : type(t), db(d), reducer(r), committed(c) {}
};

struct MetricsRegistry::HistogramSeries {
    TxnType type;
    std::string db;
    std::string reducer;
    // Per-bucket (not cumulative) counts; the last slot is the +Inf overflow.
    // Counting per bucket keeps observe() to one add; render accumulates.
    std::array<std::atomic<std::uint64_t>, kTxnElapsedBucketCount + 1> buckets{};
    // Integer nanoseconds: an atomic add, where a double sum would need a CAS loop.
    std::atomic<std::uint64_t> sum_nanos{0};

    HistogramSeries(TxnType t, std::string_view d, std::string_view r) : type(t), db(d), reducer(r) {}
};

std::string_view txn_type_label(TxnType type) {
    switch (type) {
        case TxnType::Reducer:
            return "Reducer";
        case TxnType::Sql:
            return "Sql";
        case TxnType::Subscribe:
            return "Subscribe";
        case TxnType::Unsubscribe:
            return "Unsubscribe";
        case TxnType::Update:
            return "Update";
        case TxnType::Internal:
            return "Internal";
        case TxnType::View:
            return "View";
        case TxnType::Procedure:
            return "Procedure";
    }
    return "Internal";
}

std::string format_rust_f64(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    // Fixed notation with no precision asks for the shortest digits that
    // round-trip, which is what Rust's Display prints.
    char buf[400];
    const auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
    return std::string(buf, res.ptr);
}

void MetricsRegistry::Counter::inc(std::uint64_t n) const noexcept {
    if (series_ != nullptr) series_->value.fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t MetricsRegistry::Counter::value() const noexcept {
    return series_ != nullptr ? series_->value.load(std::memory_order_relaxed) : 0;
}

void MetricsRegistry::Histogram::observe(std::chrono::nanoseconds elapsed) const noexcept {
    if (series_ == nullptr) return;
    const std::int64_t ns = std::max<std::int64_t>(0, elapsed.count());
    std::size_t i = 0;
    while (i < kTxnElapsedBucketCount && ns > kTxnElapsedBucketsNanos[i]) ++i;
    series_->buckets[i].fetch_add(1, std::memory_order_relaxed);
    series_->sum_nanos.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

std::uint64_t MetricsRegistry::Histogram::count() const noexcept {
    if (series_ == nullptr) return 0;
    std::uint64_t n = 0;
    for (const auto& b : series_->buckets) n += b.load(std::memory_order_relaxed);
    return n;
}

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Counter MetricsRegistry::txn_counter(TxnType type, std::string_view db, std::string_view reducer,
                                                      bool committed) {
    std::lock_guard lock(mu_);
    for (auto& s : counters_) {
        if (s->type == type && s->committed == committed && s->db == db && s->reducer == reducer)
            return Counter(s.get());
    }
    counters_.push_back(std::make_unique<CounterSeries>(type, db, reducer, committed));
    return Counter(counters_.back().get());
}

MetricsRegistry::Histogram MetricsRegistry::txn_elapsed(TxnType type, std::string_view db, std::string_view reducer) {
    std::lock_guard lock(mu_);
    for (auto& s : histograms_) {
        if (s->type == type && s->db == db && s->reducer == reducer) return Histogram(s.get());
    }
    histograms_.push_back(std::make_unique<HistogramSeries>(type, db, reducer));
    return Histogram(histograms_.back().get());
}

namespace {

// "# HELP name help" and "# TYPE name type" lines that open a metric family.
void append_family_header(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void append_label(std::string& out, std::string_view name, std::string_view value, bool first) {
    out += first ? "{" : ",";
    out += name;
    out += "=\"";
    out += stdb::escape_label_value(value);
    out += '"';
}

std::string bucket_bound_text(std::size_t i) {
    return format_rust_f64(static_cast<double>(kTxnElapsedBucketsNanos[i]) / 1e9);
}

}  // namespace

std::string MetricsRegistry::render() const {
    struct CounterRow {
        std::string_view committed, db, reducer, txn_type;
        std::uint64_t value;
    };
    struct HistogramRow {
        std::string_view db, reducer, txn_type;
        std::array<std::uint64_t, kTxnElapsedBucketCount + 1> buckets;
        std::uint64_t sum_nanos;
    };
    std::vector<CounterRow> counters;
    std::vector<HistogramRow> histograms;
    {
        std::lock_guard lock(mu_);
        for (const auto& sp : counters_) {
            const CounterSeries& s = *sp;
            const std::uint64_t v = s.value.load(std::memory_order_relaxed);
            // A series exists on the real server only once something counted into it.
            if (v == 0) continue;
            counters.push_back({s.committed ? "true" : "false", s.db, s.reducer, txn_type_label(s.type), v});
        }
        for (const auto& sp : histograms_) {
            const HistogramSeries& s = *sp;
            HistogramRow row{s.db, s.reducer, txn_type_label(s.type), {}, 0};
            std::uint64_t total = 0;
            for (std::size_t i = 0; i < row.buckets.size(); ++i) {
                row.buckets[i] = s.buckets[i].load(std::memory_order_relaxed);
                total += row.buckets[i];
            }
            if (total == 0) continue;
            row.sum_nanos = s.sum_nanos.load(std::memory_order_relaxed);
            histograms.push_back(row);
        }
    }
    // The label strings point into series that are never removed, so they
    // stay valid after the lock is released.

    // The Prometheus crate sorts label pairs by name and series by their
    // label values in that order.
    std::sort(counters.begin(), counters.end(), [](const CounterRow& a, const CounterRow& b) {
        return std::tie(a.committed, a.db, a.reducer, a.txn_type) < std::tie(b.committed, b.db, b.reducer, b.txn_type);
    });
    std::sort(histograms.begin(), histograms.end(), [](const HistogramRow& a, const HistogramRow& b) {
        return std::tie(a.db, a.reducer, a.txn_type) < std::tie(b.db, b.reducer, b.txn_type);
    });

    std::string out;
    if (!counters.empty()) {
        append_family_header(out, kNumTxnsMetric, kNumTxnsHelp, "counter");
        for (const auto& c : counters) {
            out += kNumTxnsMetric;
            append_label(out, "committed", c.committed, true);
            append_label(out, "db", c.db, false);
            append_label(out, "reducer", c.reducer, false);
            append_label(out, "txn_type", c.txn_type, false);
            out += "} ";
            out += std::to_string(c.value);
            out += '\n';
        }
    }
    if (!histograms.empty()) {
        append_family_header(out, kTxnElapsedMetric, kTxnElapsedHelp, "histogram");
        for (const auto& h : histograms) {
            std::string labels;
            append_label(labels, "db", h.db, true);
            append_label(labels, "reducer", h.reducer, false);
            append_label(labels, "txn_type", h.txn_type, false);
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i <= kTxnElapsedBucketCount; ++i) {
                cumulative += h.buckets[i];
                out += kTxnElapsedMetric;
                out += "_bucket";
                out += labels;
                out += ",le=\"";
                out += i < kTxnElapsedBucketCount ? bucket_bound_text(i) : std::string("+Inf");
                out += "\"} ";
                out += std::to_string(cumulative);
                out += '\n';
            }
            out += kTxnElapsedMetric;
            out += "_sum";
            out += labels;
            out += "} ";
            out += format_rust_f64(static_cast<double>(h.sum_nanos) / 1e9);
            out += '\n';
            out += kTxnElapsedMetric;
            out += "_count";
            out += labels;
            out += "} ";
            out += std::to_string(cumulative);
            out += '\n';
        }
    }
    return out;
}

}  // namespace benchdist::standin
