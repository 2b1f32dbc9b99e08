// The verdict on `bench-dist-generator run`: built results in, the verdict
// and its reasons out.
#include "benchdist/generator/local_verdict.hpp"

#include <gtest/gtest.h>

using namespace benchdist;
using namespace benchdist::generator;
using control::Json;

namespace {

// A 10 s run: 5000 attempted, 5000 committed, the server agrees.
Json clean_result() {
    return Json{
        {"window", {{"requestedSeconds", 10}, {"seconds", 10.002}, {"interrupted", false}}},
        {"committedDelta", 5000},
        {"tps", 499.9},
        {"client", {{"attempted", 5000}, {"committed", 5000}, {"errors", 0}}},
        {"clientServerRatio", 1.0},
        {"clientServerCheck", {{"clientCommitted", 5000}, {"serverCommitted", 5000}, {"agrees", true}}},
        {"latency",
         {{"count", 5000}, {"p50", 900}, {"p90", 1000}, {"p99", 2000}, {"p999", 3000}, {"max", 4000}, {"mean", 950.0}}},
        {"warnings", Json::array()}};
}

LocalVerdictOptions connections(std::uint64_t desired, std::uint64_t opened) {
    LocalVerdictOptions o;
    o.desired_connections = desired;
    o.opened_connections = opened;
    return o;
}

std::vector<std::string> codes(const Json& result) {
    std::vector<std::string> out;
    for (const auto& r : result["reasons"]) out.push_back(r["code"].get<std::string>());
    return out;
}

}  // namespace

TEST(LocalVerdict, ACleanRunIsValid) {
    auto r = clean_result();
    EXPECT_TRUE(judge_local_result(r, connections(8, 8)));
    EXPECT_EQ(r["verdict"], "valid");
    EXPECT_EQ(r["reasons"], Json::array());
}

TEST(LocalVerdict, EveryCallFailedIsInvalid) {
    auto r = clean_result();
    r["client"] = {{"attempted", 80}, {"committed", 0}, {"errors", 80}};
    EXPECT_FALSE(judge_local_result(r, connections(8, 8)));
    EXPECT_EQ(codes(r), std::vector<std::string>{"committed_nothing"});
    EXPECT_NE(r["reasons"][0]["message"].get<std::string>().find("nothing committed (80 calls attempted, 80 failed)"),
              std::string::npos);
}

TEST(LocalVerdict, TooManyFailuresShortConnectionsAndAnotherClientAreReasons) {
    auto r = clean_result();
    r["client"]["errors"] = 100;  // 2% of 5000
    r["clientServerCheck"] = {{"clientCommitted", 5000}, {"serverCommitted", 8000}, {"agrees", false}};
    EXPECT_FALSE(judge_local_result(r, connections(8, 6)));
    EXPECT_EQ(codes(r), (std::vector<std::string>{"error_ratio", "connections_short", "client_server_mismatch"}));
    EXPECT_NE(r["reasons"][2]["message"].get<std::string>().find("another client wrote"), std::string::npos);
}

TEST(LocalVerdict, AnInterruptedOrStretchedWindowIsInvalid) {
    auto r = clean_result();
    r["window"]["interrupted"] = true;
    r["window"]["seconds"] = 4.0;
    EXPECT_FALSE(judge_local_result(r, connections(8, 8)));
    EXPECT_EQ(codes(r), std::vector<std::string>{"aborted"});
    auto s = clean_result();
    s["window"]["seconds"] = 12.5;
    EXPECT_FALSE(judge_local_result(s, connections(8, 8)));
    EXPECT_EQ(codes(s), std::vector<std::string>{"window_length"});
}

TEST(LocalVerdict, ThresholdsAndToleranceWork) {
    auto r = clean_result();
    auto o = connections(8, 8);
    o.thresholds = {stats::parse_threshold("p99<=1ms"), stats::parse_threshold("tps>=400"),
                    stats::parse_threshold("errorRatio<1%")};
    EXPECT_FALSE(judge_local_result(r, o));
    ASSERT_EQ(r["thresholds"].size(), 3u);
    EXPECT_EQ(r["thresholds"][0]["observed"], 2.0);
    EXPECT_EQ(r["thresholds"][0]["passed"], false);
    EXPECT_EQ(r["thresholds"][1]["passed"], true);
    EXPECT_EQ(r["thresholds"][2]["passed"], true);
    auto t = clean_result();
    o.tolerate = {"threshold_failed"};
    EXPECT_TRUE(judge_local_result(t, o));
    EXPECT_EQ(t["toleratedReasons"].size(), 1u);
}
