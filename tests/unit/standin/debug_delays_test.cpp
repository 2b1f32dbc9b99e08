// POST /v1/debug/delays on an in-process stand-in: the answers (values in
// force, 400s naming the parameter, 404 without --debug-routes) and the
// effect on a running server, seen by real closed-loop connections: after
// the route answers, every reply is held back by the new reply delay and
// every transfer, on every database, costs the new reducer delay. The
// effects are checked through lower bounds (a delay can only make a call
// slower), which hold however loaded the machine is.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "benchdist/generator/load_session.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/standin/standin_server.hpp"
#include "benchdist/stats/interval.hpp"
#include "benchdist/stdb/endpoint.hpp"

namespace benchdist::standin {
namespace {

using namespace std::chrono_literals;

class Server {
public:
    explicit Server(bool debug_routes, std::uint64_t reply_delay_us = 0, std::uint64_t reducer_delay_us = 0)
        : server_(options(debug_routes, reply_delay_us, reducer_delay_us)) {
        server_.start();
        for (const char* db : {"test-1", "test-2"}) {
            const auto r = post(std::string("/v1/database/") + db + "/call/seed", "[100,1000000]");
            if (r.status != 200) throw std::runtime_error("seed failed: " + r.body);
        }
    }

    net::ClientResponse post(const std::string& path, const std::string& json_body = {}) {
        net::ClientRequest req;
        req.method = "POST";
        req.url = base() + path;
        req.body = json_body;
        if (!json_body.empty()) req.content_type = "application/json";
        return net::http_request(req);
    }
    net::ClientResponse get(const std::string& path) {
        net::ClientRequest req;
        req.url = base() + path;
        return net::http_request(req);
    }
    // Asserts a 200 and returns the delays in force.
    std::pair<std::uint64_t, std::uint64_t> set_delays(const std::string& query) {
        const auto r = post("/v1/debug/delays" + query);
        if (r.status != 200)
            throw std::runtime_error("delays" + query + ": " + std::to_string(r.status) + " " + r.body);
        const auto j = nlohmann::json::parse(r.body);
        return {j.at("replyDelayUs").get<std::uint64_t>(), j.at("reducerDelayUs").get<std::uint64_t>()};
    }

    std::string base() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
    int port() const { return server_.port(); }

private:
    static StandinOptions options(bool debug_routes, std::uint64_t reply_delay_us, std::uint64_t reducer_delay_us) {
        StandinOptions o;
        o.port = 0;
        o.databases = {"test-1", "test-2"};
        o.debug_routes = debug_routes;
        o.reply_delay_us = reply_delay_us;
        o.reducer_delay_us = reducer_delay_us;
        return o;
    }
    StandinServer server_;
};

TEST(DebugDelays, RouteIsAbsentWithoutDebugRoutes) {
    Server s(false);
    const auto r = s.post("/v1/debug/delays?replyUs=5");
    EXPECT_EQ(r.status, 404u);
    EXPECT_NE(r.body.find("--debug-routes"), std::string::npos) << r.body;
}

TEST(DebugDelays, ReportsSetsAndKeepsWhatIsLeftOut) {
    Server s(true, 300, 100);
    EXPECT_EQ(s.set_delays(""), std::make_pair(std::uint64_t{300}, std::uint64_t{100}));
    EXPECT_EQ(s.set_delays("?replyUs=2000"), std::make_pair(std::uint64_t{2000}, std::uint64_t{100}));
    EXPECT_EQ(s.set_delays("?reducerUs=0"), std::make_pair(std::uint64_t{2000}, std::uint64_t{0}));
    EXPECT_EQ(s.set_delays("?reducerUs=750&replyUs=0"), std::make_pair(std::uint64_t{0}, std::uint64_t{750}));
    EXPECT_EQ(s.set_delays("?replyUs=60000000"), std::make_pair(std::uint64_t{60000000}, std::uint64_t{750}));
    EXPECT_EQ(s.set_delays(""), std::make_pair(std::uint64_t{60000000}, std::uint64_t{750}));
    const auto r = s.post("/v1/debug/delays");
    EXPECT_EQ(r.header("content-type").value_or(""), "application/json");
}

TEST(DebugDelays, BadNumbersAre400sNamingTheParameterAndChangeNothing) {
    Server s(true, 10, 20);
    struct Case {
        const char* query;
        const char* named;
    };
    for (const Case& c :
         {Case{"?replyUs=abc", "replyUs"}, Case{"?replyUs=-1", "replyUs"}, Case{"?replyUs=", "replyUs"},
          Case{"?replyUs=1.5", "replyUs"}, Case{"?replyUs=60000001", "replyUs"},
          Case{"?replyUs=99999999999999999999999", "replyUs"}, Case{"?reducerUs=12x", "reducerUs"},
          Case{"?replyUs=5&reducerUs=%2B3", "reducerUs"}, Case{"?reducerUs=0x10&replyUs=1", "reducerUs"}}) {
        const auto r = s.post(std::string("/v1/debug/delays") + c.query);
        EXPECT_EQ(r.status, 400u) << c.query;
        EXPECT_EQ(r.body.rfind(c.named, 0), 0u) << c.query << " -> " << r.body;
    }
    // A bad parameter rejects the whole request, the good one too.
    EXPECT_EQ(s.set_delays(""), std::make_pair(std::uint64_t{10}, std::uint64_t{20}));
    EXPECT_EQ(s.get("/v1/debug/delays").status, 405u);
}

TEST(DebugDelaySchedule, SetsTheFirstDelayAtOnceAndADelaysCallEndsIt) {
    Server s(true, 10, 20);
    EXPECT_EQ(s.post("/v1/debug/delay-schedule?replyUs=5").status, 200u);
    EXPECT_EQ(s.set_delays(""), std::make_pair(std::uint64_t{5}, std::uint64_t{20}));
    // A long schedule: its first value at once, the next only after ten
    // minutes, so the answer of /delays below shows the first and ends it.
    const auto r = s.post("/v1/debug/delay-schedule?replyUs=4000,3000,0&stepMs=600000");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("content-type").value_or(""), "application/json");
    const auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["replyDelayUs"], 4000);
    EXPECT_EQ(j["scheduleUs"], nlohmann::json::array({4000, 3000, 0}));
    EXPECT_EQ(j["stepMs"], 600000);
    EXPECT_EQ(s.set_delays(""), std::make_pair(std::uint64_t{4000}, std::uint64_t{20}));
    EXPECT_EQ(s.set_delays("?replyUs=7"), std::make_pair(std::uint64_t{7}, std::uint64_t{20}));
    // The server stops at once with a step ten minutes away (the Server's
    // destructor at the end of this test would hang otherwise).
    EXPECT_EQ(s.post("/v1/debug/delay-schedule?replyUs=1,2&stepMs=600000").status, 200u);
}

TEST(DebugDelaySchedule, BadInputIsA400NamingTheParameter) {
    Server s(true, 10, 20);
    struct Case {
        const char* query;
        const char* named;
    };
    for (const Case& c :
         {Case{"", "replyUs is required"}, Case{"?replyUs=abc", "replyUs must be"},
          Case{"?replyUs=1,,2", "replyUs must be"}, Case{"?replyUs=60000001", "replyUs must be"},
          Case{"?replyUs=1,2&stepMs=0", "stepMs must be"}, Case{"?replyUs=1,2&stepMs=99999999", "stepMs must be"}}) {
        const auto r = s.post(std::string("/v1/debug/delay-schedule") + c.query);
        EXPECT_EQ(r.status, 400u) << c.query;
        EXPECT_EQ(r.body.rfind(c.named, 0), 0u) << c.query << " -> " << r.body;
    }
    EXPECT_EQ(s.set_delays(""), std::make_pair(std::uint64_t{10}, std::uint64_t{20}));
    EXPECT_EQ(s.get("/v1/debug/delay-schedule?replyUs=1").status, 405u);
    Server off(false);
    EXPECT_EQ(off.post("/v1/debug/delay-schedule?replyUs=1").status, 404u);
}

// Closed-loop latency of `n` committed transfers over one connection to
// test-1 (one call at a time, so a call never queues behind another).
class Load {
public:
    explicit Load(int port) {
        generator::LoadSessionOptions o;
        o.endpoint = stdb::parse_endpoint("ws://127.0.0.1:" + std::to_string(port));
        o.database = "test-1";
        o.concurrency = 1;
        o.threads = 1;
        o.op_timeout = 20s;
        generator::TransferPairsOptions p;
        p.accounts = 100;
        p.count = 1000;
        session_ = std::make_unique<generator::LoadSession>(o, std::make_shared<generator::TransferPairs>(p));
        session_->open_all();
    }
    stats::OutcomeTotals run(std::uint64_t committed) {
        session_->start(++epoch_);
        const bool reached = session_->wait_for_committed(committed, 30s);
        EXPECT_TRUE(session_->stop());
        EXPECT_TRUE(reached) << "only " << session_->counters().committed << " of " << committed << " committed";
        stats::OutcomeTotals totals;
        for (const auto& interval : session_->take_intervals()) totals.merge(interval.totals);
        EXPECT_EQ(totals.failures.total(), 0u);
        return totals;
    }

private:
    std::unique_ptr<generator::LoadSession> session_;
    std::uint64_t epoch_ = 0;
};

TEST(DebugDelays, NewDelaysHoldEveryLaterReplyAndTransfer) {
    Server s(true);
    Load load(s.port());

    const auto fast = load.run(50);
    ASSERT_GE(fast.latency.count(), 50u);

    // Only the reply is held back: every call now takes at least 25 ms. Far
    // above the 5 ms reducer delay below, so "the reply delay is gone" can be
    // told apart even when instrumentation (ASan) adds milliseconds per call.
    s.set_delays("?replyUs=25000");
    const auto replied_late = load.run(20);
    ASSERT_GE(replied_late.latency.count(), 20u);
    EXPECT_GE(replied_late.latency.min(), 25000u);

    // Back to no reply delay, but each transfer spins for 5 ms on the
    // database thread: at least 5 ms each, and the 25 ms reply delay is gone
    // (with it, each call would take 30 ms or more).
    s.set_delays("?replyUs=0&reducerUs=5000");
    const auto slow_reducer = load.run(20);
    ASSERT_GE(slow_reducer.latency.count(), 20u);
    EXPECT_GE(slow_reducer.latency.min(), 5000u);
    EXPECT_LT(slow_reducer.latency.value_at_percentile(50), 25000u) << "the 25 ms reply delay should no longer apply";

    // The reducer delay reached the other database too (HTTP calls skip the
    // reply delay, so this times the reducer alone).
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = s.post("/v1/database/test-2/call/transfer", "[1,2,1]");
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_GE(elapsed, 5ms);

    // And both can be removed again.
    s.set_delays("?reducerUs=0");
    const auto fast_again = load.run(50);
    EXPECT_LT(fast_again.latency.value_at_percentile(50), 5000u);
}

}  // namespace
}  // namespace benchdist::standin
