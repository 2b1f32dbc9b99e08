// A generator's compact view of /state (?view=self): what it shows, which
// changes move its version (and so end held long-polls) and which do not,
// that its JSON parses next to the full state's, that one rendering is
// shared by the waiters given the same answer, and the lease index that
// keeps lease checks from walking the fleet.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "benchdist/control/protocol.hpp"
#include "benchdist/coordinator/coordinator.hpp"
#include "benchdist/coordinator/epoch_state.hpp"
#include "benchdist/coordinator/routes.hpp"
#include "benchdist/generator/agent.hpp"

using namespace benchdist;
using namespace benchdist::coordinator;
using namespace std::chrono_literals;
using control::GeneratorState;
using control::Phase;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kT0 = 1775822400000;  // 2026-04-10T12:00:00.000Z

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

// A /register from one of our generators, which hold a lease.
control::RegisterRequest leased(const std::string& id, const std::string& host) {
    control::RegisterRequest r{id, host, 1};
    r.extra["manifest"] = control::Json{{"holdsLease", true}};
    return r;
}

class StateMachineViewTest : public ::testing::Test {
protected:
    EpochStateMachine sm{"test-1", "spacetimedb"};
    void add(const std::string& id) {
        sm.register_generator(leased(id, id + "-host"), kT0);
        sm.mark_ready({id, 1}, kT0);
    }
    StartOutcome start(std::optional<std::vector<std::string>> ids = std::nullopt) {
        control::StartEpochRequest r;
        r.generator_ids = std::move(ids);
        return sm.start_epoch(r, {});
    }
};

}  // namespace

TEST_F(StateMachineViewTest, ViewSaysWhetherThisGeneratorTakesPart) {
    add("a");
    add("b");
    add("c");
    sm.set_included({"c"}, false);
    ASSERT_TRUE(start(std::vector<std::string>{"a", "b"}).started);

    const auto a = sm.view_of("a");
    ASSERT_TRUE(a.self);
    EXPECT_TRUE(a.self->participant);
    EXPECT_TRUE(a.self->included);
    EXPECT_EQ(a.self->local_state, GeneratorState::Starting);
    EXPECT_EQ(a.self->participant_count, 2u);
    EXPECT_EQ(a.phase, Phase::Starting);
    EXPECT_EQ(a.current_epoch, 1u);
    EXPECT_EQ(a.version, sm.view_version());
    EXPECT_TRUE(a.participants.empty()) << "no fleet-wide lists in a view";
    EXPECT_TRUE(a.generators.empty());

    const auto c = sm.view_of("c");
    EXPECT_FALSE(c.self->participant);
    EXPECT_FALSE(c.self->included);
    EXPECT_EQ(c.self->local_state, GeneratorState::Ready);

    EXPECT_EQ(error_of([&] { (void)sm.view_of("ghost"); }), "Unknown generator \"ghost\"");
}

TEST_F(StateMachineViewTest, ViewVersionMovesOnlyWithWhatViewsShow) {
    auto full = sm.version();
    auto view = sm.view_version();
    // Returns {full moved, view moved} since the last call.
    auto moved = [&] {
        const std::pair<bool, bool> m{sm.version() > full, sm.view_version() > view};
        full = sm.version();
        view = sm.view_version();
        return m;
    };
    using M = std::pair<bool, bool>;
    sm.register_generator(leased("a", "h"), kT0);
    EXPECT_EQ(moved(), M(true, false)) << "a registration elsewhere wakes no generator";
    sm.mark_ready({"a", 1}, kT0);
    EXPECT_EQ(moved(), M(true, false));
    add("b");
    moved();
    sm.heard_from("a", 0);
    sm.heard_from("b", 0);
    sm.touch("a", kT0);
    EXPECT_EQ(moved(), M(false, false));
    sm.set_included({"b"}, true);
    EXPECT_EQ(moved(), M(true, true));
    ASSERT_TRUE(start().started);
    EXPECT_EQ(moved(), M(true, true));
    sm.acknowledge_started({"a", 1, {}}, kT0);
    EXPECT_EQ(moved(), M(true, false)) << "an ack changes no one's view";
    sm.set_phase(Phase::Measure);
    EXPECT_EQ(moved(), M(true, true));
    sm.heard_from("a", 20000);
    ASSERT_EQ(sm.expire_leases(20000, 10000).size(), 1u);  // b
    EXPECT_EQ(moved(), M(true, false)) << "a loss moves the full state only";
    EXPECT_TRUE(sm.request_abort());
    EXPECT_EQ(moved(), M(true, false));
    sm.set_phase(Phase::Stop);
    EXPECT_EQ(moved(), M(true, true));
    sm.acknowledge_stopped({"a", 1, {}}, kT0);
    EXPECT_EQ(moved(), M(true, false));
    sm.finish_epoch({});
    EXPECT_EQ(moved(), M(true, true));
}

TEST_F(StateMachineViewTest, ALostGeneratorHeardAgainComesBackWithoutABump) {
    add("a");
    sm.heard_from("a", 0);
    ASSERT_EQ(sm.expire_leases(10001, 10000).size(), 1u);
    EXPECT_EQ(sm.view_of("a").self->local_state, GeneratorState::Lost);
    const auto full = sm.version();
    const auto view = sm.view_version();
    sm.heard_from("a", 10500);
    EXPECT_EQ(sm.view_of("a").self->local_state, GeneratorState::Ready);
    EXPECT_EQ(sm.version(), full) << "coming back must not answer every held long-poll";
    EXPECT_EQ(sm.view_version(), view);
    EXPECT_EQ(sm.next_lease_expiry(10000), 20500) << "its lease runs again";
    EXPECT_TRUE(start().started) << "and it is eligible at once";
}

TEST_F(StateMachineViewTest, LeaseIndexExpiresOldestFirstReportsInIdOrderAndFollowsReRegistration) {
    for (const auto* id : {"d", "a", "c", "b"}) add(id);
    sm.heard_from("d", 100);
    sm.heard_from("a", 300);
    sm.heard_from("c", 200);
    sm.heard_from("b", 5000);
    EXPECT_EQ(sm.next_lease_expiry(1000), 1100);
    sm.heard_from("d", 400);  // renewed: no longer the oldest
    EXPECT_EQ(sm.next_lease_expiry(1000), 1200);
    const auto lost = sm.expire_leases(1350, 1000);  // c (silent 1150) and a (1050); d (950) is not past it
    ASSERT_EQ(lost.size(), 2u);
    EXPECT_EQ(lost[0].id, "a");
    EXPECT_EQ(lost[0].silent_ms, 1050);
    EXPECT_EQ(lost[1].id, "c");
    EXPECT_EQ(lost[1].silent_ms, 1150);
    EXPECT_EQ(sm.next_lease_expiry(1000), 1400) << "lost generators have no lease running";
    EXPECT_TRUE(sm.expire_leases(1350, 1000).empty()) << "each loss is reported once";

    // A lost generator that registers again has a lease again.
    ASSERT_EQ(sm.expire_leases(7000, 1000).size(), 2u);  // d, b
    EXPECT_FALSE(sm.next_lease_expiry(1000));
    sm.register_generator(leased("c", "c-host"), kT0);
    EXPECT_EQ(sm.next_lease_expiry(1000), 1200) << "from its last contact until heard_from() renews it";
    sm.heard_from("c", 7100);
    EXPECT_EQ(sm.next_lease_expiry(1000), 8100);
    EXPECT_EQ(sm.view_of("c").self->local_state, GeneratorState::Registered);
}

TEST(StateViewJson, ViewRoundTripsAndTheFullStateStillParses) {
    control::CoordinatorState v;
    v.phase = Phase::Measure;
    v.current_epoch = 3;
    v.version = 7;
    v.server_time_ms = kT0;
    v.lease_seconds = 10;
    v.self = control::SelfView{true, false, GeneratorState::Running, 1000};
    const auto j = control::to_json(v);
    EXPECT_EQ(control::compact(j),
              "{\"view\":\"self\",\"phase\":\"measure\",\"currentEpoch\":3,\"currentLabel\":null,\"test\":\"test-1\","
              "\"connector\":\"spacetimedb\",\"participant\":true,\"included\":false,\"localState\":\"running\","
              "\"participantCount\":1000,\"version\":7,\"serverTimeMs\":1775822400000,\"leaseSeconds\":10}\n");
    const auto back = control::coordinator_state_from_json(j);
    ASSERT_TRUE(back.self);
    EXPECT_TRUE(back.self->participant);
    EXPECT_FALSE(back.self->included);
    EXPECT_EQ(back.self->local_state, GeneratorState::Running);
    EXPECT_EQ(back.self->participant_count, 1000u);
    EXPECT_EQ(back.phase, Phase::Measure);
    EXPECT_EQ(back.current_epoch, 3u);
    EXPECT_EQ(back.version, 7u);
    EXPECT_EQ(back.server_time_ms, kT0);
    EXPECT_EQ(back.lease_seconds, 10.0);

    // The full state (what an older coordinator answers) parses without a view.
    control::CoordinatorState full;
    full.participants = {"a"};
    full.generators.push_back(control::GeneratorSnapshot{});
    full.generators.back().id = "a";
    const auto parsed =
        control::coordinator_state_from_json(control::Json::parse(control::compact(control::to_json(full))));
    EXPECT_FALSE(parsed.self);
    EXPECT_EQ(parsed.participants, std::vector<std::string>{"a"});
    ASSERT_EQ(parsed.generators.size(), 1u);

    auto bad = j;
    bad["view"] = "other";
    EXPECT_NE(error_of([&] { (void)control::coordinator_state_from_json(bad); }).find("\"view\""), std::string::npos);
    bad = j;
    bad.erase("participant");
    EXPECT_EQ(error_of([&] { (void)control::coordinator_state_from_json(bad); }),
              "missing required key \"participant\"");
}

TEST(StateViewAgent, DecideReadsTheViewOrTheParticipantList) {
    control::CoordinatorState view;
    view.phase = Phase::Starting;
    view.current_epoch = 4;
    view.self = control::SelfView{true, true, GeneratorState::Starting, 1};
    EXPECT_EQ(generator::decide(view, "gen-a", std::nullopt),
              (generator::AgentDecision{generator::AgentAction::Start, 4, true}));
    view.self->participant = false;
    EXPECT_EQ(generator::decide(view, "gen-a", std::nullopt), generator::AgentDecision{});
    EXPECT_EQ(generator::decide(view, "gen-a", 4), (generator::AgentDecision{generator::AgentAction::Stop, 4}));

    control::CoordinatorState full = view;  // an older coordinator: no view, a list
    full.self.reset();
    full.participants = {"gen-a"};
    EXPECT_EQ(generator::decide(full, "gen-a", std::nullopt),
              (generator::AgentDecision{generator::AgentAction::Start, 4, true}));
}

namespace {

class NoCounter : public CounterSource {
public:
    void begin_epoch() override {}
    stdbhttp::CounterRead read() override { throw std::runtime_error("no counter in this test"); }
};

struct Answer {
    unsigned status = 0;
    std::string body;
    control::Json json;
};

class CoordinatorViewTest : public ::testing::Test {
protected:
    fs::path dir;
    CoordinatorOptions options;
    std::unique_ptr<Coordinator> c;

    void SetUp() override {
        dir = fs::temp_directory_path() / ("benchdist-state-view-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        options.results_dir = dir;
        options.start_ack_timeout_seconds = 30;
        c = std::make_unique<Coordinator>(options, std::make_shared<NoCounter>(), nullptr, [] { return kT0; });
    }
    void TearDown() override {
        c.reset();
        fs::remove_all(dir);
    }
    void add(const std::string& id) {
        c->register_generator(leased(id, id + "-host"));
        c->ready({id, 1});
    }
    static net::HttpRequest request(std::string method, std::string target, std::string body = "") {
        net::HttpRequest r;
        r.method = std::move(method);
        const auto q = target.find('?');
        r.path = target.substr(0, q);
        if (q != std::string::npos) r.query = target.substr(q + 1);
        r.body = std::move(body);
        return r;
    }
    static std::future<Answer> call_async(const net::RequestHandler& h, net::HttpRequest req) {
        auto p = std::make_shared<std::promise<Answer>>();
        auto f = p->get_future();
        h(std::move(req), [p](net::HttpResponse res) {
            Answer a;
            a.status = res.status;
            a.body = res.body;
            a.json = control::Json::parse(res.body);
            p->set_value(std::move(a));
        });
        return f;
    }
    static Answer call(const net::RequestHandler& h, std::string method, std::string target, std::string body = "") {
        auto f = call_async(h, request(std::move(method), std::move(target), std::move(body)));
        EXPECT_EQ(f.wait_for(2s), std::future_status::ready);
        return f.get();
    }
};

}  // namespace

TEST_F(CoordinatorViewTest, RoutesAnswerTheViewCompactAndKeepTheFullState) {
    const auto h = make_http_handler(*c);
    add("a");
    add("b");

    auto a = call(h, "GET", "/state?id=a&view=self");
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.json["view"], "self");
    EXPECT_EQ(a.json["participant"], false);
    EXPECT_EQ(a.json["localState"], "ready");
    EXPECT_FALSE(a.json.contains("generators"));
    EXPECT_EQ(a.body.find('\n'), a.body.size() - 1) << "one compact line";
    EXPECT_EQ(control::coordinator_state_from_json(a.json).self->included, true);

    // Without the view: the full state, compact on /state, indented on
    // /admin/status and with ?pretty=1.
    a = call(h, "GET", "/state?id=a");
    EXPECT_FALSE(a.json.contains("view"));
    EXPECT_EQ(a.json["generators"].size(), 2u);
    EXPECT_EQ(a.body.find('\n'), a.body.size() - 1);
    a = call(h, "GET", "/state?view=full&pretty=1");
    EXPECT_EQ(a.json["generators"].size(), 2u);
    EXPECT_EQ(a.body.rfind("{\n  \"phase\": \"idle\",", 0), 0u) << a.body;
    a = call(h, "GET", "/admin/status");
    EXPECT_EQ(a.body, control::pretty(a.json));

    // Generator POST routes answer the view when asked.
    a = call(h, "POST", "/ready?view=self", R"({"id":"b","openedConnections":1})");
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.json["view"], "self");
    a = call(h, "POST", "/ready", R"({"id":"b","openedConnections":1})");
    EXPECT_EQ(a.json["generators"].size(), 2u);

    // Refusals: 400 with the reason; nothing is held.
    a = call(h, "GET", "/state?id=ghost&view=self");
    EXPECT_EQ(a.status, 400u);
    EXPECT_EQ(a.json["error"], "Unknown generator \"ghost\"");
    a = call(h, "GET", "/state?id=ghost&view=self&since=1&waitMs=1000");
    EXPECT_EQ(a.status, 400u);
    EXPECT_EQ(a.json["error"], "Unknown generator \"ghost\"");
    a = call(h, "GET", "/state?view=self");
    EXPECT_EQ(a.status, 400u);
    a = call(h, "GET", "/state?id=a&view=everything");
    EXPECT_EQ(a.status, 400u);
    EXPECT_NE(a.json["error"].get<std::string>().find("\"view\""), std::string::npos);
}

TEST_F(CoordinatorViewTest, HeldViewPollIsNotWokenByFleetChurnButByAnEpochChange) {
    const auto h = make_http_handler(*c);
    add("a");
    const auto v = call(h, "GET", "/state?id=a&view=self").json["version"].get<std::uint64_t>();
    auto held = call_async(h, request("GET", "/state?id=a&view=self&since=" + std::to_string(v) + "&waitMs=5000"));
    // Churn elsewhere in the fleet: registrations, readiness.
    add("b");
    add("c");
    // A short view poll registered after the churn comes back at its
    // deadline: by then the notifier has seen every change above.
    const auto short_poll =
        call_async(h, request("GET", "/state?id=b&view=self&since=" + std::to_string(v) + "&waitMs=50"));
    ASSERT_EQ(short_poll.wait_for(2s), std::future_status::ready);
    EXPECT_EQ(held.wait_for(0ms), std::future_status::timeout) << "fleet churn must not answer a held view poll";

    control::StartEpochRequest r;
    r.generator_ids = std::vector<std::string>{"a"};
    ASSERT_TRUE(c->start_epoch(r).started);
    ASSERT_EQ(held.wait_for(2s), std::future_status::ready);
    const auto answer = held.get();
    EXPECT_GT(answer.json["version"].get<std::uint64_t>(), v);
    EXPECT_EQ(answer.json["phase"], "starting");
    EXPECT_EQ(answer.json["participant"], true);
    EXPECT_EQ(answer.json["currentEpoch"], 1);
    c->shutdown();
}

TEST_F(CoordinatorViewTest, WaitersGivenTheSameViewShareOneRendering) {
    for (const auto* id : {"a", "b", "c"}) add(id);
    c->set_included({"c"}, false);
    const auto since = c->state_view("a").version;
    std::mutex mu;
    std::map<std::string, std::pair<const std::string*, std::string>> seen;  // id -> (text address, text)
    std::promise<void> all;
    for (const auto* id : {"a", "b", "c"}) {
        c->watch_rendered(
            since, 5000ms, StateView::Self,
            [&, id = std::string(id)](const control::CoordinatorState&, const std::string& text) {
                std::lock_guard lock(mu);
                seen[id] = {&text, text};
                if (seen.size() == 3) all.set_value();
            },
            std::string(id));
    }
    EXPECT_EQ(error_of([&] {
                  c->watch_rendered(
                      since, 5000ms, StateView::Self, [](const control::CoordinatorState&, const std::string&) {},
                      std::string("ghost"));
              }),
              "Unknown generator \"ghost\"");
    c->set_included({"a"}, true);  // moves every view's version
    ASSERT_EQ(all.get_future().wait_for(2s), std::future_status::ready);
    std::lock_guard lock(mu);
    EXPECT_EQ(seen["a"].first, seen["b"].first) << "a and b see the same view: one rendering";
    EXPECT_EQ(seen["a"].second, seen["b"].second);
    EXPECT_NE(seen["a"].second, seen["c"].second) << "c is excluded: its own answer";
    EXPECT_NE(seen["c"].second.find("\"included\":false"), std::string::npos) << seen["c"].second;
}
