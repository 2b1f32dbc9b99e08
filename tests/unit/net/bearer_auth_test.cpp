#include "benchdist/net/bearer_auth.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

namespace {

using benchdist::net::BearerCheck;
using benchdist::net::check_bearer;
using benchdist::net::constant_time_equals;
using benchdist::net::HttpRequest;
using benchdist::net::HttpResponse;

constexpr const char* kToken = "s3cret-Token_42";

HttpRequest request(std::string path, std::optional<std::string> authorization) {
    HttpRequest r;
    r.method = "GET";
    r.path = std::move(path);
    r.target = r.path;
    if (authorization) r.headers.emplace_back("Authorization", *authorization);
    return r;
}

// Calls the handler and returns the one response it gave (or nullopt).
std::optional<HttpResponse> call(const benchdist::net::RequestHandler& h, HttpRequest req) {
    std::optional<HttpResponse> got;
    h(std::move(req), [&got](HttpResponse r) { got = std::move(r); });
    return got;
}

std::string header_of(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
        if (benchdist::net::iequals_ascii(k, name)) return v;
    return {};
}

TEST(ConstantTimeEquals, EqualOnlyForIdenticalBytes) {
    EXPECT_TRUE(constant_time_equals("", ""));
    EXPECT_TRUE(constant_time_equals("abc", "abc"));
    EXPECT_FALSE(constant_time_equals("abc", "abd"));
    EXPECT_FALSE(constant_time_equals("abc", "Abc"));
    // Prefixes and zero padding must not compare equal.
    EXPECT_FALSE(constant_time_equals("abc", "abcd"));
    EXPECT_FALSE(constant_time_equals("abcd", "abc"));
    EXPECT_FALSE(constant_time_equals("", "a"));
    EXPECT_FALSE(constant_time_equals(std::string_view("ab\0", 3), "ab"));
    EXPECT_FALSE(constant_time_equals("\xff", "\x7f"));
}

TEST(CheckBearer, AcceptsTheTokenWithAnySchemeCaseAndSurroundingSpace) {
    EXPECT_EQ(check_bearer(request("/state", std::string("Bearer ") + kToken), kToken), BearerCheck::Ok);
    EXPECT_EQ(check_bearer(request("/state", std::string("bearer ") + kToken), kToken), BearerCheck::Ok);
    EXPECT_EQ(check_bearer(request("/state", std::string("BEARER\t ") + kToken + "  "), kToken), BearerCheck::Ok);
    HttpRequest lower = request("/state", std::nullopt);
    lower.headers.emplace_back("authorization", std::string("Bearer ") + kToken);
    EXPECT_EQ(check_bearer(lower, kToken), BearerCheck::Ok);
}

TEST(CheckBearer, ClassifiesWhatIsWrong) {
    EXPECT_EQ(check_bearer(request("/state", std::nullopt), kToken), BearerCheck::Missing);
    EXPECT_EQ(check_bearer(request("/state", ""), kToken), BearerCheck::NotBearer);
    EXPECT_EQ(check_bearer(request("/state", "Bearer"), kToken), BearerCheck::NotBearer);
    EXPECT_EQ(check_bearer(request("/state", "Bearer   "), kToken), BearerCheck::NotBearer);
    EXPECT_EQ(check_bearer(request("/state", std::string("Basic ") + kToken), kToken), BearerCheck::NotBearer);
    EXPECT_EQ(check_bearer(request("/state", std::string("Bearer") + kToken), kToken), BearerCheck::NotBearer);
    EXPECT_EQ(check_bearer(request("/state", std::string(kToken)), kToken), BearerCheck::NotBearer);
    EXPECT_EQ(check_bearer(request("/state", "Bearer wrong"), kToken), BearerCheck::Wrong);
    EXPECT_EQ(check_bearer(request("/state", std::string("Bearer ") + kToken + "x"), kToken), BearerCheck::Wrong);
    EXPECT_EQ(check_bearer(request("/state", std::string("Bearer ") + kToken + " extra"), kToken), BearerCheck::Wrong);
}

TEST(UnauthorizedResponse, IsA401WithChallengeAndHintButNoToken) {
    for (const auto why : {BearerCheck::Missing, BearerCheck::NotBearer, BearerCheck::Wrong}) {
        const auto r = benchdist::net::unauthorized_response(why, "pass --auth-token");
        EXPECT_EQ(r.status, 401u);
        EXPECT_EQ(header_of(r, "WWW-Authenticate"), "Bearer");
        EXPECT_NE(r.content_type.find("application/json"), std::string::npos);
        const auto j = nlohmann::json::parse(r.body);
        const auto error = j.at("error").get<std::string>();
        EXPECT_NE(error.find(why == BearerCheck::Wrong ? "wrong bearer token" : "missing bearer token"),
                  std::string::npos)
            << error;
        EXPECT_NE(error.find("pass --auth-token"), std::string::npos) << error;
    }
}

TEST(RequireBearerToken, GuardsEveryPathButTheOpenOnes) {
    int inner_calls = 0;
    const benchdist::net::RequestHandler inner = [&inner_calls](HttpRequest, benchdist::net::Respond respond) {
        ++inner_calls;
        respond(HttpResponse::json_text(200, R"({"ok":true})"));
    };
    const auto guarded = benchdist::net::require_bearer_token(kToken, inner, {"/healthz"}, "the hint");

    const auto open = call(guarded, request("/healthz", std::nullopt));
    ASSERT_TRUE(open);
    EXPECT_EQ(open->status, 200u);
    EXPECT_EQ(inner_calls, 1);

    // Not a prefix match: /healthz/x and /healthzz are guarded.
    for (const char* path : {"/state", "/admin/start-epoch", "/healthz/x", "/healthzz", "/no-such-route"}) {
        for (const auto& auth : {std::optional<std::string>{}, std::optional<std::string>{"Bearer nope"},
                                 std::optional<std::string>{"Basic Zm9vOmJhcg=="}}) {
            const auto r = call(guarded, request(path, auth));
            ASSERT_TRUE(r) << path;
            EXPECT_EQ(r->status, 401u) << path;
            EXPECT_EQ(r->body.find(kToken), std::string::npos) << r->body;
            EXPECT_NE(r->body.find("the hint"), std::string::npos) << r->body;
        }
    }
    EXPECT_EQ(inner_calls, 1);

    const auto ok = call(guarded, request("/state", benchdist::net::bearer_header_value(kToken)));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200u);
    EXPECT_EQ(inner_calls, 2);
}

TEST(RequireBearerToken, EmptyTokenLeavesTheHandlerOpen) {
    int inner_calls = 0;
    const benchdist::net::RequestHandler inner = [&inner_calls](HttpRequest, benchdist::net::Respond respond) {
        ++inner_calls;
        respond(HttpResponse::text(200, "ok"));
    };
    const auto h = benchdist::net::require_bearer_token("", inner, {"/healthz"}, "hint");
    const auto r = call(h, request("/admin/status", std::nullopt));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(inner_calls, 1);
}

TEST(BearerHeaderValue, RoundTripsThroughTheCheck) {
    EXPECT_EQ(benchdist::net::bearer_header_value("abc"), "Bearer abc");
    EXPECT_EQ(check_bearer(request("/x", benchdist::net::bearer_header_value(kToken)), kToken), BearerCheck::Ok);
}

}  // namespace
