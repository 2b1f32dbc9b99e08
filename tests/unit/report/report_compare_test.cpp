#include "benchdist/report/compare.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report_fixtures.hpp"

using namespace benchdist::report;
using namespace report_fixtures;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const FigureChange& figure(const Comparison& c, const std::string& name) {
    for (const auto& f : c.figures)
        if (f.name == name) return f;
    throw std::runtime_error("no figure " + name);
}

}  // namespace

TEST(ReportCompare, TheSameWorkloadIsComparableAndEachFigureHasItsChange) {
    auto faster = sweep_result();
    faster["tps"] = 42262.21;
    faster["latency"]["p99"] = 380;
    faster["errors"]["total"] = 3;
    const auto c =
        compare_epochs(epoch_report_from_json(sweep_result(), "a.json"), epoch_report_from_json(faster, "b.json"));
    EXPECT_TRUE(c.comparable);
    EXPECT_TRUE(c.not_comparable.empty());
    const auto& tps = figure(c, "tps");
    EXPECT_DOUBLE_EQ(*tps.change, 42262.21 - 38420.19326891036);
    EXPECT_NEAR(*tps.relative, 0.1, 1e-6);
    const auto& p99 = figure(c, "p99 ms");
    EXPECT_DOUBLE_EQ(*p99.a, 0.422);
    EXPECT_DOUBLE_EQ(*p99.change, 0.380 - 0.422);
    EXPECT_NEAR(*p99.relative, -0.0995, 1e-4);
    const auto& errors = figure(c, "errors");
    EXPECT_EQ(*errors.change, 3);
    EXPECT_FALSE(errors.relative) << "no relative change from 0";
    EXPECT_THAT(c.verdicts, ::testing::Contains("verdict: valid (A) -> valid (B)"));
    const auto text = format_comparison(c);
    EXPECT_THAT(text, HasSubstr("comparable: every workload key of the two manifests agrees"));
    EXPECT_THAT(text, ::testing::MatchesRegex("(.|\n)*tps +38420\\.19 +42262\\.21 +\\+3842\\.02 +\\+10\\.0%(.|\n)*"));
}

TEST(ReportCompare, DifferentWorkloadsAreNotComparableAndSaySoLoudly) {
    const auto c = compare_epochs(epoch_report_from_json(demo_result(), "a.json"),
                                  epoch_report_from_json(sweep_result(), "b.json"));
    EXPECT_FALSE(c.comparable);
    EXPECT_THAT(c.not_comparable, ::testing::ElementsAre("connections: 64 (A) vs 8 (B)", "alpha: 1.5 (A) vs 0 (B)",
                                                         "warmup (s): 2 (A) vs 1 (B)"));
    const auto text = format_comparison(c);
    EXPECT_EQ(text.find("NOT COMPARABLE"), text.find("\n\n") + 2) << "first, right after the names:\n" << text;
    EXPECT_THAT(text, HasSubstr("NOT COMPARABLE (see above)"));
    const auto j = to_json(c);
    EXPECT_EQ(j["comparable"], false);
    EXPECT_EQ(j["manifest"][0], (Json{{"key", "connections"}, {"a", "64"}, {"b", "8"}, {"workload", true}}));
}

TEST(ReportCompare, ContextDifferencesAreShownButKeepThemComparable) {
    auto b = sweep_result();
    b["manifest"]["toolVersion"] = "0.2.0+gabcdef0";
    const auto c =
        compare_epochs(epoch_report_from_json(sweep_result(), "a.json"), epoch_report_from_json(b, "b.json"));
    EXPECT_TRUE(c.comparable);
    ASSERT_EQ(c.manifest.size(), 1u);
    EXPECT_FALSE(c.manifest[0].workload);
    EXPECT_THAT(format_comparison(c), HasSubstr("toolVersion: 0.1.0+g89879cf-dirty (A) vs 0.2.0+gabcdef0 (B)"));
}

TEST(ReportCompare, AnInvalidSideHasNoFiguresAndNoChange) {
    const auto c = compare_epochs(epoch_report_from_json(demo_result(), "a.json"),
                                  epoch_report_from_json(invalid_hostile_result(), "b.json"));
    const auto& tps = figure(c, "tps");
    EXPECT_TRUE(tps.a);
    EXPECT_FALSE(tps.b);
    EXPECT_EQ(tps.b_text, "invalid");
    EXPECT_FALSE(tps.change);
    EXPECT_THAT(c.verdicts, ::testing::Contains("verdict: valid (A) -> INVALID (participant_lost) (B)"));
    const auto text = format_comparison(c);
    EXPECT_THAT(text, HasSubstr("B is invalid, its figures are not a measurement"));
    // Hostile text reaches the terminal escaped.
    EXPECT_THAT(text, Not(HasSubstr("\nz")));
    EXPECT_THAT(text, HasSubstr("\\x0Az"));
}

TEST(ReportCompare, CampaignsAreComparedPointByPoint) {
    auto other = sweep_campaign();
    other["campaign"] = "other";
    other["points"][0]["epochs"][0]["tps"] = 40000.0;
    other["points"].erase(3);
    const auto c = compare_campaigns(campaign_report_from_json(sweep_campaign(), "a.json"),
                                     campaign_report_from_json(other, "b.json"));
    EXPECT_TRUE(c.comparable);
    const auto& first = figure(c, "connections=8 alpha=0 tps");
    EXPECT_NEAR(*first.change, 40000.0 - 38420.19, 0.01);
    EXPECT_THAT(c.verdicts, ::testing::Contains("only in A: connections=64 alpha=1.5"));
}

TEST(ReportCompare, CampaignsWithAnotherRequestOrKindAreNotComparable) {
    auto other = sweep_campaign();
    other["base"]["load"] = Json{{"inflight", 8}};
    const auto c = compare_campaigns(campaign_report_from_json(sweep_campaign(), "a.json"),
                                     campaign_report_from_json(other, "b.json"));
    EXPECT_FALSE(c.comparable);
    EXPECT_THAT(c.not_comparable, ::testing::ElementsAre("load.inflight: (not set) (A) vs 8 (B)"));
    const auto k = compare_campaigns(campaign_report_from_json(sweep_campaign(), "a.json"),
                                     campaign_report_from_json(saturate_campaign(), "b.json"));
    EXPECT_FALSE(k.comparable);
    EXPECT_EQ(k.not_comparable.front(), "kind: sweep (A) vs saturate (B)");
}

TEST(ReportCompare, SaturationSearchesCompareTheirKnees) {
    auto other = saturate_campaign();
    other["knee"]["load"] = 32;
    other["knee"]["tps"] = 33000.0;
    const auto c = compare_campaigns(campaign_report_from_json(saturate_campaign(), "a.json"),
                                     campaign_report_from_json(other, "b.json"));
    EXPECT_TRUE(c.comparable);
    EXPECT_EQ(*figure(c, "knee load").change, 16);
    EXPECT_DOUBLE_EQ(*figure(c, "knee tps").relative, 0.1);
    EXPECT_EQ(figure(c, "connections=32 tps").a_text, "invalid");
    EXPECT_THAT(c.verdicts, ::testing::Contains("stop reason: slo_broken (A) -> slo_broken (B)"));
}
