// The shared parts of our /metrics: HDR latency into fixed Prometheus
// buckets, families with HELP and TYPE, and the metrics-only HTTP handler.
#include "benchdist/metrics/exposition.hpp"

#include <gtest/gtest.h>

#include "prometheus_lint.hpp"

namespace benchdist::metrics {
namespace {

TEST(LatencyBuckets, EmptyHistogramHasEveryBoundAtZero) {
    const auto b = latency_buckets(stats::LatencyHistogram());
    ASSERT_EQ(b.size(), kLatencyBoundsUs.size());
    for (std::size_t i = 0; i < b.size(); ++i) {
        EXPECT_DOUBLE_EQ(b[i].upper_bound, static_cast<double>(kLatencyBoundsUs[i]) / 1e6);
        EXPECT_EQ(b[i].cumulative_count, 0U);
    }
}

TEST(LatencyBuckets, CountsAreCumulativeAndExactBelowTheHdrResolution) {
    stats::LatencyHistogram h;
    h.record(10);    // <= 50 us
    h.record(50);    // exactly on a bound: le is inclusive
    h.record(51);    // <= 100 us
    h.record(999);   // <= 1 ms
    h.record(1000);  // exactly 1 ms
    h.record(1001);  // <= 2 ms
    const auto b = latency_buckets(h);
    EXPECT_EQ(b[0].cumulative_count, 2U);  // 50 us
    EXPECT_EQ(b[1].cumulative_count, 3U);  // 100 us
    EXPECT_EQ(b[3].cumulative_count, 3U);  // 500 us
    EXPECT_EQ(b[4].cumulative_count, 5U);  // 1 ms
    EXPECT_EQ(b[5].cumulative_count, 6U);  // 2 ms
    EXPECT_EQ(b.back().cumulative_count, 6U);
}

TEST(LatencyBuckets, ARecordingCountsBelowABoundOnlyWhenItsWholeHdrBucketDoes) {
    // Above 2048 us an HDR bucket (3 digits) spans several microseconds; one
    // that straddles 5 ms goes to the next bound, so a quantile read from the
    // buckets is never below the true one.
    stats::LatencyHistogram h;
    const std::size_t at = h.index_of(5000);
    ASSERT_GT(h.highest_equivalent(at), 5000U) << "the test needs a bucket that straddles 5 ms";
    h.record(h.lowest_equivalent(at));
    h.record(h.lowest_equivalent(at) - 1);
    const auto b = latency_buckets(h);
    EXPECT_EQ(b[6].cumulative_count, 1U);  // le=0.005
    EXPECT_EQ(b[7].cumulative_count, 2U);  // le=0.01
}

TEST(LatencyBuckets, ValuesBeyondTheLastBoundAreOnlyInInf) {
    stats::LatencyHistogram h;
    h.record(120'000'000);  // clamped to ~67 s by the HDR histogram
    h.record(100);
    const auto b = latency_buckets(h);
    EXPECT_EQ(b.back().cumulative_count, 1U);  // 60 s
    stdb::MetricsWriter w;
    latency_histogram(w, "benchdist_test_latency_seconds", "test", h);
    const auto s = test::lint_exposition(w.text());
    EXPECT_EQ(test::sample_value(s, "benchdist_test_latency_seconds_bucket", {{"le", "+Inf"}}), 2);
    EXPECT_EQ(test::sample_value(s, "benchdist_test_latency_seconds_count"), 2);
    EXPECT_NEAR(test::sample_value(s, "benchdist_test_latency_seconds_sum"), static_cast<double>(h.sum()) / 1e6, 1e-9);
}

TEST(LatencyBuckets, TextRisesMonotonicallyForManyValues) {
    stats::LatencyHistogram h;
    for (std::uint64_t v = 1; v < 70'000'000; v = v * 3 / 2 + 1) h.record(v);
    stdb::MetricsWriter w;
    latency_histogram(w, "benchdist_test_latency_seconds", "Latency\nwith a \\ in its help", h);
    EXPECT_NE(w.text().find("# HELP benchdist_test_latency_seconds Latency\\nwith a \\\\ in its help\n"),
              std::string::npos);
    EXPECT_NE(w.text().find("# TYPE benchdist_test_latency_seconds histogram\n"), std::string::npos);
    test::lint_exposition(w.text());  // monotonic, +Inf == count
}

TEST(Families, GaugeAndCounterWriteHelpTypeAndOneSample) {
    stdb::MetricsWriter w;
    gauge(w, "benchdist_test_open_connections", "Open connections", 3);
    counter(w, "benchdist_test_calls_total", "Calls", 18446744073709551615ULL);
    EXPECT_EQ(w.text(),
              "# HELP benchdist_test_open_connections Open connections\n"
              "# TYPE benchdist_test_open_connections gauge\n"
              "benchdist_test_open_connections 3\n"
              "# HELP benchdist_test_calls_total Calls\n"
              "# TYPE benchdist_test_calls_total counter\n"
              "benchdist_test_calls_total 18446744073709551615\n");
}

TEST(Families, LabelValuesAreEscapedAndMadeUtf8) {
    stdb::MetricsWriter w;
    family(w, "benchdist_test_info", "gauge", "test");
    const std::string hostile = "a\"b\\c\nd\xff\xfe} x=\"1\"";
    w.sample("benchdist_test_info", {{"id", hostile}}, 1);
    const auto s = test::lint_exposition(w.text());
    ASSERT_EQ(s.samples.size(), 1U);
    EXPECT_EQ(s.samples[0].label("id"), "a\"b\\c\nd\xEF\xBF\xBD\xEF\xBF\xBD} x=\"1\"");
    EXPECT_EQ(w.text().find('\xff'), std::string::npos);
}

net::HttpRequest request(std::string method, std::string path) {
    net::HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.target = r.path;
    return r;
}

net::HttpResponse call(const net::RequestHandler& h, net::HttpRequest req) {
    net::HttpResponse out;
    h(std::move(req), [&out](net::HttpResponse r) { out = std::move(r); });
    return out;
}

TEST(MetricsOnlyHandler, ServesTheTextOnGetMetricsOnly) {
    int renders = 0;
    const auto h = metrics_only_handler([&renders] {
        ++renders;
        return std::string("benchdist_x 1\n");
    });
    const auto ok = call(h, request("GET", "/metrics"));
    EXPECT_EQ(ok.status, 200U);
    EXPECT_EQ(ok.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(ok.body, "benchdist_x 1\n");
    const auto post = call(h, request("POST", "/metrics"));
    EXPECT_EQ(post.status, 405U);
    ASSERT_EQ(post.headers.size(), 1U);
    EXPECT_EQ(post.headers[0].second, "GET");
    const auto other = call(h, request("GET", "/"));
    EXPECT_EQ(other.status, 404U);
    EXPECT_NE(other.body.find("/metrics"), std::string::npos);
    EXPECT_EQ(renders, 1);
}

}  // namespace
}  // namespace benchdist::metrics
