// The live view over real processes (issue 16, item 1): generators post
// their progress once a second while an epoch runs, GET /admin/live
// long-polls the coordinator's series, and the result keeps the window's
// per-second client timeline. And the route's refusals: a report for an
// epoch not running (409), from an unknown generator, malformed or too
// large (400), or without the token (401).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "benchdist/control/protocol.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
namespace bt = benchdist::testing;
using namespace std::chrono_literals;

namespace {

bc::Json live(bt::Rig& rig, const std::string& query = {}) {
    const auto r = rig.coord("GET", "/admin/live" + query);
    EXPECT_EQ(r.status, 200u) << r.body;
    return bc::Json::parse(r.body);
}

std::uint64_t sum_committed(const bc::Json& list) {
    std::uint64_t n = 0;
    for (const auto& s : list) n += s["committed"].get<std::uint64_t>();
    return n;
}

bt::RigOptions live_rig_options() {
    return {.tag = "live",
            .coordinator_args = std::vector<std::string>{"--window-seconds", "4", "--warmup-seconds", "1"},
            .generator = {.concurrency = 4}};
}

}  // namespace

TEST(LiveView, GeneratorsReportEverySecondAndTheSeriesAddsUpToTheirCounts) {
    bt::Rig rig(live_rig_options());
    rig.start_generator("gen-a");
    rig.start_generator("gen-b");
    rig.wait_ready(2);
    const auto epoch = *rig.start_epoch().state.current_epoch;

    // Follow the epoch the way a dashboard does: long-polls with since=.
    std::uint64_t since = 0;
    std::set<std::string> stages;
    std::set<std::string> reporting;
    bool saw_window_rates = false;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    bc::Json last;
    while (std::chrono::steady_clock::now() < deadline) {
        last = live(rig, "?since=" + std::to_string(since) + "&waitMs=5000");
        ASSERT_EQ(last["epoch"], epoch) << last.dump();
        since = last["version"].get<std::uint64_t>();
        stages.insert(last["stage"].get<std::string>());
        for (const auto& s : last["seconds"])
            for (const auto& [id, g] : s["generators"].items())
                if (g["committed"].get<std::uint64_t>() > 0) reporting.insert(id);
        if (last["stage"] == "window" && last["totals"]["clientTps"].is_number() &&
            last["totals"]["serverTps"].is_number())
            saw_window_rates = true;
        if (last["stage"] == "done") break;
    }
    ASSERT_EQ(last["stage"], "done") << last.dump();
    EXPECT_TRUE(stages.count("warmup") && stages.count("window")) << "stages seen: " << bc::Json(stages).dump();
    EXPECT_EQ(reporting, (std::set<std::string>{"gen-a", "gen-b"}));
    EXPECT_TRUE(saw_window_rates) << "client and server rates while the window was open";
    ASSERT_TRUE(last["result"].is_object());
    EXPECT_EQ(last["result"]["verdict"], "valid") << last["result"].dump();

    const auto result = rig.wait_result(epoch);
    // Every interval the generators took reached the live view (the last
    // ones just before /stopped): its totals are their counts exactly.
    const auto full = live(rig);
    EXPECT_TRUE(full["full"]);
    std::uint64_t reported = 0;
    for (const auto& [id, report] : result.extra["generatorReports"].items())
        reported += report["counters"]["committed"].get<std::uint64_t>();
    EXPECT_EQ(full["totals"]["committed"].get<std::uint64_t>(), reported);
    EXPECT_EQ(sum_committed(full["seconds"]), reported);
    EXPECT_EQ(full["windowEndMs"].get<std::int64_t>() - full["windowStartMs"].get<std::int64_t>(),
              static_cast<std::int64_t>(result.actual_window_seconds * 1000.0 + 0.5));
    bool in_window_read = false;
    for (const auto& r : full["server"]) in_window_read = in_window_read || r["inWindow"].get<bool>();
    EXPECT_TRUE(in_window_read);

    // The result's client timeline is the window's share of those seconds.
    ASSERT_TRUE(result.extra.contains("clientTimeline")) << bc::Json(result.extra).dump();
    const auto& timeline = result.extra["clientTimeline"];
    EXPECT_GE(timeline.size(), 3u);
    EXPECT_LE(timeline.size(), 5u);
    // The same selection as the result's latency (the interval rule), so
    // the same calls; clientCommitted weighs the edge seconds by when each
    // generator's load ran, and differs from it by those edges only.
    EXPECT_EQ(sum_committed(timeline), result.extra["latency"]["count"].get<std::uint64_t>());
    for (const auto& s : timeline) {
        EXPECT_TRUE(s["p99"].is_number()) << s.dump();
        EXPECT_GE(s["p99"].get<std::uint64_t>(), s["p50"].get<std::uint64_t>());
    }
}

TEST(LiveView, ALongPollWaitsForNewsAndBadProgressIsRefused) {
    bt::Rig rig(live_rig_options());
    rig.start_generator("gen-a");
    rig.wait_ready(1);

    // Nothing changes while idle: the poll is held for its wait.
    const auto idle = live(rig);
    EXPECT_TRUE(idle["epoch"].is_null());
    const auto t0 = std::chrono::steady_clock::now();
    const auto held = live(rig, "?since=" + idle["version"].dump() + "&waitMs=400");
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 350ms);
    EXPECT_EQ(held["version"], idle["version"]);

    const std::string interval =
        R"({"startMs":1000,"lengthMs":1000,"attempted":1,"committed":1,"failures":{"moduleErrors":{},)"
        R"("internalErrors":0,"timeouts":0,"disconnects":0},"latency":{"sigDigits":3,"unit":"us","count":1,)"
        R"("sum":100,"min":100,"max":100,"overflow":0,"buckets":[[100,1]]}})";
    const auto progress = [&](const std::string& id, int epoch, int copies = 1) {
        std::string list;
        for (int i = 0; i < copies; ++i) list += (i ? "," : "") + interval;
        return rig.coord("POST", "/progress",
                         R"({"id":")" + id + R"(","epoch":)" + std::to_string(epoch) +
                             R"(,"connections":4,"intervals":[)" + list + "]}");
    };
    auto r = progress("gen-a", 1);
    EXPECT_EQ(r.status, 409u) << r.body;
    EXPECT_TRUE(bt::contains(r.body, "no epoch is running")) << r.body;
    r = progress("gen-nobody", 1);
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_TRUE(bt::contains(r.body, "Unknown generator")) << r.body;
    r = progress("gen-a", 1, 17);
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_TRUE(bt::contains(r.body, "at most 16")) << r.body;
    r = rig.coord("POST", "/progress", R"({"id":"gen-a","epoch":1,"connections":4,"intervals":[{"startMs":1}]})");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_TRUE(bt::contains(r.body, "intervals")) << r.body;
    r = rig.coord("POST", "/progress", "{not json");
    EXPECT_EQ(r.status, 400u) << r.body;
    r = rig.coord("GET", "/admin/live?since=abc");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_TRUE(bt::contains(r.body, "since")) << r.body;
    EXPECT_EQ(live(rig)["version"], idle["version"]) << "nothing refused was taken";
}

TEST(LiveView, TheRoutesNeedTheToken) {
    bt::Rig rig({.tag = "live-auth",
                 .coordinator_args = std::vector<std::string>{"--auth-token", "s3cret-live"},
                 .generator = {.concurrency = 2, .args = {"--auth-token", "s3cret-live"}}});
    const auto anonymous = bt::http_call("GET", rig.coordinator().url("/admin/live"));
    EXPECT_EQ(anonymous.status, 401u) << anonymous.body;
    const auto post = bt::http_call("POST", rig.coordinator().url("/progress"), R"({"id":"gen-a"})");
    EXPECT_EQ(post.status, 401u) << post.body;
}
