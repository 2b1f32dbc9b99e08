#include "benchdist/stats/steady_state.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace benchdist::stats {

namespace {

std::string format(double v, const char* spec) {
    char out[64];
    std::snprintf(out, sizeof out, spec, v);
    return out;
}

// What the counter gained from the first read to read i, steps that went
// backwards counting as no gain (as in rate_steps), so the progress is
// never negative and interpolates linearly between reads.
struct Progress {
    std::vector<std::int64_t> at_ms;
    std::vector<double> gained;

    double at(double t_ms) const {
        if (at_ms.empty()) return 0;
        if (t_ms <= static_cast<double>(at_ms.front())) return 0;
        for (std::size_t i = 1; i < at_ms.size(); ++i) {
            const auto t1 = static_cast<double>(at_ms[i]);
            if (t_ms > t1) continue;
            const auto t0 = static_cast<double>(at_ms[i - 1]);
            const double share = t1 > t0 ? (t_ms - t0) / (t1 - t0) : 1.0;
            return gained[i - 1] + share * (gained[i] - gained[i - 1]);
        }
        return gained.back();
    }
};

Progress progress_of(std::span<const RateStep> steps) {
    Progress p;
    if (steps.empty()) return p;
    p.at_ms.push_back(steps.front().start_ms);
    p.gained.push_back(0);
    for (const auto& s : steps) {
        p.at_ms.push_back(s.end_ms);
        p.gained.push_back(p.gained.back() + s.per_second * s.seconds());
    }
    return p;
}

}  // namespace

std::vector<RateStep> rate_steps(std::span<const CounterPoint> reads) {
    std::vector<RateStep> out;
    const CounterPoint* prev = nullptr;
    for (const auto& r : reads) {
        if (prev && r.at_ms <= prev->at_ms) continue;
        if (prev) {
            RateStep s{prev->at_ms, r.at_ms, 0};
            if (r.counter >= prev->counter) s.per_second = static_cast<double>(r.counter - prev->counter) / s.seconds();
            out.push_back(s);
        }
        prev = &r;
    }
    return out;
}

std::size_t SteadyRule::rates_needed() const {
    const double whole = std::ceil(seconds - 1e-9);
    return whole < 2 ? 2 : static_cast<std::size_t>(whole);
}

SteadyCheck check_steady(std::span<const RateStep> rates, const SteadyRule& rule) {
    SteadyCheck c;
    const std::size_t n = rule.rates_needed();
    if (rates.size() < n) return c;
    const auto last = rates.subspan(rates.size() - n);
    double sum = 0;
    for (const auto& r : last) sum += r.per_second;
    c.mean = sum / static_cast<double>(n);
    if (!(c.mean > 0)) return c;
    double squares = 0;
    for (const auto& r : last) squares += (r.per_second - c.mean) * (r.per_second - c.mean);
    c.cv = std::sqrt(squares / static_cast<double>(n)) / c.mean;
    c.stable = *c.cv <= rule.max_cv;
    return c;
}

std::string_view stability_warning_name(StabilityWarning w) {
    switch (w) {
        case StabilityWarning::Decaying:
            return "decaying";
        case StabilityWarning::Collapsed:
            return "collapsed";
        case StabilityWarning::None:
            break;
    }
    return "";
}

WindowStability window_stability(std::span<const CounterPoint> reads) {
    WindowStability w;
    const auto steps = rate_steps(reads);
    w.samples = steps.size();
    if (steps.empty()) {
        w.note = "no rate: the window has fewer than two counter reads";
        return w;
    }
    const double t0 = static_cast<double>(steps.front().start_ms);
    w.seconds = (static_cast<double>(steps.back().end_ms) - t0) / 1000.0;
    double weight = 0;
    double counted = 0;
    for (const auto& s : steps) {
        weight += s.seconds();
        counted += s.per_second * s.seconds();
    }
    w.mean_per_second = counted / weight;
    const double mean = w.mean_per_second;

    // Weighted by each step's length: the mean is then the window's own
    // rate, and a short last step weighs as little as the time it covers.
    double var = 0;
    double x_mean = 0;
    for (const auto& s : steps) {
        var += s.seconds() * (s.per_second - mean) * (s.per_second - mean);
        x_mean += s.seconds() * ((static_cast<double>(s.start_ms + s.end_ms) / 2.0 - t0) / 1000.0);
    }
    var /= weight;
    x_mean /= weight;
    if (mean > 0) w.cv = std::sqrt(var) / mean;
    if (steps.size() >= 2) {
        double sxy = 0;
        double sxx = 0;
        for (const auto& s : steps) {
            const double x = (static_cast<double>(s.start_ms + s.end_ms) / 2.0 - t0) / 1000.0 - x_mean;
            sxy += s.seconds() * x * (s.per_second - mean);
            sxx += s.seconds() * x * x;
        }
        if (sxx > 0) {
            w.slope_per_second = sxy / sxx;
            if (mean > 0) w.relative_slope_per_second = *w.slope_per_second / mean;
        }
    }

    if (steps.size() < kMinStabilitySamples) {
        w.note = "not classified: " + std::to_string(steps.size()) + " rate step" + (steps.size() == 1 ? "" : "s") +
                 ", at least " + std::to_string(kMinStabilitySamples) +
                 " are needed (a longer window, or a shorter --sample-ms)";
        return w;
    }
    if (!(mean > 0)) {
        w.note = "not classified: nothing was committed in the window";
        return w;
    }
    w.classified = true;

    const auto progress = progress_of(steps);
    const double length_ms = w.seconds * 1000.0;
    const double split_ms = t0 + 0.75 * length_ms;
    const double head_rate = progress.at(split_ms) / (0.75 * w.seconds);
    const double tail_rate = (progress.gained.back() - progress.at(split_ms)) / (0.25 * w.seconds);
    if (head_rate > 0 && tail_rate < kCollapseRatio * head_rate) {
        w.warning = StabilityWarning::Collapsed;
        w.note = "the last quarter of the window ran at " + format(tail_rate, "%.1f") + "/s, " +
                 format(tail_rate / head_rate * 100.0, "%.1f") + "% of the first three quarters' " +
                 format(head_rate, "%.1f") + "/s";
        return w;
    }
    for (std::size_t i = 1; i < steps.size(); ++i) {
        const auto& s = steps[i];
        if (s.end_ms - s.start_ms < kStallStepMs || s.per_second > 0) continue;
        if (mean * s.seconds() < kStallExpectedCount) continue;
        w.warning = StabilityWarning::Collapsed;
        w.note = "nothing was committed for " + format(s.seconds(), "%.3f") + " s from " +
                 format((static_cast<double>(s.start_ms) - t0) / 1000.0, "%.3f") +
                 " s into the window, against a mean of " + format(mean, "%.1f") + "/s";
        return w;
    }
    if (w.slope_per_second && -*w.slope_per_second * w.seconds > kDecayFraction * mean) {
        w.warning = StabilityWarning::Decaying;
        w.note = "the fitted rate fell by " + format(-*w.slope_per_second * w.seconds, "%.1f") + "/s over the " +
                 format(w.seconds, "%.1f") + " s window, " +
                 format(-*w.slope_per_second * w.seconds / mean * 100.0, "%.1f") + "% of its mean " +
                 format(mean, "%.1f") + "/s";
    }
    return w;
}

}  // namespace benchdist::stats
