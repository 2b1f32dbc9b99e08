// The coordinator's /metrics text from a MetricsView: what each family says,
// and that the whole text is well-formed whatever the ids and labels hold.
#include "coordinator/metrics_text.hpp"

#include <gtest/gtest.h>

#include "benchdist/control/verdict.hpp"
#include "prometheus_lint.hpp"

namespace benchdist::coordinator {
namespace {

using test::lint_exposition;
using test::sample_value;

control::GeneratorSnapshot generator(std::string id, control::GeneratorState state, std::uint64_t open) {
    control::GeneratorSnapshot g;
    g.id = std::move(id);
    g.hostname = "host";
    g.local_state = state;
    g.opened_connections = open;
    g.desired_connections = 8;
    return g;
}

MetricsView running_view() {
    MetricsView v;
    v.state.phase = control::Phase::Measure;
    v.state.current_epoch = 4;
    v.state.generators = {generator("gen-a", control::GeneratorState::Running, 8),
                          generator("gen-b", control::GeneratorState::Running, 6),
                          generator("gen-c", control::GeneratorState::Lost, 8)};
    v.server_committed = 471707;
    v.server_tps = 38420.5;
    v.server_read_ms = 1796622228500;
    v.in_window = true;
    for (std::uint64_t us : {150, 180, 200, 420, 4600}) v.latency.record(us);
    v.latency_epoch = 4;
    return v;
}

control::EpochResult result(bool valid) {
    control::EpochResult r;
    r.epoch = 3;
    r.label = "baseline";
    r.tps = 38000.25;
    r.committed_delta = "380002";
    r.actual_window_seconds = 10.0;
    control::Verdict v;
    if (!valid) v.reasons.push_back(control::make_reason(control::reason::kWindowLength, "too short"));
    control::write_verdict(r.extra, v);
    return r;
}

TEST(CoordinatorMetrics, PhaseIsOneHot) {
    const auto s = lint_exposition(render_metrics(running_view()));
    for (const char* phase : {"idle", "starting", "warmup", "stop"})
        EXPECT_EQ(sample_value(s, "benchdist_coordinator_phase", {{"phase", phase}}), 0) << phase;
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_phase", {{"phase", "measure"}}), 1);
    EXPECT_EQ(s.type_of("benchdist_coordinator_phase"), "gauge");
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_epoch"), 4);
}

TEST(CoordinatorMetrics, GeneratorsByStateAndConnectionsOfThoseNotLost) {
    const auto s = lint_exposition(render_metrics(running_view()));
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_generators", {{"state", "running"}}), 2);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_generators", {{"state", "lost"}}), 1);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_generators", {{"state", "ready"}}), 0);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_open_connections"), 14);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_generator_open_connections", {{"generator", "gen-b"}}), 6);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_generator_desired_connections", {{"generator", "gen-c"}}), 8);
}

TEST(CoordinatorMetrics, ServerCounterRateAndWindow) {
    const auto s = lint_exposition(render_metrics(running_view()));
    EXPECT_EQ(s.type_of("benchdist_coordinator_server_committed_transfers_total"), "counter");
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_server_committed_transfers_total"), 471707);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_server_transfers_per_second"), 38420.5);
    EXPECT_DOUBLE_EQ(sample_value(s, "benchdist_coordinator_server_read_timestamp_seconds"), 1796622228.5);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_window_open"), 1);
}

TEST(CoordinatorMetrics, NothingReadYetMeansNoServerSeriesRatherThanZero) {
    const std::string text = render_metrics(MetricsView());
    const auto s = lint_exposition(text);
    EXPECT_EQ(text.find("benchdist_coordinator_server_committed_transfers_total"), std::string::npos);
    EXPECT_EQ(text.find("benchdist_coordinator_server_transfers_per_second"), std::string::npos);
    EXPECT_EQ(text.find("benchdist_coordinator_last_epoch"), std::string::npos);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_phase", {{"phase", "idle"}}), 1);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_epoch"), 0);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_window_open"), 0);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_transfer_latency_seconds_count"), 0);
}

TEST(CoordinatorMetrics, LatencyHistogramOfTheLiveEpoch) {
    const auto s = lint_exposition(render_metrics(running_view()));
    EXPECT_EQ(s.type_of("benchdist_coordinator_transfer_latency_seconds"), "histogram");
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_transfer_latency_seconds_count"), 5);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_transfer_latency_seconds_bucket", {{"le", "0.0002"}}), 3);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_transfer_latency_seconds_bucket", {{"le", "0.0005"}}), 4);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_transfer_latency_seconds_bucket", {{"le", "+Inf"}}), 5);
    EXPECT_NEAR(sample_value(s, "benchdist_coordinator_transfer_latency_seconds_sum"), 0.00555, 1e-9);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_latency_epoch"), 4);
}

TEST(CoordinatorMetrics, LastEpochTpsAndVerdict) {
    auto v = running_view();
    v.state.last_result = result(true);
    auto s = lint_exposition(render_metrics(v));
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_transfers_per_second"), 38000.25);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_valid"), 1);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_committed_transfers"), 380002);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_window_seconds"), 10);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_info",
                           {{"epoch", "3"}, {"label", "baseline"}, {"verdict", "valid"}}),
              1);

    v.state.last_result = result(false);
    v.state.current_epoch.reset();
    v.state.phase = control::Phase::Idle;
    s = lint_exposition(render_metrics(v));
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_valid"), 0);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_reason", {{"code", "window_length"}}), 1);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_info",
                           {{"epoch", "3"}, {"label", "baseline"}, {"verdict", "invalid"}}),
              1);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_epoch"), 3);  // the last one, between epochs
}

TEST(CoordinatorMetrics, AResultWithoutAVerdictSaysUnknown) {
    auto v = running_view();
    v.state.last_result = control::EpochResult{};
    v.state.last_result->epoch = 2;
    const std::string text = render_metrics(v);
    const auto s = lint_exposition(text);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_info",
                           {{"epoch", "2"}, {"label", ""}, {"verdict", "unknown"}}),
              1);
    EXPECT_EQ(text.find("benchdist_coordinator_last_epoch_valid"), std::string::npos);
}

TEST(CoordinatorMetrics, HostileIdsAndLabelsCannotForgeSeries) {
    // The coordinator refuses such ids and labels (control/identifiers.hpp);
    // the text must stay well-formed even if one got through.
    auto v = running_view();
    const std::string id = "gen\"} benchdist_coordinator_epoch 99\n#\\";
    const std::string label = "x\",verdict=\"valid\xff";
    v.state.generators.push_back(generator(id, control::GeneratorState::Ready, 2));
    v.state.last_result = result(false);
    v.state.last_result->label = label;
    const std::string text = render_metrics(v);
    const auto s = lint_exposition(text);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_epoch"), 4);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_generator_open_connections", {{"generator", id}}), 2);
    EXPECT_EQ(sample_value(s, "benchdist_coordinator_last_epoch_info",
                           {{"epoch", "3"}, {"label", "x\",verdict=\"valid\xEF\xBF\xBD"}, {"verdict", "invalid"}}),
              1);
    std::size_t epoch_samples = 0;
    for (const auto& sample : s.samples) epoch_samples += sample.name == "benchdist_coordinator_epoch";
    EXPECT_EQ(epoch_samples, 1U);
}

}  // namespace
}  // namespace benchdist::coordinator
