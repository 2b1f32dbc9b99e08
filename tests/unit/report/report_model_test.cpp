#include "benchdist/report/model.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "benchdist/report/curves.hpp"
#include "report_fixtures.hpp"

using namespace benchdist::report;
using namespace report_fixtures;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ReportModel, ReadsTheFiguresVerdictAndTimelineOfARealResult) {
    const auto e = epoch_report_from_json(sweep_result(), "r.json");
    EXPECT_EQ(e.epoch, 2u);
    EXPECT_EQ(e.label, "20261207T054348Z-2c484b connections=8 alpha=0 r1");
    EXPECT_EQ(e.record.verdict, "valid");
    EXPECT_TRUE(e.record.measured);
    EXPECT_DOUBLE_EQ(e.tps, 38420.19326891036);
    EXPECT_EQ(e.committed_delta, "115299");
    ASSERT_TRUE(e.latency);
    EXPECT_EQ(e.latency->p50, 193);
    EXPECT_EQ(e.latency->p999, 1601);
    EXPECT_EQ(e.latency->max, 4610);
    ASSERT_TRUE(e.errors);
    EXPECT_EQ(e.errors->total, 0);
    EXPECT_EQ(e.client_server_ratio, 0.999558);
    ASSERT_EQ(e.timeline.size(), 3u);
    EXPECT_EQ(e.timeline[2].t_ms, 3001);
    EXPECT_EQ(e.timeline[2].tps, 32901.0);
    EXPECT_FALSE(e.client_timeline) << "written before clientTimeline existed";
}

TEST(ReportModel, TheManifestSaysWhatRan) {
    const auto e = epoch_report_from_json(sweep_result(), "r.json");
    const auto& m = e.manifest;
    EXPECT_EQ(m["connections"], 8);
    EXPECT_EQ(m["inflight"], 1);
    EXPECT_EQ(m["rateMode"], "closed");
    EXPECT_TRUE(m["rate"].is_null()) << "closed loop";
    EXPECT_TRUE(m["confirmedReads"].is_null());
    EXPECT_EQ(manifest_text("confirmedReads", &m["confirmedReads"]), "server default");
    EXPECT_EQ(manifest_text("rate", &m["rate"]), "none");
    EXPECT_EQ(m["compression"], "none");
    EXPECT_EQ(m["protocol"], "auto");
    EXPECT_EQ(m["negotiatedProtocol"], "v3.bsatn.spacetimedb");
    EXPECT_EQ(m["alpha"], 0.0) << "the epoch's load, not the generators' command line (1.5)";
    EXPECT_EQ(m["warmup"], 1.0);
    EXPECT_EQ(m["window"], 3.0);
    EXPECT_EQ(m["generators"], 2);
    EXPECT_EQ(m["toolVersion"], "0.1.0+g89879cf-dirty");
    EXPECT_EQ(m["server"], "ws://127.0.0.1:32979 test-1");
    // In manifest_keys() order.
    std::vector<std::string> keys;
    for (const auto& [k, v] : m.items()) keys.push_back(k);
    std::vector<std::string> order;
    for (const auto& k : manifest_keys())
        if (m.contains(k.key)) order.emplace_back(k.key);
    EXPECT_EQ(keys, order);
}

TEST(ReportModel, AnOpenLoopRateIsTheSumOfTheGeneratorsRatesAndAutoWarmupIsAuto) {
    auto j = sweep_result();
    j["manifest"]["workload"]["rateMode"] = "open";
    j["generatorReports"]["gen-a"]["load"]["ratePerSecond"] = 1000.0;
    j["generatorReports"]["gen-b"]["load"]["ratePerSecond"] = 1500.0;
    j["warmup"] = Json{{"mode", "auto"}, {"seconds", 4.2}};
    j["warmupSeconds"] = 4.2;
    const auto e = epoch_report_from_json(j, "r.json");
    EXPECT_EQ(e.manifest["rate"], 2500.0);
    EXPECT_EQ(e.manifest["warmup"], "auto") << "auto warmup lasts as long as it takes: the workload is the same";
}

TEST(ReportModel, AResultWithoutAManifestHasUnknownWorkloadKeys) {
    auto j = sweep_result();
    j.erase("manifest");
    j.erase("generatorReports");
    const auto e = epoch_report_from_json(j, "old.json");
    EXPECT_FALSE(e.manifest.contains("inflight"));
    EXPECT_EQ(manifest_text("inflight", nullptr), "unknown");
    EXPECT_EQ(e.manifest["connections"], 8) << "from the result's own participantConnections";
}

TEST(ReportModel, ReadsTheClientTimeline) {
    const auto e = epoch_report_from_json(client_timeline_result(), "r.json");
    ASSERT_TRUE(e.client_timeline);
    ASSERT_EQ(e.client_timeline->size(), 3u);
    EXPECT_EQ((*e.client_timeline)[1].t_ms, 1000);
    EXPECT_EQ((*e.client_timeline)[1].errors, 2);
    EXPECT_EQ((*e.client_timeline)[1].p99_us, 430);
    EXPECT_FALSE((*e.client_timeline)[2].p50_us) << "null: nothing committed that second";
}

TEST(ReportModel, AnInvalidEpochIsNotAMeasurement) {
    const auto e = epoch_report_from_json(invalid_hostile_result(), "bad.json");
    EXPECT_EQ(e.record.verdict, "invalid");
    EXPECT_FALSE(e.record.measured);
    ASSERT_EQ(e.record.reasons.size(), 1u);
    EXPECT_EQ(e.record.reasons[0].code, "participant_lost");
}

TEST(ReportModel, AKeyOfTheWrongTypeIsAnErrorNamingTheFileAndTheKey) {
    const auto error_of = [](Json j) {
        try {
            epoch_report_from_json(j, "runs/x.json");
        } catch (const ReportError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    auto j = sweep_result();
    j["latency"] = "fast";
    EXPECT_EQ(error_of(j), "runs/x.json: \"latency\" must be an object");
    j = sweep_result();
    j["latency"]["p99"] = "422";
    EXPECT_EQ(error_of(j), "runs/x.json: \"latency.p99\" must be a number");
    j = sweep_result();
    j["timeline"][1]["t"] = nullptr;
    EXPECT_EQ(error_of(j), "runs/x.json: \"timeline[1].t\" must be a number");
    j = client_timeline_result();
    j["clientTimeline"][0]["p99"] = Json::array();
    EXPECT_EQ(error_of(j), "runs/x.json: \"clientTimeline[0].p99\" must be a number");
    j = sweep_result();
    j["manifest"]["workload"] = 3;
    EXPECT_EQ(error_of(j), "runs/x.json: \"manifest.workload\" must be an object");
    j = sweep_result();
    j.erase("tps");
    EXPECT_THAT(error_of(j), HasSubstr("runs/x.json: not a readable epoch result"));
    EXPECT_THAT(error_of(j), HasSubstr("tps"));
    EXPECT_THAT(error_of(Json::array()), HasSubstr("runs/x.json: not an epoch result"));
}

TEST(ReportModel, LinksACampaignsEpochsToTheirResults) {
    Report r;
    r.epochs.push_back(epoch_report_from_json(sweep_result(), "e2.json"));
    r.epochs.push_back(epoch_report_from_json(demo_result(), "e1.json"));
    r.campaigns.push_back(campaign_report_from_json(sweep_campaign(), "c.json"));
    link_campaigns(r);
    ASSERT_EQ(r.epochs.size(), 2u);
    EXPECT_EQ(r.epochs[0].epoch, 1u) << "sorted by epoch";
    EXPECT_EQ(r.epochs[0].campaign_id, "");
    EXPECT_EQ(r.epochs[1].campaign_id, "20261207T054348Z-2c484b");
    EXPECT_EQ(r.epochs[1].point, "connections=8 alpha=0");
    EXPECT_THAT(r.campaigns[0].missing_results, ElementsAre(3, 4, 5));
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_THAT(r.notes[0], HasSubstr("epochs 3, 4, 5 were not found"));
}

TEST(ReportModel, AnEpochOfTheSameNumberFromAnotherRunIsNotTheCampaigns) {
    auto other = sweep_result();
    other["finishedAt"] = "2027-01-01T00:00:00.000Z";  // epoch 2 of a restarted coordinator
    Report r;
    r.epochs.push_back(epoch_report_from_json(other, "other.json"));
    r.campaigns.push_back(campaign_report_from_json(sweep_campaign(), "c.json"));
    link_campaigns(r);
    EXPECT_EQ(r.epochs[0].campaign_id, "");
    EXPECT_THAT(r.campaigns[0].missing_results, ElementsAre(2, 3, 4, 5));
}

TEST(ReportModel, ManifestSpreadListsTheKeysThatDiffer) {
    std::vector<EpochReport> epochs{epoch_report_from_json(demo_result(), "1"),
                                    epoch_report_from_json(sweep_result(), "2")};
    const auto spread = manifest_spread(epochs);
    std::vector<std::string> keys;
    for (const auto& s : spread) keys.push_back(s.key);
    EXPECT_THAT(keys, ElementsAre("connections", "alpha", "warmup"));
    EXPECT_THAT(spread[0].values, ElementsAre("64", "8"));
    EXPECT_TRUE(spread[0].workload);
    EXPECT_TRUE(manifest_spread({epochs[1], epochs[1]}).empty());
}

TEST(ReportModel, ACampaignFileThatIsNotOneNamesTheFile) {
    auto j = sweep_campaign();
    j["kind"] = "marathon";
    try {
        campaign_report_from_json(j, "c.json");
        FAIL() << "no error";
    } catch (const ReportError& e) {
        EXPECT_THAT(e.what(), HasSubstr("c.json: "));
        EXPECT_THAT(e.what(), HasSubstr("\"kind\""));
    }
}

TEST(ReportCurves, ASweepHasOneSeriesPerValueOfTheOtherKnobs) {
    const auto c = campaign_report_from_json(sweep_campaign(), "c.json");
    const auto curves = campaign_curves(c);
    EXPECT_EQ(curves.knob, "connections");
    ASSERT_EQ(curves.series.size(), 2u);
    EXPECT_EQ(curves.series[0].name, "alpha=0");
    EXPECT_EQ(curves.series[1].name, "alpha=1.5");
    ASSERT_EQ(curves.series[0].points.size(), 2u);
    EXPECT_EQ(curves.series[0].points[0].x, 8);
    EXPECT_EQ(curves.series[0].points[1].x, 64);
    EXPECT_NEAR(*curves.series[0].points[1].tps, 51447.22, 0.01);
    EXPECT_EQ(curves.series[1].points[0].p99_us, 425);
    EXPECT_TRUE(curves.log_x) << "8 .. 64 spans a factor of 8";
    EXPECT_FALSE(curves.knee);
}

TEST(ReportCurves, ASaturationSearchHasItsKneeAndItsInvalidPointHasNoFigure) {
    const auto c = campaign_report_from_json(saturate_campaign(), "s.json");
    const auto curves = campaign_curves(c);
    EXPECT_EQ(curves.knob, "connections");
    ASSERT_EQ(curves.series.size(), 1u);
    const auto& pts = curves.series[0].points;
    ASSERT_EQ(pts.size(), 4u);
    EXPECT_EQ(pts[2].x, 32);
    EXPECT_EQ(pts[2].status, "invalid");
    EXPECT_FALSE(pts[2].tps);
    EXPECT_FALSE(pts[2].p99_us);
    EXPECT_THAT(pts[2].why, HasSubstr("participant_lost"));
    EXPECT_FALSE(pts[3].slo_ok);
    EXPECT_EQ(pts[3].tps, 31000);
    ASSERT_TRUE(curves.knee);
    EXPECT_EQ(curves.knee->x, 16);
    EXPECT_EQ(curves.knee->tps, 30000);
    EXPECT_EQ(curves.knee->p99_us, 1500);
}

TEST(ReportCurves, RunsArePlottedByTheirNumber) {
    namespace bcp = benchdist::campaign;
    bcp::Campaign c;
    c.id = "r1";
    c.kind = bcp::Kind::Runs;
    c.retries = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        bcp::PointRecord p;
        p.index = i;
        p.epochs.push_back(measured_epoch(i + 1, 1000.0 * static_cast<double>(i + 1), 900));
        if (i == 1) {
            p.epochs[0].measured = false;
            p.epochs[0].tps.reset();
            p.epochs[0].reasons = {benchdist::control::make_reason("aborted", "stopped")};
        }
        p.status = bcp::point_progress(p, c.repeat, c.retries).status;
        c.points.push_back(p);
    }
    const auto curves = campaign_curves(campaign_report_from_json(bcp::to_json(c), "runs.json"));
    EXPECT_EQ(curves.knob, "run");
    ASSERT_EQ(curves.series.size(), 1u);
    EXPECT_EQ(curves.series[0].name, "runs");
    const auto& pts = curves.series[0].points;
    ASSERT_EQ(pts.size(), 3u);
    EXPECT_EQ(pts[0].x, 1);
    EXPECT_EQ(pts[2].tps, 3000);
    EXPECT_EQ(pts[1].status, "invalid");
    EXPECT_FALSE(pts[1].tps);
    EXPECT_FALSE(curves.log_x) << "run numbers are not a load";
}
