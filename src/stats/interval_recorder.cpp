#include "benchdist/stats/interval_recorder.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace benchdist::stats {

IntervalRecorder::IntervalRecorder(IntervalOptions options) : options_(options) {
    if (options_.length_ms <= 0)
        throw std::invalid_argument("interval recorder: interval length must be positive, got " +
                                    std::to_string(options_.length_ms) + " ms");
    (void)LatencyHistogram(options_.significant_digits);  // validates the digits now, not at the first record
}

OutcomeTotals& IntervalRecorder::open(std::int64_t start) {
    const auto it = std::lower_bound(intervals_.begin(), intervals_.end(), start,
                                     [](const Interval& iv, std::int64_t t) { return iv.start_ms < t; });
    if (it == intervals_.end() || it->start_ms != start) {
        const auto inserted = intervals_.insert(it, Interval{.start_ms = start,
                                                             .length_ms = options_.length_ms,
                                                             .totals = OutcomeTotals(options_.significant_digits)});
        current_ = static_cast<std::size_t>(inserted - intervals_.begin());
    } else {
        current_ = static_cast<std::size_t>(it - intervals_.begin());
    }
    return intervals_[current_].totals;
}

std::vector<Interval> IntervalRecorder::take_completed(std::int64_t now_ms) {
    const auto end = std::find_if(intervals_.begin(), intervals_.end(),
                                  [&](const Interval& iv) { return iv.start_ms + options_.length_ms > now_ms; });
    std::vector<Interval> done(std::make_move_iterator(intervals_.begin()), std::make_move_iterator(end));
    intervals_.erase(intervals_.begin(), end);
    current_ = intervals_.size();  // forces a lookup on the next record
    return done;
}

void IntervalRecorder::clear() noexcept {
    intervals_.clear();
    current_ = 0;
}

}  // namespace benchdist::stats
