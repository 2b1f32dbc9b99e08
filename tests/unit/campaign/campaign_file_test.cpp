#include "benchdist/campaign/campaign_file.hpp"
#include "benchdist/control/identifiers.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace benchdist::campaign;
using ::testing::HasSubstr;

namespace {

EpochRecord epoch(std::uint64_t n, bool measured, double tps = 0, double p99 = 0) {
    EpochRecord e;
    e.epoch = n;
    e.verdict = measured ? "valid" : "invalid";
    e.measured = measured;
    if (measured) {
        e.tps = tps;
        e.latency = Json{{"p50Us", p99 / 2}, {"p99Us", p99}};
    } else {
        e.reasons.push_back(benchdist::control::make_reason("participant_lost", "gen-a went silent"));
    }
    e.generator_limited = GeneratorLimit::No;
    return e;
}

Campaign sweep() {
    Campaign c;
    c.id = "c1";
    c.kind = Kind::Sweep;
    c.created_at = c.updated_at = "2026-12-07T04:00:00.000Z";
    c.coordinator = "http://127.0.0.1:8080";
    c.base = Json{{"windowSeconds", 10}};
    c.vary = {parse_vary("connections=64,128"), parse_vary("alpha=0,1.5")};
    c.repeat = 3;
    c.retries = 1;
    for (const auto& g : grid_points(c.vary)) {
        PointRecord p;
        p.index = g.index;
        p.values = g.values;
        p.description = g.description;
        p.request = apply_values(c.base, g.values);
        c.points.push_back(p);
    }
    return c;
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string t = (std::filesystem::temp_directory_path() / "campaign_file_test-XXXXXX").string();
        path = ::mkdtemp(t.data());
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST(PointProgress, ValidAfterEveryRepeatInvalidAfterItsRetries) {
    PointRecord p;
    EXPECT_EQ(point_progress(p, 3, 1).status, PointStatus::Pending);
    p.epochs = {epoch(1, true, 100), epoch(2, false), epoch(3, true, 110)};
    auto progress = point_progress(p, 3, 1);
    EXPECT_EQ(progress.status, PointStatus::Pending);
    EXPECT_EQ(progress.measured_repeats, 2u);
    EXPECT_EQ(progress.failed_attempts, 0u);
    EXPECT_EQ(progress.attempts, 3u);
    p.epochs.push_back(epoch(4, true, 120));
    EXPECT_EQ(point_progress(p, 3, 1).status, PointStatus::Valid);
    // Two invalid in a row with one retry allowed: invalid.
    PointRecord q;
    q.epochs = {epoch(1, true, 100), epoch(2, false)};
    EXPECT_EQ(point_progress(q, 3, 1).status, PointStatus::Pending);
    q.epochs.push_back(epoch(3, false));
    EXPECT_EQ(point_progress(q, 3, 1).status, PointStatus::Invalid);
    EXPECT_EQ(point_progress(q, 3, 2).status, PointStatus::Pending);
}

TEST(PointJson, StatisticsOverMeasuredRepeatsOnly) {
    PointRecord p;
    p.epochs = {epoch(1, true, 100, 2000), epoch(2, false), epoch(3, true, 200, 4000), epoch(4, true, 150, 3000)};
    const auto j = point_json(p, 3, 1);
    EXPECT_EQ(j["status"], "valid");
    EXPECT_EQ(j["attempts"], 4);
    EXPECT_EQ(j["invalidEpochs"], 1);
    EXPECT_EQ(j["tps"]["n"], 3);
    EXPECT_EQ(j["tps"]["median"], 150.0);
    EXPECT_EQ(j["tps"]["mean"], 150.0);
    EXPECT_EQ(j["tps"]["min"], 100.0);
    EXPECT_EQ(j["latency"]["p99Us"], 3000.0);
    EXPECT_FALSE(j.contains("reasons"));
    EXPECT_EQ(j["epochs"].size(), 4u);
}

TEST(PointJson, AnInvalidPointHasReasonsAndNoFigure) {
    PointRecord p;
    p.epochs = {epoch(1, true, 100), epoch(2, false), epoch(3, false)};
    const auto j = point_json(p, 2, 1);
    EXPECT_EQ(j["status"], "invalid");
    EXPECT_FALSE(j.contains("tps"));
    EXPECT_FALSE(j.contains("latency"));
    EXPECT_EQ(j["reasons"][0]["code"], "participant_lost");
}

TEST(CampaignFile, WrittenAtomicallyAndReadBack) {
    TempDir dir;
    auto c = sweep();
    c.points[0].epochs = {epoch(1, true, 100, 2000), epoch(2, true, 110, 2100), epoch(3, true, 105, 2050)};
    c.points[1].epochs = {epoch(4, false)};
    const auto path = (dir.path / campaign_file_name(c.id)).string();
    write_campaign_file(path, to_json(c));
    // Only the file: no temporary left behind.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path), {}), 1);
    const auto back = read_campaign_file(path);
    EXPECT_EQ(to_json(back), to_json(c));
    EXPECT_EQ(back.points[0].status, PointStatus::Valid);
    EXPECT_EQ(back.points[1].status, PointStatus::Pending);
    EXPECT_EQ(back.points[1].epochs.size(), 1u);
    // Overwriting replaces it.
    c.status = Status::Complete;
    write_campaign_file(path, to_json(c));
    EXPECT_EQ(read_campaign_file(path).status, Status::Complete);
}

TEST(CampaignFile, TheFileHasTheDocumentedKeys) {
    const auto j = to_json(sweep());
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"campaign", "kind", "createdAt", "updatedAt", "status", "coordinator",
                                              "base", "vary", "repeat", "retries", "points"}));
    EXPECT_EQ(j["points"][3]["request"].dump(), R"({"windowSeconds":10,"load":{"connections":128,"alpha":1.5}})");
}

TEST(CampaignFile, WriteFailureNamesThePath) {
    try {
        write_campaign_file("/nonexistent-dir-for-test/campaign-x.json", Json::object());
        FAIL();
    } catch (const CampaignError& e) {
        EXPECT_THAT(e.what(), HasSubstr("/nonexistent-dir-for-test"));
        EXPECT_THAT(e.what(), HasSubstr("--campaign-dir"));
    }
}

TEST(CampaignFile, RefusesWhatIsNotACampaign) {
    TempDir dir;
    const auto path = (dir.path / "result.json").string();
    std::ofstream(path) << R"({"epoch": 1, "tps": 5})";
    try {
        read_campaign_file(path);
        FAIL();
    } catch (const CampaignError& e) {
        EXPECT_THAT(e.what(), HasSubstr("not a campaign file"));
    }
    std::ofstream(path) << "not json";
    EXPECT_THROW(read_campaign_file(path), CampaignError);
    EXPECT_THROW(read_campaign_file((dir.path / "missing.json").string()), CampaignError);
    auto j = to_json(sweep());
    j["kind"] = "marathon";
    EXPECT_THROW(campaign_from_json(j), CampaignError);
}

TEST(Resume, RefusesAnotherKindBaseVaryOrACompleteCampaign) {
    const auto c = sweep();
    EXPECT_NO_THROW(check_resumable(c, {.kind = Kind::Sweep}));
    EXPECT_NO_THROW(check_resumable(c, {.kind = Kind::Sweep, .base = c.base, .vary = c.vary, .repeat = 3}));
    const auto refusal = [&](const ResumeRequest& r) -> std::string {
        try {
            check_resumable(c, r);
        } catch (const CampaignError& e) {
            return e.what();
        }
        return "accepted";
    };
    EXPECT_THAT(refusal({.kind = Kind::Saturate}), HasSubstr("is a sweep campaign"));
    EXPECT_THAT(refusal({.kind = Kind::Sweep, .base = Json{{"windowSeconds", 20}}}), HasSubstr("same options"));
    EXPECT_THAT(refusal({.kind = Kind::Sweep, .vary = std::vector<Vary>{parse_vary("connections=64,128")}}),
                HasSubstr("same --vary"));
    EXPECT_THAT(refusal({.kind = Kind::Sweep, .repeat = 2}), HasSubstr("--repeat"));
    auto done = c;
    done.status = Status::Complete;
    EXPECT_THROW(check_resumable(done, {.kind = Kind::Sweep}), CampaignError);
}

TEST(CampaignIds, RulesNamesAndLabels) {
    EXPECT_EQ(campaign_id_problem("20261207T044306Z-3fa9c1"), "");
    EXPECT_NE(campaign_id_problem(""), "");
    EXPECT_NE(campaign_id_problem("a/b"), "");
    EXPECT_NE(campaign_id_problem(".."), "");
    EXPECT_NE(campaign_id_problem(std::string(65, 'a')), "");
    EXPECT_EQ(make_campaign_id(1796618586123, 0x3fa9c1), "20261207T044306Z-3fa9c1");
    EXPECT_EQ(campaign_file_name("x"), "campaign-x.json");
    EXPECT_EQ(epoch_label("c1", "connections=64 alpha=1.5", 2), "c1 connections=64 alpha=1.5 r2");
    const auto long_label = epoch_label("c1", std::string(400, 'd'), 3);
    EXPECT_EQ(long_label.size(), benchdist::control::kMaxLabelBytes);
    EXPECT_EQ(long_label.substr(long_label.size() - 3), " r3");
}
