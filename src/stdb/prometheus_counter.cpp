// Finding one counter in a scrape (prometheus.hpp): the series of a
// database and labels, with a message naming what was there instead.
#include "benchdist/stdb/prometheus.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "stdb/prometheus_text.hpp"

namespace benchdist::stdb {

namespace {

using prometheus_text::append_labels;
using prometheus_text::iequals;
using prometheus_text::is_digit;
using prometheus_text::lower;

constexpr std::string_view kDbLabel = "db";
constexpr std::size_t kMaxMalformedListed = 3;

std::string_view strip_0x(std::string_view s) {
    if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    return s;
}

bool looks_like_hex(std::string_view s) {
    s = strip_0x(s);
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f'); });
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
        case CounterStatus::Ok:
            return "ok";
        case CounterStatus::NameAbsent:
            return "name_absent";
        case CounterStatus::NoMatchingSeries:
            return "no_matching_series";
        case CounterStatus::MalformedSeries:
            return "malformed_series";
        case CounterStatus::Ambiguous:
            return "ambiguous";
        case CounterStatus::BadValue:
            return "bad_value";
    }
    return "unknown";
}

const CounterReading& CounterResult::value() const {
    if (!ok()) throw MetricsError(status, message);
    return reading;
}

bool same_db_identity(std::string_view a, std::string_view b) { return iequals(strip_0x(a), strip_0x(b)); }

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
        const std::string others = r.near_miss_count == 0
                                       ? std::string()
                                       : "; " + plural(r.near_miss_count, "series", "series") + " of that name " +
                                             (r.near_miss_count == 1 ? "has" : "have") +
                                             " other labels: " + list_label_sets(r.near_misses, r.near_miss_count);
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
            r.message = format_series(s->name, s->labels) + " (line " + std::to_string(s->line) + ") has " + problem +
                        "; a counter must be a finite, non-negative number";
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

}  // namespace benchdist::stdb
