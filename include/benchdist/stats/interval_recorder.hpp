// Records one thread's operation outcomes into wall-clock intervals (see
// interval.hpp). The clock is passed in as unix ms, so the recorder is pure
// and tests are deterministic. A recording for the interval already in use
// is O(1) and allocation-free; the first recording of a new interval
// allocates that interval's histograms (once a second by default), and only
// those the recording fills: closed-loop recording never allocates the
// open-loop histograms. Each filled histogram is about 136 KiB at 3 digits,
// so a long-running owner should ship and drop finished intervals with
// take_completed() rather than keep hours of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "benchdist/stats/interval_series.hpp"

namespace benchdist::stats {

class IntervalRecorder {
public:
    // Throws std::invalid_argument for a non-positive length or digits
    // outside 1..5.
    explicit IntervalRecorder(IntervalOptions options = {});

    // An operation is counted in the interval in which its outcome became
    // known (now_ms), both as attempted and as its outcome. Closed loop.
    void record_success(std::int64_t now_ms, std::uint64_t latency_us) {
        OutcomeTotals& t = at(now_ms);
        ++t.attempted;
        ++t.committed;
        t.latency.record(latency_us);
    }
    // Open loop: latency_us runs from the intended send time (so a late
    // send's wait counts, correcting coordinated omission), uncorrected_us
    // from the actual send.
    void record_success(std::int64_t now_ms, std::uint64_t latency_us, std::uint64_t uncorrected_us) {
        OutcomeTotals& t = at(now_ms);
        ++t.attempted;
        ++t.committed;
        t.latency.record(latency_us);
        t.latency_uncorrected.record(uncorrected_us);
    }
    // Open loop: actual send minus intended send, in the interval of the
    // send (now_ms). Not an outcome: attempted is unchanged.
    void record_send_lag(std::int64_t now_ms, std::uint64_t lag_us) { at(now_ms).send_lag.record(lag_us); }
    // message matters only for FailureKind::ModuleError.
    void record_failure(std::int64_t now_ms, FailureKind kind, std::string_view message = {}) {
        OutcomeTotals& t = at(now_ms);
        ++t.attempted;
        t.failures.add(kind, message);
    }

    const IntervalOptions& options() const noexcept { return options_; }
    std::int64_t interval_start(std::int64_t now_ms) const { return align_down(now_ms, options_.length_ms); }

    // Sorted by start; only intervals with at least one outcome or send lag
    // exist.
    std::span<const Interval> intervals() const noexcept { return intervals_; }
    // Removes and returns the intervals that ended at or before now_ms:
    // nothing can be recorded into them any more unless the clock steps back.
    std::vector<Interval> take_completed(std::int64_t now_ms);
    void clear() noexcept;

    Json to_json() const { return intervals_to_json(intervals_); }
    WindowSelection select(std::int64_t window_start_ms, std::int64_t window_end_ms) const {
        return select_window(intervals_, window_start_ms, window_end_ms, options_);
    }

private:
    OutcomeTotals& at(std::int64_t now_ms) {
        const std::int64_t start = interval_start(now_ms);
        if (current_ < intervals_.size() && intervals_[current_].start_ms == start) return intervals_[current_].totals;
        return open(start);
    }
    OutcomeTotals& open(std::int64_t start);

    IntervalOptions options_;
    std::vector<Interval> intervals_;
    std::size_t current_ = 0;  // index of the interval used last
};

}  // namespace benchdist::stats
