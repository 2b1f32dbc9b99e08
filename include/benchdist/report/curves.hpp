// What a campaign's charts plot, computed here rather than in the page's
// script so it is unit-tested: TPS against the varied knob with one series
// per combination of the other knobs (sweep), against the load with the
// knee (saturate), per run (--runs); latency against TPS from the same
// points. An invalid point keeps its place in a series without a figure:
// the charts and tables show it as invalid, never as a number.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "benchdist/report/model.hpp"

namespace benchdist::report {

struct CurvePoint {
    double x = 0;  // the knob's value (a run's number for --runs)
    std::string description;
    std::string status;  // "valid", "invalid" (after its retries) or "pending" (started, not finished)
    // Over the point's measured repeats (campaign::point_json): the median
    // TPS and latency; absent for an invalid point.
    std::optional<double> tps, p50_us, p99_us;
    bool slo_ok = true;
    std::string why;  // an invalid point's reasons, "code: message; ..."
};

struct CurveSeries {
    std::string name;                // "alpha=1.5", or the campaign's kind when nothing else varies
    std::vector<CurvePoint> points;  // by x
};

struct CampaignCurves {
    std::string knob;  // the x axis: a knob name, or "run"
    std::vector<CurveSeries> series;
    std::optional<CurvePoint> knee;  // saturate, when the search found one
    // The x values span a factor of 8 or more (a doubling search, a sweep
    // over 8..512 connections): a logarithmic axis shows them evenly.
    bool log_x = false;
};

// Points never run (no epoch yet) are left out.
CampaignCurves campaign_curves(const CampaignReport& c);

}  // namespace benchdist::report
