// The long-poll hub on its own: which waiters are due, and how one batch
// answers many waiters with one rendering per distinct answer. No threads.
#include "benchdist/coordinator/long_poll_hub.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace benchdist;
using namespace benchdist::coordinator;
using namespace std::chrono_literals;
using Clock = LongPollHub::Clock;

namespace {

const Clock::time_point kNow = Clock::time_point{} + 1000s;

LongPollHub::Watcher full_watcher(std::uint64_t since, std::vector<std::uint64_t>& answered) {
    LongPollHub::Watcher w;
    w.since = since;
    w.on_state = [&answered](const control::CoordinatorState& s) { answered.push_back(s.version); };
    return w;
}

control::CoordinatorState state_with_version(std::uint64_t v) {
    control::CoordinatorState s;
    s.version = v;
    return s;
}

}  // namespace

TEST(LongPollHub, AWatcherIsDueWhenTheVersionMovesOrItsDeadlinePasses) {
    LongPollHub hub;
    std::vector<std::uint64_t> answered;
    hub.add(StateView::Full, 5, kNow + 10s, full_watcher(5, answered), Clock::time_point::max());
    hub.add(StateView::Full, 5, kNow + 20s, full_watcher(5, answered), Clock::time_point::max());
    EXPECT_EQ(hub.held(), 2u);
    EXPECT_EQ(hub.next_deadline(), kNow + 10s);

    LongPollHub::Due due;
    hub.take_due(StateView::Full, 5, kNow, false, due);
    EXPECT_TRUE(due.empty());
    hub.take_due(StateView::Full, 5, kNow + 10s, false, due);
    EXPECT_EQ(due.full.size(), 1u);
    EXPECT_EQ(hub.held(), 1u);

    LongPollHub::Due changed;
    hub.take_due(StateView::Full, 6, kNow + 11s, false, changed);
    EXPECT_EQ(changed.full.size(), 1u);
    EXPECT_EQ(hub.held(), 0u);
    EXPECT_FALSE(hub.next_deadline());
}

TEST(LongPollHub, AWatcherAddedAfterAChangeWaitsForTheNextOne) {
    LongPollHub hub;
    std::vector<std::uint64_t> answered;
    hub.add(StateView::Full, 5, kNow + 10s, full_watcher(5, answered), Clock::time_point::max());
    // The version moved to 6 and a new poll with since=6 arrived before the
    // notifier's pass.
    hub.add(StateView::Full, 6, kNow + 10s, full_watcher(6, answered), Clock::time_point::max());
    LongPollHub::Due due;
    hub.take_due(StateView::Full, 6, kNow, false, due);
    ASSERT_EQ(due.full.size(), 1u);
    EXPECT_EQ(due.full[0].since, 5u);
    EXPECT_EQ(hub.held(), 1u);
}

TEST(LongPollHub, ShutdownAnswersEveryone) {
    LongPollHub hub;
    std::vector<std::uint64_t> answered;
    hub.add(StateView::Full, 1, kNow + 10s, full_watcher(1, answered), Clock::time_point::max());
    LongPollHub::Watcher self;
    self.since = 1;
    self.touch_id = "a";
    hub.add(StateView::Self, 1, kNow + 10s, std::move(self), Clock::time_point::max());
    LongPollHub::Due due;
    hub.take_due(StateView::Full, 1, kNow, true, due);
    hub.take_due(StateView::Self, 1, kNow, true, due);
    EXPECT_EQ(due.full.size(), 1u);
    EXPECT_EQ(due.self.size(), 1u);
    EXPECT_EQ(hub.held(), 0u);
}

TEST(LongPollHub, OnlyAnEarlierDeadlineWakesTheNotifier) {
    LongPollHub hub;
    std::vector<std::uint64_t> answered;
    EXPECT_FALSE(hub.add(StateView::Full, 1, kNow + 30s, full_watcher(1, answered), kNow + 10s));
    EXPECT_TRUE(hub.add(StateView::Full, 1, kNow + 5s, full_watcher(1, answered), kNow + 10s));
}

TEST(LongPollHub, ABatchBuildsTheFullStateOnceAndOneTextPerDistinctView) {
    LongPollHub::Due due;
    std::vector<std::uint64_t> answered;
    due.full.push_back(full_watcher(1, answered));
    std::vector<std::string> full_texts;
    LongPollHub::Watcher rendered;
    rendered.on_rendered = [&](const control::CoordinatorState&, const std::string& text) {
        full_texts.push_back(text);
    };
    due.full.push_back(rendered);
    due.full.push_back(rendered);
    std::vector<std::pair<std::string, std::string>> self_answers;
    for (const char* id : {"a", "b", "c"}) {
        LongPollHub::Watcher w;
        w.touch_id = id;
        w.on_rendered = [&self_answers, id](const control::CoordinatorState&, const std::string& text) {
            self_answers.emplace_back(id, text);
        };
        due.self.push_back(std::move(w));
    }
    int full_builds = 0;
    int view_builds = 0;
    auto batch = LongPollHub::prepare(
        std::move(due),
        [&] {
            ++full_builds;
            return state_with_version(7);
        },
        [&](const std::string& id) {
            ++view_builds;
            auto s = state_with_version(3);
            control::SelfView v;
            v.participant = id != "c";  // a and b share one answer, c has its own
            s.self = v;
            return s;
        });
    EXPECT_EQ(full_builds, 1);
    EXPECT_EQ(view_builds, 3);
    batch.deliver();
    EXPECT_EQ(answered, (std::vector<std::uint64_t>{7}));
    ASSERT_EQ(full_texts.size(), 2u);
    EXPECT_EQ(full_texts[0], full_texts[1]);
    ASSERT_EQ(self_answers.size(), 3u);
    EXPECT_EQ(self_answers[0].second, self_answers[1].second);
    EXPECT_NE(self_answers[0].second, self_answers[2].second);
}

// Each generator's share of an epoch's load is in its view: generators with
// the same share share a text, one with another share never gets theirs.
TEST(LongPollHub, ViewsWithDifferentSharesOfTheLoadAreRenderedApart) {
    LongPollHub::Due due;
    std::map<std::string, std::string> texts;
    for (const char* id : {"a", "b", "c"}) {
        LongPollHub::Watcher w;
        w.touch_id = id;
        w.on_rendered = [&texts, id](const control::CoordinatorState&, const std::string& text) { texts[id] = text; };
        due.self.push_back(std::move(w));
    }
    auto batch = LongPollHub::prepare(
        std::move(due), [] { return state_with_version(7); },
        [](const std::string& id) {
            auto s = state_with_version(3);
            control::SelfView v;
            v.participant = true;
            control::LoadAssignment share;
            share.connections = id == "c" ? 3 : 1;
            v.load = share;
            s.self = v;
            return s;
        });
    batch.deliver();
    ASSERT_EQ(texts.size(), 3u);
    EXPECT_EQ(texts["a"], texts["b"]);
    EXPECT_NE(texts["a"], texts["c"]);
    EXPECT_EQ(control::Json::parse(texts["c"])["load"]["connections"], 3);
    EXPECT_EQ(control::Json::parse(texts["a"])["load"]["connections"], 1);
}
