#include "benchdist/stats/threshold.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

namespace benchdist::stats {

namespace {

// What a metric's number means, which decides the units it takes.
enum class Kind { Rate, Latency, Ratio, Count };

struct MetricInfo {
    std::string_view name;
    Kind kind;
    std::optional<double> MetricValues::*field;
    // When a result has no value for it, for the message of a threshold that
    // could not be evaluated: the user has to tell a failed measurement
    // from a failed system.
    std::string_view absent_when;
};

constexpr std::string_view kNoServerCount = "the server's counter was not read at both ends of the window";
constexpr std::string_view kNoLatency = "no generator sent latency for the window";
constexpr std::string_view kNoIntervals = "no generator sent intervals for the window";

// In the order the error message lists them.
constexpr std::array<MetricInfo, 12> kMetrics{{
    {"tps", Kind::Rate, &MetricValues::tps, kNoServerCount},
    {"p50", Kind::Latency, &MetricValues::p50, kNoLatency},
    {"p90", Kind::Latency, &MetricValues::p90, kNoLatency},
    {"p99", Kind::Latency, &MetricValues::p99, kNoLatency},
    {"p999", Kind::Latency, &MetricValues::p999, kNoLatency},
    {"max", Kind::Latency, &MetricValues::max, kNoLatency},
    {"mean", Kind::Latency, &MetricValues::mean, kNoLatency},
    {"errors", Kind::Count, &MetricValues::errors, kNoIntervals},
    {"errorRatio", Kind::Ratio, &MetricValues::error_ratio,
     "no generator sent intervals for the window, or they attempted nothing in it"},
    {"clientServerRatio", Kind::Ratio, &MetricValues::client_server_ratio,
     "the server's committed delta is 0 or unknown, or no generator sent intervals (e.g. a mixed fleet with older "
     "generators)"},
    {"committed", Kind::Count, &MetricValues::committed, kNoServerCount},
    {"attempted", Kind::Count, &MetricValues::attempted, kNoIntervals},
}};

const MetricInfo* find_metric(std::string_view name) {
    for (const auto& m : kMetrics)
        if (m.name == name) return &m;
    return nullptr;
}

std::string known_metrics() {
    std::string out;
    for (const auto& m : kMetrics) {
        if (!out.empty()) out += ", ";
        out += m.name;
    }
    return out;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
// A unit is a run of letters and '%'; bytes above ASCII belong to it so that
// "µs" is reported whole as an unknown unit rather than as stray bytes.
bool is_unit_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '%' || static_cast<unsigned char>(c) >= 0x80;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// Appended rather than `"\"" + string&&`, on which GCC 12 at -O3 warns
// falsely (-Wrestrict).
std::string in_quotes(std::string_view s) {
    std::string out = "\"";
    out += s;
    out += '"';
    return out;
}

// The shortest text that reads back as `v`.
std::string format_number(double v) {
    std::array<char, 64> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    return std::string(buf.data(), r.ptr);
}

// Powers of ten that turn the number as written into the normalised value.
struct UnitScale {
    std::string unit;  // as Threshold::unit holds it
    int shift = 0;
};

// A number as written: its digits and point, and its exponent apart, so
// that a unit can be applied by moving the exponent. Scaling the decimal
// text and converting once gives the double nearest to the written value
// (1.001s is exactly 1001000 us; 1.001 * 1e6 is 1000999.9999999999).
struct WrittenNumber {
    std::size_t at = 0;
    std::string_view text;      // all of it, for messages
    std::string_view mantissa;  // digits [. digits]
    long exponent = 0;          // saturated far beyond any double's range
};

class Parser {
public:
    explicit Parser(std::string_view text) : s_(text) {}

    Threshold parse() {
        Threshold t;
        t.text = std::string(s_);
        skip_space();
        const MetricInfo& metric = parse_metric();
        t.metric = std::string(metric.name);
        skip_space();
        t.op = parse_comparison(metric);
        skip_space();
        const WrittenNumber number = parse_number(metric);
        skip_space();
        const UnitScale scale = parse_unit(metric);
        t.unit = scale.unit;
        t.value = normalised(number, scale.shift);
        if (metric.kind == Kind::Count && std::trunc(t.value) != t.value) {
            std::string problem = "expected a whole number for " + std::string(metric.name) + " (a count), got " +
                                  std::string(number.text);
            if (metric.name == "errors") problem += "; for a share of the attempted calls use errorRatio";
            fail(number.at, problem);
        }
        skip_space();
        if (i_ < s_.size()) fail(i_, "expected the end of the threshold, got " + got(i_));
        return t;
    }

private:
    [[noreturn]] void fail(std::size_t at, const std::string& problem) const {
        throw ThresholdSyntaxError(s_, at + 1, problem);
    }

    // What stands at `at`, quoted, for "expected X, got Y".
    std::string got(std::size_t at) const {
        if (at >= s_.size()) return "the end";
        std::size_t end = at;
        while (end < s_.size() && !is_space(s_[end])) ++end;
        return in_quotes(s_.substr(at, end - at));
    }

    void skip_space() {
        while (i_ < s_.size() && is_space(s_[i_])) ++i_;
    }

    const MetricInfo& parse_metric() {
        const std::size_t start = i_;
        while (i_ < s_.size() && is_name_char(s_[i_])) ++i_;
        const std::string_view name = s_.substr(start, i_ - start);
        if (name.empty()) fail(start, "expected a metric, got " + got(start) + "; known: " + known_metrics());
        if (const MetricInfo* m = find_metric(name)) return *m;
        std::string problem = "unknown metric " + in_quotes(name);
        for (const auto& m : kMetrics)
            if (equal_ignoring_case(m.name, name))
                problem += " (metric names are case-sensitive: " + std::string(m.name) + ")";
        fail(start, problem + "; known: " + known_metrics());
    }

    Comparison parse_comparison(const MetricInfo& metric) {
        const std::size_t start = i_;
        const std::string_view rest = s_.substr(i_);
        // Two-character operators first, so "<=" is not read as "<".
        static constexpr std::array<std::pair<std::string_view, Comparison>, 6> kOps{{
            {"<=", Comparison::LessEqual},
            {">=", Comparison::GreaterEqual},
            {"==", Comparison::Equal},
            {"!=", Comparison::NotEqual},
            {"<", Comparison::Less},
            {">", Comparison::Greater},
        }};
        for (const auto& [symbol, op] : kOps) {
            if (rest.starts_with(symbol)) {
                i_ += symbol.size();
                return op;
            }
        }
        std::string problem =
            "expected a comparison (<, <=, >, >=, ==, !=) after " + std::string(metric.name) + ", got " + got(start);
        if (rest.starts_with("=")) problem += "; equality is ==";
        fail(start, problem);
    }

    WrittenNumber parse_number(const MetricInfo& metric) {
        WrittenNumber n;
        n.at = i_;
        if (i_ < s_.size() && (s_[i_] == '-' || s_[i_] == '+'))
            fail(i_, "expected a number without a sign (" + std::string(metric.name) +
                         " is never negative, so no threshold needs one), got " + got(i_));
        if (i_ >= s_.size() || !is_digit(s_[i_])) fail(i_, "expected a number, got " + got(i_));
        skip_digits();
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (i_ >= s_.size() || !is_digit(s_[i_]))
                fail(i_, "expected a digit after the decimal point, got " + got(i_));
            skip_digits();
        }
        n.mantissa = s_.substr(n.at, i_ - n.at);
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            long sign = 1;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
                if (s_[i_] == '-') sign = -1;
                ++i_;
            }
            if (i_ >= s_.size() || !is_digit(s_[i_])) fail(i_, "expected a digit in the exponent, got " + got(i_));
            long magnitude = 0;
            for (; i_ < s_.size() && is_digit(s_[i_]); ++i_)
                if (magnitude < 1'000'000) magnitude = magnitude * 10 + (s_[i_] - '0');
            n.exponent = sign * magnitude;
        }
        n.text = s_.substr(n.at, i_ - n.at);
        return n;
    }

    void skip_digits() {
        while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }

    UnitScale parse_unit(const MetricInfo& metric) {
        const std::size_t start = i_;
        while (i_ < s_.size() && is_unit_char(s_[i_])) ++i_;
        const std::string_view unit = s_.substr(start, i_ - start);
        const std::string bad = "unknown unit " + in_quotes(unit) + " for " + std::string(metric.name);
        switch (metric.kind) {
            case Kind::Latency:
                if (unit.empty() || unit == "ms") return {"ms", 3};
                if (unit == "us") return {"us", 0};
                if (unit == "s") return {"s", 6};
                fail(start, bad + " (use us, ms or s)");
            case Kind::Ratio:
                if (unit.empty()) return {"", 0};
                if (unit == "%") return {"%", -2};
                fail(start, bad + " (write a fraction without a unit, or a percentage with %)");
            case Kind::Count:
                if (unit.empty()) return {"", 0};
                fail(start,
                     bad + " (a count takes no unit" +
                         (metric.name == "errors" ? "; for a share of the attempted calls use errorRatio)" : ")"));
            case Kind::Rate:
                if (unit.empty()) return {"", 0};
                fail(start, bad + " (transfers per second take no unit)");
        }
        fail(start, bad);
    }

    double normalised(const WrittenNumber& n, int shift) const {
        const std::string scaled = std::string(n.mantissa) + "e" + std::to_string(n.exponent + shift);
        double v = 0;
        const auto r = std::from_chars(scaled.data(), scaled.data() + scaled.size(), v);
        if (r.ec != std::errc{} || r.ptr != scaled.data() + scaled.size() || !std::isfinite(v))
            fail(n.at, "number " + std::string(n.text) + " is out of range");
        return v;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

// Normalised value -> the unit the user wrote. Rounded to 12 significant
// digits, so 0.991 shows as 99.1% rather than 99.10000000000001%.
double in_unit(double v, std::string_view unit) {
    double shown = v;
    if (unit == "ms")
        shown = v / 1e3;
    else if (unit == "s")
        shown = v / 1e6;
    else if (unit == "%")
        shown = v * 100;
    else
        return v;
    std::array<char, 64> buf{};
    std::snprintf(buf.data(), buf.size(), "%.12g", shown);
    return std::strtod(buf.data(), nullptr);
}

bool holds(double observed, Comparison op, double bound) {
    switch (op) {
        case Comparison::Less:
            return observed < bound;
        case Comparison::LessEqual:
            return observed <= bound;
        case Comparison::Greater:
            return observed > bound;
        case Comparison::GreaterEqual:
            return observed >= bound;
        case Comparison::Equal:
            return observed == bound;
        case Comparison::NotEqual:
            return observed != bound;
    }
    return false;
}

}  // namespace

std::string_view comparison_symbol(Comparison op) {
    switch (op) {
        case Comparison::Less:
            return "<";
        case Comparison::LessEqual:
            return "<=";
        case Comparison::Greater:
            return ">";
        case Comparison::GreaterEqual:
            return ">=";
        case Comparison::Equal:
            return "==";
        case Comparison::NotEqual:
            return "!=";
    }
    return "?";
}

ThresholdSyntaxError::ThresholdSyntaxError(std::string_view text, std::size_t position, const std::string& problem)
    : std::invalid_argument("threshold " + in_quotes(text) + " at " + std::to_string(position) + ": " + problem),
      position_(position) {}

Threshold parse_threshold(std::string_view text) { return Parser(trim(text)).parse(); }

ThresholdOutcome evaluate(const Threshold& threshold, const MetricValues& values) {
    ThresholdOutcome out{.threshold = threshold.text, .metric = threshold.metric, .unit = threshold.unit};
    const std::string cannot = threshold.text + " could not be evaluated: ";
    const std::string counts_as_failed =
        "; a threshold that cannot be checked counts as failed, so a broken measurement cannot pass";
    const MetricInfo* metric = find_metric(threshold.metric);
    if (metric == nullptr) {
        out.message = cannot + "unknown metric " + in_quotes(threshold.metric) + "; known: " + known_metrics();
        return out;
    }
    const std::optional<double>& observed = values.*(metric->field);
    if (!observed || std::isnan(*observed)) {
        out.message = cannot + "the result has no " + std::string(metric->name) + " (it has none when " +
                      std::string(metric->absent_when) + ")" + counts_as_failed;
        return out;
    }
    out.observed = in_unit(*observed, threshold.unit);
    out.passed = holds(*observed, threshold.op, threshold.value);
    out.message = threshold.text + (out.passed ? " passed" : " failed") + ": observed " + format_number(*out.observed) +
                  threshold.unit;
    return out;
}

Json to_json(const ThresholdOutcome& outcome) {
    return Json{{"threshold", outcome.threshold},
                {"metric", outcome.metric},
                {"observed", outcome.observed ? Json(*outcome.observed) : Json(nullptr)},
                {"unit", outcome.unit},
                {"passed", outcome.passed}};
}

}  // namespace benchdist::stats
