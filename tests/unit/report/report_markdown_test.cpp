#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "benchdist/report/render.hpp"
#include "report_fixtures.hpp"

using namespace benchdist::report;
using namespace report_fixtures;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::stringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The cells of a table row: split at | not preceded by a backslash.
std::size_t cell_count(const std::string& row) {
    std::size_t pipes = 0;
    for (std::size_t i = 0; i < row.size(); ++i)
        if (row[i] == '|' && (i == 0 || row[i - 1] != '\\')) ++pipes;
    return pipes - 1;
}

// Every table: consecutive lines starting with '|', all with the header's
// number of cells, the second a delimiter row.
std::vector<std::vector<std::string>> tables(const std::string& md) {
    std::vector<std::vector<std::string>> out;
    std::vector<std::string> current;
    for (const auto& line : lines_of(md)) {
        if (!line.empty() && line[0] == '|') {
            current.push_back(line);
        } else if (!current.empty()) {
            out.push_back(current);
            current.clear();
        }
    }
    if (!current.empty()) out.push_back(current);
    return out;
}

Report sample() {
    Report r;
    r.epochs.push_back(epoch_report_from_json(demo_result(), "demo.json"));
    r.epochs.push_back(epoch_report_from_json(sweep_result(), "sweep.json"));
    r.epochs.push_back(epoch_report_from_json(invalid_hostile_result(), "hostile.json"));
    r.campaigns.push_back(campaign_report_from_json(sweep_campaign(), "c.json"));
    r.campaigns.push_back(campaign_report_from_json(saturate_campaign(), "s.json"));
    link_campaigns(r);
    return r;
}

}  // namespace

TEST(ReportMarkdown, EveryTableIsRectangular) {
    const auto md = render_markdown(sample());
    const auto all = tables(md);
    ASSERT_EQ(all.size(), 3u) << md;  // epochs, the sweep's points, the search's points
    for (const auto& t : all) {
        ASSERT_GE(t.size(), 3u);
        const auto n = cell_count(t[0]);
        EXPECT_THAT(t[1], ::testing::MatchesRegex("^\\|(-+:?\\||-+\\|)+$"));
        for (const auto& row : t) EXPECT_EQ(cell_count(row), n) << row;
    }
    EXPECT_EQ(all[0].size(), 2u + 3u) << "header, delimiter, one row per epoch";
}

TEST(ReportMarkdown, TheEpochTableHasTheFiguresAndTheManifestKeysThatDiffer) {
    const auto md = render_markdown(sample());
    const auto epochs = tables(md)[0];
    EXPECT_THAT(epochs[0], HasSubstr("| epoch | label | verdict | TPS | p50 ms | p99 ms |"));
    EXPECT_THAT(epochs[0], HasSubstr("| connections | alpha | warmup (s) |"));
    EXPECT_THAT(epochs[2], HasSubstr("| 1 | demo | valid | 46,050 | 1.340 | 2.929 | 5.351 | 7.759 | 0 | 0.9999 |"));
    EXPECT_THAT(md, HasSubstr("Every epoch ran with: in flight 1, rate mode closed, rate (calls/s) none"));
    EXPECT_THAT(md, HasSubstr("The workload differs between epochs in: connections (64, 8)"));
}

TEST(ReportMarkdown, AnInvalidEpochShowsNoFigures) {
    const auto md = render_markdown(sample());
    const auto row = tables(md)[0][4];  // epoch 7
    EXPECT_THAT(row, HasSubstr("| 7 |"));
    EXPECT_THAT(row, HasSubstr("**invalid** (participant\\_lost) | invalid | invalid | invalid |"));
    EXPECT_THAT(row, Not(HasSubstr("46,050"))) << "its result has the demo's tps, which is not a measurement";
}

TEST(ReportMarkdown, HostileTextCannotBreakATableOrInjectMarkup) {
    const auto md = render_markdown(sample());
    EXPECT_THAT(md, Not(HasSubstr("<script>")));
    EXPECT_THAT(md, Not(HasSubstr("<img")));
    EXPECT_THAT(md, HasSubstr("&lt;/script&gt;&lt;script&gt;alert(1)"));
    EXPECT_THAT(md, HasSubstr("\\| \\*\\*x\\*\\* \\`y\\` z"))
        << "pipes, emphasis and code escaped, the line break a space";
}

TEST(ReportMarkdown, CampaignsHaveTheirPointsAndTheKnee) {
    const auto md = render_markdown(sample());
    EXPECT_THAT(md, HasSubstr("## Campaign 20261207T054348Z-2c484b (sweep, complete)"));
    EXPECT_THAT(md, HasSubstr("| connections=64 alpha=1.5 | valid | 55,268 |"));
    EXPECT_THAT(md, HasSubstr("## Campaign s1 (saturate, complete)"));
    EXPECT_THAT(md, HasSubstr("| connections=32 | **invalid** | invalid | - | 0 | - | - | - | 2 |"));
    EXPECT_THAT(md, HasSubstr("| connections=64 | valid | 31,000 |"));
    EXPECT_THAT(md, HasSubstr("**broken**"));
    EXPECT_THAT(md, HasSubstr("Knee: connections=16, 30,000 TPS, p50 0.38 ms p99 1.50 ms. Stopped: slo\\_broken; "
                              "limit: server."));
}
