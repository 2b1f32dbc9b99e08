// HttpServer's header-time refusals on 127.0.0.1: a request refused from its
// headers (screen_headers, e.g. a missing token, or a body over the route's
// limit) gets its answer although its body is never read, the handler never
// runs, and the client sees the status, not a connection reset.
#include "benchdist/net/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "benchdist/net/bearer_auth.hpp"
#include "benchdist/net/http_client.hpp"

namespace {

namespace bn = benchdist::net;
using namespace std::chrono_literals;

constexpr const char* kToken = "screen-test-token";

class ScreenedServer {
public:
    explicit ScreenedServer(bn::HttpServerOptions options)
        : server_(std::move(options), [this](bn::HttpRequest req, bn::Respond respond) {
              ++handled_;
              respond(bn::HttpResponse::text(200, "got " + std::to_string(req.body.size()) + " bytes"));
          }) {
        server_.start();
    }
    ~ScreenedServer() { server_.stop(); }

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
    }
    int handled() const { return handled_.load(); }

private:
    std::atomic<int> handled_{0};
    bn::HttpServer server_;
};

bn::HttpServerOptions screened_options() {
    bn::HttpServerOptions o;
    o.max_body_bytes = 64u << 20;
    o.screen_headers = bn::bearer_token_screen(kToken, {"/healthz"}, "send the test token");
    return o;
}

bn::ClientResponse post(const std::string& url, std::size_t body_bytes, bool with_token) {
    bn::ClientRequest req;
    req.method = "POST";
    req.url = url;
    req.timeout = 20s;
    req.content_type = "application/octet-stream";
    req.body.assign(body_bytes, 'x');
    if (with_token) req.headers.emplace_back("Authorization", bn::bearer_header_value(kToken));
    return bn::http_request(req);
}

TEST(HttpServerScreen, RefusesWithoutTheTokenBeforeTheBodyAndTheClientSeesTheAnswer) {
    ScreenedServer server(screened_options());
    // Far larger than the socket buffers, so the client is still writing when
    // the refusal comes: without the lingering close it sees a reset.
    const auto res = post(server.url("/register"), 32u << 20, false);
    EXPECT_EQ(res.status, 401u) << res.body;
    EXPECT_NE(res.body.find("send the test token"), std::string::npos) << res.body;
    EXPECT_EQ(server.handled(), 0);
}

TEST(HttpServerScreen, LetsTheTokenAndOpenPathsThrough) {
    ScreenedServer server(screened_options());
    const auto with = post(server.url("/register"), 1000, true);
    EXPECT_EQ(with.status, 200u) << with.body;
    EXPECT_EQ(with.body, "got 1000 bytes");
    const auto open = bn::http_request({.method = "GET", .url = server.url("/healthz"), .timeout = 10s});
    EXPECT_EQ(open.status, 200u) << open.body;
    EXPECT_EQ(server.handled(), 2);
}

TEST(HttpServerScreen, ARefusedRequestDoesNotSpoilTheNextConnection) {
    ScreenedServer server(screened_options());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(post(server.url("/x"), 200000, false).status, 401u);
    EXPECT_EQ(post(server.url("/x"), 10, true).status, 200u);
    EXPECT_EQ(server.handled(), 1);
}

TEST(HttpServerScreen, OversizedBodyForTheRouteGets413NotAReset) {
    bn::HttpServerOptions o;
    o.max_body_bytes = 64u << 20;
    o.body_limit_for = [](std::string_view target) -> std::size_t { return target == "/big" ? 8u << 20 : 1024; };
    ScreenedServer server(std::move(o));
    const auto refused = post(server.url("/small"), 32u << 20, false);
    EXPECT_EQ(refused.status, 413u) << refused.body;
    EXPECT_NE(refused.body.find("1024 bytes"), std::string::npos) << refused.body;
    EXPECT_EQ(post(server.url("/big"), 3u << 20, false).status, 200u);
    EXPECT_EQ(server.handled(), 1);
}

}  // namespace
