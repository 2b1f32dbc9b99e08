// bench-dist-control retries a coordinator's 5xx answers with backoff, as
// generators do, and gives up only after a bound: a fake coordinator on
// net::HttpServer (127.0.0.1) answers 503 a given number of times before it
// answers properly, or always, or answers 4xx, which is never retried.
// Issue 14: start-epoch used to give up watching its epoch on the first 503.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_server.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
namespace bn = benchdist::net;
namespace bt = benchdist::testing;
using namespace std::chrono_literals;

namespace {

struct Run {
    int rc = -1;
    std::string out;
    double seconds = 0;
};

Run control(std::vector<std::string> args) {
    args.insert(args.begin(), bt::bin_path("bench-dist-control"));
    const auto t0 = std::chrono::steady_clock::now();
    bt::Subprocess p(std::move(args));
    const auto rc = p.wait_exit(60s);
    return {rc.value_or(-1), p.output(), bt::seconds_since(t0)};
}

bn::HttpResponse json(unsigned status, const bc::Json& body) {
    return bn::HttpResponse::json_text(status, body.dump());
}

bn::HttpResponse busy() { return json(503, {{"error", "too many concurrent connections; retry later"}}); }

// A coordinator whose every route first answers `refusals[route]` times
// with `refusal`, then with `answer(route)`; counts the requests per route.
class FakeCoordinator {
public:
    using Answer = std::function<bn::HttpResponse(const std::string& route)>;
    FakeCoordinator(std::map<std::string, int> refusals, bn::HttpResponse refusal, Answer answer)
        : refusals_(std::move(refusals)),
          refusal_(std::move(refusal)),
          answer_(std::move(answer)),
          server_({}, [this](bn::HttpRequest req, bn::Respond respond) {
              const std::string route = req.method + " " + req.path;
              bool refuse = false;
              {
                  std::lock_guard lock(mutex_);
                  const int n = ++seen_[route];
                  refuse = n <= refusals_[route];
              }
              respond(refuse ? refusal_ : answer_(route));
          }) {
        server_.start();
    }
    ~FakeCoordinator() { server_.stop(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
    int seen(const std::string& route) {
        std::lock_guard lock(mutex_);
        return seen_[route];
    }

private:
    std::map<std::string, int> refusals_;
    bn::HttpResponse refusal_;
    Answer answer_;
    std::mutex mutex_;
    std::map<std::string, int> seen_;
    bn::HttpServer server_;
};

bc::CoordinatorState running_state() {
    bc::CoordinatorState s;
    s.phase = bc::Phase::Measure;
    s.current_epoch = 1;
    s.participants = {"gen-a"};
    s.version = 5;
    return s;
}

bc::CoordinatorState finished_state() {
    bc::CoordinatorState s;
    bc::EpochResult r;
    r.epoch = 1;
    r.verification = "passed";
    r.committed_delta = "100";
    r.participant_ids = {"gen-a"};
    s.last_result = r;
    s.version = 6;
    return s;
}

}  // namespace

TEST(ControlRetry, StatusRetriesA503AndSucceeds) {
    FakeCoordinator fake({{"GET /admin/status", 2}}, busy(),
                         [](const std::string&) { return json(200, bc::to_json(bc::CoordinatorState{})); });
    const auto run = control({"status", "--coordinator-url", fake.url()});
    EXPECT_EQ(run.rc, 0) << run.out;
    EXPECT_TRUE(bt::contains(run.out, "phase=idle")) << run.out;
    EXPECT_EQ(fake.seen("GET /admin/status"), 3);
    // Two waits of 250 ms then 500 ms, each with up to half randomised away.
    EXPECT_GE(run.seconds, 0.3) << run.out;
    std::printf("status after two 503s: exit %d in %.2f s\n", run.rc, run.seconds);
}

// The case: start-epoch's watch of a running epoch meets 503s (a
// coordinator out of connection slots) and keeps watching to the result.
TEST(ControlRetry, StartEpochKeepsWatchingThrough503s) {
    FakeCoordinator fake({{"POST /admin/start-epoch", 1}, {"GET /state", 3}}, busy(), [](const std::string& route) {
        if (route == "POST /admin/start-epoch") {
            return json(200,
                        {{"started", true}, {"message", "Epoch 1 started"}, {"state", bc::to_json(running_state())}});
        }
        return json(200, bc::to_json(finished_state()));
    });
    const auto run = control({"start-epoch", "--coordinator-url", fake.url(), "--poll-ms", "100", "--timeout", "30"});
    EXPECT_EQ(run.rc, 0) << run.out;
    EXPECT_TRUE(bt::contains(run.out, "waiting for epoch 1 to complete")) << run.out;
    EXPECT_TRUE(bt::contains(run.out, "verification=passed")) << run.out;
    EXPECT_EQ(fake.seen("POST /admin/start-epoch"), 2);
    EXPECT_EQ(fake.seen("GET /state"), 4);
    std::printf("start-epoch through 1 + 3 503s: exit %d in %.2f s\n", run.rc, run.seconds);
}

TEST(ControlRetry, A4xxIsNotRetried) {
    FakeCoordinator fake({}, busy(), [](const std::string&) { return json(400, {{"error", "no such thing"}}); });
    const auto run = control({"status", "--coordinator-url", fake.url()});
    EXPECT_EQ(run.rc, 1) << run.out;
    EXPECT_TRUE(bt::contains(run.out, "failed: 400")) << run.out;
    EXPECT_EQ(fake.seen("GET /admin/status"), 1);
}

// Bounded: a coordinator that never stops answering 503 is given up on
// within --timeout (else 30 s per request), exit 1, naming the coordinator
// and the status.
TEST(ControlRetry, EndlessFiveHundredsAreGivenUpOnWithinTheTimeout) {
    FakeCoordinator fake({{"POST /admin/start-epoch", 1000}}, busy(),
                         [](const std::string&) { return json(200, bc::Json::object()); });
    const auto run = control({"start-epoch", "--coordinator-url", fake.url(), "--timeout", "2"});
    EXPECT_EQ(run.rc, 1) << run.out;
    EXPECT_TRUE(bt::contains(run.out, fake.url() + "/admin/start-epoch failed: 503")) << run.out;
    EXPECT_TRUE(bt::contains(run.out, "too many concurrent connections")) << run.out;
    EXPECT_TRUE(bt::contains(run.out, "still failing after")) << run.out;
    EXPECT_GE(fake.seen("POST /admin/start-epoch"), 3) << run.out;
    EXPECT_GE(run.seconds, 1.8) << run.out;  // the last attempt is at the end of --timeout
    EXPECT_LT(run.seconds, 10.0) << run.out;
    std::printf("endless 503s with --timeout 2: exit %d after %d attempts in %.2f s: %s", run.rc,
                fake.seen("POST /admin/start-epoch"), run.seconds, run.out.c_str());
}
