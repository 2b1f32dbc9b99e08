#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <regex>
#include <set>

#include "benchdist/report/render.hpp"
#include "benchdist/webassets/chart_js.hpp"
#include "report_fixtures.hpp"

using namespace benchdist::report;
using namespace report_fixtures;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

Report sample() {
    Report r;
    r.epochs.push_back(epoch_report_from_json(demo_result(), "demo.json"));
    r.epochs.push_back(epoch_report_from_json(client_timeline_result(), "sweep.json"));
    r.epochs.push_back(epoch_report_from_json(invalid_hostile_result(), "hostile.json"));
    r.campaigns.push_back(campaign_report_from_json(sweep_campaign(), "c.json"));
    r.campaigns.push_back(campaign_report_from_json(saturate_campaign(), "s.json"));
    link_campaigns(r);
    return r;
}

std::string page() {
    static const std::string html = render_html(sample(), {.generated_at = "2026-12-07T08:00:00.000Z",
                                                           .tool_version = "0.1.0+gtest",
                                                           .inputs = {"runs/" + kHostile}});
    return html;
}

// The text between <tag ...> and </tag> of each element.
std::vector<std::string> elements(const std::string& html, const std::string& open, const std::string& close) {
    std::vector<std::string> out;
    for (std::size_t at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
        const auto begin = html.find('>', at) + 1;
        out.push_back(html.substr(begin, html.find(close, begin) - begin));
    }
    return out;
}

std::string sha256_base64(const std::string& text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr);
    unsigned char b64[128];
    const int len = EVP_EncodeBlock(b64, digest, static_cast<int>(n));
    return std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(len));
}

Json data_block(const std::string& html) {
    const std::string open = "<script type=\"application/json\" id=\"report-data\">";
    const auto begin = html.find(open) + open.size();
    return Json::parse(html.substr(begin, html.find("</script>", begin) - begin));
}

}  // namespace

TEST(ReportHtml, LoadsNothingFromTheNetwork) {
    const auto html = page();
    // No src= or href= to another origin (http:, https:, or protocol-relative //).
    const std::regex external(R"((src|href)\s*=\s*["']?\s*(https?:|//))", std::regex::icase);
    EXPECT_FALSE(std::regex_search(html, external));
    EXPECT_THAT(html, Not(HasSubstr("<link rel=\"stylesheet\"")));
    EXPECT_THAT(html, Not(HasSubstr("@import")));
    // Chart.js is inlined, not referenced.
    EXPECT_THAT(html, HasSubstr(std::string(benchdist::webassets::chart_js())));
}

TEST(ReportHtml, TheContentSecurityPolicyAllowsExactlyTheInlinedScriptsAndStyles) {
    const auto html = page();
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(html, m, std::regex(R"re(<meta http-equiv="Content-Security-Policy" content="([^"]*)">)re")));
    // The attribute's value, its entities decoded.
    const std::string csp = std::regex_replace(std::string(m[1]), std::regex("&#39;"), "'");
    EXPECT_THAT(csp, HasSubstr("default-src 'none'"));
    EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
    EXPECT_THAT(csp, Not(HasSubstr("unsafe-eval")));
    const auto scripts = elements(html, "<script>", "</script>");
    ASSERT_EQ(scripts.size(), 2u) << "Chart.js and the page's script";
    for (const auto& s : scripts) EXPECT_THAT(csp, HasSubstr("'sha256-" + sha256_base64(s) + "'"));
    const auto styles = elements(html, "<style>", "</style>");
    ASSERT_EQ(styles.size(), 1u);
    EXPECT_THAT(csp, HasSubstr("style-src 'sha256-" + sha256_base64(styles[0]) + "'"));
    EXPECT_EQ(html.find("<meta http-equiv"),
              html.find("<meta charset") + std::string("<meta charset=\"utf-8\">\n").size())
        << "the policy comes before any script or style";
}

TEST(ReportHtml, HostileTextIsEscapedEverywhere) {
    const auto html = page();
    // The only <script> elements are the page's own three.
    std::size_t count = 0;
    for (auto at = html.find("<script"); at != std::string::npos; at = html.find("<script", at + 1)) ++count;
    EXPECT_EQ(count, 3u);
    EXPECT_THAT(html, Not(HasSubstr("<img")));
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(<[a-zA-Z][^>]*\sonerror\s*=)"))) << "no element has a handler";
    EXPECT_THAT(html,
                HasSubstr("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"));
    // The data block: no '<' at all, and the label back intact once parsed.
    const std::string open = "<script type=\"application/json\" id=\"report-data\">";
    const auto begin = html.find(open) + open.size();
    const auto block = html.substr(begin, html.find("</script>", begin) - begin);
    EXPECT_EQ(block.find('<'), std::string::npos);
    EXPECT_THAT(data_block(html).dump(), HasSubstr("epoch 7 · =cmd|'/c calc'!A1"));
}

TEST(ReportHtml, EveryCanvasHasItsChartAndEveryChartItsCanvas) {
    const auto html = page();
    const auto data = data_block(html);
    std::set<std::string> canvases;
    const std::regex canvas(R"re(<canvas id="([^"]+)">)re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), canvas); it != std::sregex_iterator(); ++it)
        canvases.insert((*it)[1]);
    std::set<std::string> charts;
    for (const auto& c : data["charts"]) charts.insert(c["canvas"].get<std::string>());
    EXPECT_EQ(canvases, charts);
    // Two per campaign, the latency percentiles, one timeline per epoch.
    EXPECT_EQ(charts.size(), 2u * 2 + 1 + 3);
}

TEST(ReportHtml, TimelinesHaveTheServerLineAndTheClientsWhenTheResultHasThem) {
    const auto data = data_block(page());
    std::vector<Json> timelines;
    for (const auto& c : data["charts"])
        if (c["x"].value("title", "") == "seconds into the window") timelines.push_back(c);
    ASSERT_EQ(timelines.size(), 3u);
    // Epoch 2 carries a clientTimeline.
    std::vector<std::string> names;
    for (const auto& s : timelines[1]["series"]) names.push_back(s["name"]);
    EXPECT_EQ(names, (std::vector<std::string>{"server TPS", "client TPS", "client p50 ms", "client p99 ms"}));
    EXPECT_EQ(timelines[1]["series"][3]["points"][1], Json::array({1.5, 0.43})) << "the second [1 s, 2 s)";
    // The server's steps start at the window's start.
    EXPECT_EQ(timelines[1]["series"][0]["points"][0], Json::array({0.0, 40999.0}));
    EXPECT_EQ(timelines[1]["series"][0]["points"][3], Json::array({3.001, 32901.0}));
    EXPECT_TRUE(timelines[1]["series"][3]["points"][2][1].is_null()) << "a second with nothing committed";
    // Epoch 1 does not: the server's line, and the page says why.
    ASSERT_EQ(timelines[0]["series"].size(), 1u);
    EXPECT_THAT(page(), HasSubstr("This result has no clientTimeline"));
}

TEST(ReportHtml, InvalidThingsAreShownAsInvalidNeverAsNumbers) {
    const auto html = page();
    const auto data = data_block(html);
    // The invalid epoch: its row says invalid, and it has no latency line.
    EXPECT_THAT(html, HasSubstr("<span class=\"verdict invalid\">INVALID</span>"));
    for (const auto& c : data["charts"]) {
        if (c["kind"] != "category") continue;
        for (const auto& s : c["series"]) EXPECT_THAT(s["name"].get<std::string>(), Not(HasSubstr("epoch 7")));
    }
    EXPECT_THAT(html, HasSubstr("Not shown (invalid, or no latency): epochs 7."));
    // The search's invalid point: a gap in the TPS line and a marker on an
    // axis of its own.
    const Json* tps_chart = nullptr;
    for (const auto& c : data["charts"])
        if (c.value("title", "") == "TPS against connections" && c["series"][0]["name"] == "saturate") tps_chart = &c;
    ASSERT_NE(tps_chart, nullptr);
    EXPECT_EQ((*tps_chart)["series"][0]["points"][2], Json::array({32, nullptr}));
    const auto& marks = (*tps_chart)["marks"];
    ASSERT_EQ(marks.size(), 3u);
    EXPECT_EQ(marks[0]["name"], "invalid (no figure)");
    EXPECT_EQ(marks[0]["axis"], "invalid");
    EXPECT_THAT(marks[0]["texts"][0].get<std::string>(),
                HasSubstr("connections=32: invalid, no figure (participant_lost"));
    EXPECT_EQ(marks[1]["name"], "SLO broken");
    EXPECT_EQ(marks[2]["name"], "knee");
    EXPECT_EQ(marks[2]["points"][0], Json::array({16, 30000.0}));
}
