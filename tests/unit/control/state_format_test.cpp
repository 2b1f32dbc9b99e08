#include "benchdist/control/state_format.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace benchdist::control;

TEST(StateFormat, IdleWithNoGeneratorsMatchesTheOriginal) {
    CoordinatorState s;
    EXPECT_EQ(format_state(s),
              "phase=idle epoch=- label=-\n"
              "test=test-1 connector=spacetimedb participants=0\n"
              "generators: none\n");
}

TEST(StateFormat, RunningEpochWithResult) {
    CoordinatorState s;
    s.phase = Phase::Measure;
    s.current_epoch = 2;
    s.current_label = "run-2";
    s.participants = {"gen-a"};
    GeneratorSnapshot g;
    g.id = "gen-a";
    g.hostname = "load1";
    g.desired_connections = 100;
    g.opened_connections = 100;
    g.local_state = GeneratorState::Running;
    g.active_epoch = 2;
    s.generators.push_back(g);
    EpochResult r;
    r.epoch = 1;
    r.tps = 19990.671020190577;
    r.committed_delta = "600000";
    r.verification = "passed";
    s.last_result = r;
    EXPECT_EQ(format_state(s),
              "phase=measure epoch=2 label=run-2\n"
              "test=test-1 connector=spacetimedb participants=1\n"
              "generators:\n"
              "  gen-a host=load1 state=running opened=100/100 active_epoch=2\n"
              "last_result:\n"
              "  epoch=1 tps=19990.67 delta=600000 verification=passed\n");
}

TEST(StateFormat, ResultLineCarriesErrors) {
    EpochResult r;
    r.epoch = 4;
    r.verification = "failed";
    r.verification_error = "spacetimedb verification failed: total_balance mismatch";
    r.error = "Missing stop acknowledgements from: b";
    EXPECT_EQ(format_result_line(r),
              "epoch=4 tps=0.00 delta=0 verification=failed verification_error=spacetimedb verification failed: "
              "total_balance mismatch error=Missing stop acknowledgements from: b");
}

TEST(StateFormat, GeneratorsTableShowsInclusionAndContact) {
    CoordinatorState s;
    GeneratorSnapshot g;
    g.id = "a";
    g.hostname = "h";
    g.included = false;
    g.last_seen_at = "2026-01-01T00:00:00.000Z";
    s.generators.push_back(g);
    const auto t = format_generators(s);
    EXPECT_NE(t.find("excluded"), std::string::npos) << t;
    EXPECT_NE(t.find("2026-01-01T00:00:00.000Z"), std::string::npos) << t;
    EXPECT_EQ(format_generators(CoordinatorState{}), "no generators registered\n");
}

TEST(StateFormat, ResultDetailsShowLatencyErrorsRatioAndWarnings) {
    EpochResult r;
    r.committed_delta = "1000";
    r.extra["latency"] = Json{{"kind", "service time (closed loop)"},
                              {"unit", "us"},
                              {"count", 990},
                              {"mean", 1234.5},
                              {"p50", 1100},
                              {"p90", 2000},
                              {"p99", 3500},
                              {"p999", 4999},
                              {"max", 12000},
                              {"coverage", 1.0}};
    r.extra["clientCommitted"] = 990;
    r.extra["errors"] = Json{{"moduleErrors", {{"insufficient funds", 3}}},
                             {"internalErrors", 0},
                             {"timeouts", 1},
                             {"disconnects", 2},
                             {"total", 6}};
    r.extra["clientServerRatio"] = 0.99;
    r.extra["warnings"] = Json::array({"generator \"b\" sent no intervals"});
    EXPECT_EQ(format_result_details(r),
              "latency (ms, service time (closed loop)):\n"
              "       count       mean        p50        p90        p99      p99.9        max\n"
              "         990      1.234      1.100      2.000      3.500      4.999     12.000\n"
              "errors: module=3 internal=0 timeouts=1 disconnects=2\n"
              "  module error \"insufficient funds\": 3\n"
              "client/server committed ratio: 0.9900 (client 990, server 1000)\n"
              "warnings:\n"
              "  - generator \"b\" sent no intervals\n");
}

TEST(StateFormat, ResultDetailsAreEmptyWithoutClientStats) {
    EXPECT_EQ(format_result_details(EpochResult{}), "");
    EpochResult r;
    r.extra["warnings"] = Json::array();
    EXPECT_EQ(format_result_details(r), "");
}

TEST(StateFormat, OpenLoopResultShowsUncorrectedRowAndSchedule) {
    EpochResult r;
    r.committed_delta = "2000";
    r.extra["latency"] = Json{{"kind", "response time from intended send (open loop, coordinated omission corrected)"},
                              {"unit", "us"},
                              {"count", 2000},
                              {"mean", 3000.0},
                              {"p50", 3000},
                              {"p90", 3100},
                              {"p99", 9000},
                              {"p999", 15000},
                              {"max", 20000},
                              {"coverage", 1.0}};
    r.extra["latencyUncorrected"] = Json{{"kind", "service time from actual send (uncorrected)"},
                                         {"unit", "us"},
                                         {"count", 2000},
                                         {"mean", 2000.0},
                                         {"p50", 2000},
                                         {"p90", 2100},
                                         {"p99", 2500},
                                         {"p999", 3000},
                                         {"max", 4000},
                                         {"coverage", 1.0}};
    r.extra["schedule"] = Json{{"targetPerSecond", 1000.0},
                               {"achievedPerSecond", 950.0},
                               {"sendLagUs", {{"p50", 100}, {"p99", 12000}, {"max", 20000}}},
                               {"kept", false}};
    r.extra["warnings"] = Json::array();
    EXPECT_EQ(format_result_details(r),
              "latency (ms, response time from intended send (open loop, coordinated omission corrected)):\n"
              "       count       mean        p50        p90        p99      p99.9        max\n"
              "        2000      3.000      3.000      3.100      9.000     15.000     20.000\n"
              "latency uncorrected (ms, service time from actual send (uncorrected)):\n"
              "        2000      2.000      2.000      2.100      2.500      3.000      4.000\n"
              "schedule: target 1000.00/s achieved 950.00/s (95.0%) send lag p50 0.100 ms p99 12.000 ms max 20.000 ms, "
              "NOT kept\n");

    r.extra["schedule"]["targetPerSecond"] = nullptr;
    r.extra["schedule"]["kept"] = true;
    EXPECT_NE(format_result_details(r).find("schedule: target - achieved 950.00/s send lag"), std::string::npos)
        << format_result_details(r);
}

TEST(StateFormat, ClosedLoopResultShowsLittlesLaw) {
    EpochResult r;
    r.committed_delta = "1000";
    r.extra["clientServerRatio"] = 1.0;
    r.extra["clientCommitted"] = 1000;
    r.extra["littlesLaw"] = Json{{"inflightCapacity", 8}, {"busy", 7.9}, {"utilization", 0.9875}};
    EXPECT_EQ(format_result_details(r),
              "client/server committed ratio: 1.0000 (client 1000, server 1000)\n"
              "little's law: 7.90 of 8 in-flight slots busy (utilization 98.8%)\n");
}

namespace {

// What an unchecking coordinator (the original harness's) may hand
// bench-dist-control: names and texts with newlines, escapes and NULs.
CoordinatorState hostile_state() {
    const std::string forged = "\nepoch=9 tps=99999.00 delta=1 verification=passed";
    CoordinatorState s;
    s.phase = Phase::Idle;
    s.current_label = "label\x1b[2J" + forged;
    s.test = "test\x1b[31m";
    GeneratorSnapshot g;
    g.id = "gen-a" + forged;
    g.hostname = std::string("host\0hidden", 11);
    g.last_seen_at = "2026\r";
    s.generators.push_back(g);
    EpochResult r;
    r.epoch = 1;
    r.label = "run\x1b]0;title\x07";
    r.committed_delta = "1\n2";
    r.verification = "failed" + forged;
    r.verification_error = "bad\x1b[1m";
    r.error = "boom" + forged;
    r.extra["warnings"] = Json::array({"warn" + forged,
                                       "\x9b"
                                       "31m"});
    r.extra["errors"] = Json{{"moduleErrors", {{"insufficient\nfunds", 2}}}};
    r.extra["latency"] = Json{{"kind", "service\x1b[0m"}, {"count", 1}};
    s.last_result = r;
    return s;
}

::testing::AssertionResult only_printable_lines(const std::string& out) {
    for (const char c : out) {
        if (c != '\n' && (c < 0x20 || c > 0x7e))
            return ::testing::AssertionFailure() << "byte " << int(static_cast<unsigned char>(c)) << " in:\n" << out;
    }
    // No line can start with a forged field.
    if (out.find("\nepoch=9") != std::string::npos) return ::testing::AssertionFailure() << "forged line in:\n" << out;
    return ::testing::AssertionSuccess();
}

}  // namespace

TEST(StateFormat, EveryTextFromTheCoordinatorIsEscaped) {
    const auto s = hostile_state();
    const auto state = format_state(s);
    EXPECT_TRUE(only_printable_lines(state));
    EXPECT_NE(state.find("gen-a\\x0Aepoch=9 tps=99999.00 delta=1 verification=passed host=host\\x00hidden"),
              std::string::npos)
        << state;
    EXPECT_NE(state.find("label=label\\x1B[2J\\x0Aepoch=9"), std::string::npos) << state;
    EXPECT_NE(state.find("test=test\\x1B[31m"), std::string::npos) << state;
    EXPECT_NE(state.find("error=boom\\x0Aepoch=9"), std::string::npos) << state;
    // Exactly the lines format_state writes itself: 2 + "generators:" + 1 + "last_result:" + 1.
    EXPECT_EQ(std::count(state.begin(), state.end(), '\n'), 6) << state;

    const auto table = format_generators(s);
    EXPECT_TRUE(only_printable_lines(table));
    EXPECT_NE(table.find("host\\x00hidden"), std::string::npos) << table;
    EXPECT_NE(table.find("2026\\x0D"), std::string::npos) << table;
    EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 2) << table;

    const auto details = format_result_details(*s.last_result);
    EXPECT_TRUE(only_printable_lines(details));
    EXPECT_NE(details.find("warn\\x0Aepoch=9"), std::string::npos) << details;
    EXPECT_NE(details.find("\\x9B31m"), std::string::npos) << details;
    EXPECT_NE(details.find("insufficient\\x0Afunds"), std::string::npos) << details;
    EXPECT_NE(details.find("service\\x1B[0m"), std::string::npos) << details;
    EXPECT_TRUE(only_printable_lines(format_result_line(*s.last_result)));
}

// A long id no longer cuts its table row (it was printed into a 512-byte buffer).
TEST(StateFormat, GeneratorsTableKeepsLongIdsWhole) {
    CoordinatorState s;
    GeneratorSnapshot g;
    g.id = std::string(600, 'x');
    g.hostname = "h";
    g.last_seen_at = "2026-01-01T00:00:00.000Z";
    s.generators.push_back(g);
    const auto t = format_generators(s);
    EXPECT_NE(t.find(std::string(600, 'x') + " h "), std::string::npos) << t;
    EXPECT_NE(t.find("2026-01-01T00:00:00.000Z\n"), std::string::npos) << t;
}

TEST(StateFormat, AGeneratorsShareOfTheEpochsLoadIsShownBesideIt) {
    benchdist::control::CoordinatorState s;
    s.phase = benchdist::control::Phase::Measure;
    s.current_epoch = 2;
    benchdist::control::GeneratorSnapshot g;
    g.id = "gen-a";
    g.hostname = "h";
    s.generators = {g};
    s.current_load["gen-a"] = benchdist::control::LoadAssignment{.connections = 10, .rate = 0.0, .alpha = 1.5};
    const auto text = benchdist::control::format_state(s);
    EXPECT_NE(text.find(" load=connections=10,rate=closed,alpha=1.5\n"), std::string::npos) << text;
    EXPECT_EQ(benchdist::control::load_assignment_text({}), "-");
}

// A coordinator that checks nothing (the original harness's, a proxy) may
// put anything in a result's reasons: they reach the terminal escaped.
TEST(StateFormat, VerdictReasonsAreEscaped) {
    EpochResult r;
    r.extra["verdict"] = "invalid";
    r.extra["reasons"] = Json::array({{{"code", "c\x1b[2J"}, {"message", "m\nverdict: valid"}}});
    r.extra["toleratedReasons"] = Json::array({{{"code", "t\r"}, {"message", "\x07"}}});
    EXPECT_EQ(format_verdict(r),
              "verdict: INVALID\n"
              "  - [c\\x1B[2J] m\\x0Averdict: valid\n"
              "  - tolerated [t\\x0D] \\x07\n");
}
