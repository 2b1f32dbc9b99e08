// bench-dist's own Prometheus metrics: what the coordinator's GET /metrics
// and bench-dist-generator's --metrics-listen endpoint share. The text
// format itself is stdb::MetricsWriter's (stdb/prometheus.hpp); this adds
// the families' HELP and TYPE lines written with their samples, the fixed
// latency buckets every process uses -- fixed so that series from the
// coordinator, every generator and every run can be summed and compared
// with one PromQL expression -- and the HTTP answer of a scrape.
//
// Naming (docs/observability.md ("Prometheus metrics") lists every metric):
// benchdist_<process>_<what>_<unit>, base units (seconds), counters end in
// _total, an enumeration is a one-hot gauge family with the value as a
// label (phase="measure" 1, the others 0), text that describes a thing is an
// _info gauge of value 1.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/net/http_server.hpp"
#include "benchdist/stats/latency_histogram.hpp"
#include "benchdist/stdb/prometheus.hpp"

namespace benchdist::metrics {

// Upper bounds of the latency histograms' buckets, in microseconds: 1-2-5
// steps from 50 us (a loopback stand-in's fastest calls) to 60 s (beyond the
// generator's longest op timeout), 19 buckets plus +Inf -- few enough that a
// fleet's series stay cheap, close enough for histogram_quantile() to land
// within a step of the HDR percentiles the results report.
inline constexpr std::array<std::uint64_t, 19> kLatencyBoundsUs = {50,      100,      200,      500,     1000,
                                                                   2000,    5000,     10000,    20000,   50000,
                                                                   100000,  200000,   500000,   1000000, 2000000,
                                                                   5000000, 10000000, 30000000, 60000000};

// The histogram's recordings as cumulative counts at kLatencyBoundsUs (le in
// seconds). A recording counts at or below a bound only when its whole HDR
// bucket does (highest_equivalent <= bound), so a quantile read from these
// buckets is never below the true one -- the HDR histogram's own rule.
std::vector<stdb::HistogramBucket> latency_buckets(const stats::LatencyHistogram& histogram);

// # HELP and # TYPE of a family; its samples follow.
void family(stdb::MetricsWriter& out, std::string_view name, std::string_view type, std::string_view help);
// A family of one unlabelled sample.
void gauge(stdb::MetricsWriter& out, std::string_view name, std::string_view help, double value);
void counter(stdb::MetricsWriter& out, std::string_view name, std::string_view help, std::uint64_t value);
// A histogram family of one series: name_bucket{le=...} (seconds), name_sum
// (seconds) and name_count, from a histogram of microseconds.
void latency_histogram(stdb::MetricsWriter& out, std::string_view name, std::string_view help,
                       const stats::LatencyHistogram& histogram);

// 200 with the exposition text and its Content-Type.
net::HttpResponse exposition_response(std::string text);

// A handler for a server that only serves metrics: GET /metrics answers
// render()'s text (rendered per scrape, on the server's thread); another
// method there 405, any other path 404 naming /metrics.
net::RequestHandler metrics_only_handler(std::function<std::string()> render);

}  // namespace benchdist::metrics
