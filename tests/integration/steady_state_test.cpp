// --warmup auto with real processes on 127.0.0.1: a stand-in whose reply
// delay falls over the first seconds (POST /v1/debug/delay-schedule) makes
// the servers' commit rate climb and then settle; the coordinator must open
// the window only after it settled, and say not_steady when it never does
// within --warmup-max.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "result_reasons.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
using namespace benchdist::testing;
using namespace std::chrono_literals;

namespace {

// The stand-in with its debug routes, a coordinator that warms up until the
// rate is steady over 2 s (CV 10%), at most `warmup_max` s, and samples its
// 2 s window every 500 ms (enough steps to classify its stability), and two
// closed-loop generators with two connections each, ready.
struct SteadyRig {
    explicit SteadyRig(const std::string& tag, const std::string& warmup_max)
        : rig({.tag = tag,
               .standin = {.args = {"--debug-routes"}},
               .coordinator_args =
                   std::vector<std::string>{"--warmup", "auto", "--stable-seconds", "2", "--stable-cv", "0.10",
                                            "--warmup-max", warmup_max, "--window-seconds", "2", "--sample-ms", "500"},
               .generator = {.concurrency = 2}}) {
        rig.start_generator("gen-a");
        rig.start_generator("gen-b");
        rig.wait_ready(2);
    }
    // Posts the schedule, then starts the epoch at once; returns its result.
    bc::EpochResult run_with_schedule(const std::string& query) {
        const auto r = rig.standin().post("/v1/debug/delay-schedule?" + query);
        EXPECT_EQ(r.status, 200u) << r.body;
        const auto started = rig.start_epoch();
        EXPECT_TRUE(started.started) << started.message;
        return rig.wait_result(1, 60s);
    }
    Rig rig;
};

}  // namespace

TEST(SteadyState, TheWindowOpensOnlyAfterTheFallingDelaySettled) {
    SteadyRig s("steady-settles", "30");
    // The reply delay halves every second for 4 s, then stays at 1 ms: each
    // halving nearly doubles the closed-loop rate, far beyond a 10% CV, so
    // no two consecutive seconds agree until it stays. The last value is
    // not 0: a rate bound by the delay is steadier than one bound by a CPU
    // the other tests share.
    const auto r = s.run_with_schedule("replyUs=20000,10000,5000,2500,1000&stepMs=1000");
    ASSERT_TRUE(r.extra.contains("warmup")) << dump(r);
    const auto& w = r.extra["warmup"];
    EXPECT_EQ(w["mode"], "auto");
    EXPECT_EQ(w["stable"], true) << dump(r);
    // The last change came 4 s after the schedule started, a moment before
    // the start barrier; two steady seconds after it were needed.
    EXPECT_GE(w["seconds"].get<double>(), 4.0) << w;
    EXPECT_LE(w["cv"].get<double>(), 0.10) << w;
    EXPECT_GE(w["rates"].size(), 4u) << w;
    EXPECT_EQ(r.extra["verdict"], "valid") << dump(r);
    EXPECT_EQ(r.extra["warmupSeconds"], w["seconds"]);
    // The window measured the settled rate: classified, and not collapsed
    // (a decay warning may come from a loaded machine's noise over 2 s).
    const auto& stability = r.extra["windowStability"];
    EXPECT_GE(stability["samples"].get<int>(), 3) << stability;
    EXPECT_NE(stability.value("warning", ""), "collapsed") << stability;
    EXPECT_GT(std::stoull(r.committed_delta), 0u);
}

TEST(SteadyState, ARateThatKeepsMovingIsNotSteadyAtTheCap) {
    SteadyRig s("steady-never", "4");
    // The delay halves every second for 10 s, longer than the 4 s cap and
    // the window: the rate nearly doubles each second, so two consecutive
    // seconds never agree within 10% (a CV near 33%). Not an alternation: a
    // per-second rate averages a fast alternation back into a steady one.
    const auto r = s.run_with_schedule("replyUs=40000,20000,10000,5000,2500,1250,600,300,150,80&stepMs=1000");
    const auto& w = r.extra["warmup"];
    EXPECT_EQ(w["stable"], false) << dump(r);
    EXPECT_GE(w["seconds"].get<double>(), 4.0) << w;
    EXPECT_LT(w["seconds"].get<double>(), 8.0) << w;
    EXPECT_EQ(r.extra["verdict"], "invalid");
    const auto* not_steady = find_reason(r, "not_steady");
    ASSERT_NE(not_steady, nullptr) << dump(r);
    EXPECT_NE((*not_steady)["message"].get<std::string>().find("did not settle within --warmup-max 4 s"),
              std::string::npos)
        << (*not_steady)["message"];
    // The window still measured.
    EXPECT_GT(std::stoull(r.committed_delta), 0u);
}
