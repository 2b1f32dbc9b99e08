// Liveness with real processes on 127.0.0.1 and short leases (2 s): a
// generator frozen with SIGSTOP during `measure` is marked lost and the epoch
// flagged naming it within its lease, and it rejoins after SIGCONT; a
// generator whose coordinator dies stops loading within its lease (the
// stand-in's counter stops), keeps re-registering, and takes part again once
// a coordinator is back on the same port.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <map>

#include "benchdist/control/protocol.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
using namespace benchdist::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kLease = "2";

// A seeded stand-in and a coordinator with 2 s leases; generators get 2
// connections. The coordinator can be killed and started again on its port.
class LivenessCluster : public benchdist::testing::Rig {
public:
    explicit LivenessCluster(int window = 6)
        : Rig({.tag = "liveness",
               .coordinator_args = std::nullopt,
               .long_poll = 200ms,
               .generator = {.concurrency = 2}}),
          window_seconds(window) {
        start_coordinator(0);
    }

    // port 0: a free one; otherwise the port a killed coordinator had.
    void start_coordinator(int port) {
        Rig::start_coordinator({"--window-seconds", std::to_string(window_seconds), "--start-ack-timeout-seconds", "10",
                                "--stop-ack-timeout-seconds", "30", "--lease-seconds", kLease, "--align-window-ms",
                                "0"},
                               port);
    }
    int coord_port() { return coordinator().port(); }
    std::uint64_t server_committed() { return standin().committed(); }

    int window_seconds;
};

bool lost_named(const bc::CoordinatorState& s, const std::string& id) {
    for (const auto& e : s.current_epoch_errors)
        if (contains(e, "generator " + id + " lost: silent for")) return true;
    return false;
}

}  // namespace

TEST(Liveness, StoppedGeneratorIsFlaggedWithinItsLeaseAndRejoinsAfterSigcont) {
    LivenessCluster c;
    c.start_generator("gen-a");
    c.start_generator("gen-b");
    c.wait_ready(2);
    EXPECT_EQ(c.state().lease_seconds, 2.0);
    ASSERT_TRUE(c.start_epoch().started);
    c.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 30s);

    c.generator("gen-b").signal(SIGSTOP);
    const auto stopped_at = Clock::now();
    // Lease 2 s, plus at most one long-poll (a third of the lease) that
    // counts as contact when it is answered, plus scheduling slack.
    const auto flagged = c.wait_state([](const bc::CoordinatorState& s) { return lost_named(s, "gen-b"); }, 10s);
    const double flagged_after = seconds_since(stopped_at);
    EXPECT_LT(flagged_after, 2.0 + 0.7 + 1.3) << "flagged only after " << flagged_after << " s";
    EXPECT_EQ(flagged.phase, bc::Phase::Measure) << "flagged at once, not at the end of the window";
    for (const auto& g : flagged.generators)
        EXPECT_EQ(g.local_state, g.id == "gen-b" ? bc::GeneratorState::Lost : bc::GeneratorState::Running) << g.id;
    EXPECT_TRUE(contains(c.coordinator().process().output(), "generator gen-b lost: silent for"))
        << c.coordinator().process().output();

    // The result comes at the window's end: the 30 s stop-ack wait does not wait for gen-b.
    const auto r1 = c.wait_result(1, 25s);
    EXPECT_LT(seconds_since(stopped_at), 20.0);
    ASSERT_TRUE(r1.error.has_value());
    EXPECT_TRUE(contains(*r1.error, "generator gen-b lost: silent for")) << *r1.error;
    EXPECT_TRUE(contains(*r1.error, "s during measure")) << *r1.error;
    EXPECT_FALSE(contains(*r1.error, "Missing stop acknowledgements")) << *r1.error;

    // Named explicitly while lost: refused, saying why.
    const auto refused = bc::start_epoch_response_from_json(
        bc::Json::parse(c.coord("POST", "/admin/start-epoch", R"({"generatorIds":["gen-a","gen-b"]})").body));
    EXPECT_FALSE(refused.started);
    EXPECT_TRUE(contains(refused.message, "lost")) << refused.message;

    c.generator("gen-b").signal(SIGCONT);
    c.wait_ready(2);
    ASSERT_TRUE(c.start_epoch().started);
    const auto r2 = c.wait_result(2);
    EXPECT_FALSE(r2.error) << r2.error.value_or("");
    EXPECT_EQ(r2.participant_ids, (std::vector<std::string>{"gen-a", "gen-b"}));
    EXPECT_GT(std::stoull(r2.committed_delta), 0u);
}

TEST(Liveness, GeneratorStopsLoadingWithinItsLeaseWhenItsCoordinatorDiesAndRejoinsANewOne) {
    LivenessCluster c(30);  // the coordinator dies long before the window ends
    auto& gen = c.start_generator("gen-a");
    c.wait_ready(1);
    ASSERT_TRUE(c.start_epoch().started);
    c.wait_state([](const bc::CoordinatorState& s) { return s.phase == bc::Phase::Measure; }, 30s);
    // Loading: the server's counter moves.
    const auto loading_from = c.server_committed();
    {
        const auto deadline = Clock::now() + 10s;
        while (c.server_committed() <= loading_from + 50 && Clock::now() < deadline) {
            // each read is an HTTP round trip: the loop paces itself
        }
        ASSERT_GT(c.server_committed(), loading_from + 50) << gen.output();
    }

    const int port = c.coord_port();
    c.coordinator().process().signal(SIGKILL);
    const auto killed_at = Clock::now();
    const auto fenced =
        gen.wait_for_line([](const std::string& l) { return contains(l, "lost the coordinator at"); }, 10s);
    ASSERT_TRUE(fenced) << gen.output();
    const double fenced_after = seconds_since(killed_at);
    // The lease is renewed by the last answer before the kill (at most one
    // long-poll, a quarter of the lease, earlier).
    EXPECT_LT(fenced_after, 2.0 + 1.0) << *fenced;
    EXPECT_TRUE(contains(*fenced, "stopping load")) << *fenced;
    // Calls in flight at the fence finish (or time out) before this line.
    ASSERT_TRUE(
        gen.wait_for_line([](const std::string& l) { return contains(l, "load stopped, connections kept open"); }, 15s))
        << gen.output();

    // The load stopped: the counter holds still while the generator keeps
    // trying to re-register (three failed attempts take about a second).
    const auto after_fence = c.server_committed();
    ASSERT_TRUE(
        gen.wait_for_line([](const std::string& l) { return contains(l, "re-register attempt 3 failed"); }, 15s))
        << gen.output();
    EXPECT_EQ(c.server_committed(), after_fence) << "transfers went on after the fence";
    EXPECT_TRUE(gen.running()) << "it must keep trying, not exit:\n" << gen.output();

    // A coordinator back on the same port: the generator registers and takes part.
    c.drop_coordinator();
    c.window_seconds = 2;
    c.start_coordinator(port);
    c.wait_ready(1);
    ASSERT_TRUE(
        gen.wait_for_line([](const std::string& l) { return contains(l, "re-registered with the coordinator"); }, 5s))
        << gen.output();
    ASSERT_TRUE(c.start_epoch().started);
    const auto r = c.wait_result(1);
    EXPECT_FALSE(r.error) << r.error.value_or("");
    EXPECT_EQ(r.participant_ids, std::vector<std::string>{"gen-a"});
    EXPECT_GT(std::stoull(r.committed_delta), 0u);
}
