// When an open-loop schedule counts as kept: the achieved rate reaches a
// share of the target, and the send lag behind the schedule stays small at
// the 99th percentile. The coordinator's result and the generator's own log
// line judge by this one rule, so an operator watching a load machine and the
// result file never disagree about the same run.
#pragma once

#include <optional>

namespace benchdist::stats {

struct ScheduleRule {
    // The achieved rate must be at least this share of the target...
    double min_rate_ratio = 0.98;
    // ...and the send lag's p99 at most this.
    double max_send_lag_p99_ms = 10;

    // Below the target's share; never for an unknown target.
    bool rate_short(std::optional<double> target_per_second, double achieved_per_second) const {
        return target_per_second && achieved_per_second < min_rate_ratio * *target_per_second;
    }
    bool lag_high(double send_lag_p99_us) const { return send_lag_p99_us > max_send_lag_p99_ms * 1000.0; }
    bool kept(std::optional<double> target_per_second, double achieved_per_second, double send_lag_p99_us) const {
        return !rate_short(target_per_second, achieved_per_second) && !lag_high(send_lag_p99_us);
    }
};

}  // namespace benchdist::stats
