// The HTTP server and client helpers against each other over loopback: limits,
// deadlines, asynchronous answers and clear client errors.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <thread>

#include "benchdist/net/http_client.hpp"
#include "benchdist/net/http_server.hpp"
#include "rig.hpp"

using namespace benchdist::net;
using namespace std::chrono_literals;

namespace {

std::string url(std::uint16_t port, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port) + path;
}

struct Fixture {
    explicit Fixture(HttpServerOptions o = {})
        : server(std::move(o), [this](HttpRequest r, Respond respond) { handle(std::move(r), std::move(respond)); }) {
        server.start();
    }
    ~Fixture() {
        for (auto& t : workers) t.join();
        server.stop();
    }

    void handle(HttpRequest r, Respond respond) {
        if (r.path == "/echo") {
            HttpResponse res =
                HttpResponse::text(200, r.method + " " + r.body + " " + r.query_param("q").value_or("-"));
            res.headers.emplace_back("X-Test", "yes");
            return respond(res);
        }
        if (r.path == "/peer") return respond(HttpResponse::text(200, r.remote));
        if (r.path == "/later") {
            // Answer from another thread, as the stand-in's database thread does.
            workers.emplace_back([respond] { respond(HttpResponse::text(202, "later")); });
            return;
        }
        if (r.path == "/never") {
            parked.push_back(std::move(respond));  // never answered: the client must time out
            return;
        }
        if (r.path == "/throw") throw std::runtime_error("handler exploded");
        respond(HttpResponse::json_text(404, R"({"error":"Unknown route"})"));
    }

    HttpServer server;
    std::vector<std::thread> workers;
    std::vector<Respond> parked;
};

}  // namespace

TEST(HttpRoundTrip, GetAndPostWithQueryAndHeaders) {
    Fixture f;
    auto get = http_request({.method = "GET", .url = url(f.server.port(), "/echo?q=a%20b")});
    EXPECT_EQ(get.status, 200u);
    EXPECT_EQ(get.body, "GET  a b");
    EXPECT_EQ(get.header("x-test").value_or(""), "yes");
    auto post = http_request({.method = "POST",
                              .url = url(f.server.port(), "/echo"),
                              .body = "{\"a\":1}",
                              .content_type = "application/json"});
    EXPECT_EQ(post.body, "POST {\"a\":1} -");
}

TEST(HttpRoundTrip, AsynchronousAnswerFromAnotherThread) {
    Fixture f;
    auto r = http_request({.url = url(f.server.port(), "/later")});
    EXPECT_EQ(r.status, 202u);
    EXPECT_EQ(r.body, "later");
}

TEST(HttpRoundTrip, HandlerExceptionBecomes500Json) {
    Fixture f;
    auto r = http_request({.url = url(f.server.port(), "/throw")});
    EXPECT_EQ(r.status, 500u);
    EXPECT_NE(r.body.find("handler exploded"), std::string::npos) << r.body;
    // The server keeps serving.
    EXPECT_EQ(http_request({.url = url(f.server.port(), "/echo")}).status, 200u);
}

TEST(HttpRoundTrip, OversizedBodyGets413AndServerSurvives) {
    HttpServerOptions o;
    o.max_body_bytes = 1024;
    Fixture f(o);
    auto r = http_request({.method = "POST", .url = url(f.server.port(), "/echo"), .body = std::string(4096, 'x')});
    EXPECT_EQ(r.status, 413u);
    EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
    EXPECT_EQ(http_request({.url = url(f.server.port(), "/echo")}).status, 200u);
}

TEST(HttpRoundTrip, MalformedRequestGets400) {
    Fixture f;
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), f.server.port()});
    const std::string junk = "NOT HTTP AT ALL\r\n\r\n";
    boost::asio::write(s, boost::asio::buffer(junk));
    std::string reply;
    boost::system::error_code ec;
    char buf[512];
    for (;;) {
        const auto n = s.read_some(boost::asio::buffer(buf), ec);
        reply.append(buf, n);
        if (ec) break;
    }
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
}

TEST(HttpRoundTrip, TrickledHeadersAreCutOffAtTheReadDeadline) {
    HttpServerOptions o;
    o.read_timeout = 300ms;
    Fixture f(o);
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), f.server.port()});
    const std::string partial = "GET /echo HTTP/1.1\r\nHost: x\r\n";  // never finished
    boost::asio::write(s, boost::asio::buffer(partial));
    const auto start = std::chrono::steady_clock::now();
    char buf[64];
    boost::system::error_code ec;
    s.read_some(boost::asio::buffer(buf), ec);  // returns when the server closes
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(ec) << "the server should close the connection";
    EXPECT_LT(waited, 5s);
}

TEST(HttpRoundTrip, ConnectionCapAnswers503) {
    HttpServerOptions o;
    o.max_connections = 1;
    Fixture f(o);
    boost::asio::io_context ioc;
    // An idle connection takes no slot (it has sent no request): the caller
    // after it is served.
    boost::asio::ip::tcp::socket idle(ioc);
    idle.connect({boost::asio::ip::make_address("127.0.0.1"), f.server.port()});
    EXPECT_EQ(http_request({.url = url(f.server.port(), "/echo"), .timeout = 2000ms}).status, 200u);
    // The hog's request is never answered, so it holds the only slot; the
    // next caller is refused politely. (The handler parks the hog's request
    // from the I/O thread before the next one is read, but the hog's
    // connection may be read after the caller's: retry until it is held.)
    boost::asio::ip::tcp::socket hog(ioc);
    hog.connect({boost::asio::ip::make_address("127.0.0.1"), f.server.port()});
    const std::string never = "GET /never HTTP/1.1\r\nHost: x\r\n\r\n";
    boost::asio::write(hog, boost::asio::buffer(never));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    unsigned status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        status = http_request({.url = url(f.server.port(), "/echo"), .timeout = 2000ms}).status;
        if (status == 503) break;
    }
    EXPECT_EQ(status, 503u);
}

TEST(HttpRoundTrip, ClientReportsRefusedConnectionsClearly) {
    const auto port = static_cast<std::uint16_t>(benchdist::testing::free_port());  // nothing listens there now
    try {
        http_request({.method = "POST", .url = url(port, "/ready"), .timeout = 2000ms});
        FAIL() << "expected HttpClientError";
    } catch (const HttpClientError& e) {
        EXPECT_EQ(e.kind(), HttpClientError::Kind::Unreachable);
        EXPECT_NE(std::string(e.what()).find("POST " + url(port, "/ready")), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
    }
}

TEST(HttpRoundTrip, ClientTimesOutOnASilentServer) {
    Fixture f;
    const auto start = std::chrono::steady_clock::now();
    try {
        http_request({.url = url(f.server.port(), "/never"), .timeout = 300ms});
        FAIL() << "expected a timeout";
    } catch (const HttpClientError& e) {
        EXPECT_EQ(e.kind(), HttpClientError::Kind::Timeout) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(HttpRoundTrip, BadUrlsAreRejectedWithTheReason) {
    for (const char* bad : {"ftp://x/", "http://", "http://h:0/", "http://h:99999/", "localhost:8080", "https://"}) {
        try {
            http_request({.url = bad});
            FAIL() << bad;
        } catch (const HttpClientError& e) {
            EXPECT_EQ(e.kind(), HttpClientError::Kind::BadUrl) << bad << ": " << e.what();
            EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
        }
    }
}

// HttpConnection: one kept connection for many requests (the server sees
// one peer port), a fresh one after the server dropped it, and none kept
// after a failure.
TEST(HttpConnection, KeepsOneConnectionForManyRequests) {
    Fixture f;
    HttpConnection connection;
    std::set<std::string> peers;
    for (int i = 0; i < 5; ++i) {
        const auto res = connection.request({.url = url(f.server.port(), "/peer")});
        ASSERT_EQ(res.status, 200u);
        peers.insert(res.body);
        EXPECT_TRUE(connection.is_open());
    }
    EXPECT_EQ(peers.size(), 1u) << "each request opened a connection of its own";
    const auto post = connection.request({.method = "POST",
                                          .url = url(f.server.port(), "/echo"),
                                          .body = "{\"a\":1}",
                                          .content_type = "application/json"});
    EXPECT_EQ(post.body, "POST {\"a\":1} -");
}

TEST(HttpConnection, AConnectionTheServerDroppedIsReplacedUnseen) {
    auto first = std::make_unique<Fixture>();
    const auto port = first->server.port();
    HttpConnection connection;
    const auto before = connection.request({.url = url(port, "/peer")});
    ASSERT_TRUE(connection.is_open());
    // The server goes away and another takes its port: the kept connection
    // is closed at the far end, as after a restart or a keep-alive timeout.
    first.reset();
    HttpServerOptions same_port;
    same_port.port = port;
    Fixture second(same_port);
    const auto after = connection.request({.url = url(port, "/peer"), .timeout = 5000ms});
    EXPECT_EQ(after.status, 200u);
    EXPECT_NE(after.body, before.body) << "a new connection was expected";
    EXPECT_TRUE(connection.is_open());
}

TEST(HttpConnection, NothingIsKeptAfterAFailure) {
    Fixture f;
    HttpConnection connection;
    ASSERT_EQ(connection.request({.url = url(f.server.port(), "/peer")}).status, 200u);
    try {
        connection.request({.url = url(f.server.port(), "/never"), .timeout = 300ms});
        FAIL() << "expected a timeout";
    } catch (const HttpClientError& e) {
        EXPECT_EQ(e.kind(), HttpClientError::Kind::Timeout) << e.what();
        EXPECT_NE(std::string(e.what()).find("GET " + url(f.server.port(), "/never")), std::string::npos) << e.what();
    }
    EXPECT_FALSE(connection.is_open());
    // A request to a port nobody listens on fails as unreachable, not as
    // a stale connection sent again.
    const auto nobody = static_cast<std::uint16_t>(benchdist::testing::free_port());
    try {
        connection.request({.url = url(nobody, "/peer"), .timeout = 2000ms});
        FAIL() << "expected HttpClientError";
    } catch (const HttpClientError& e) {
        EXPECT_EQ(e.kind(), HttpClientError::Kind::Unreachable) << e.what();
    }
    EXPECT_EQ(connection.request({.url = url(f.server.port(), "/echo")}).status, 200u);
}
