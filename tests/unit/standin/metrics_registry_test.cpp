#include "benchdist/standin/metrics_registry.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "benchdist/stdb/prometheus.hpp"

namespace sd = benchdist::standin;
using sd::TxnType;
using namespace std::chrono_literals;

namespace {

const std::string kDb1 = "c200" + std::string(60, 'a');
const std::string kDb2 = "c200" + std::string(60, 'b');

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

}  // namespace

TEST(MetricsRegistry, EmptyUntilTheFirstIncrement) {
    sd::MetricsRegistry m;
    auto c = m.txn_counter(TxnType::Reducer, kDb1, "transfer", true);
    auto h = m.txn_elapsed(TxnType::Reducer, kDb1, "transfer");
    EXPECT_TRUE(c);
    EXPECT_TRUE(h);
    // A looked-up series is not yet a series on the real server, and a family
    // without series is not written at all.
    EXPECT_EQ(m.render(), "");
    c.inc(0);
    EXPECT_EQ(m.render(), "");
    c.inc();
    EXPECT_EQ(m.render(),
              "# HELP spacetime_num_txns_total The cumulative number of transactions, including both commits and "
              "rollbacks\n"
              "# TYPE spacetime_num_txns_total counter\n"
              "spacetime_num_txns_total{committed=\"true\",db=\"" +
                  kDb1 + "\",reducer=\"transfer\",txn_type=\"Reducer\"} 1\n");
}

TEST(MetricsRegistry, SameLabelsGiveTheSameSeries) {
    sd::MetricsRegistry m;
    auto a = m.txn_counter(TxnType::Reducer, kDb1, "transfer", true);
    auto b = m.txn_counter(TxnType::Reducer, kDb1, "transfer", true);
    auto other = m.txn_counter(TxnType::Reducer, kDb1, "transfer", false);
    a.inc(2);
    b.inc(3);
    EXPECT_EQ(a.value(), 5u);
    EXPECT_EQ(b.value(), 5u);
    EXPECT_EQ(other.value(), 0u);
}

TEST(MetricsRegistry, DetachedHandlesDoNothing) {
    sd::MetricsRegistry::Counter c;
    sd::MetricsRegistry::Histogram h;
    EXPECT_FALSE(c);
    EXPECT_FALSE(h);
    c.inc(5);
    h.observe(1ms);
    EXPECT_EQ(c.value(), 0u);
    EXPECT_EQ(h.count(), 0u);
}

TEST(MetricsRegistry, SeriesAreSortedByLabelValuesInLabelNameOrder) {
    sd::MetricsRegistry m;
    // Created in an order unlike the output order.
    m.txn_counter(TxnType::Sql, kDb2, "", true).inc(3);
    m.txn_counter(TxnType::Reducer, kDb2, "transfer", true).inc(7);
    m.txn_counter(TxnType::Reducer, kDb1, "transfer", true).inc(619241);
    m.txn_counter(TxnType::Reducer, kDb1, "seed", true).inc(1);
    m.txn_counter(TxnType::Reducer, kDb1, "transfer", false).inc(1523);
    const auto lines = lines_of(m.render());
    const std::string p = "spacetime_num_txns_total{";
    EXPECT_EQ(lines, (std::vector<std::string>{
                         "# HELP spacetime_num_txns_total The cumulative number of transactions, including both "
                         "commits and rollbacks",
                         "# TYPE spacetime_num_txns_total counter",
                         p + "committed=\"false\",db=\"" + kDb1 + "\",reducer=\"transfer\",txn_type=\"Reducer\"} 1523",
                         p + "committed=\"true\",db=\"" + kDb1 + "\",reducer=\"seed\",txn_type=\"Reducer\"} 1",
                         p + "committed=\"true\",db=\"" + kDb1 + "\",reducer=\"transfer\",txn_type=\"Reducer\"} 619241",
                         p + "committed=\"true\",db=\"" + kDb2 + "\",reducer=\"\",txn_type=\"Sql\"} 3",
                         p + "committed=\"true\",db=\"" + kDb2 + "\",reducer=\"transfer\",txn_type=\"Reducer\"} 7",
                     }));
}

TEST(MetricsRegistry, EscapesLabelValues) {
    sd::MetricsRegistry m;
    m.txn_counter(TxnType::Reducer, kDb1, "we\"ird\\name\nx", true).inc();
    const std::string text = m.render();
    EXPECT_NE(text.find(R"(reducer="we\"ird\\name\nx")"), std::string::npos) << text;
    const auto scrape = benchdist::stdb::parse_prometheus_text(text);
    EXPECT_EQ(scrape.skipped_lines(), 0u);
    ASSERT_EQ(scrape.samples.size(), 1u);
    EXPECT_EQ(scrape.samples[0].label("reducer"), "we\"ird\\name\nx");
}

TEST(MetricsRegistry, TxnTypeLabels) {
    EXPECT_EQ(sd::txn_type_label(TxnType::Reducer), "Reducer");
    EXPECT_EQ(sd::txn_type_label(TxnType::Sql), "Sql");
    EXPECT_EQ(sd::txn_type_label(TxnType::Subscribe), "Subscribe");
    EXPECT_EQ(sd::txn_type_label(TxnType::Unsubscribe), "Unsubscribe");
    EXPECT_EQ(sd::txn_type_label(TxnType::Update), "Update");
    EXPECT_EQ(sd::txn_type_label(TxnType::Internal), "Internal");
    EXPECT_EQ(sd::txn_type_label(TxnType::View), "View");
    EXPECT_EQ(sd::txn_type_label(TxnType::Procedure), "Procedure");
}

TEST(MetricsRegistry, FormatsFloatsLikeRust) {
    EXPECT_EQ(sd::format_rust_f64(10e-6), "0.00001");
    EXPECT_EQ(sd::format_rust_f64(500e-6), "0.0005");
    EXPECT_EQ(sd::format_rust_f64(1.0), "1");
    EXPECT_EQ(sd::format_rust_f64(10.0), "10");
    EXPECT_EQ(sd::format_rust_f64(2.5), "2.5");
    EXPECT_EQ(sd::format_rust_f64(0.0), "0");
    EXPECT_EQ(sd::format_rust_f64(1e21), "1000000000000000000000");
    EXPECT_EQ(sd::format_rust_f64(1.5e-7), "0.00000015");
}

TEST(MetricsRegistry, RendersTheElapsedHistogramWithTheServersBuckets) {
    sd::MetricsRegistry m;
    auto h = m.txn_elapsed(TxnType::Reducer, kDb1, "transfer");
    h.observe(7us);
    h.observe(10us);  // le is inclusive
    h.observe(20us);
    h.observe(2s);
    h.observe(20s);  // beyond the last bucket: only +Inf
    EXPECT_EQ(h.count(), 5u);
    const std::string l = "{db=\"" + kDb1 + "\",reducer=\"transfer\",txn_type=\"Reducer\"";
    const std::string b = "spacetime_txn_elapsed_time_sec_bucket" + l;
    EXPECT_EQ(lines_of(m.render()),
              (std::vector<std::string>{
                  "# HELP spacetime_txn_elapsed_time_sec The total elapsed (wall) time of a transaction (in seconds)",
                  "# TYPE spacetime_txn_elapsed_time_sec histogram",
                  b + ",le=\"0.00001\"} 2",
                  b + ",le=\"0.00005\"} 3",
                  b + ",le=\"0.0001\"} 3",
                  b + ",le=\"0.0005\"} 3",
                  b + ",le=\"0.001\"} 3",
                  b + ",le=\"0.005\"} 3",
                  b + ",le=\"0.01\"} 3",
                  b + ",le=\"0.05\"} 3",
                  b + ",le=\"0.1\"} 3",
                  b + ",le=\"0.5\"} 3",
                  b + ",le=\"1\"} 3",
                  b + ",le=\"5\"} 4",
                  b + ",le=\"10\"} 4",
                  b + ",le=\"+Inf\"} 5",
                  "spacetime_txn_elapsed_time_sec_sum" + l + "} 22.000037",
                  "spacetime_txn_elapsed_time_sec_count" + l + "} 5",
              }));
}

TEST(MetricsRegistry, CountersComeBeforeHistogramsAndEveryLineParses) {
    sd::MetricsRegistry m;
    m.txn_elapsed(TxnType::Reducer, kDb2, "transfer").observe(3us);
    m.txn_elapsed(TxnType::Reducer, kDb1, "transfer").observe(3us);
    m.txn_counter(TxnType::Reducer, kDb1, "transfer", true).inc(41);
    m.txn_counter(TxnType::Reducer, kDb2, "transfer", true).inc(9);
    m.txn_counter(TxnType::Reducer, kDb1, "transfer", false).inc(2);
    const std::string text = m.render();
    const std::regex sample_line(R"re(^[a-z_]+\{([a-z_]+="([^"\\]|\\.)*",)*[a-z_]+="([^"\\]|\\.)*"\} [0-9.]+$)re");
    bool seen_histogram = false;
    for (const auto& line : lines_of(text)) {
        if (line.starts_with("#")) {
            EXPECT_TRUE(line.starts_with("# HELP ") || line.starts_with("# TYPE ")) << line;
            continue;
        }
        EXPECT_TRUE(std::regex_match(line, sample_line)) << line;
        if (line.starts_with("spacetime_txn_elapsed_time_sec")) seen_histogram = true;
        if (line.starts_with("spacetime_num_txns_total")) {
            EXPECT_FALSE(seen_histogram) << "family order";
        }
    }
    EXPECT_TRUE(seen_histogram);
    // The suite's own reader finds each database's committed transfers.
    const auto scrape = benchdist::stdb::parse_prometheus_text(text);
    EXPECT_EQ(scrape.skipped_lines(), 0u);
    EXPECT_EQ(scrape.type_of("spacetime_num_txns_total"), "counter");
    EXPECT_EQ(scrape.type_of("spacetime_txn_elapsed_time_sec"), "histogram");
    const auto r1 = benchdist::stdb::find_counter(scrape, benchdist::stdb::committed_transfers_query(kDb1));
    ASSERT_TRUE(r1.ok()) << r1.message;
    EXPECT_EQ(r1.reading.exact, 41u);
    const auto r2 = benchdist::stdb::find_counter(scrape, benchdist::stdb::committed_transfers_query(kDb2));
    ASSERT_TRUE(r2.ok()) << r2.message;
    EXPECT_EQ(r2.reading.exact, 9u);
}

TEST(MetricsRegistry, ConcurrentIncrementsAreNotLost) {
    sd::MetricsRegistry m;
    constexpr int kPerThread = 200000;
    auto worker = [&m](bool committed) {
        // Each thread looks its handles up itself, as a database thread would.
        auto c = m.txn_counter(TxnType::Reducer, kDb1, "transfer", true);
        auto f = m.txn_counter(TxnType::Reducer, kDb1, "transfer", committed);
        auto h = m.txn_elapsed(TxnType::Reducer, kDb1, "transfer");
        for (int i = 0; i < kPerThread; ++i) {
            c.inc();
            f.inc();
            h.observe(std::chrono::nanoseconds(i));
        }
    };
    std::thread renderer([&m] {
        for (int i = 0; i < 50; ++i) (void)m.render();
    });
    std::thread t1(worker, true);
    std::thread t2(worker, false);
    t1.join();
    t2.join();
    renderer.join();
    EXPECT_EQ(m.txn_counter(TxnType::Reducer, kDb1, "transfer", true).value(), 3u * kPerThread);
    EXPECT_EQ(m.txn_counter(TxnType::Reducer, kDb1, "transfer", false).value(), 1u * kPerThread);
    EXPECT_EQ(m.txn_elapsed(TxnType::Reducer, kDb1, "transfer").count(), 2u * kPerThread);
}
