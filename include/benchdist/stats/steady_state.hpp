// Steady state of a server's throughput, from reads of its committed-
// transfer counter: when has the rate settled enough to open a measured
// window (`--warmup auto`), and did it stay settled inside the window? Pure
// arithmetic over (time, counter) pairs, so both rules are unit-tested with
// synthetic series; the coordinator takes the reads, these decide.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace benchdist::stats {

// One read of a cumulative counter and when it was taken (ms, any epoch).
struct CounterPoint {
    std::int64_t at_ms = 0;
    std::uint64_t counter = 0;
};

// The rate between two consecutive reads: counts per second over
// [start_ms, end_ms). A counter that went backwards (a server restart)
// gives a rate of 0 for that step, never a negative one: neither rule
// below may read a reset as steady.
struct RateStep {
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
    double per_second = 0;
    double seconds() const { return static_cast<double>(end_ms - start_ms) / 1000.0; }
};

// The steps between consecutive reads; reads not later than the previous
// one are skipped (they span no time).
std::vector<RateStep> rate_steps(std::span<const CounterPoint> reads);

// --- When to open the window (`--warmup auto`) -----------------------------

struct SteadyRule {
    // The coefficient of variation (population standard deviation / mean)
    // of the last rates must be at most this (--stable-cv).
    double max_cv = 0.05;
    // ... over this many seconds of rates (--stable-seconds). The
    // coordinator reads the counter about once a second, so this is the
    // number of rates looked at: ceil(seconds), and never fewer than 2
    // (one rate has no variation to judge).
    double seconds = 5;
    std::size_t rates_needed() const;
};

struct SteadyCheck {
    bool stable = false;
    // The CV of the last rates_needed() rates; absent while there are
    // fewer rates than that, or when their mean is 0 (nothing committed:
    // no rate to be steady at).
    std::optional<double> cv;
    double mean = 0;
};

// Stable when the last rule.rates_needed() rates have a mean above 0 and a
// CV of at most rule.max_cv. Fewer rates than needed: not yet.
SteadyCheck check_steady(std::span<const RateStep> rates, const SteadyRule& rule);

// --- How steady the measured window was ------------------------------------

// What the window's throughput did, from its counter reads (the window's
// first read, the timeline samples, its last read):
//  - cv: CV of the per-step rates, each weighted by its length (the last
//    step, up to the end read, is often shorter);
//  - slope_per_second: the weighted least-squares line of rate against the
//    step's midpoint time, in counts/s per second;
//  - relative_slope_per_second: that slope over the window's mean rate
//    (total counted / total time), per second;
//  - samples: the number of rate steps.
// Classification (only with at least kMinStabilitySamples steps and a mean
// above 0; otherwise `classified` is false and `note` says why):
//  - collapsed: the last quarter of the window (by time, the counter
//    interpolated linearly between reads) ran below kCollapseRatio (25%) of
//    the rate of its first three quarters; or a step after the first, at
//    least kStallStepMs long, committed nothing although the window's mean
//    rate would have given it at least kStallExpectedCount commits. Either
//    way the window's mean is not the server's capacity.
//  - decaying: not collapsed, and the fitted line falls by more than
//    kDecayFraction (10%) of the mean over the window's length:
//    -slope * length > 0.10 * mean.
enum class StabilityWarning { None, Decaying, Collapsed };
std::string_view stability_warning_name(StabilityWarning w);  // "", "decaying", "collapsed"

inline constexpr std::size_t kMinStabilitySamples = 3;
inline constexpr double kDecayFraction = 0.10;
inline constexpr double kCollapseRatio = 0.25;
inline constexpr std::int64_t kStallStepMs = 500;
inline constexpr double kStallExpectedCount = 5;

struct WindowStability {
    std::size_t samples = 0;
    double mean_per_second = 0;
    double seconds = 0;  // first read to last read
    // Absent when they cannot be computed: no step (cv), fewer than two
    // steps (slope), a mean of 0 (cv, relative slope).
    std::optional<double> cv;
    std::optional<double> slope_per_second;
    std::optional<double> relative_slope_per_second;
    bool classified = false;
    StabilityWarning warning = StabilityWarning::None;
    // Why there is no classification, or what the warning saw.
    std::string note;
};

WindowStability window_stability(std::span<const CounterPoint> reads);

}  // namespace benchdist::stats
