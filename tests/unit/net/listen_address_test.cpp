// "HOST:PORT" for the listen options: IP literals and decimal ports only,
// each refusal naming what to write instead.
#include "benchdist/net/listen_address.hpp"

#include <gtest/gtest.h>

namespace benchdist::net {
namespace {

ListenAddress ok(std::string_view text) {
    auto parsed = parse_listen_address(text);
    if (const auto* problem = std::get_if<std::string>(&parsed)) {
        ADD_FAILURE() << text << ": " << *problem;
        return {};
    }
    return std::get<ListenAddress>(parsed);
}

std::string refused(std::string_view text) {
    auto parsed = parse_listen_address(text);
    if (std::holds_alternative<ListenAddress>(parsed)) {
        ADD_FAILURE() << text << " was accepted";
        return {};
    }
    return std::get<std::string>(parsed);
}

TEST(ListenAddress, AcceptsIpLiteralsAndPorts) {
    EXPECT_EQ(ok("127.0.0.1:9464").host, "127.0.0.1");
    EXPECT_EQ(ok("127.0.0.1:9464").port, 9464);
    EXPECT_EQ(ok("0.0.0.0:0").port, 0);
    EXPECT_EQ(ok("[::1]:65535").host, "::1");
    EXPECT_EQ(ok("[::1]:65535").port, 65535);
    EXPECT_EQ(ok("[::]:1").host, "::");
}

TEST(ListenAddress, RefusesWithTheFix) {
    EXPECT_NE(refused("127.0.0.1").find("has no port"), std::string::npos);
    EXPECT_NE(refused("localhost:9464").find("is not an IP address"), std::string::npos);
    EXPECT_NE(refused(":9464").find("is not an IP address"), std::string::npos);
    EXPECT_NE(refused("::1:9464").find("in brackets"), std::string::npos);
    for (const char* bad :
         {"127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80x", "127.0.0.1: 80"}) {
        EXPECT_NE(refused(bad).find("port must be a number from 0 to 65535"), std::string::npos) << bad;
    }
    EXPECT_NE(refused("1.2.3.4:x").find("e.g. 127.0.0.1:8080"), std::string::npos);
}

TEST(ListenAddress, AHostileValueIsCutShortInTheMessage) {
    const std::string problem = refused(std::string(1000, 'a') + ":1");
    EXPECT_LT(problem.size(), 400U);
}

TEST(ListenAddress, HttpUrlBracketsIpv6) {
    EXPECT_EQ(http_url("127.0.0.1", 80), "http://127.0.0.1:80");
    EXPECT_EQ(http_url("::1", 9464), "http://[::1]:9464");
}

}  // namespace
}  // namespace benchdist::net
