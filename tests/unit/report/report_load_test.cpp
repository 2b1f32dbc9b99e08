#include "benchdist/report/load.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "report_fixtures.hpp"

using namespace benchdist::report;
using namespace report_fixtures;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

const std::string kSweepDir = data_path("sweep");
const std::string kCampaign = data_path("sweep/campaign-20261207T054348Z-2c484b.json");

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "report-load-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string file(const std::string& name, const std::string& text) const {
        const auto p = (fs::path(path_) / name).string();
        std::ofstream(p) << text;
        return p;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string error_of(const std::vector<std::string>& inputs) {
    try {
        load_report(inputs);
    } catch (const ReportError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(ReportLoad, ADirectoryGivesEveryResultAndCampaignInIt) {
    const auto r = load_report({kSweepDir});
    ASSERT_EQ(r.epochs.size(), 4u);
    EXPECT_EQ(r.epochs.front().epoch, 2u);
    EXPECT_EQ(r.epochs.back().epoch, 5u);
    ASSERT_EQ(r.campaigns.size(), 1u);
    EXPECT_TRUE(r.campaigns[0].missing_results.empty());
    EXPECT_TRUE(r.notes.empty()) << "index.jsonl is not a .json file";
    for (const auto& e : r.epochs) EXPECT_EQ(e.campaign_id, "20261207T054348Z-2c484b");
}

TEST(ReportLoad, ACampaignFileBringsItsResultsFromBesideIt) {
    const auto r = load_report({kCampaign});
    ASSERT_EQ(r.campaigns.size(), 1u);
    ASSERT_EQ(r.epochs.size(), 4u);
    EXPECT_EQ(r.epochs[1].point, "connections=8 alpha=1.5");
}

TEST(ReportLoad, TheSameFileTwiceIsReadOnce) {
    const auto r = load_report({kSweepDir, kCampaign, kSweepDir + "/../sweep"});
    EXPECT_EQ(r.epochs.size(), 4u);
    EXPECT_EQ(r.campaigns.size(), 1u);
}

TEST(ReportLoad, OtherJsonInADirectoryIsSkippedWithANoteButNotWhenGiven) {
    TempDir dir;
    dir.file("result.json", demo_result().dump());
    const auto other = dir.file("grafana.json", "{\"dashboard\": 1}");
    dir.file("notes.txt", "not json at all");
    const auto r = load_report({dir.path()});
    EXPECT_EQ(r.epochs.size(), 1u);
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_THAT(r.notes[0], HasSubstr("grafana.json: skipped, neither an epoch result nor a campaign file"));
    EXPECT_THAT(error_of({other}), HasSubstr("grafana.json: neither an epoch result"));
}

TEST(ReportLoad, AMalformedResultIsAnErrorNamingItsFileAndKey) {
    TempDir dir;
    auto bad = demo_result();
    bad["timeline"] = "soon";
    const auto path = dir.file("test-1-spacetimedb-epoch-009-x.json", bad.dump());
    EXPECT_EQ(error_of({dir.path()}), path + ": \"timeline\" must be an array");
    const auto broken = dir.file("broken.json", "{\"epoch\": 1,");
    EXPECT_THAT(error_of({broken}), HasSubstr(broken + ": not JSON"));
}

TEST(ReportLoad, NothingToReportIsAnError) {
    TempDir dir;
    EXPECT_THAT(error_of({dir.path()}), HasSubstr("no epoch results or campaign files in " + dir.path()));
    EXPECT_THAT(error_of({dir.path() + "/missing"}), HasSubstr("missing: no such file or directory"));
}

TEST(ReportLoad, LoadFileTellsAResultFromACampaign) {
    EXPECT_TRUE(load_file(kCampaign).campaign);
    EXPECT_TRUE(load_file(data_path("result-demo.json")).result);
}
