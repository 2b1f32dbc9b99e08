#include "benchdist/control/state_format.hpp"

#include <gtest/gtest.h>

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
