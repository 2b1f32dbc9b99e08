#include "benchdist/campaign/repeat_stats.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace benchdist::campaign;

TEST(RepeatStats, NoValuesIsNoFigure) {
    EXPECT_FALSE(summarize({}).has_value());
    EXPECT_FALSE(median({}).has_value());
}

TEST(RepeatStats, OneValue) {
    const auto s = *summarize({1000});
    EXPECT_EQ(s.n, 1u);
    EXPECT_DOUBLE_EQ(s.mean, 1000);
    EXPECT_DOUBLE_EQ(s.median, 1000);
    EXPECT_DOUBLE_EQ(s.stddev, 0);
    EXPECT_DOUBLE_EQ(s.min, 1000);
    EXPECT_DOUBLE_EQ(s.max, 1000);
}

TEST(RepeatStats, SampleStandardDeviationAndMedian) {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squares sum 32, sample variance 32/7.
    const auto s = *summarize({9, 2, 4, 4, 5, 4, 7, 5});
    EXPECT_EQ(s.n, 8u);
    EXPECT_DOUBLE_EQ(s.mean, 5);
    EXPECT_DOUBLE_EQ(s.median, 4.5);
    EXPECT_NEAR(s.stddev, std::sqrt(32.0 / 7.0), 1e-12);
    EXPECT_DOUBLE_EQ(s.min, 2);
    EXPECT_DOUBLE_EQ(s.max, 9);
    EXPECT_DOUBLE_EQ(*median({3, 1, 2}), 2);
}

TEST(RepeatStats, JsonRoundsAndReadsBack) {
    const auto j = to_json(*summarize({1000.004, 2000.006}));
    EXPECT_EQ(j["n"], 2);
    EXPECT_DOUBLE_EQ(j["mean"].get<double>(), 1500.01);
    EXPECT_DOUBLE_EQ(summary_from_json(j).max, 2000.01);
    EXPECT_THROW(summary_from_json(Json::parse(R"({"mean": 1})")), CampaignError);
}
