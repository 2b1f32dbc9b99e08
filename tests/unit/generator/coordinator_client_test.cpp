// CoordinatorClient against an in-process HTTP server: the long-poll query,
// a deadline that covers the coordinator's wait, and the timing and server
// clock recorded for the clock-offset estimate.
#include "benchdist/generator/coordinator_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "benchdist/net/http_server.hpp"

namespace benchdist::generator {
namespace {

using namespace std::chrono_literals;

// Answers every request with a state of version 5 after `delay`, with
// "serverTimeMs" when server_time is set, and remembers the targets.
class FakeCoordinator {
public:
    FakeCoordinator(std::optional<std::int64_t> server_time, std::chrono::milliseconds delay)
        : server_time_(server_time),
          delay_(delay),
          server_(net::HttpServerOptions{}, [this](net::HttpRequest req, net::Respond respond) {
              {
                  std::lock_guard lock(m_);
                  targets_.push_back(req.target);
              }
              control::CoordinatorState s;
              s.version = 5;
              s.server_time_ms = server_time_;
              auto res = net::HttpResponse::json_text(200, control::to_json(s).dump());
              if (delay_.count() == 0) return respond(std::move(res));
              // Stands in for a coordinator holding a long-poll.
              std::lock_guard lock(m_);
              delayed_.emplace_back([respond, res, d = delay_]() mutable {
                  std::this_thread::sleep_for(d);
                  respond(std::move(res));
              });
          }) {
        server_.start();
    }
    ~FakeCoordinator() {
        for (auto& t : delayed_) t.join();
        server_.stop();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
    std::vector<std::string> targets() {
        std::lock_guard lock(m_);
        return targets_;
    }

private:
    std::optional<std::int64_t> server_time_;
    std::chrono::milliseconds delay_;
    std::mutex m_;
    std::vector<std::string> targets_;
    std::vector<std::thread> delayed_;
    net::HttpServer server_;
};

TEST(CoordinatorClient, LongPollSendsSinceAndWaitAndRecordsTheServerClock) {
    FakeCoordinator fake(1795000000123, 0ms);
    CoordinatorClient client(fake.url());
    EXPECT_FALSE(client.last_exchange().has_value());
    const double before =
        std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto state = client.state("gen 1", 7, 250ms);
    EXPECT_EQ(state.version, 5u);
    ASSERT_EQ(fake.targets().size(), 1u);
    EXPECT_EQ(fake.targets()[0], "/state?id=gen%201&view=self&since=7&waitMs=250");
    const auto& ex = client.last_exchange();
    ASSERT_TRUE(ex.has_value());
    EXPECT_GE(ex->sent_unix_ms, before - 1);
    EXPECT_GE(ex->received_unix_ms, ex->sent_unix_ms);
    ASSERT_TRUE(ex->server_time_ms.has_value());
    EXPECT_DOUBLE_EQ(*ex->server_time_ms, 1795000000123.0);

    client.state("gen 1");  // a plain poll keeps its old form
    EXPECT_EQ(fake.targets().back(), "/state?id=gen%201&view=self");
}

TEST(CoordinatorClient, NoServerClockFromAnOlderCoordinator) {
    FakeCoordinator fake(std::nullopt, 0ms);
    CoordinatorClient client(fake.url());
    client.ready({"g", 3});
    ASSERT_TRUE(client.last_exchange().has_value());
    EXPECT_FALSE(client.last_exchange()->server_time_ms.has_value());
}

TEST(CoordinatorClient, DeadlineOfALongPollCoversTheWait) {
    // The answer comes after 400 ms; the client's own timeout is 200 ms.
    FakeCoordinator fake(1, 400ms);
    CoordinatorClient client(fake.url(), 200ms);
    try {
        client.state("g");
        FAIL() << "a plain poll must time out after 200 ms";
    } catch (const CoordinatorError& e) {
        EXPECT_EQ(e.kind(), CoordinatorError::Kind::Unreachable) << e.what();
    }
    // Waiting up to 1000 ms at the coordinator stretches the deadline to 1200 ms.
    const auto state = client.state("g", 5, 1000ms);
    EXPECT_EQ(state.version, 5u);
    ASSERT_TRUE(client.last_exchange().has_value());
    EXPECT_GE(client.last_exchange()->received_unix_ms - client.last_exchange()->sent_unix_ms, 390.0);
}

TEST(CoordinatorClient, ALeaseDeadlineCutsAHangingLongPollShort) {
    // The coordinator holds the poll for 2 s; the lease ends in 300 ms.
    FakeCoordinator fake(1, 2000ms);
    CoordinatorClient client(fake.url(), 10000ms);
    const auto t0 = std::chrono::steady_clock::now();
    client.set_deadline(t0 + 300ms);
    try {
        client.state("g", 5, 5000ms);
        FAIL() << "the poll must end at the lease deadline";
    } catch (const CoordinatorError& e) {
        EXPECT_EQ(e.kind(), CoordinatorError::Kind::Unreachable) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    // Past the deadline: refused at once, without a request.
    const auto sent = fake.targets().size();
    EXPECT_THROW(client.state("g"), CoordinatorError);
    EXPECT_EQ(fake.targets().size(), sent);
    // Cleared: the plain timeout again.
    client.set_deadline(std::nullopt);
    EXPECT_EQ(client.state("g", 5, 5000ms).version, 5u);
}

}  // namespace
}  // namespace benchdist::generator
