// HttpServer's admission policy on 127.0.0.1 (raw sockets, so the test
// controls every byte and every silence): connections that have sent no
// request are evicted oldest first over their cap and closed at the
// first-request deadline, without an answer; admitted keep-alive connections
// keep the longer read timeout; and authenticated long-polls fill
// max_connections while any number of idle or unauthenticated connections
// come and go -- only an authenticated request over the cap gets 503.
// Every wait is a blocking read bounded by a deadline, never a sleep.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "benchdist/net/bearer_auth.hpp"
#include "benchdist/net/http_server.hpp"

namespace {

namespace bn = benchdist::net;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kToken = "admission-test-token";

// A TCP connection to the server from `source` (a loopback address).
class Raw {
public:
    explicit Raw(std::uint16_t port, const char* source = "127.0.0.1")
        : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        if (fd_ < 0) throw std::runtime_error("socket failed");
        sockaddr_in local{};
        local.sin_family = AF_INET;
        ::inet_pton(AF_INET, source, &local.sin_addr);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
            ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect failed");
        }
    }
    ~Raw() { ::close(fd_); }
    Raw(const Raw&) = delete;
    Raw& operator=(const Raw&) = delete;

    void send(const std::string& data) {
        if (::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(data.size()))
            throw std::runtime_error("send failed");
    }

    // Reads until the server closes or `timeout` passes: what arrived,
    // whether the close was seen, and when.
    struct Read {
        std::string data;
        bool closed = false;
        Clock::duration after{};
    };
    Read until_closed(std::chrono::milliseconds timeout) { return read(timeout, false); }
    // Reads one whole response (headers and a Content-Length body).
    Read response(std::chrono::milliseconds timeout) { return read(timeout, true); }

private:
    static bool whole_response(const std::string& d) {
        const auto end = d.find("\r\n\r\n");
        if (end == std::string::npos) return false;
        const auto at = d.find("Content-Length: ");
        if (at == std::string::npos || at > end) return true;
        return d.size() >= end + 4 + std::stoul(d.substr(at + 16));
    }

    Read read(std::chrono::milliseconds timeout, bool one_response) {
        Read r;
        const auto t0 = Clock::now();
        const auto deadline = t0 + timeout;
        for (;;) {
            if (one_response && whole_response(r.data)) break;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left <= 0ms) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buf[4096];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                r.closed = true;
                break;
            }
            r.data.append(buf, static_cast<std::size_t>(n));
        }
        r.after = Clock::now() - t0;
        return r;
    }

    int fd_;
};

std::string request(const std::string& path, bool with_token) {
    return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" +
           (with_token ? "Authorization: " + bn::bearer_header_value(kToken) + "\r\n" : std::string()) + "\r\n";
}

bool status_is(const std::string& response, unsigned status) {
    return response.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0) == 0;
}

// /poll is a long-poll the test answers (release); everything else 200 at once.
class Server {
public:
    explicit Server(bn::HttpServerOptions options)
        : server_(std::move(options), [this](bn::HttpRequest req, bn::Respond respond) {
              if (req.path == "/poll") {
                  {
                      std::lock_guard lock(mutex_);
                      held_.push_back(std::move(respond));
                  }
                  held_changed_.notify_all();
                  return;
              }
              respond(bn::HttpResponse::text(200, "ok"));
          }) {
        server_.start();
    }
    ~Server() {
        release();
        server_.stop();
    }
    std::uint16_t port() const { return server_.port(); }
    bn::HttpServer::ConnectionCounts counts() const { return server_.connection_counts(); }
    std::size_t held() {
        std::lock_guard lock(mutex_);
        return held_.size();
    }
    // Waits (bounded) until n long-polls are held.
    bool wait_held(std::size_t n, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return held_changed_.wait_for(lock, timeout, [&] { return held_.size() >= n; });
    }
    void release() {
        std::vector<bn::Respond> held;
        {
            std::lock_guard lock(mutex_);
            held.swap(held_);
        }
        for (auto& r : held) r(bn::HttpResponse::text(200, "changed"));
    }

private:
    std::mutex mutex_;
    std::condition_variable held_changed_;
    std::vector<bn::Respond> held_;
    bn::HttpServer server_;
};

bn::HttpServerOptions options() {
    bn::HttpServerOptions o;
    o.first_request_timeout = 30s;  // out of the way unless a test is about it
    o.read_timeout = 30s;
    return o;
}

TEST(HttpServerAdmission, OverThePendingCapTheOldestIdleConnectionsAreClosedUnanswered) {
    auto o = options();
    o.max_pending_connections = 4;
    o.max_pending_per_address = 0;
    Server server(o);
    std::vector<std::unique_ptr<Raw>> idle;
    for (int i = 0; i < 10; ++i) idle.push_back(std::make_unique<Raw>(server.port()));
    // The six oldest made room for the newer ones, in order, with no answer.
    for (int i = 0; i < 6; ++i) {
        const auto r = idle[i]->until_closed(10s);
        EXPECT_TRUE(r.closed) << "connection " << i;
        EXPECT_EQ(r.data, "") << "connection " << i;
    }
    // The sixth went when the tenth arrived: every arrival is in.
    EXPECT_EQ(server.counts().pending, 4u);
    EXPECT_EQ(server.counts().evicted, 6u);
    EXPECT_EQ(server.counts().admitted, 0u);
    // The four newest were kept and are served.
    for (int i = 6; i < 10; ++i) {
        idle[i]->send(request("/x", false));
        const auto r = idle[i]->response(10s);
        EXPECT_TRUE(status_is(r.data, 200)) << "connection " << i << ": " << r.data;
    }
    EXPECT_EQ(server.counts().admitted, 4u);
}

TEST(HttpServerAdmission, OverTheCapOfOneAddressOnlyThatAddressLosesItsOldest) {
    auto o = options();
    o.max_pending_connections = 100;
    o.max_pending_per_address = 2;
    Server server(o);
    Raw other(server.port(), "127.0.0.3");
    Raw first(server.port(), "127.0.0.2");
    Raw second(server.port(), "127.0.0.2");
    Raw third(server.port(), "127.0.0.2");
    const auto r = first.until_closed(10s);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.data, "");
    // The other address's connection, older than all three, is still there.
    EXPECT_EQ(server.counts().pending, 3u);
    other.send(request("/x", false));
    EXPECT_TRUE(status_is(other.response(10s).data, 200));
    third.send(request("/x", false));
    EXPECT_TRUE(status_is(third.response(10s).data, 200));
}

TEST(HttpServerAdmission, TheFirstRequestDeadlineClosesSilentAndTrickledConnectionsNotAdmittedIdleOnes) {
    auto o = options();
    o.first_request_timeout = 300ms;
    o.read_timeout = 2000ms;
    Server server(o);
    const auto t0 = Clock::now();
    Raw silent(server.port());
    Raw trickled(server.port());
    trickled.send("GET /x HTTP/1.1\r\nHost: te");  // never finished
    Raw admitted(server.port());
    admitted.send(request("/x", false));
    ASSERT_TRUE(status_is(admitted.response(10s).data, 200));
    // Now idle on a keep-alive connection: it has the read timeout.

    for (auto* raw : {&silent, &trickled}) {
        const auto r = raw->until_closed(10s);
        EXPECT_TRUE(r.closed);
        EXPECT_EQ(r.data, "");
        const auto closed_after = Clock::now() - t0;
        EXPECT_GE(closed_after, 250ms);
        EXPECT_LT(closed_after, 1500ms);
    }
    const auto r = admitted.until_closed(10s);
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.data, "");
    // The read timeout, counted from its answer: not the first-request
    // deadline. (The counts are not checked here: a session leaves them
    // just after its socket closes, not before the client sees the close.)
    EXPECT_GE(Clock::now() - t0, 1800ms);
}

// With a token screen and without one: long-polls that passed the screen
// fill max_connections while idle and unauthenticated connections come and
// go from the same address, and are never refused; the one authenticated
// request over the cap is.
class AuthenticatedLongPolls : public ::testing::TestWithParam<bool> {};

TEST_P(AuthenticatedLongPolls, AreNotRefusedWhilePendingConnectionsComeAndGo) {
    const bool token = GetParam();
    constexpr int kCap = 3;
    auto o = options();
    o.max_connections = kCap;
    o.max_pending_connections = 8;
    o.max_pending_per_address = 4;
    if (token) o.screen_headers = bn::bearer_token_screen(kToken, {"/healthz"}, "send the test token");
    Server server(o);

    std::vector<std::unique_ptr<Raw>> idle;
    const auto flood = [&](int n) {
        for (int i = 0; i < n; ++i) idle.push_back(std::make_unique<Raw>(server.port()));
    };
    flood(40);
    std::vector<std::unique_ptr<Raw>> polls;
    for (int i = 0; i < kCap; ++i) {
        polls.push_back(std::make_unique<Raw>(server.port()));
        polls.back()->send(request("/poll", token));
        // Held (admitted) before the next crowd arrives: a connection still
        // pending can be evicted by it, which a real client would retry
        // but which this test is not about.
        ASSERT_TRUE(server.wait_held(polls.size(), 10s));
        flood(40);
    }
    if (token) {
        // Without the token: 401, never 503, and it takes no slot.
        Raw anonymous(server.port());
        anonymous.send(request("/poll", false));
        const auto r = anonymous.until_closed(10s);
        EXPECT_TRUE(status_is(r.data, 401)) << r.data;
        // The open route is answered once, then the connection closes: it
        // cannot keep a connection by asking for it.
        Raw health(server.port());
        health.send(request("/healthz", false));
        const auto h = health.until_closed(10s);
        EXPECT_TRUE(status_is(h.data, 200)) << h.data;
        EXPECT_TRUE(h.closed);
    }
    // One more authenticated request: every slot is held by a long-poll.
    Raw over(server.port());
    over.send(request("/poll", token));
    const auto refused = over.until_closed(10s);
    EXPECT_TRUE(status_is(refused.data, 503)) << refused.data;
    EXPECT_NE(refused.data.find("too many concurrent connections"), std::string::npos) << refused.data;

    EXPECT_EQ(server.held(), static_cast<std::size_t>(kCap));
    EXPECT_EQ(server.counts().admitted, static_cast<std::size_t>(kCap));
    EXPECT_LE(server.counts().pending, 8u);
    EXPECT_GE(server.counts().evicted, 150u);
    server.release();
    for (auto& p : polls) {
        const auto r = p->response(10s);
        EXPECT_TRUE(status_is(r.data, 200)) << r.data;
        EXPECT_NE(r.data.find("changed"), std::string::npos) << r.data;
    }
}

INSTANTIATE_TEST_SUITE_P(Screen, AuthenticatedLongPolls, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                             return std::string(info.param ? "WithToken" : "WithoutToken");
                         });

}  // namespace
