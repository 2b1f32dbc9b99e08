// Operations on a timeline of Intervals (sorted by start, one length):
// merging the timelines of many threads or generators by interval start,
// choosing the intervals that belong to a measured window, and the JSON
// list form. The coordinator's window is measured in wall-clock ms and does
// not line up with interval edges, so the rule for edge intervals is fixed
// here once, and the selection says how much of the window it covers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "benchdist/stats/interval.hpp"

namespace benchdist::stats {

struct IntervalOptions {
    std::int64_t length_ms = 1000;
    int significant_digits = LatencyHistogram::kDefaultSignificantDigits;
};

// The start of the interval holding time_ms: floor to a multiple of length_ms
// (also for negative times).
std::int64_t align_down(std::int64_t time_ms, std::int64_t length_ms);

// Adds the sorted intervals of source into the sorted target, combining
// those with the same start. Throws std::invalid_argument if a length or the
// histogram digits differ from the target's (or from each other).
void merge_into(std::vector<Interval>& target, std::span<const Interval> source);
std::vector<Interval> merge_intervals(const std::vector<std::vector<Interval>>& timelines);

// Rule: an interval [s, s+L) belongs to the window [start, end) when its
// midpoint s + L/2 lies inside it. So each interval is counted wholly or
// not at all, each slot belongs to at most one of two adjacent windows, and
// a window of n*L ms always spans n slots, however it is aligned.
struct WindowSelection {
    std::int64_t window_start_ms = 0;
    std::int64_t window_end_ms = 0;
    // The slots the rule assigns to the window: [span_start_ms, span_end_ms).
    // Empty (both equal) when the window holds no slot midpoint. Rates over
    // the window divide by this span.
    std::int64_t span_start_ms = 0;
    std::int64_t span_end_ms = 0;
    std::size_t slots = 0;              // (span_end - span_start) / L
    std::size_t intervals_present = 0;  // slots in the span that had any outcome (or send lag)
    OutcomeTotals totals;

    std::int64_t window_ms() const noexcept { return window_end_ms - window_start_ms; }
    std::int64_t span_ms() const noexcept { return span_end_ms - span_start_ms; }
    // Share of the window's length covered by intervals with data; below 1
    // when the edges do not fit the rule or slots had no outcome at all.
    double coverage() const noexcept;
};

// intervals: sorted by start, all of options.length_ms (std::invalid_argument
// otherwise, or when end <= start).
WindowSelection select_window(std::span<const Interval> intervals, std::int64_t window_start_ms,
                              std::int64_t window_end_ms, const IntervalOptions& options);

Json intervals_to_json(std::span<const Interval> intervals);
// A JSON array of intervals with strictly increasing starts and one length.
std::vector<Interval> intervals_from_json(const Json& j);

}  // namespace benchdist::stats
