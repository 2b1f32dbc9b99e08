// Rounding of reported figures to a step (0.1, 0.001, 1, ...), shared by the
// coordinator's result and the generator's local-run result so both print
// the same way.
#pragma once

#include <cmath>

namespace benchdist::stats {

// For steps below 1 it divides by the whole number of steps per unit rather
// than multiplying by the step, so 0.1-steps print as "23021.3", not
// "23021.300000000003".
inline double round_to(double v, double step) {
    if (step >= 1.0) return std::round(v / step) * step;
    const double per_unit = std::round(1.0 / step);
    return std::round(v * per_unit) / per_unit;
}

}  // namespace benchdist::stats
