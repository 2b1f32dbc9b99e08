// The generator's /metrics from its progress ticks: counters that only go
// up across epochs, gauges of the last tick, the latency histogram, and a
// text that is well-formed whatever the id holds.
#include "benchdist/generator/metrics_store.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "prometheus_lint.hpp"

namespace benchdist::generator {
namespace {

using test::lint_exposition;
using test::sample_value;

LoadCounters counters(std::uint64_t attempted, std::uint64_t committed, std::uint64_t timeouts = 0) {
    LoadCounters c;
    c.attempted = attempted;
    c.committed = committed;
    c.timeouts = timeouts;
    return c;
}

stats::Interval interval(std::int64_t start_ms, std::initializer_list<std::uint64_t> latencies_us) {
    stats::Interval i;
    i.start_ms = start_ms;
    for (const auto us : latencies_us) {
        i.totals.latency.record(us);
        ++i.totals.attempted;
        ++i.totals.committed;
    }
    return i;
}

LoadTick tick(std::optional<std::uint64_t> epoch, LoadCounters c, std::size_t open = 8,
              std::vector<stats::Interval> intervals = {}) {
    return LoadTick{epoch, std::move(c), open, std::move(intervals)};
}

struct Fixture : ::testing::Test {
    std::int64_t now_ms = 1796622228000;
    MetricsStore store{"gen-a", [this] { return now_ms; }};

    stdb::Scrape scrape() { return lint_exposition(store.render()); }
};

TEST_F(Fixture, BeforeAnyLoadEverythingIsZeroAndTheTextIsComplete) {
    const auto s = scrape();
    EXPECT_EQ(sample_value(s, "benchdist_generator_committed_transfers_total"), 0);
    EXPECT_EQ(sample_value(s, "benchdist_generator_errors_total", {{"kind", "timeout"}}), 0);
    EXPECT_EQ(sample_value(s, "benchdist_generator_epoch"), 0);
    EXPECT_EQ(sample_value(s, "benchdist_generator_load_running"), 0);
    EXPECT_EQ(sample_value(s, "benchdist_generator_transfer_latency_seconds_count"), 0);
    EXPECT_EQ(s.type_of("benchdist_generator_committed_transfers_total"), "counter");
    EXPECT_EQ(s.type_of("benchdist_generator_transfer_latency_seconds"), "histogram");
    EXPECT_EQ(s.type_of("process_cpu_seconds_total"), "counter");
    EXPECT_GE(sample_value(s, "process_cpu_seconds_total"), 0);
    EXPECT_TRUE(std::isnan(sample_value(s, "benchdist_generator_last_tick_timestamp_seconds")));
}

TEST_F(Fixture, TicksOfOneEpochReplaceAndTheStopTickEndsIt) {
    store.on_tick(tick(3, counters(100, 90, 2), 8));
    store.on_tick(tick(3, counters(250, 240, 3), 7));
    auto s = scrape();
    EXPECT_EQ(sample_value(s, "benchdist_generator_attempted_transfers_total"), 250);
    EXPECT_EQ(sample_value(s, "benchdist_generator_committed_transfers_total"), 240);
    EXPECT_EQ(sample_value(s, "benchdist_generator_errors_total", {{"kind", "timeout"}}), 3);
    EXPECT_EQ(sample_value(s, "benchdist_generator_in_flight_transfers"), 7);
    EXPECT_EQ(sample_value(s, "benchdist_generator_open_connections"), 7);
    EXPECT_EQ(sample_value(s, "benchdist_generator_epoch"), 3);
    EXPECT_EQ(sample_value(s, "benchdist_generator_load_running"), 1);
    EXPECT_DOUBLE_EQ(sample_value(s, "benchdist_generator_last_tick_timestamp_seconds"), 1796622228.0);

    now_ms += 1500;
    store.on_tick(tick(std::nullopt, counters(260, 257, 3), 8));  // the stop's tick
    s = scrape();
    EXPECT_EQ(sample_value(s, "benchdist_generator_committed_transfers_total"), 257);
    EXPECT_EQ(sample_value(s, "benchdist_generator_in_flight_transfers"), 0);
    EXPECT_EQ(sample_value(s, "benchdist_generator_epoch"), 3);
    EXPECT_EQ(sample_value(s, "benchdist_generator_load_running"), 0);
    EXPECT_DOUBLE_EQ(sample_value(s, "benchdist_generator_last_tick_timestamp_seconds"), 1796622229.5);
}

TEST_F(Fixture, CountersKeepGrowingAcrossEpochsAlthoughTheLoadsStartFromZero) {
    store.on_tick(tick(1, counters(100, 100)));
    store.on_tick(tick(std::nullopt, counters(120, 120)));
    // A short next epoch: its first tick is below nothing of the last one's,
    // yet it is new, so the last one's 120 stays counted.
    store.on_tick(tick(2, counters(150, 149)));
    auto s = scrape();
    EXPECT_EQ(sample_value(s, "benchdist_generator_attempted_transfers_total"), 270);
    EXPECT_EQ(sample_value(s, "benchdist_generator_committed_transfers_total"), 269);
    store.on_tick(tick(std::nullopt, counters(160, 160)));
    store.on_tick(tick(3, counters(10, 10)));
    s = scrape();
    EXPECT_EQ(sample_value(s, "benchdist_generator_committed_transfers_total"), 290);
}

TEST_F(Fixture, ALoadThatStartedAgainUnderTheSameEpochIsNotLost) {
    store.on_tick(tick(1, counters(100, 100)));
    store.on_tick(tick(1, counters(30, 30)));  // went back: a new load
    EXPECT_EQ(sample_value(scrape(), "benchdist_generator_committed_transfers_total"), 130);
}

TEST_F(Fixture, LatencyAddsUpEveryIntervalOfEveryTick) {
    store.on_tick(tick(1, counters(3, 3), 8, {interval(1000, {100, 150}), interval(2000, {900})}));
    store.on_tick(tick(1, counters(5, 5), 8, {interval(2000, {4000}), interval(3000, {})}));
    const auto s = scrape();
    EXPECT_EQ(sample_value(s, "benchdist_generator_transfer_latency_seconds_count"), 4);
    EXPECT_EQ(sample_value(s, "benchdist_generator_transfer_latency_seconds_bucket", {{"le", "0.0002"}}), 2);
    EXPECT_EQ(sample_value(s, "benchdist_generator_transfer_latency_seconds_bucket", {{"le", "0.001"}}), 3);
    EXPECT_EQ(sample_value(s, "benchdist_generator_transfer_latency_seconds_bucket", {{"le", "+Inf"}}), 4);
    EXPECT_NEAR(sample_value(s, "benchdist_generator_transfer_latency_seconds_sum"), 0.00515, 1e-9);
}

TEST(MetricsStore, HostileIdIsEscapedIntoOneLabel) {
    const std::string id = "g\"} benchdist_generator_epoch 7\n\\\xc3";
    MetricsStore store(id);
    const auto s = lint_exposition(store.render());
    EXPECT_EQ(sample_value(s, "benchdist_generator_epoch"), 0);
    std::size_t info = 0;
    for (const auto& sample : s.samples) {
        if (sample.name != "benchdist_generator_info") continue;
        ++info;
        EXPECT_EQ(sample.label("id"), "g\"} benchdist_generator_epoch 7\n\\\xEF\xBF\xBD");
    }
    EXPECT_EQ(info, 1U);
}

TEST(MetricsStore, TicksAndScrapesFromTwoThreads) {
    MetricsStore store("gen-a");
    std::thread agent([&store] {
        for (std::uint64_t k = 1; k <= 2000; ++k)
            store.on_tick(tick(k / 100 + 1, counters(k, k), 8, {interval(1000, {k})}));
    });
    double last = 0;
    for (int k = 0; k < 50; ++k) {
        const auto s = stdb::parse_prometheus_text(store.render());
        const double committed = sample_value(s, "benchdist_generator_committed_transfers_total");
        EXPECT_GE(committed, last);  // a counter never goes back, whenever it is scraped
        last = committed;
    }
    agent.join();
}

}  // namespace
}  // namespace benchdist::generator
