// Thresholds: pass/fail conditions on a result, in the style of k6's
// thresholds and Nighthawk's failure predicates. A user writes them on the
// command line (`--threshold 'p99<=20ms'`, cli/threshold_option.hpp); each is
// evaluated on the merged result of an epoch (or of a local run) and
// recorded with the value it observed, and a failed one makes the verdict
// invalid. This file is the pure part: the grammar, the metrics a threshold
// can name, and the evaluation against the observed values. What fills
// MetricValues from a result, and where the outcomes go, belongs to whoever
// builds the verdict. docs/results.md ("Thresholds") is the user's version
// of this comment.
//
// Grammar (whitespace is allowed before and after every token):
//
//   threshold  = metric op number [unit]
//   metric     = tps | p50 | p90 | p99 | p999 | max | mean | errors
//              | errorRatio | clientServerRatio | committed | attempted
//                (case-sensitive, as the result's keys)
//   op         = "<" | "<=" | ">" | ">=" | "==" | "!="
//   number     = digit+ ["." digit+] [("e" | "E") ["+" | "-"] digit+]
//   unit       = latency (p50, p90, p99, p999, max, mean): "us" | "ms" | "s";
//                none means ms, as a bare number means ms in k6
//              | ratios (errorRatio, clientServerRatio): none, or "%" (the
//                number is then divided by 100)
//              | counts (errors, committed, attempted) and tps: none
//
// No number carries a sign: every metric is zero or positive, so a negative
// bound is always a mistake (`p99>-1` cannot fail), and a minus is refused
// rather than given a meaning. Counts take whole numbers only (`1e6` is one),
// which keeps `==` on them exact and catches `errors<=0.01` written for
// `errorRatio<=0.01`.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace benchdist::stats {

using Json = nlohmann::ordered_json;

enum class Comparison { Less, LessEqual, Greater, GreaterEqual, Equal, NotEqual };

// "<", "<=", ">", ">=", "==", "!=".
std::string_view comparison_symbol(Comparison op);

struct Threshold {
    std::string metric;  // one of the grammar's metric names
    Comparison op = Comparison::LessEqual;
    // Normalised: latency in microseconds, a ratio as a fraction (99% is
    // 0.99), anything else as written. Compared with MetricValues' fields.
    double value = 0;
    // The unit the observed value is shown in, as the user wrote it or as
    // defaulted: "us", "ms" or "s" for latency (a bare number: "ms"), "%" or
    // "" for a ratio, "" for counts and tps.
    std::string unit;
    std::string text;  // the expression as the user wrote it, trimmed
};

// A threshold that does not follow the grammar. The message quotes the
// trimmed expression and names the 1-based position (in bytes of that text)
// of what is wrong, what was expected there, and for an unknown metric the
// known ones, e.g.
//   threshold "p99<=20xs" at 8: unknown unit "xs" for p99 (use us, ms or s)
class ThresholdSyntaxError : public std::invalid_argument {
public:
    ThresholdSyntaxError(std::string_view text, std::size_t position, const std::string& problem);
    std::size_t position() const noexcept { return position_; }

private:
    std::size_t position_;
};

// Parses one threshold; leading and trailing whitespace is dropped. Throws
// ThresholdSyntaxError.
Threshold parse_threshold(std::string_view text);

// The observed metrics of one result, one field per metric a threshold can
// name, so a caller that fills them cannot misspell one. Empty means the
// result does not have the metric; a threshold on it then fails.
struct MetricValues {
    std::optional<double> tps;  // committed transfers per second of the window, the server's count
    // Latency of the committed transfers, microseconds, from the merged
    // per-second histograms of the window.
    std::optional<double> p50;
    std::optional<double> p90;
    std::optional<double> p99;
    std::optional<double> p999;
    std::optional<double> max;
    std::optional<double> mean;
    std::optional<double> errors;               // failed calls in the window, all kinds
    std::optional<double> error_ratio;          // errors / attempted; empty when nothing was attempted
    std::optional<double> client_server_ratio;  // the result's clientServerRatio
    std::optional<double> committed;            // the server's committed delta over the window
    std::optional<double> attempted;            // calls the generators attempted in the window
};

struct ThresholdOutcome {
    std::string threshold;           // Threshold::text
    std::string metric;              // Threshold::metric
    std::optional<double> observed;  // in `unit`; empty when the result does not have the metric
    std::string unit;                // Threshold::unit
    bool passed = false;
    std::string message;  // one line for a person: the threshold, passed or failed, and why
};

// Compares the observed value with the threshold. Equality is exact: counts
// are whole numbers, which doubles hold exactly up to 2^53, so `errors==0`
// means no error at all. A metric the result does not have (or a NaN)
// fails: a threshold that cannot be checked must not pass silently, or a
// broken measurement (no generator reported, no server count) would look
// like a good one.
ThresholdOutcome evaluate(const Threshold& threshold, const MetricValues& values);

// {"threshold", "metric", "observed" (null when absent), "unit", "passed"}.
Json to_json(const ThresholdOutcome& outcome);

}  // namespace benchdist::stats
