// Statistics of one figure (TPS, a latency percentile) over the repeats of
// a campaign point or the runs of `start-epoch --runs`: only valid epochs go
// in, so an invalid epoch's number can never move a mean or a median; the
// caller counts the invalid ones beside.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "benchdist/campaign/grid.hpp"

namespace benchdist::campaign {

struct Summary {
    std::size_t n = 0;
    double mean = 0;
    double median = 0;  // the middle value; the mean of the two middle ones for an even n
    double stddev = 0;  // sample standard deviation (n - 1); 0 for a single value
    double min = 0;
    double max = 0;
};

// nullopt for no values: there is then no figure to report, not a zero.
std::optional<Summary> summarize(std::vector<double> values);

// The median alone (nullopt for no values).
std::optional<double> median(std::vector<double> values);

// {"mean", "median", "stddev", "min", "max", "n"}, rounded to 0.01.
Json to_json(const Summary& s);
Summary summary_from_json(const Json& j);

}  // namespace benchdist::campaign
