// Per-epoch load on a real coordinator over HTTP (issue 15, item 1; named
// per_epoch_load_test beside the unit epoch_load_test of control), with
// generators played by hand (/register, /ready, /started, /stopped) so the
// coordinator's side is tested on its own: the 409s naming a generator that
// opened too few connections and one that does not apply per-epoch load,
// each participant's share in its /state view, the epoch's own window, and
// a result with `epochLoad` whose verdict is invalid (load_not_applied)
// when a report disagrees with its share.
#include <gtest/gtest.h>

#include <string>

#include "benchdist/control/protocol.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
namespace bt = benchdist::testing;
using namespace std::chrono_literals;

namespace {

// A stand-in for the counter and a coordinator whose own window is a
// minute: an epoch that ends sooner ran the window it asked for.
class LoadRig : public bt::Rig {
public:
    LoadRig()
        : bt::Rig({.tag = "epoch-load",
                   .coordinator_args = std::vector<std::string>{"--window-seconds", "60", "--lease-seconds", "0",
                                                                "--align-window-ms", "0"}}) {}

    // A generator by hand; `applies` says appliesEpochLoad in its manifest.
    void join(const std::string& id, std::uint64_t opened, bool applies) {
        bc::Json manifest = {{"holdsLease", false}};
        if (applies) manifest["appliesEpochLoad"] = true;
        const auto reg = coord(
            "POST", "/register",
            bc::Json{{"id", id}, {"hostname", id + ".local"}, {"desiredConnections", opened}, {"manifest", manifest}}
                .dump());
        ASSERT_EQ(reg.status, 200u) << reg.body;
        const auto ready = coord("POST", "/ready", bc::Json{{"id", id}, {"openedConnections", opened}}.dump());
        ASSERT_EQ(ready.status, 200u) << ready.body;
    }
};

}  // namespace

TEST(EpochLoad, AStartSomeGeneratorCannotRunIs409NamingIt) {
    LoadRig rig;
    rig.join("gen-a", 8, true);
    rig.join("gen-b", 2, true);
    rig.join("gen-old", 8, false);

    auto r = rig.coord("POST", "/admin/start-epoch", R"({"load": {"connectionsPerGenerator": 4}})");
    EXPECT_EQ(r.status, 409u) << r.body;
    auto body = bc::Json::parse(r.body);
    EXPECT_EQ(body["started"], false);
    auto message = body["message"].get<std::string>();
    EXPECT_TRUE(bt::contains(message, "gen-b's share is 4 active connections but it opened 2")) << message;
    EXPECT_TRUE(bt::contains(message, "gen-old does not apply per-epoch load")) << message;
    EXPECT_FALSE(bt::contains(message, "gen-a")) << message;
    EXPECT_EQ(body["error"], message);
    EXPECT_EQ(body["loadRefusals"].size(), 2u);

    // A total above what the chosen ones opened: gen-b again.
    r = rig.coord("POST", "/admin/start-epoch", R"({"generatorIds": ["gen-a", "gen-b"], "load": {"connections": 12}})");
    EXPECT_EQ(r.status, 409u) << r.body;
    message = bc::Json::parse(r.body)["message"].get<std::string>();
    EXPECT_TRUE(bt::contains(message, "ask for at most 10 connections in total")) << message;
    EXPECT_FALSE(bt::contains(message, "gen-old")) << message;

    // Bad load keys are a 400 naming the key, as before anything is split.
    r = rig.coord("POST", "/admin/start-epoch", R"({"load": {"connections": 4, "connectionsPerGenerator": 2}})");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_TRUE(bt::contains(r.body, "are exclusive")) << r.body;

    EXPECT_EQ(rig.state().phase, bc::Phase::Idle);
    EXPECT_FALSE(rig.state().current_epoch);
}

TEST(EpochLoad, EachShareIsInItsViewAndTheResultHoldsEveryoneToIt) {
    LoadRig rig;
    rig.join("gen-a", 6, true);
    rig.join("gen-b", 2, true);
    rig.join("gen-old", 8, false);  // left out by name

    const auto started = rig.coord("POST", "/admin/start-epoch",
                                   R"({"label": "grid-1", "generatorIds": ["gen-a", "gen-b"],
                                       "load": {"connections": 4, "inflight": 2, "alpha": 0.8},
                                       "windowSeconds": 0.5})");
    ASSERT_EQ(started.status, 200u) << started.body;
    ASSERT_EQ(bc::Json::parse(started.body)["started"], true) << started.body;

    // 4 over 6 + 2 opened: 3 and 1.
    const auto view_a = bc::Json::parse(rig.coord("GET", "/state?id=gen-a&view=self").body);
    EXPECT_EQ(view_a["load"], (bc::Json{{"connections", 3}, {"inflight", 2}, {"alpha", 0.8}}));
    const auto view_b = bc::Json::parse(rig.coord("GET", "/state?id=gen-b&view=self").body);
    EXPECT_EQ(view_b["load"]["connections"], 1);
    EXPECT_FALSE(bc::Json::parse(rig.coord("GET", "/state?id=gen-old&view=self").body).contains("load"));
    EXPECT_EQ(bc::Json::parse(rig.coord("GET", "/state").body)["currentLoad"]["gen-b"]["alpha"], 0.8);

    for (const auto* id : {"gen-a", "gen-b"})
        ASSERT_EQ(rig.coord("POST", "/started", bc::Json{{"id", id}, {"epoch", 1}}.dump()).status, 200u);
    rig.wait_phase(bc::Phase::Stop);
    // gen-a ran its share; gen-b kept both of its connections.
    const auto report = [](const char* id, int connections) {
        return bc::Json{{"id", id},
                        {"epoch", 1},
                        {"settings",
                         {{"connections", connections}, {"accounts", 1000}, {"alpha", 0.8}, {"maxInflight", 2}}},
                        {"load", {{"mode", "closed"}, {"maxInflight", 2}, {"connections", connections}}}}
            .dump();
    };
    ASSERT_EQ(rig.coord("POST", "/stopped", report("gen-a", 3)).status, 200u);
    ASSERT_EQ(rig.coord("POST", "/stopped", report("gen-b", 2)).status, 200u);

    const auto result = rig.wait_result(1, 30s);
    EXPECT_EQ(result.window_seconds, 0.5) << "the epoch's window, not the coordinator's 60 s";
    EXPECT_LT(result.actual_window_seconds, 30);
    EXPECT_EQ(result.participant_connections, 5u) << "what ran: 3 + 2";
    const auto& load = result.extra["epochLoad"];
    EXPECT_EQ(load["request"], (bc::Json{{"connections", 4}, {"inflight", 2}, {"alpha", 0.8}}));
    EXPECT_EQ(load["assignments"]["gen-a"]["connections"], 3);
    EXPECT_EQ(load["windowSeconds"], 0.5);
    EXPECT_EQ(result.extra["verdict"], "invalid");
    const bc::Json* found = nullptr;
    for (const auto& reason : result.extra["reasons"])
        if (reason["code"] == "load_not_applied") found = &reason;
    ASSERT_NE(found, nullptr) << result.extra["reasons"];
    EXPECT_EQ((*found)["generator"], "gen-b");
    EXPECT_EQ((*found)["field"], "connections");
    EXPECT_EQ((*found)["assigned"], 1);
    EXPECT_EQ((*found)["ran"], 2);

    // The shares end with the epoch.
    EXPECT_FALSE(bc::Json::parse(rig.coord("GET", "/state?id=gen-a&view=self").body).contains("load"));
}
