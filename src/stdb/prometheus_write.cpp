// Writing the Prometheus text format (prometheus.hpp): series names, label
// sets with escaped values, and MetricsWriter for a whole exposition.
#include "benchdist/stdb/prometheus.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "stdb/prometheus_text.hpp"

namespace benchdist::stdb {

using prometheus_text::append_escaped;
using prometheus_text::append_labels;

std::string format_labels(const LabelSet& labels) {
    std::string out;
    append_labels(out, labels);
    return out;
}

std::string format_series(std::string_view name, const LabelSet& labels) {
    std::string out(name);
    if (!labels.empty()) append_labels(out, labels);
    return out;
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    append_escaped(out, value);
    return out;
}

std::string format_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buf[64];
    // Whole numbers below 2^53 print as integers, the way counters usually look.
    if (std::floor(value) == value && std::fabs(value) < 9007199254740992.0) {
        const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value));
        return std::string(buf, ptr);
    }
    // Plain decimals down to 1e-9 (a bucket bound of 50 us reads le="0.00005",
    // not "5e-05", in a query and a legend); exponents only where a decimal
    // would run long. Either way the shortest text that reads back exactly.
    const double magnitude = std::fabs(value);
    const auto format = magnitude >= 1e-9 && magnitude < 1e15 ? std::chars_format::fixed : std::chars_format::general;
    const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value, format);
    return std::string(buf, ptr);
}

void MetricsWriter::help(std::string_view name, std::string_view text) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (const char c : text) {
        if (c == '\\') {
            out_ += "\\\\";
        } else if (c == '\n') {
            out_ += "\\n";
        } else {
            out_ += c;
        }
    }
    out_ += '\n';
}

void MetricsWriter::type(std::string_view name, std::string_view type) {
    out_ += "# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void MetricsWriter::series(std::string_view name, const LabelSet& labels, std::string_view value_text) {
    out_ += name;
    if (!labels.empty()) append_labels(out_, labels);
    out_ += ' ';
    out_ += value_text;
    out_ += '\n';
}

void MetricsWriter::sample(std::string_view name, const LabelSet& labels, std::uint64_t value) {
    char buf[24];
    const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
    series(name, labels, std::string_view(buf, static_cast<std::size_t>(ptr - buf)));
}

void MetricsWriter::sample_double(std::string_view name, const LabelSet& labels, double value) {
    series(name, labels, format_value(value));
}

void MetricsWriter::histogram(std::string_view name, const LabelSet& labels, std::span<const HistogramBucket> buckets,
                              double sum, std::uint64_t count) {
    const std::string bucket_name = std::string(name) + "_bucket";
    LabelSet with_le = labels;
    with_le.push_back(Label{"le", {}});
    for (const HistogramBucket& b : buckets) {
        with_le.back().value = format_value(b.upper_bound);
        sample(bucket_name, with_le, b.cumulative_count);
    }
    with_le.back().value = "+Inf";
    sample(bucket_name, with_le, count);
    sample_double(std::string(name) + "_sum", labels, sum);
    sample(std::string(name) + "_count", labels, count);
}

}  // namespace benchdist::stdb
