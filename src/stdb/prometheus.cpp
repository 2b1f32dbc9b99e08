#include "benchdist/stdb/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace benchdist::stdb {

namespace {

constexpr std::string_view kDbLabel = "db";
constexpr std::size_t kExcerptBytes = 120;
constexpr std::size_t kMaxMalformedListed = 3;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_start(char c) { return is_alpha_(c) || c == ':'; }
bool is_name_char(char c) { return is_alpha_(c) || is_digit(c) || c == ':'; }
bool is_label_start(char c) { return is_alpha_(c); }
bool is_label_char(char c) { return is_alpha_(c) || is_digit(c); }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

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
    const auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), out.value, std::chars_format::general);
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

std::string_view strip_0x(std::string_view s) {
    if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    return s;
}

bool looks_like_hex(std::string_view s) {
    s = strip_0x(s);
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f');
    });
}

void append_escaped(std::string& out, std::string_view value) {
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void append_labels(std::string& out, const LabelSet& labels) {
    out += '{';
    bool first = true;
    for (const Label& l : labels) {
        if (!first) out += ',';
        first = false;
        out += l.name;
        out += "=\"";
        append_escaped(out, l.value);
        out += '"';
    }
    out += '}';
}

// "{..} {..} (and N more)", bounded so a busy server does not flood a log line.
std::string list_label_sets(const std::vector<LabelSet>& sets, std::size_t total) {
    std::string out;
    for (const LabelSet& l : sets) {
        if (!out.empty()) out += ' ';
        append_labels(out, l);
    }
    if (total > sets.size()) out += " (and " + std::to_string(total - sets.size()) + " more)";
    return out;
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

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

CounterQuery committed_transfers_query(std::string_view db_identity_hex) {
    CounterQuery q;
    q.name = std::string(kNumTxnsMetric);
    q.labels = {{"committed", "true"}, {"reducer", "transfer"}, {"txn_type", "Reducer"}};
    q.db = std::string(db_identity_hex);
    q.select = CounterSelect::ExactlyOne;
    return q;
}

std::string_view counter_status_name(CounterStatus s) {
    switch (s) {
        case CounterStatus::Ok: return "ok";
        case CounterStatus::NameAbsent: return "name_absent";
        case CounterStatus::NoMatchingSeries: return "no_matching_series";
        case CounterStatus::MalformedSeries: return "malformed_series";
        case CounterStatus::Ambiguous: return "ambiguous";
        case CounterStatus::BadValue: return "bad_value";
    }
    return "unknown";
}

const CounterReading& CounterResult::value() const {
    if (!ok()) throw MetricsError(status, message);
    return reading;
}

bool same_db_identity(std::string_view a, std::string_view b) {
    return iequals(strip_0x(a), strip_0x(b));
}

CounterResult find_counter(const Scrape& scrape, const CounterQuery& query) {
    CounterResult r;
    std::vector<const Sample*> matched;
    // Closest first: series of the requested database before others, then by
    // how many labels differ, so "same db but committed=false" leads the list.
    struct Miss {
        const Sample* sample;
        bool other_db;
        std::size_t differing;
    };
    std::vector<Miss> misses;
    for (const Sample& s : scrape.samples) {
        if (s.name != query.name) continue;
        std::size_t differing = 0;
        for (const Label& want : query.labels) {
            // Prometheus semantics: a label that is not there has the value "".
            if (s.label(want.name).value_or(std::string_view{}) != want.value) ++differing;
        }
        bool other_db = false;
        if (query.db) {
            const auto db = s.label(kDbLabel);
            other_db = !db || !same_db_identity(*db, *query.db);
            r.db_seen = r.db_seen || !other_db;
        }
        if (differing == 0 && !other_db) {
            matched.push_back(&s);
        } else {
            misses.push_back({&s, other_db, differing});
        }
    }
    std::stable_sort(misses.begin(), misses.end(), [](const Miss& a, const Miss& b) {
        return a.other_db != b.other_db ? !a.other_db : a.differing < b.differing;
    });
    r.near_miss_count = misses.size();
    for (std::size_t k = 0; k < misses.size() && k < kMaxNearMisses; ++k) {
        r.near_misses.push_back(misses[k].sample->labels);
    }

    LabelSet wanted_labels = query.labels;
    if (query.db) wanted_labels.push_back(Label{std::string(kDbLabel), *query.db});
    std::stable_sort(wanted_labels.begin(), wanted_labels.end(),
                     [](const Label& a, const Label& b) { return a.name < b.name; });
    const std::string wanted = format_series(query.name, wanted_labels);

    if (matched.empty()) {
        std::vector<const SkippedLine*> malformed;
        for (const SkippedLine& l : scrape.skipped) {
            if (l.name == query.name) malformed.push_back(&l);
        }
        const std::string others =
            r.near_miss_count == 0 ? std::string()
                                   : "; " + plural(r.near_miss_count, "series", "series") + " of that name " +
                                         (r.near_miss_count == 1 ? "has" : "have") + " other labels: " +
                                         list_label_sets(r.near_misses, r.near_miss_count);
        if (!malformed.empty()) {
            r.status = CounterStatus::MalformedSeries;
            r.message = "no well-formed series " + wanted + "; " + plural(malformed.size(), "line", "lines") +
                        " named " + query.name + " could not be parsed:";
            for (std::size_t k = 0; k < malformed.size() && k < kMaxMalformedListed; ++k) {
                r.message += " [line " + std::to_string(malformed[k]->line) + ": " + malformed[k]->reason + ": " +
                             malformed[k]->excerpt + "]";
            }
            if (malformed.size() > kMaxMalformedListed) {
                r.message += " (and " + std::to_string(malformed.size() - kMaxMalformedListed) + " more)";
            }
            r.message += others;
        } else if (r.near_miss_count > 0) {
            r.status = CounterStatus::NoMatchingSeries;
            r.message = "no series " + wanted + others;
            if (query.db && !r.db_seen) {
                r.message += "; none of them has db=\"" + *query.db + "\"";
                if (!looks_like_hex(*query.db)) {
                    r.message += " (the db label holds the database identity in hex, not the database name)";
                }
            }
        } else {
            r.status = CounterStatus::NameAbsent;
            r.message = "no metric named " + query.name + " in the scrape (" +
                        plural(scrape.samples.size(), "sample", "samples") + " of other names";
            if (scrape.skipped_lines() > 0) {
                r.message += ", " + plural(scrape.skipped_lines(), "malformed line", "malformed lines") + " skipped";
            }
            r.message += ")";
            if (scrape.type_of(query.name)) {
                r.message += "; it is declared by # TYPE but has no series yet";
            }
        }
        return r;
    }

    r.reading.series_matched = matched.size();
    if (query.select == CounterSelect::ExactlyOne && matched.size() > 1) {
        std::vector<LabelSet> listed;
        for (std::size_t k = 0; k < matched.size() && k < kMaxNearMisses; ++k) listed.push_back(matched[k]->labels);
        r.status = CounterStatus::Ambiguous;
        r.message = std::to_string(matched.size()) + " series match " + wanted +
                    " but exactly one was expected: " + list_label_sets(listed, matched.size());
        return r;
    }

    double total = 0.0;
    std::optional<std::uint64_t> exact_total = 0;
    for (const Sample* s : matched) {
        std::string problem;
        if (std::isnan(s->value)) {
            problem = "value NaN";
        } else if (std::isinf(s->value)) {
            problem = "infinite value " + format_value(s->value);
        } else if (s->value < 0) {
            problem = "negative value " + format_value(s->value);
        } else if (query.require_integer && std::floor(s->value) != s->value) {
            problem = "non-integral value " + format_value(s->value) + " where a whole count was expected";
        }
        if (!problem.empty()) {
            r.status = CounterStatus::BadValue;
            r.message = format_series(s->name, s->labels) + " (line " + std::to_string(s->line) + ") has " +
                        problem + "; a counter must be a finite, non-negative number";
            return r;
        }
        total += s->value;
        if (exact_total && s->exact && *exact_total <= std::numeric_limits<std::uint64_t>::max() - *s->exact) {
            *exact_total += *s->exact;
        } else {
            exact_total.reset();
        }
    }
    r.reading.value = total;
    r.reading.exact = exact_total;
    return r;
}

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
    const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
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
