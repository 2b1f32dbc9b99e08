// Prometheus text exposition (format 0.0.4): reading SpacetimeDB's /v1/metrics
// and writing it for the stand-in server. The coordinator's throughput figure
// rests on one counter series (committed transfers of ONE database), so the
// reader is strict about which series it picks and loud about why it found
// none: a lookup that misses lists the series of the same name that exist
// (e.g. committed="false" or another db), and "metric absent" is kept apart
// from "metric present, no such series" because a fresh database legitimately
// has no transfer series yet. Malformed lines never fail a whole scrape; they
// are skipped and counted, and surface in the error only when the series
// asked for could be among them. Pure functions, no I/O.
//
// Errors: lookups return a CounterResult carrying a status and a ready-made
// message; CounterResult::value() throws MetricsError for callers that want
// an exception instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace benchdist::stdb {

struct Label {
    std::string name;
    std::string value;  // unescaped
    friend bool operator==(const Label&, const Label&) = default;
};

// Label pairs in the order they appeared (or are to be written).
using LabelSet = std::vector<Label>;

struct Sample {
    std::string name;
    LabelSet labels;
    double value = 0.0;
    // Set when the value text is a non-negative integer (or an integral
    // decimal such as 1.5e+06) that fits u64; computed from the text, not the
    // double, so counts above 2^53 stay exact.
    std::optional<std::uint64_t> exact;
    std::optional<std::int64_t> timestamp_ms;
    std::size_t line = 0;  // 1-based line number in the scraped text

    // Value of a label; nullopt when the sample does not carry it.
    std::optional<std::string_view> label(std::string_view label_name) const;
};

struct SkippedLine {
    std::size_t line = 0;
    std::string name;  // metric name the line starts with, "" if none could be read
    std::string reason;
    std::string excerpt;  // the line, cut to a readable length
};

struct Scrape {
    std::vector<Sample> samples;
    std::vector<SkippedLine> skipped;                       // every malformed line, in order
    std::map<std::string, std::string, std::less<>> types;  // from "# TYPE name type"

    std::size_t skipped_lines() const { return skipped.size(); }
    std::optional<std::string_view> type_of(std::string_view name) const;
};

// One pass over the text, no regex. Blank lines, comments, CRLF and a UTF-8
// BOM are accepted; malformed lines are recorded in Scrape::skipped. Label
// value escapes \\ \" \n are decoded; any other backslash pair is kept as
// written (Prometheus' own parser does the same).
Scrape parse_prometheus_text(std::string_view text);

// ---------------------------------------------------------------- queries

enum class CounterSelect {
    ExactlyOne,  // exactly one series must match; two or more is an error
    Sum,         // add every matching series
};

struct CounterQuery {
    std::string name;
    LabelSet labels;                // required label=value pairs; an absent label counts as ""
    std::optional<std::string> db;  // database identity hex; case and a 0x prefix are ignored
    CounterSelect select = CounterSelect::ExactlyOne;
    bool require_integer = true;  // reject non-integral values (counts of things)
};

// The series the harness measures: committed transfer reducer transactions
// of one database.
inline constexpr std::string_view kNumTxnsMetric = "spacetime_num_txns_total";
CounterQuery committed_transfers_query(std::string_view db_identity_hex);

enum class CounterStatus {
    Ok,
    NameAbsent,        // no well-formed or malformed line carries the name
    NoMatchingSeries,  // the name exists but no series has the labels asked for
    MalformedSeries,   // nothing matched, and lines of that name were malformed
    Ambiguous,         // ExactlyOne, but several series matched
    BadValue,          // a matching series is NaN, infinite, negative or not integral
};
std::string_view counter_status_name(CounterStatus s);

struct CounterReading {
    double value = 0.0;
    // Set when every matched value was exact and the sum fits u64.
    std::optional<std::uint64_t> exact;
    std::size_t series_matched = 0;
};

class MetricsError : public std::runtime_error {
public:
    MetricsError(CounterStatus status, const std::string& message) : std::runtime_error(message), status_(status) {}
    CounterStatus status() const noexcept { return status_; }

private:
    CounterStatus status_;
};

inline constexpr std::size_t kMaxNearMisses = 5;

struct CounterResult {
    CounterStatus status = CounterStatus::Ok;
    CounterReading reading;  // meaningful when ok()
    std::string message;     // empty when ok()
    // Same-name series that did not match, closest first (fewest differing
    // labels), at most kMaxNearMisses; near_miss_count is the full number.
    std::vector<LabelSet> near_misses;
    std::size_t near_miss_count = 0;
    // Whether some series of the name carries the requested db: lets a caller
    // tell "this database has no such series yet" from "db unknown here".
    bool db_seen = false;

    bool ok() const { return status == CounterStatus::Ok; }
    // The reading, or throws MetricsError(status, message).
    const CounterReading& value() const;
};

CounterResult find_counter(const Scrape& scrape, const CounterQuery& query);

// "0xC200AB" and "c200ab" name the same database.
bool same_db_identity(std::string_view a, std::string_view b);

// ---------------------------------------------------------------- writing

// The Content-Type of an exposition in this format.
inline constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// {a="x",b="y\"z"}; "{}" for an empty set. Labels are written in the given
// order. Label values are escaped (\\ \" \n) and made well-formed UTF-8
// (each stray byte becomes U+FFFD): Prometheus refuses a whole scrape over
// one value that is not, and values may come from peers.
std::string format_labels(const LabelSet& labels);
// name{labels}, or just name when there are no labels.
std::string format_series(std::string_view name, const LabelSet& labels);
std::string escape_label_value(std::string_view value);
// +Inf, -Inf, NaN, integers without a fraction, otherwise the shortest text
// that reads back exactly: a plain decimal from 1e-9 to 1e15 ("0.00005"),
// with an exponent outside that.
std::string format_value(double value);

struct HistogramBucket {
    double upper_bound;
    std::uint64_t cumulative_count;
};

// Appends exposition text; the stand-in server builds its /v1/metrics body
// with it. Label order is the caller's (SpacetimeDB writes them sorted).
class MetricsWriter {
public:
    void help(std::string_view name, std::string_view text);
    void type(std::string_view name, std::string_view type);
    void sample(std::string_view name, const LabelSet& labels, std::uint64_t value);
    void sample_double(std::string_view name, const LabelSet& labels, double value);
    // name_bucket{labels...,le="b"} for every bucket, then le="+Inf" (= count),
    // name_sum and name_count. Buckets must be in increasing bound order.
    void histogram(std::string_view name, const LabelSet& labels, std::span<const HistogramBucket> buckets, double sum,
                   std::uint64_t count);

    const std::string& text() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    void series(std::string_view name, const LabelSet& labels, std::string_view value_text);

    std::string out_;
};

}  // namespace benchdist::stdb
