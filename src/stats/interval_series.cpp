#include "benchdist/stats/interval_series.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace benchdist::stats {

namespace {

void check_compatible(const Interval& a, const Interval& b) {
    if (a.length_ms != b.length_ms)
        throw std::invalid_argument("intervals: cannot combine intervals of " + std::to_string(a.length_ms) +
                                    " ms and " + std::to_string(b.length_ms) + " ms");
    if (a.totals.latency.significant_digits() != b.totals.latency.significant_digits())
        throw std::invalid_argument("intervals: cannot combine histograms of " +
                                    std::to_string(a.totals.latency.significant_digits()) + " and " +
                                    std::to_string(b.totals.latency.significant_digits()) + " significant digits");
}

void check_sorted(std::span<const Interval> intervals, std::string_view what) {
    for (std::size_t i = 1; i < intervals.size(); ++i) {
        check_compatible(intervals[0], intervals[i]);
        if (intervals[i].start_ms <= intervals[i - 1].start_ms)
            throw std::invalid_argument("intervals: " + std::string(what) +
                                        " is not sorted by strictly increasing start");
    }
}

// Smallest multiple of d that is >= n, for d > 0.
std::int64_t align_up(std::int64_t n, std::int64_t d) {
    const std::int64_t down = align_down(n, d);
    return down == n ? n : down + d;
}

}  // namespace

std::int64_t align_down(std::int64_t time_ms, std::int64_t length_ms) {
    std::int64_t q = time_ms / length_ms;
    if (time_ms % length_ms != 0 && time_ms < 0) --q;
    return q * length_ms;
}

void merge_into(std::vector<Interval>& target, std::span<const Interval> source) {
    check_sorted(source, "source");
    if (!target.empty() && !source.empty()) check_compatible(target.front(), source.front());
    std::vector<Interval> out;
    out.reserve(target.size() + source.size());
    std::size_t i = 0;
    std::size_t k = 0;
    while (i < target.size() || k < source.size()) {
        if (k == source.size() || (i < target.size() && target[i].start_ms < source[k].start_ms)) {
            out.push_back(std::move(target[i++]));
        } else if (i == target.size() || source[k].start_ms < target[i].start_ms) {
            out.push_back(source[k++]);
        } else {
            target[i].totals.merge(source[k++].totals);
            out.push_back(std::move(target[i++]));
        }
    }
    target = std::move(out);
}

std::vector<Interval> merge_intervals(const std::vector<std::vector<Interval>>& timelines) {
    std::vector<Interval> out;
    for (const auto& timeline : timelines) merge_into(out, timeline);
    return out;
}

double WindowSelection::coverage() const noexcept {
    if (window_ms() <= 0 || slots == 0) return 0.0;
    const double present_ms =
        static_cast<double>(intervals_present) * static_cast<double>(span_ms()) / static_cast<double>(slots);
    return present_ms / static_cast<double>(window_ms());
}

WindowSelection select_window(std::span<const Interval> intervals, std::int64_t window_start_ms,
                              std::int64_t window_end_ms, const IntervalOptions& options) {
    if (options.length_ms <= 0) throw std::invalid_argument("intervals: length must be positive");
    if (window_end_ms <= window_start_ms)
        throw std::invalid_argument("intervals: window end " + std::to_string(window_end_ms) +
                                    " is not after its start " + std::to_string(window_start_ms));
    check_sorted(intervals, "the timeline");
    const std::int64_t len = options.length_ms;
    for (const Interval& iv : intervals)
        if (iv.length_ms != len)
            throw std::invalid_argument("intervals: timeline has " + std::to_string(iv.length_ms) +
                                        " ms intervals, selection expects " + std::to_string(len));

    WindowSelection sel;
    sel.totals = OutcomeTotals(options.significant_digits);
    sel.window_start_ms = window_start_ms;
    sel.window_end_ms = window_end_ms;
    // Midpoint s + len/2 in [start, end)  <=>  2s + len in [2 start, 2 end),
    // kept in integers so odd lengths are exact.
    const std::int64_t first = align_up(2 * window_start_ms - len, 2 * len) / 2;
    const std::int64_t last_excl = align_up(2 * window_end_ms - len, 2 * len) / 2;
    if (last_excl > first) {
        sel.span_start_ms = first;
        sel.span_end_ms = last_excl;
        sel.slots = static_cast<std::size_t>((last_excl - first) / len);
    } else {
        sel.span_start_ms = sel.span_end_ms = first;
    }
    const auto begin = std::lower_bound(intervals.begin(), intervals.end(), sel.span_start_ms,
                                        [](const Interval& iv, std::int64_t t) { return iv.start_ms < t; });
    for (auto it = begin; it != intervals.end() && it->start_ms < sel.span_end_ms; ++it) {
        sel.totals.merge(it->totals);
        ++sel.intervals_present;
    }
    return sel;
}

Json intervals_to_json(std::span<const Interval> intervals) {
    Json out = Json::array();
    for (const Interval& iv : intervals) out.push_back(interval_to_json(iv));
    return out;
}

std::vector<Interval> intervals_from_json(const Json& j) {
    if (!j.is_array()) throw std::invalid_argument("intervals: expected a JSON array of intervals");
    std::vector<Interval> out;
    out.reserve(j.size());
    for (const Json& e : j) out.push_back(interval_from_json(e));
    check_sorted(out, "the list");
    return out;
}

}  // namespace benchdist::stats
