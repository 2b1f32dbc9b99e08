#include "benchdist/campaign/saturation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

using namespace benchdist::campaign;
using ::testing::HasSubstr;

namespace {

// A server model: TPS rises linearly with the load up to a capacity, the
// SLO holds up to a load, and the generators are (not) the limit.
struct Model {
    double per_unit_tps = 1000;      // TPS per unit of load below capacity
    double capacity = 5000;          // TPS
    double slo_breaks_above = 1e18;  // load
    GeneratorLimit limited = GeneratorLimit::No;
    std::function<bool(double)> invalid_at = [](double) { return false; };
    std::function<bool(double)> generators_limit_at = [](double) { return false; };

    LoadOutcome at(double load) const {
        LoadOutcome o;
        o.measured = !invalid_at(load);
        if (!o.measured) {
            o.detail = "participant_lost: gen-a";
            return o;
        }
        o.tps = std::min(capacity, per_unit_tps * load);
        o.slo_ok = load <= slo_breaks_above;
        o.latency = Json{{"p99Us", load * 10}};
        o.generator_limited = generators_limit_at(load) ? GeneratorLimit::Yes : limited;
        return o;
    }
};

std::vector<double> run(SaturationSearch& search, const Model& m, int limit = 100) {
    std::vector<double> loads;
    while (auto load = search.next_load()) {
        loads.push_back(*load);
        search.record(m.at(*load));
        if (--limit == 0) ADD_FAILURE() << "the search does not end";
        if (limit == 0) break;
    }
    return loads;
}

}  // namespace

TEST(Saturation, OptionsChecked) {
    EXPECT_THAT(saturation_options_problem({.knob = "alpha", .start = 1, .max = 2}), HasSubstr("--knob"));
    EXPECT_THAT(saturation_options_problem({.knob = "connections", .start = 1.5, .max = 8}), HasSubstr("--start"));
    EXPECT_THAT(saturation_options_problem({.knob = "connections", .start = 8, .max = 4}), HasSubstr("--max"));
    EXPECT_THAT(saturation_options_problem({.knob = "rate", .start = 0, .max = 4}), HasSubstr("above 0"));
    EXPECT_THAT(saturation_options_problem({.knob = "rate", .start = 1, .max = 4, .precision = 0}),
                HasSubstr("--precision"));
    EXPECT_THAT(saturation_options_problem({.knob = "rate", .start = 1, .max = 4, .precision = NAN}),
                HasSubstr("--precision"));
    EXPECT_EQ(saturation_options_problem({.knob = "rate", .start = 100.5, .max = 1e6}), "");
    EXPECT_THROW(SaturationSearch({.knob = "connections", .start = 0, .max = 1}), CampaignError);
}

TEST(Saturation, SloBrokenBisectsToTheHighestGoodLoad) {
    SaturationSearch s({.knob = "connections", .start = 1, .max = 1024, .precision = 0.10});
    Model m;
    m.per_unit_tps = 1;  // never flat below capacity
    m.capacity = 1e9;
    m.slo_breaks_above = 100;
    const auto loads = run(s, m);
    // Doubling 1..128, then bisecting between 64 and 128.
    EXPECT_EQ(std::vector<double>(loads.begin(), loads.begin() + 8),
              (std::vector<double>{1, 2, 4, 8, 16, 32, 64, 128}));
    ASSERT_EQ(s.stop_reason(), StopReason::SloBroken);
    EXPECT_EQ(s.limit(), Limit::Server);
    const auto knee = *s.knee();
    EXPECT_LE(knee.load, 100);
    EXPECT_GE(knee.load, 100 / 1.10);
    EXPECT_DOUBLE_EQ(knee.tps, knee.load);
    // Every tested load at or below the knee met the SLO; none above did.
    for (const auto& p : s.tested()) EXPECT_EQ(p.outcome.slo_ok, p.load <= knee.load) << p.load;
    const auto j = s.result_json();
    EXPECT_EQ(j["stopReason"], "slo_broken");
    EXPECT_EQ(j["limit"], "server");
    EXPECT_EQ(j["knee"]["load"], knee.load);
    // The curve is sorted by load.
    for (std::size_t i = 1; i < j["curve"].size(); ++i)
        EXPECT_LT(j["curve"][i - 1]["load"].get<double>(), j["curve"][i]["load"].get<double>());
}

TEST(Saturation, ThroughputFlatFindsTheLowestLoadOnThePlateau) {
    // 1000 TPS per connection up to 5000: 1, 2, 4 grow, 8 and 16 are flat.
    SaturationSearch s({.knob = "connections", .start = 1, .max = 1024});
    Model m;
    const auto loads = run(s, m);
    EXPECT_EQ(std::vector<double>(loads.begin(), loads.begin() + 4), (std::vector<double>{1, 2, 4, 8}));
    ASSERT_EQ(s.stop_reason(), StopReason::ThroughputFlat);
    EXPECT_EQ(s.limit(), Limit::Server);
    const auto knee = *s.knee();
    // Lowest load with TPS within 5% of 5000 is 5 (4750 is at 4.75).
    EXPECT_EQ(knee.load, 5);
    EXPECT_DOUBLE_EQ(knee.tps, 5000);
    EXPECT_THAT(s.message(), HasSubstr("throughput stopped growing"));
}

TEST(Saturation, FlatAtTheFirstDoublingKneeIsTheStart) {
    SaturationSearch s({.knob = "inflight", .start = 8, .max = 64});
    Model m;  // 8 units is already 5000 TPS, flat at once
    run(s, m);
    ASSERT_EQ(s.stop_reason(), StopReason::ThroughputFlat);
    EXPECT_EQ(s.knee()->load, 8);
    EXPECT_EQ(s.tested().size(), 2u);
}

TEST(Saturation, GeneratorsSaturatedIsNotTheServersCapacity) {
    SaturationSearch s({.knob = "connections", .start = 1, .max = 1024});
    Model m;
    m.capacity = 1e9;
    m.generators_limit_at = [](double load) { return load >= 32; };
    run(s, m);
    ASSERT_EQ(s.stop_reason(), StopReason::GeneratorsSaturated);
    EXPECT_EQ(s.limit(), Limit::Generators);
    EXPECT_EQ(s.knee()->load, 16);
    EXPECT_THAT(s.message(), HasSubstr("NOT the server's capacity"));
    EXPECT_EQ(s.result_json()["limit"], "generators");
}

TEST(Saturation, InvalidPointStopsTheSearch) {
    SaturationSearch s({.knob = "connections", .start = 1, .max = 1024});
    Model m;
    m.capacity = 1e9;
    m.invalid_at = [](double load) { return load == 8; };
    run(s, m);
    ASSERT_EQ(s.stop_reason(), StopReason::InvalidPoints);
    EXPECT_EQ(s.limit(), Limit::Unknown);
    EXPECT_EQ(s.knee()->load, 4);
    EXPECT_THAT(s.message(), HasSubstr("participant_lost"));
    // The invalid point is in the curve without a figure.
    const auto curve = s.result_json()["curve"];
    EXPECT_FALSE(curve.back().contains("tps"));
}

TEST(Saturation, MaxReachedWhenEverySloHeldAndTpsGrew) {
    SaturationSearch s({.knob = "connections", .start = 1, .max = 48});
    Model m;
    m.capacity = 1e9;
    const auto loads = run(s, m);
    EXPECT_EQ(loads, (std::vector<double>{1, 2, 4, 8, 16, 32, 48}));
    ASSERT_EQ(s.stop_reason(), StopReason::MaxReached);
    EXPECT_EQ(s.knee()->load, 48);
}

TEST(Saturation, StartAlreadyBadHasNoKnee) {
    SaturationSearch s({.knob = "connections", .start = 4, .max = 64});
    Model m;
    m.slo_breaks_above = 2;
    run(s, m);
    ASSERT_EQ(s.stop_reason(), StopReason::SloBroken);
    EXPECT_FALSE(s.knee().has_value());
    EXPECT_THAT(s.message(), HasSubstr("lower --start"));
    EXPECT_TRUE(s.result_json()["knee"].is_null());
}

TEST(Saturation, UnknownGeneratorLimitIsNotClaimedAsTheServer) {
    SaturationSearch s({.knob = "connections", .start = 1, .max = 1024});
    Model m;
    m.limited = GeneratorLimit::Unknown;
    run(s, m);
    ASSERT_EQ(s.stop_reason(), StopReason::ThroughputFlat);
    EXPECT_EQ(s.limit(), Limit::Unknown);
    EXPECT_THAT(s.message(), HasSubstr("unknown"));
}

TEST(Saturation, OpenLoopPointBelow95PercentOfTheOfferedRateIsBad) {
    // The server commits what it is offered up to 5000/s.
    SaturationSearch s({.knob = "rate", .start = 500, .max = 1e6});
    Model m;
    m.per_unit_tps = 1;
    m.capacity = 5000;
    run(s, m);
    ASSERT_EQ(s.stop_reason(), StopReason::SloBroken);
    const auto knee = *s.knee();
    EXPECT_LE(knee.load, 5000 / 0.95);
    EXPECT_GE(knee.load, 5000 / 1.10);
    EXPECT_EQ(s.result_json()["curve"][0]["offered"], 500);
}

TEST(Saturation, RecordAfterTheEndIsRefused) {
    SaturationSearch s({.knob = "connections", .start = 1, .max = 1});
    Model m;
    run(s, m);
    EXPECT_EQ(s.stop_reason(), StopReason::MaxReached);
    EXPECT_THROW(s.record(m.at(1)), CampaignError);
}

TEST(Saturation, ALoadTheCoordinatorRefusesIsTheGeneratorsLimit) {
    SaturationSearch s({.knob = "connections", .start = 64, .max = 65536});
    Model m;
    m.per_unit_tps = 10;
    m.capacity = 1e9;
    s.record(m.at(64));
    s.record(m.at(128));
    EXPECT_EQ(s.next_load(), 256);
    s.record_refused("gen-a cannot run 128 connections: it opened 64");
    ASSERT_EQ(s.stop_reason(), StopReason::GeneratorsSaturated);
    EXPECT_EQ(s.limit(), Limit::Generators);
    EXPECT_EQ(s.knee()->load, 128);
    EXPECT_THAT(s.message(), HasSubstr("gen-a cannot run"));
    EXPECT_EQ(s.result_json()["curve"].size(), 2u);
}
