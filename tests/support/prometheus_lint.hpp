// Checks of an exposition in the Prometheus text format that unit tests of
// our /metrics renderers share, so each test states what its text must say
// and these what every such text must be: it parses without a skipped line,
// every sample belongs to a family with # HELP and # TYPE (a histogram's
// _bucket/_sum/_count to theirs), counters end in _total and nothing else
// does, and every histogram's buckets rise with le and end at +Inf equal to
// _count. promtool (tests/prometheus/) checks the real processes' text.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/stdb/prometheus.hpp"

namespace benchdist::test {

// The family a sample belongs to: its name without a histogram suffix when
// the text declares that family a histogram.
inline std::string family_of(const stdb::Scrape& s, const std::string& name) {
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() > suffix.size() && name.ends_with(suffix)) {
            const std::string base = name.substr(0, name.size() - suffix.size());
            if (s.type_of(base) == "histogram") return base;
        }
    }
    return name;
}

inline std::set<std::string> families_with_help(std::string_view text) {
    std::set<std::string> out;
    std::size_t pos = 0;
    while ((pos = text.find("# HELP ", pos)) != std::string_view::npos) {
        pos += 7;
        const auto end = text.find(' ', pos);
        out.insert(std::string(text.substr(pos, end - pos)));
    }
    return out;
}

// The parsed text, after the checks above (each failure names the series).
inline stdb::Scrape lint_exposition(const std::string& text) {
    const stdb::Scrape s = stdb::parse_prometheus_text(text);
    for (const auto& skipped : s.skipped) ADD_FAILURE() << "line " << skipped.line << ": " << skipped.reason;
    const auto helped = families_with_help(text);
    for (const auto& [family, type] : s.types) {
        EXPECT_TRUE(helped.contains(family)) << family << " has no # HELP";
        EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << family << ": " << type;
        EXPECT_EQ(type == "counter", family.ends_with("_total")) << family << " is a " << type;
        EXPECT_TRUE(family.starts_with("benchdist_") || family.starts_with("process_")) << family;
    }
    // Histograms: per label set (without le), the buckets in order.
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;
    std::map<std::string, double> counts;
    for (const auto& sample : s.samples) {
        const std::string family = family_of(s, sample.name);
        EXPECT_TRUE(s.type_of(family).has_value()) << sample.name << " has no # TYPE";
        if (s.type_of(family) != "histogram") continue;
        stdb::LabelSet others;
        std::string le;
        for (const auto& l : sample.labels) {
            if (l.name == "le") {
                le = l.value;
            } else {
                others.push_back(l);
            }
        }
        const std::string key = stdb::format_series(family, others);
        if (sample.name.ends_with("_bucket")) {
            EXPECT_FALSE(le.empty()) << sample.name << " without le";
            buckets[key].emplace_back(le == "+Inf" ? INFINITY : std::stod(le), sample.value);
        } else if (sample.name.ends_with("_count")) {
            counts[key] = sample.value;
        }
    }
    for (const auto& [key, list] : buckets) {
        if (list.empty()) continue;  // a _bucket sample always adds one
        for (std::size_t i = 1; i < list.size(); ++i) {
            EXPECT_LT(list[i - 1].first, list[i].first) << key << ": le out of order";
            EXPECT_LE(list[i - 1].second, list[i].second) << key << ": buckets not cumulative at le=" << list[i].first;
        }
        EXPECT_TRUE(std::isinf(list.back().first)) << key << ": no +Inf bucket";
        EXPECT_TRUE(counts.contains(key)) << key << ": no _count";
        if (counts.contains(key)) {
            EXPECT_EQ(list.back().second, counts[key]) << key << ": +Inf != _count";
        }
    }
    return s;
}

// The value of the one sample of `name` with these labels (in any order),
// or NaN when there is none.
inline double sample_value(const stdb::Scrape& s, std::string_view name, const stdb::LabelSet& labels = {}) {
    for (const auto& sample : s.samples) {
        if (sample.name != name || sample.labels.size() != labels.size()) continue;
        bool all = true;
        for (const auto& l : labels) all = all && sample.label(l.name) == l.value;
        if (all) return sample.value;
    }
    return NAN;
}

}  // namespace benchdist::test
