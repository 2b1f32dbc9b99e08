#include "benchdist/coordinator/load_split.hpp"

#include <gtest/gtest.h>

using namespace benchdist;
using namespace benchdist::coordinator;

namespace {

LoadParticipant ours(const std::string& id, std::uint64_t opened) { return {id, opened, true}; }

std::uint64_t connections_of(const LoadSplit& s, const std::string& id) {
    return s.assignments.at(id).connections.value();
}

}  // namespace

// 50 over 64 + 32 + 4 opened (= 100): exact shares 32, 16 and 2.
TEST(LoadSplit, ATotalFollowsTheOpenedConnections) {
    control::EpochLoadRequest r;
    r.connections = 50;
    const auto s = split_epoch_load(r, {ours("gen-a", 64), ours("gen-b", 32), ours("gen-c", 4)});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(connections_of(s, "gen-a"), 32u);
    EXPECT_EQ(connections_of(s, "gen-b"), 16u);
    EXPECT_EQ(connections_of(s, "gen-c"), 2u);
}

// 10 over 3 x 30: exact 3.33 each, the one unit left goes to the smaller
// id; with remainders that differ, the largest one wins it.
TEST(LoadSplit, RemaindersGoToTheLargestFractionThenTheSmallerId) {
    control::EpochLoadRequest r;
    r.connections = 10;
    auto s = split_epoch_load(r, {ours("gen-c", 30), ours("gen-a", 30), ours("gen-b", 30)});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(connections_of(s, "gen-a"), 4u);
    EXPECT_EQ(connections_of(s, "gen-b"), 3u);
    EXPECT_EQ(connections_of(s, "gen-c"), 3u);

    // 8 over 10 + 20 + 40 (= 70): exact 1.14, 2.29, 4.57 -> 1, 2, 4 and
    // the unit left to gen-c (.57).
    r.connections = 8;
    s = split_epoch_load(r, {ours("gen-a", 10), ours("gen-b", 20), ours("gen-c", 40)});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(connections_of(s, "gen-a"), 1u);
    EXPECT_EQ(connections_of(s, "gen-b"), 2u);
    EXPECT_EQ(connections_of(s, "gen-c"), 5u);

    // Equal fractions: the one that opened more gets the unit first.
    // 2 over 5 + 15 (= 20): 0.5 and 1.5 -> 0 and 2, then gen-a takes its
    // minimum of 1 from gen-b.
    r.connections = 2;
    s = split_epoch_load(r, {ours("gen-a", 5), ours("gen-b", 15)});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(connections_of(s, "gen-a"), 1u);
    EXPECT_EQ(connections_of(s, "gen-b"), 1u);
    r.connections = 4;  // 1.0 and 3.0: no remainder
    s = split_epoch_load(r, {ours("gen-a", 5), ours("gen-b", 15)});
    EXPECT_EQ(connections_of(s, "gen-a"), 1u);
    EXPECT_EQ(connections_of(s, "gen-b"), 3u);
    r.connections = 6;  // 1.5 and 4.5: the unit to gen-b, which opened more
    s = split_epoch_load(r, {ours("gen-a", 5), ours("gen-b", 15)});
    EXPECT_EQ(connections_of(s, "gen-a"), 1u);
    EXPECT_EQ(connections_of(s, "gen-b"), 5u);
}

// A share that rounds to 0 still gets 1, taken from the largest share.
TEST(LoadSplit, EveryParticipantRunsAtLeastOneConnection) {
    control::EpochLoadRequest r;
    r.connections = 3;
    const auto s = split_epoch_load(r, {ours("gen-a", 1000), ours("gen-b", 1), ours("gen-c", 1)});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(connections_of(s, "gen-a"), 1u);
    EXPECT_EQ(connections_of(s, "gen-b"), 1u);
    EXPECT_EQ(connections_of(s, "gen-c"), 1u);
}

TEST(LoadSplit, ATotalBelowTheParticipantsIsRefused) {
    control::EpochLoadRequest r;
    r.connections = 2;
    const auto s = split_epoch_load(r, {ours("gen-a", 8), ours("gen-b", 8), ours("gen-c", 8)});
    ASSERT_EQ(s.refusals.size(), 1u);
    EXPECT_TRUE(s.assignments.empty());
    EXPECT_EQ(s.refusals[0].generator, "");
    EXPECT_EQ(s.refusals[0].message,
              "\"connections\": 2 in total is fewer than the 3 participants (gen-a, gen-b, gen-c), and each runs at "
              "least 1; ask for at least 3, or for fewer generators with --generator-ids");
}

TEST(LoadSplit, PerGeneratorGivesEachTheSame) {
    control::EpochLoadRequest r;
    r.connections_per_generator = 16;
    const auto s = split_epoch_load(r, {ours("gen-a", 64), ours("gen-b", 16)});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(connections_of(s, "gen-a"), 16u);
    EXPECT_EQ(connections_of(s, "gen-b"), 16u);
}

TEST(LoadSplit, AShareAboveWhatAParticipantOpenedIsRefusedByName) {
    control::EpochLoadRequest r;
    r.connections_per_generator = 32;
    auto s = split_epoch_load(r, {ours("gen-a", 64), ours("gen-b", 16)});
    ASSERT_EQ(s.refusals.size(), 1u);
    EXPECT_TRUE(s.assignments.empty());
    EXPECT_EQ(s.refusals[0].generator, "gen-b");
    EXPECT_EQ(s.refusals[0].message,
              "gen-b's share is 32 active connections but it opened 16; ask for at most 16 connections per generator, "
              "start gen-b with a larger --concurrency, or leave it out with --generator-ids");

    // A total above what the fleet opened: whoever is short is named.
    r = {};
    r.connections = 100;
    s = split_epoch_load(r, {ours("gen-a", 64), ours("gen-b", 16)});
    ASSERT_FALSE(s.ok());
    for (const auto& refusal : s.refusals)
        EXPECT_NE(refusal.message.find("ask for at most 80 connections in total"), std::string::npos)
            << refusal.message;
    EXPECT_EQ(s.refusals.front().generator, "gen-a");
    EXPECT_NE(s.refusals.front().message.find("gen-a's share is 80 active connections but it opened 64"),
              std::string::npos);
}

TEST(LoadSplit, ATotalRateFollowsTheAssignedConnections) {
    control::EpochLoadRequest r;
    r.connections = 40;  // 30 and 10 of 60 + 20 opened
    r.rate = 20000;
    auto s = split_epoch_load(r, {ours("gen-a", 60), ours("gen-b", 20)});
    ASSERT_TRUE(s.ok());
    EXPECT_DOUBLE_EQ(s.assignments.at("gen-a").rate.value(), 15000);
    EXPECT_DOUBLE_EQ(s.assignments.at("gen-b").rate.value(), 5000);

    // Per generator connections: the same rate each.
    r = {};
    r.connections_per_generator = 10;
    r.rate = 1000;
    s = split_epoch_load(r, {ours("gen-a", 60), ours("gen-b", 20)});
    EXPECT_DOUBLE_EQ(s.assignments.at("gen-a").rate.value(), 500);
    EXPECT_DOUBLE_EQ(s.assignments.at("gen-b").rate.value(), 500);

    // Without connections: the opened ones, which stay as they are.
    r = {};
    r.rate = 1000;
    s = split_epoch_load(r, {ours("gen-a", 30), ours("gen-b", 10)});
    EXPECT_DOUBLE_EQ(s.assignments.at("gen-a").rate.value(), 750);
    EXPECT_DOUBLE_EQ(s.assignments.at("gen-b").rate.value(), 250);
    EXPECT_FALSE(s.assignments.at("gen-a").connections);
}

TEST(LoadSplit, RatePerGeneratorAndClosedLoop) {
    control::EpochLoadRequest r;
    r.rate_per_generator = 5000;
    auto s = split_epoch_load(r, {ours("gen-a", 60), ours("gen-b", 20)});
    EXPECT_DOUBLE_EQ(s.assignments.at("gen-a").rate.value(), 5000);
    EXPECT_DOUBLE_EQ(s.assignments.at("gen-b").rate.value(), 5000);
    r = {};
    r.rate = 0;  // closed loop for everyone
    s = split_epoch_load(r, {ours("gen-a", 60), ours("gen-b", 20)});
    EXPECT_EQ(s.assignments.at("gen-a").rate, 0.0);
    EXPECT_EQ(s.assignments.at("gen-b").rate, 0.0);
}

TEST(LoadSplit, InflightAlphaAndAccountsGoToEveryoneAsGiven) {
    control::EpochLoadRequest r;
    r.inflight = 8;
    r.alpha = 0.5;
    r.accounts = 1000;
    const auto s = split_epoch_load(r, {ours("gen-a", 6), ours("gen-b", 2)});
    ASSERT_TRUE(s.ok());
    for (const auto& id : {"gen-a", "gen-b"}) {
        control::LoadAssignment expected;
        expected.inflight = 8;
        expected.alpha = 0.5;
        expected.accounts = 1000;
        EXPECT_EQ(s.assignments.at(id), expected) << id;
    }
}

TEST(LoadSplit, AGeneratorThatDoesNotApplyEpochLoadIsRefusedByName) {
    control::EpochLoadRequest r;
    r.connections_per_generator = 100;  // above gen-x's 8: its own refusal says the fix that matters
    r.alpha = 1;
    const auto s = split_epoch_load(r, {ours("gen-a", 100), {"gen-x", 8, false}});
    ASSERT_EQ(s.refusals.size(), 1u);
    EXPECT_EQ(s.refusals[0].generator, "gen-x");
    EXPECT_EQ(s.refusals[0].message,
              "gen-x does not apply per-epoch load: it is the original harness's generator or an older "
              "bench-dist-generator; leave it out with --generator-ids or exclude it");
}

TEST(LoadSplit, TheRefusalMessageListsEveryRefusal) {
    const std::vector<LoadRefusal> refusals{{"gen-a", "first"}, {"", "second"}};
    EXPECT_EQ(load_refusal_message(refusals),
              "Refusing to start: the epoch's load cannot be applied -- first; second.");
    EXPECT_EQ(load_refusals_to_json(refusals).dump(),
              R"([{"generator":"gen-a","message":"first"},{"generator":null,"message":"second"}])");
}
