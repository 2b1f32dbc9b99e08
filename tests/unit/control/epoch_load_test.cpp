#include "benchdist/control/epoch_load.hpp"

#include <gtest/gtest.h>

#include "benchdist/control/protocol.hpp"

namespace bc = benchdist::control;
using bc::Json;

namespace {

std::string refusal(const Json& j) {
    try {
        (void)bc::start_epoch_request_from_json(j);
    } catch (const bc::ProtocolError& e) {
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST(EpochLoad, StartRequestRoundTripsLoadAndTiming) {
    bc::StartEpochRequest r;
    r.label = "sweep";
    r.load = bc::EpochLoadRequest{.connections = 256, .inflight = 8, .rate = 0.0, .alpha = 1.5, .accounts = 1000};
    r.timing.warmup_auto = true;
    r.timing.stable_cv = 0.05;
    r.timing.window_seconds = 30;
    const Json j = bc::to_json(r);
    EXPECT_EQ(j["load"], Json::parse(R"({"connections":256,"inflight":8,"rate":0,"alpha":1.5,"accounts":1000})"));
    EXPECT_EQ(j["warmupAuto"], true);
    EXPECT_EQ(j["windowSeconds"], 30);
    const auto back = bc::start_epoch_request_from_json(j);
    ASSERT_TRUE(back.load);
    EXPECT_EQ(*back.load, *r.load);
    EXPECT_EQ(back.timing, r.timing);
}

TEST(EpochLoad, AnOldRequestHasNoLoadAndNoTiming) {
    const auto r = bc::start_epoch_request_from_json(Json::parse(R"({"label":"x"})"));
    EXPECT_FALSE(r.load);
    EXPECT_TRUE(r.timing.empty());
    EXPECT_FALSE(bc::to_json(r).contains("load"));
    // An empty load object asks for nothing.
    EXPECT_FALSE(bc::start_epoch_request_from_json(Json::parse(R"({"load":{}})")).load);
}

TEST(EpochLoad, RefusesExclusivePairsNamingBothKeys) {
    const auto both = refusal(Json::parse(R"({"load":{"connections":4,"connectionsPerGenerator":2}})"));
    EXPECT_NE(both.find("\"connections\" and \"connectionsPerGenerator\" are exclusive"), std::string::npos) << both;
    const auto rates = refusal(Json::parse(R"({"load":{"rate":4,"ratePerGenerator":2}})"));
    EXPECT_NE(rates.find("\"rate\" and \"ratePerGenerator\" are exclusive"), std::string::npos) << rates;
    const auto warmup = refusal(Json::parse(R"({"warmupSeconds":3,"warmupAuto":true})"));
    EXPECT_NE(warmup.find("exclusive"), std::string::npos) << warmup;
}

TEST(EpochLoad, RefusesValuesOutOfRangeNamingTheKey) {
    EXPECT_NE(refusal(Json::parse(R"({"load":{"connections":0}})")).find("\"connections\" must be a whole number"),
              std::string::npos);
    EXPECT_NE(refusal(Json::parse(R"({"load":{"inflight":1.5}})")).find("\"inflight\""), std::string::npos);
    EXPECT_NE(refusal(Json::parse(R"({"load":{"inflight":100000}})")).find("\"inflight\""), std::string::npos);
    EXPECT_NE(refusal(Json::parse(R"({"load":{"rate":-1}})")).find("\"rate\" must be a number"), std::string::npos);
    EXPECT_NE(refusal(Json::parse(R"({"load":{"alpha":"1.5"}})")).find("\"alpha\""), std::string::npos);
    EXPECT_NE(refusal(Json::parse(R"({"load":{"accounts":1}})")).find("\"accounts\""), std::string::npos);
    EXPECT_NE(refusal(Json::parse(R"({"windowSeconds":0})")).find("\"windowSeconds\""), std::string::npos);
    EXPECT_NE(refusal(Json::parse(R"({"warmupAuto":"yes"})")).find("\"warmupAuto\" must be a boolean"),
              std::string::npos);
    EXPECT_NE(refusal(Json::parse(R"({"load":[1]})")).find("\"load\" must be an object"), std::string::npos);
}

TEST(EpochLoad, RefusesUnknownLoadKeysListingTheKnownOnes) {
    const auto why = refusal(Json::parse(R"({"load":{"conections":4}})"));
    EXPECT_NE(why.find("unknown key \"conections\""), std::string::npos) << why;
    EXPECT_NE(why.find("connectionsPerGenerator"), std::string::npos) << why;
}

TEST(EpochLoad, WholeFloatsFromJavaScriptAreCounts) {
    const auto r = bc::start_epoch_request_from_json(Json::parse(R"({"load":{"connections":64.0}})"));
    ASSERT_TRUE(r.load);
    EXPECT_EQ(r.load->connections, 64u);
}

TEST(EpochLoad, SelfViewAndFullStateCarryAssignments) {
    bc::CoordinatorState s;
    s.phase = bc::Phase::Starting;
    s.current_epoch = 3;
    s.current_load["gen-a"] = bc::LoadAssignment{.connections = 10, .inflight = 4, .rate = 2500.5};
    const Json full = bc::to_json(s);
    EXPECT_EQ(full["currentLoad"]["gen-a"]["rate"], 2500.5);
    EXPECT_EQ(bc::coordinator_state_from_json(full).current_load, s.current_load);

    s.self = bc::SelfView{.participant = true, .participant_count = 2, .load = bc::LoadAssignment{.connections = 7}};
    const Json view = bc::to_json(s);
    EXPECT_EQ(view["load"], Json::parse(R"({"connections":7})"));
    const auto back = bc::coordinator_state_from_json(view);
    ASSERT_TRUE(back.self && back.self->load);
    EXPECT_EQ(back.self->load->connections, 7u);

    // A view without an assignment says nothing about load.
    s.self->load.reset();
    EXPECT_FALSE(bc::to_json(s).contains("load"));
}
