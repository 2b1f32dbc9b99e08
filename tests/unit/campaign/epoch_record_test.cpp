#include "benchdist/campaign/epoch_record.hpp"

#include <gtest/gtest.h>

using namespace benchdist::campaign;

namespace {

Json result(const std::string& extra) {
    auto j = Json::parse(R"J({"epoch": 7, "label": "c1 connections=64 r1", "tps": 4950.5,
        "finishedAt": "2026-12-07T04:00:00.000Z", "verification": "skipped",
        "latency": {"kind": "service time (closed loop)", "p50": 800, "p90": 1500, "p99": 2500, "p999": 4000,
                    "max": 9000, "mean": 900}})J");
    const auto more = Json::parse(extra);
    for (const auto& [k, v] : more.items()) j[k] = v;
    return j;
}

}  // namespace

TEST(EpochRecord, ValidResultIsAMeasurement) {
    const auto e = read_epoch(result(R"J({"verdict": "valid", "reasons": [],
        "generatorLimited": {"limited": false, "why": [], "message": "server-bound"}})J"));
    EXPECT_EQ(e.epoch, 7u);
    EXPECT_EQ(e.verdict, "valid");
    EXPECT_TRUE(e.measured);
    EXPECT_TRUE(e.slo_ok);
    EXPECT_DOUBLE_EQ(*e.tps, 4950.5);
    EXPECT_EQ(e.latency["p99Us"], 2500);
    EXPECT_EQ(e.latency["maxUs"], 9000);
    EXPECT_EQ(e.generator_limited, GeneratorLimit::No);
    EXPECT_EQ(e.result_finished_at, "2026-12-07T04:00:00.000Z");
}

TEST(EpochRecord, OnlyThresholdReasonsIsAMeasurementThatBrokeAnSlo) {
    const auto e = read_epoch(result(R"J({"verdict": "invalid",
        "reasons": [{"code": "threshold_failed", "message": "p99<=1ms failed"}],
        "thresholds": [{"threshold": "p99<=1ms", "metric": "p99", "observed": 2.5, "unit": "ms", "passed": false}]})J"));
    EXPECT_TRUE(e.measured);
    EXPECT_FALSE(e.slo_ok);
    ASSERT_TRUE(e.tps.has_value());
}

TEST(EpochRecord, AnyOtherReasonMakesItUnmeasuredWithNoFigure) {
    const auto e = read_epoch(result(R"J({"verdict": "invalid", "reasons": [
        {"code": "threshold_failed", "message": "p99"}, {"code": "participant_lost", "message": "gen-a lost"}]})J"));
    EXPECT_FALSE(e.measured);
    EXPECT_FALSE(e.tps.has_value());
    EXPECT_TRUE(e.latency.empty());
    ASSERT_EQ(e.reasons.size(), 2u);
    EXPECT_EQ(e.reasons[1].code, "participant_lost");
}

TEST(EpochRecord, WithoutAVerdictTheErrorDecides) {
    EXPECT_TRUE(read_epoch(result("{}")).measured);
    EXPECT_EQ(read_epoch(result("{}")).verdict, "none");
    const auto failed = read_epoch(result(R"J({"error": "verification could not run"})J"));
    EXPECT_FALSE(failed.measured);
    EXPECT_EQ(failed.reasons.at(0).code, "epoch_failed");
}

TEST(EpochRecord, GeneratorLimitFromTheResultThenLittlesLawThenUnknown) {
    auto yes = read_epoch(result(R"J({"verdict": "valid", "reasons": [],
        "generatorLimited": {"limited": true, "why": ["littles_law", "generator_cpu"], "message": "gen-a at 100% CPU"},
        "littlesLaw": {"utilization": 0.99}})J"));
    EXPECT_EQ(yes.generator_limited, GeneratorLimit::Yes);  // generatorLimited wins over littlesLaw
    EXPECT_NE(yes.limit_evidence.find("littles_law, generator_cpu"), std::string::npos);
    EXPECT_EQ(read_epoch(result(R"J({"littlesLaw": {"utilization": 0.3}})J")).generator_limited, GeneratorLimit::Yes);
    EXPECT_EQ(read_epoch(result(R"J({"littlesLaw": {"utilization": 0.95}})J")).generator_limited, GeneratorLimit::No);
    EXPECT_EQ(read_epoch(result("{}")).generator_limited, GeneratorLimit::Unknown);
}

TEST(EpochRecord, RoundTripsThroughJson) {
    const auto e = read_epoch(result(R"J({"verdict": "valid", "reasons": [], "littlesLaw": {"utilization": 0.9}})J"));
    const auto back = epoch_record_from_json(to_json(e));
    EXPECT_EQ(to_json(back), to_json(e));
    EXPECT_THROW(epoch_record_from_json(Json::parse(R"J({"epoch": 1, "measured": true})J")), CampaignError);
    EXPECT_EQ(latency_text(e.latency), "p50 0.80 ms p99 2.50 ms max 9.00 ms");
}
