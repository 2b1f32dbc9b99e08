#include "benchdist/net/http_message.hpp"

#include <gtest/gtest.h>

using benchdist::net::HttpRequest;
using benchdist::net::HttpResponse;
using benchdist::net::percent_decode;

TEST(HttpMessage, HeaderLookupIsCaseInsensitive) {
    HttpRequest r;
    r.headers = {{"Content-Type", "application/json"}, {"X-A", "1"}, {"x-a", "2"}};
    EXPECT_EQ(r.header("content-type").value(), "application/json");
    EXPECT_EQ(r.header("X-a").value(), "1");
    EXPECT_FALSE(r.header("authorization").has_value());
}

TEST(HttpMessage, QueryParamsAreFoundAndDecoded) {
    HttpRequest r;
    r.query = "compression=Gzip&confirmed=false&name=a%2Fb&empty=&flag";
    EXPECT_EQ(r.query_param("compression").value(), "Gzip");
    EXPECT_EQ(r.query_param("confirmed").value(), "false");
    EXPECT_EQ(r.query_param("name").value(), "a/b");
    EXPECT_EQ(r.query_param("empty").value(), "");
    EXPECT_EQ(r.query_param("flag").value(), "");
    EXPECT_FALSE(r.query_param("compress").has_value());
}

TEST(HttpMessage, MalformedPercentEscapesAreRejected) {
    EXPECT_EQ(percent_decode("a%20b").value(), "a b");
    EXPECT_FALSE(percent_decode("%").has_value());
    EXPECT_FALSE(percent_decode("%2").has_value());
    EXPECT_FALSE(percent_decode("%zz").has_value());
}

TEST(HttpMessage, JsonResponsesEndWithNewline) {
    const auto r = HttpResponse::json_text(400, R"({"error":"x"})");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
    EXPECT_EQ(r.body, "{\"error\":\"x\"}\n");
}
