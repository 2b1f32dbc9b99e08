// Parsing the Prometheus text exposition format (prometheus.hpp): a line
// parser that keeps every well-formed sample and names every line it skips.
#include "benchdist/stdb/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "stdb/prometheus_text.hpp"

namespace benchdist::stdb {

namespace {

using prometheus_text::iequals;
using prometheus_text::is_digit;

constexpr std::size_t kExcerptBytes = 120;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_start(char c) { return is_alpha_(c) || c == ':'; }
bool is_name_char(char c) { return is_alpha_(c) || is_digit(c) || c == ':'; }
bool is_label_start(char c) { return is_alpha_(c); }
bool is_label_char(char c) { return is_alpha_(c) || is_digit(c); }

std::string excerpt_of(std::string_view line) {
    if (line.size() <= kExcerptBytes) return std::string(line);
    std::size_t cut = kExcerptBytes;
    // Do not split a UTF-8 sequence: back off over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0U) == 0x80U) --cut;
    std::string s(line.substr(0, cut));
    s += "...";
    return s;
}

struct ParsedValue {
    double value = 0.0;
    std::optional<std::uint64_t> exact;
};

// Exact integer of digits (int_part . frac_part) * 10^exponent, when it is a
// whole number that fits u64.
std::optional<std::uint64_t> exact_integer(std::string_view int_part, std::string_view frac_part, long exponent) {
    const std::size_t n = int_part.size() + frac_part.size();
    auto digit = [&](std::size_t k) {
        const char c = k < int_part.size() ? int_part[k] : frac_part[k - int_part.size()];
        return static_cast<std::uint64_t>(c - '0');
    };
    bool all_zero = true;
    for (std::size_t k = 0; k < n && all_zero; ++k) all_zero = digit(k) == 0;
    if (all_zero) return 0;

    long shift = exponent - static_cast<long>(frac_part.size());
    std::size_t keep = n;
    if (shift < 0) {
        const auto drop = static_cast<std::size_t>(-shift);
        if (drop >= n) return std::nullopt;  // a non-zero digit would sit after the point
        for (std::size_t k = n - drop; k < n; ++k) {
            if (digit(k) != 0) return std::nullopt;
        }
        keep = n - drop;
        shift = 0;
    }
    constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < keep; ++k) {
        const std::uint64_t d = digit(k);
        if (v > (kMax - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    for (long s = 0; s < shift; ++s) {
        if (v > kMax / 10) return std::nullopt;
        v *= 10;
    }
    return v;
}

// Go's ParseFloat spellings that Prometheus emits or accepts: an optional
// sign, decimal digits with an optional fraction and exponent, Inf/Infinity
// and NaN in any case. Hex floats are refused.
std::optional<ParsedValue> parse_value(std::string_view t) {
    if (t.empty()) return std::nullopt;
    bool negative = false;
    std::string_view body = t;
    if (body.front() == '+' || body.front() == '-') {
        negative = body.front() == '-';
        body.remove_prefix(1);
    }
    if (iequals(body, "inf") || iequals(body, "infinity")) {
        const double inf = std::numeric_limits<double>::infinity();
        return ParsedValue{negative ? -inf : inf, std::nullopt};
    }
    if (iequals(body, "nan")) return ParsedValue{std::numeric_limits<double>::quiet_NaN(), std::nullopt};

    std::size_t i = 0;
    const std::size_t int_begin = i;
    while (i < body.size() && is_digit(body[i])) ++i;
    const std::string_view int_part = body.substr(int_begin, i - int_begin);
    std::string_view frac_part;
    if (i < body.size() && body[i] == '.') {
        const std::size_t frac_begin = ++i;
        while (i < body.size() && is_digit(body[i])) ++i;
        frac_part = body.substr(frac_begin, i - frac_begin);
    }
    if (int_part.empty() && frac_part.empty()) return std::nullopt;
    long exponent = 0;
    if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
        ++i;
        bool exp_negative = false;
        if (i < body.size() && (body[i] == '+' || body[i] == '-')) exp_negative = body[i++] == '-';
        const std::size_t exp_begin = i;
        while (i < body.size() && is_digit(body[i])) {
            // Saturate: anything this large over- or underflows a double anyway.
            if (exponent < 100000) exponent = exponent * 10 + (body[i] - '0');
            ++i;
        }
        if (i == exp_begin) return std::nullopt;
        if (exp_negative) exponent = -exponent;
    }
    if (i != body.size()) return std::nullopt;

    ParsedValue out;
    const auto [ptr, ec] =
        std::from_chars(body.data(), body.data() + body.size(), out.value, std::chars_format::general);
    if (ec != std::errc() || ptr != body.data() + body.size()) return std::nullopt;  // out of double range
    if (negative) out.value = -out.value;
    const auto exact = exact_integer(int_part, frac_part, exponent);
    if (exact && (!negative || *exact == 0)) out.exact = exact;
    return out;
}

class LineParser {
public:
    LineParser(std::string_view line, std::size_t line_no, Scrape& out) : s_(line), line_no_(line_no), out_(out) {}

    void run() {
        skip_blanks();
        if (at_end()) return;
        if (s_[i_] == '#') {
            comment();
            return;
        }
        sample();
    }

private:
    bool at_end() const { return i_ >= s_.size(); }
    void skip_blanks() {
        while (i_ < s_.size() && is_blank(s_[i_])) ++i_;
    }
    std::string_view read_while(bool (*pred)(char)) {
        const std::size_t begin = i_;
        while (i_ < s_.size() && pred(s_[i_])) ++i_;
        return s_.substr(begin, i_ - begin);
    }
    std::string_view read_name() {
        if (at_end() || !is_name_start(s_[i_])) return {};
        return read_while(is_name_char);
    }
    std::string_view read_token() {
        return read_while([](char c) { return !is_blank(c); });
    }

    void skip(std::string_view name, std::string reason) {
        out_.skipped.push_back(SkippedLine{line_no_, std::string(name), std::move(reason), excerpt_of(s_)});
    }

    void comment() {
        ++i_;
        skip_blanks();
        const std::string_view keyword = read_token();
        if (keyword != "TYPE" && keyword != "HELP") return;  // free-form comment
        skip_blanks();
        const std::string_view name = read_name();
        if (name.empty() || (!at_end() && !is_blank(s_[i_]))) {
            skip(name, "malformed # " + std::string(keyword) + " line: expected a metric name");
            return;
        }
        if (keyword == "HELP") return;  // docstring: nothing we need
        skip_blanks();
        const std::string_view type = read_token();
        skip_blanks();
        if (type.empty() || !at_end()) {
            skip(name, "malformed # TYPE line: expected '# TYPE <name> <type>'");
            return;
        }
        out_.types.insert_or_assign(std::string(name), std::string(type));
    }

    void sample() {
        const std::string_view name = read_name();
        if (name.empty()) {
            skip({}, "expected a metric name");
            return;
        }
        if (!at_end() && !is_blank(s_[i_]) && s_[i_] != '{') {
            skip(name, std::string("invalid character '") + s_[i_] + "' in metric name");
            return;
        }
        Sample parsed;
        parsed.line = line_no_;
        skip_blanks();
        if (!at_end() && s_[i_] == '{') {
            ++i_;
            if (!labels(name, parsed.labels)) return;
        }
        skip_blanks();
        const std::string_view value_text = read_token();
        if (value_text.empty()) {
            skip(name, "missing value");
            return;
        }
        auto value = parse_value(value_text);
        if (!value) {
            skip(name, "invalid value '" + std::string(value_text) + "'");
            return;
        }
        skip_blanks();
        if (!at_end()) {
            const std::string_view ts = read_token();
            std::int64_t ms = 0;
            const auto [ptr, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), ms);
            if (ec != std::errc() || ptr != ts.data() + ts.size()) {
                skip(name, "invalid timestamp '" + std::string(ts) + "'");
                return;
            }
            parsed.timestamp_ms = ms;
            skip_blanks();
            if (!at_end()) {
                skip(name, "unexpected text after the timestamp");
                return;
            }
        }
        parsed.name = std::string(name);
        parsed.value = value->value;
        parsed.exact = value->exact;
        out_.samples.push_back(std::move(parsed));
    }

    // After '{', through the closing '}'. A trailing comma is allowed.
    bool labels(std::string_view metric, LabelSet& out) {
        for (;;) {
            skip_blanks();
            if (at_end()) {
                skip(metric, "unterminated label set: missing '}'");
                return false;
            }
            if (s_[i_] == '}') {
                ++i_;
                return true;
            }
            if (!is_label_start(s_[i_])) {
                skip(metric, "expected a label name or '}' at column " + std::to_string(i_ + 1));
                return false;
            }
            const std::string_view label_name = read_while(is_label_char);
            skip_blanks();
            if (at_end() || s_[i_] != '=') {
                skip(metric, "expected '=' after label " + std::string(label_name));
                return false;
            }
            ++i_;
            skip_blanks();
            if (at_end() || s_[i_] != '"') {
                skip(metric, "expected '\"' to open the value of label " + std::string(label_name));
                return false;
            }
            ++i_;
            std::string value;
            if (!label_value(value)) {
                skip(metric, "unterminated value of label " + std::string(label_name));
                return false;
            }
            for (const Label& l : out) {
                if (l.name == label_name) {
                    skip(metric, "duplicate label " + std::string(label_name));
                    return false;
                }
            }
            out.push_back(Label{std::string(label_name), std::move(value)});
            skip_blanks();
            if (!at_end() && s_[i_] == ',') {
                ++i_;
                continue;
            }
            if (!at_end() && s_[i_] == '}') continue;  // closed on the next turn
            skip(metric, "expected ',' or '}' after the value of label " + std::string(label_name));
            return false;
        }
    }

    // After the opening quote, through the closing one.
    bool label_value(std::string& out) {
        std::size_t run = i_;  // start of the pending unescaped run
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == '"') {
                out.append(s_.data() + run, i_ - run);
                ++i_;
                return true;
            }
            if (c == '\\') {
                if (i_ + 1 >= s_.size()) return false;
                out.append(s_.data() + run, i_ - run);
                const char e = s_[i_ + 1];
                if (e == '\\' || e == '"') {
                    out += e;
                } else if (e == 'n') {
                    out += '\n';
                } else {
                    out += '\\';
                    out += e;
                }
                i_ += 2;
                run = i_;
                continue;
            }
            ++i_;
        }
        return false;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    std::size_t line_no_;
    Scrape& out_;
};

}  // namespace

std::optional<std::string_view> Sample::label(std::string_view label_name) const {
    for (const Label& l : labels) {
        if (l.name == label_name) return std::string_view(l.value);
    }
    return std::nullopt;
}

std::optional<std::string_view> Scrape::type_of(std::string_view name) const {
    const auto it = types.find(name);
    if (it == types.end()) return std::nullopt;
    return std::string_view(it->second);
}

Scrape parse_prometheus_text(std::string_view text) {
    Scrape out;
    // A rough guess (~100 bytes a line) saves most reallocations on big scrapes.
    out.samples.reserve(text.size() / 128);
    std::size_t pos = 0;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
    std::size_t line_no = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
        std::string_view line = text.substr(pos, end - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        LineParser(line, line_no, out).run();
    }
    return out;
}

}  // namespace benchdist::stdb
