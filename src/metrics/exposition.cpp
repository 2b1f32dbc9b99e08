// Families, latency buckets and the scrape's answer (exposition.hpp).
#include "benchdist/metrics/exposition.hpp"

namespace benchdist::metrics {

namespace {
constexpr double kMicrosecondsPerSecond = 1e6;
}  // namespace

std::vector<stdb::HistogramBucket> latency_buckets(const stats::LatencyHistogram& histogram) {
    std::vector<std::uint64_t> in_bucket(kLatencyBoundsUs.size(), 0);
    if (!histogram.empty()) {
        // HDR buckets and bounds both increase: one pass, each HDR bucket
        // into the first bound that holds all of it (none: only +Inf).
        std::size_t bound = 0;
        for (std::size_t i = 0; i < histogram.bucket_count() && bound < kLatencyBoundsUs.size(); ++i) {
            const std::uint64_t n = histogram.count_at_index(i);
            if (n == 0) continue;
            const std::uint64_t highest = histogram.highest_equivalent(i);
            while (bound < kLatencyBoundsUs.size() && highest > kLatencyBoundsUs[bound]) ++bound;
            if (bound < kLatencyBoundsUs.size()) in_bucket[bound] += n;
        }
    }
    std::vector<stdb::HistogramBucket> out;
    out.reserve(kLatencyBoundsUs.size());
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kLatencyBoundsUs.size(); ++b) {
        cumulative += in_bucket[b];
        out.push_back({static_cast<double>(kLatencyBoundsUs[b]) / kMicrosecondsPerSecond, cumulative});
    }
    return out;
}

void family(stdb::MetricsWriter& out, std::string_view name, std::string_view type, std::string_view help) {
    out.help(name, help);
    out.type(name, type);
}

void gauge(stdb::MetricsWriter& out, std::string_view name, std::string_view help, double value) {
    family(out, name, "gauge", help);
    out.sample_double(name, {}, value);
}

void counter(stdb::MetricsWriter& out, std::string_view name, std::string_view help, std::uint64_t value) {
    family(out, name, "counter", help);
    out.sample(name, {}, value);
}

void latency_histogram(stdb::MetricsWriter& out, std::string_view name, std::string_view help,
                       const stats::LatencyHistogram& histogram) {
    family(out, name, "histogram", help);
    const auto buckets = latency_buckets(histogram);
    out.histogram(name, {}, buckets, static_cast<double>(histogram.sum()) / kMicrosecondsPerSecond, histogram.count());
}

net::HttpResponse exposition_response(std::string text) {
    net::HttpResponse r = net::HttpResponse::text(200, std::move(text));
    r.content_type = std::string(stdb::kExpositionContentType);
    return r;
}

net::RequestHandler metrics_only_handler(std::function<std::string()> render) {
    return [render = std::move(render)](net::HttpRequest req, net::Respond respond) {
        if (req.path != "/metrics") {
            respond(net::HttpResponse::text(404, "Not found: this server serves only GET /metrics\n"));
        } else if (req.method != "GET") {
            auto r = net::HttpResponse::text(405, "Method " + req.method + " not allowed on /metrics; use GET\n");
            r.headers.emplace_back("Allow", "GET");
            respond(std::move(r));
        } else {
            respond(exposition_response(render()));
        }
    };
}

}  // namespace benchdist::metrics
