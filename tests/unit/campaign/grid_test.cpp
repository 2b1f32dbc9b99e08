#include "benchdist/campaign/grid.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace benchdist::campaign;
using ::testing::HasSubstr;

namespace {

std::string refusal(const std::string& text) {
    try {
        parse_vary(text);
    } catch (const CampaignError& e) {
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST(Vary, ParsesKnobAndValuesInOrder) {
    const auto v = parse_vary("connections=64, 128,256 ,512");
    EXPECT_EQ(v.knob, "connections");
    EXPECT_EQ(v.values, (std::vector<double>{64, 128, 256, 512}));
    EXPECT_EQ(parse_vary("alpha=0,1.5").values, (std::vector<double>{0, 1.5}));
}

TEST(Vary, RefusesWithTheKnobAndTheFix) {
    EXPECT_THAT(refusal("conections=1,2"), HasSubstr("unknown knob \"conections\""));
    EXPECT_THAT(refusal("conections=1,2"), HasSubstr("connectionsPerGenerator"));
    EXPECT_THAT(refusal("connections"), HasSubstr("expected knob=v1,v2"));
    EXPECT_THAT(refusal("connections="), HasSubstr("an empty value"));
    EXPECT_THAT(refusal("connections=1,,2"), HasSubstr("an empty value"));
    EXPECT_THAT(refusal("alpha=nan"), HasSubstr("alpha must be a number from 0 to 100"));
    EXPECT_THAT(refusal("alpha=-1"), HasSubstr("alpha must be"));
    EXPECT_THAT(refusal("rate=inf"), HasSubstr("rate must be"));
    EXPECT_THAT(refusal("connections=1.5"), HasSubstr("connections must be a whole number"));
    EXPECT_THAT(refusal("connections=0"), HasSubstr("connections must be a whole number from 1"));
    EXPECT_THAT(refusal("accounts=1"), HasSubstr("accounts must be a whole number from 2"));
    EXPECT_THAT(refusal("inflight=8x"), HasSubstr("\"8x\" is not a number"));
    EXPECT_THAT(refusal("inflight=8,8"), HasSubstr("listed twice"));
    EXPECT_THAT(refusal("windowSeconds=0"), HasSubstr("windowSeconds must be"));
    EXPECT_EQ(refusal("warmupSeconds=0"), "accepted");
    EXPECT_EQ(refusal("rate=0,1000"), "accepted");
}

TEST(Vary, CheckedTogether) {
    EXPECT_THROW(check_varies({}), CampaignError);
    EXPECT_THROW(check_varies({parse_vary("alpha=0"), parse_vary("alpha=1")}), CampaignError);
    try {
        check_varies({parse_vary("connections=1"), parse_vary("connectionsPerGenerator=2")});
        FAIL() << "an exclusive pair was accepted";
    } catch (const CampaignError& e) {
        EXPECT_THAT(e.what(), HasSubstr("cannot be combined"));
    }
    EXPECT_NO_THROW(check_varies({parse_vary("connections=1"), parse_vary("alpha=0,1")}));
}

TEST(Grid, FirstVaryOutermost) {
    const std::vector<Vary> varies{parse_vary("connections=64,128"), parse_vary("alpha=0,1.5")};
    const auto points = grid_points(varies);
    ASSERT_EQ(points.size(), 4u);
    EXPECT_EQ(points[0].description, "connections=64 alpha=0");
    EXPECT_EQ(points[1].description, "connections=64 alpha=1.5");
    EXPECT_EQ(points[2].description, "connections=128 alpha=0");
    EXPECT_EQ(points[3].description, "connections=128 alpha=1.5");
    EXPECT_EQ(points[3].index, 3u);
    // Whole-number knobs are JSON integers, so requests say 64, not 64.0.
    EXPECT_TRUE(points[2].values["connections"].is_number_unsigned());
    EXPECT_EQ(points[2].values.dump(), R"({"connections":128,"alpha":0.0})");
}

TEST(Grid, ThreeKnobs) {
    const auto points =
        grid_points({parse_vary("inflight=1,8,40"), parse_vary("alpha=0,1"), parse_vary("windowSeconds=10,20")});
    ASSERT_EQ(points.size(), 12u);
    EXPECT_EQ(points[0].description, "inflight=1 alpha=0 windowSeconds=10");
    EXPECT_EQ(points[5].description, "inflight=8 alpha=0 windowSeconds=20");
    EXPECT_EQ(points[11].description, "inflight=40 alpha=1 windowSeconds=20");
}

TEST(Grid, ApplyValuesSetsLoadAndTopLevelKeysAndDropsTheExclusivePartner) {
    const Json base = Json::parse(R"({"label": "x", "load": {"connectionsPerGenerator": 8, "alpha": 0.5},
        "warmupAuto": true, "stableCv": 0.05, "windowSeconds": 30})");
    const auto request = apply_values(base, Json::parse(R"({"connections": 64, "warmupSeconds": 5})"));
    EXPECT_EQ(request["load"].dump(), R"({"alpha":0.5,"connections":64})");
    EXPECT_FALSE(request.contains("warmupAuto"));
    EXPECT_FALSE(request.contains("stableCv"));
    EXPECT_EQ(request["warmupSeconds"], 5);
    EXPECT_EQ(request["windowSeconds"], 30);
    // A base without load gets one.
    EXPECT_EQ(apply_values(Json::object(), Json::parse(R"({"inflight": 8})"))["load"]["inflight"], 8);
}

TEST(Grid, VaryRoundTripsThroughJson) {
    const auto v = parse_vary("connections=64,128");
    EXPECT_EQ(to_json(v).dump(), R"({"knob":"connections","values":[64,128]})");
    EXPECT_EQ(vary_from_json(to_json(v)).values, v.values);
    EXPECT_THROW(vary_from_json(Json::parse(R"({"knob":"bogus","values":[1]})")), CampaignError);
}
