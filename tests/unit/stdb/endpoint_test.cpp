#include "benchdist/stdb/endpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace benchdist::stdb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---------------------------------------------------------------------------
// Accepted forms

struct GoodCase {
    std::string input;
    bool tls;
    std::string host;
    std::uint16_t port;
    HostKind kind;
    std::string prefix;
    std::string display;
    std::string host_header;  // == authority()
    std::string ws_base;      // scheme://authority/prefix of every WebSocket route
    std::string http_base;    // same for HTTP routes
};

void PrintTo(const GoodCase& c, std::ostream* os) { *os << '"' << c.input << '"'; }

const std::vector<GoodCase>& good_cases() {
    static const std::vector<GoodCase> cases = {
        // input, tls, host, port, kind, prefix, display, host_header, ws_base, http_base
        {"ws://127.0.0.1:3000", false, "127.0.0.1", 3000, HostKind::Ipv4, "", "ws://127.0.0.1:3000", "127.0.0.1:3000",
         "ws://127.0.0.1:3000", "http://127.0.0.1:3000"},
        {"ws://127.0.0.1:3000/", false, "127.0.0.1", 3000, HostKind::Ipv4, "", "ws://127.0.0.1:3000", "127.0.0.1:3000",
         "ws://127.0.0.1:3000", "http://127.0.0.1:3000"},
        {"ws://127.0.0.1:3000///", false, "127.0.0.1", 3000, HostKind::Ipv4, "", "ws://127.0.0.1:3000",
         "127.0.0.1:3000", "ws://127.0.0.1:3000", "http://127.0.0.1:3000"},
        {"ws://localhost", false, "localhost", 80, HostKind::Name, "", "ws://localhost:80", "localhost",
         "ws://localhost", "http://localhost"},
        {"ws://localhost:80", false, "localhost", 80, HostKind::Name, "", "ws://localhost:80", "localhost",
         "ws://localhost", "http://localhost"},
        {"wss://db.example.com", true, "db.example.com", 443, HostKind::Name, "", "wss://db.example.com:443",
         "db.example.com", "wss://db.example.com", "https://db.example.com"},
        {"wss://db.example.com/", true, "db.example.com", 443, HostKind::Name, "", "wss://db.example.com:443",
         "db.example.com", "wss://db.example.com", "https://db.example.com"},
        {"wss://db.example.com:8443", true, "db.example.com", 8443, HostKind::Name, "", "wss://db.example.com:8443",
         "db.example.com:8443", "wss://db.example.com:8443", "https://db.example.com:8443"},
        {"wss://db.example.com:80", true, "db.example.com", 80, HostKind::Name, "", "wss://db.example.com:80",
         "db.example.com:80", "wss://db.example.com:80", "https://db.example.com:80"},
        {"http://localhost:3000", false, "localhost", 3000, HostKind::Name, "", "ws://localhost:3000", "localhost:3000",
         "ws://localhost:3000", "http://localhost:3000"},
        {"http://localhost/", false, "localhost", 80, HostKind::Name, "", "ws://localhost:80", "localhost",
         "ws://localhost", "http://localhost"},
        {"https://maincloud.spacetimedb.com", true, "maincloud.spacetimedb.com", 443, HostKind::Name, "",
         "wss://maincloud.spacetimedb.com:443", "maincloud.spacetimedb.com", "wss://maincloud.spacetimedb.com",
         "https://maincloud.spacetimedb.com"},
        {"https://h:443/", true, "h", 443, HostKind::Name, "", "wss://h:443", "h", "wss://h", "https://h"},
        {"localhost:3000", false, "localhost", 3000, HostKind::Name, "", "ws://localhost:3000", "localhost:3000",
         "ws://localhost:3000", "http://localhost:3000"},
        {"localhost:3000/", false, "localhost", 3000, HostKind::Name, "", "ws://localhost:3000", "localhost:3000",
         "ws://localhost:3000", "http://localhost:3000"},
        {"localhost", false, "localhost", 80, HostKind::Name, "", "ws://localhost:80", "localhost", "ws://localhost",
         "http://localhost"},
        {"10.0.0.5", false, "10.0.0.5", 80, HostKind::Ipv4, "", "ws://10.0.0.5:80", "10.0.0.5", "ws://10.0.0.5",
         "http://10.0.0.5"},
        {"[::1]:3000", false, "::1", 3000, HostKind::Ipv6, "", "ws://[::1]:3000", "[::1]:3000", "ws://[::1]:3000",
         "http://[::1]:3000"},
        {"ws://[::1]", false, "::1", 80, HostKind::Ipv6, "", "ws://[::1]:80", "[::1]", "ws://[::1]", "http://[::1]"},
        {"wss://[2001:DB8::1]:8443/", true, "2001:db8::1", 8443, HostKind::Ipv6, "", "wss://[2001:db8::1]:8443",
         "[2001:db8::1]:8443", "wss://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"},
        {"ws://[0:0:0:0:0:0:0:1]:3000", false, "::1", 3000, HostKind::Ipv6, "", "ws://[::1]:3000", "[::1]:3000",
         "ws://[::1]:3000", "http://[::1]:3000"},
        {"WS://LocalHost:3000", false, "localhost", 3000, HostKind::Name, "", "ws://localhost:3000", "localhost:3000",
         "ws://localhost:3000", "http://localhost:3000"},
        {"HTTPS://Example.COM", true, "example.com", 443, HostKind::Name, "", "wss://example.com:443", "example.com",
         "wss://example.com", "https://example.com"},
        {"ws://h/prefix/", false, "h", 80, HostKind::Name, "/prefix", "ws://h:80/prefix", "h", "ws://h/prefix",
         "http://h/prefix"},
        {"ws://h/prefix", false, "h", 80, HostKind::Name, "/prefix", "ws://h:80/prefix", "h", "ws://h/prefix",
         "http://h/prefix"},
        {"wss://h:8443/a/b//", true, "h", 8443, HostKind::Name, "/a/b", "wss://h:8443/a/b", "h:8443",
         "wss://h:8443/a/b", "https://h:8443/a/b"},
        {"h:3000/stdb", false, "h", 3000, HostKind::Name, "/stdb", "ws://h:3000/stdb", "h:3000", "ws://h:3000/stdb",
         "http://h:3000/stdb"},
        {"ws://h/My%20Prefix/", false, "h", 80, HostKind::Name, "/My%20Prefix", "ws://h:80/My%20Prefix", "h",
         "ws://h/My%20Prefix", "http://h/My%20Prefix"},
        {"  ws://h:3000 \r\n", false, "h", 3000, HostKind::Name, "", "ws://h:3000", "h:3000", "ws://h:3000",
         "http://h:3000"},
        {"ws://h:03000", false, "h", 3000, HostKind::Name, "", "ws://h:3000", "h:3000", "ws://h:3000", "http://h:3000"},
        {"ws://stdb_1.internal:3000", false, "stdb_1.internal", 3000, HostKind::Name, "", "ws://stdb_1.internal:3000",
         "stdb_1.internal:3000", "ws://stdb_1.internal:3000", "http://stdb_1.internal:3000"},
    };
    return cases;
}

class GoodEndpoint : public ::testing::TestWithParam<GoodCase> {};

TEST_P(GoodEndpoint, ParsesFields) {
    const GoodCase& c = GetParam();
    const Endpoint e = parse_endpoint(c.input);
    EXPECT_EQ(e.tls, c.tls);
    EXPECT_EQ(e.host, c.host);
    EXPECT_EQ(e.port, c.port);
    EXPECT_EQ(e.host_kind, c.kind);
    EXPECT_EQ(e.path_prefix, c.prefix);
    EXPECT_EQ(e.display(), c.display);
    EXPECT_EQ(e.authority(), c.host_header);
}

TEST_P(GoodEndpoint, DisplayRoundTrips) {
    const Endpoint e = parse_endpoint(GetParam().input);
    EXPECT_EQ(parse_endpoint(e.display()), e);
}

TEST_P(GoodEndpoint, DerivesEveryRoute) {
    const GoodCase& c = GetParam();
    const Endpoint e = parse_endpoint(c.input);

    struct Route {
        HttpTarget target;
        bool websocket;
        std::string path_and_query;
    };
    const std::vector<Route> routes = {
        {subscribe_target(e, "test-1", Compression::None), true, "/v1/database/test-1/subscribe?compression=None"},
        {metrics_target(e), false, "/v1/metrics"},
        {ping_target(e), false, "/v1/ping"},
        {identity_target(e), false, "/v1/identity"},
        {database_info_target(e, "test-1"), false, "/v1/database/test-1"},
        {database_identity_target(e, "test-1"), false, "/v1/database/test-1/identity"},
        {sql_target(e, "test-1"), false, "/v1/database/test-1/sql"},
        {call_target(e, "test-1", "transfer"), false, "/v1/database/test-1/call/transfer"},
    };
    for (const Route& r : routes) {
        SCOPED_TRACE(r.path_and_query);
        const HttpTarget& t = r.target;
        EXPECT_EQ(t.tls, c.tls);
        EXPECT_EQ(t.websocket, r.websocket);
        EXPECT_EQ(t.host, c.host);
        EXPECT_EQ(t.port, c.port);
        EXPECT_EQ(t.host_kind, c.kind);
        EXPECT_EQ(t.host_header, c.host_header);
        EXPECT_EQ(t.target, c.prefix + r.path_and_query);
        EXPECT_EQ(t.to_string(), (r.websocket ? c.ws_base : c.http_base) + r.path_and_query);
    }
}

INSTANTIATE_TEST_SUITE_P(Forms, GoodEndpoint, ::testing::ValuesIn(good_cases()));

// ---------------------------------------------------------------------------
// Rejected forms

struct BadCase {
    std::string input;
    std::string quoted;  // how the input must appear in the message
    std::string reason;  // a fragment of the explanation
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.quoted; }

const std::vector<BadCase>& bad_cases() {
    static const std::vector<BadCase> cases = {
        {"", "\"\"", "empty"},
        {"   ", "\"   \"", "empty"},
        {"ws://", "\"ws://\"", "host is empty"},
        {"ws:///prefix", "\"ws:///prefix\"", "host is empty"},
        {"ws://:3000", "\"ws://:3000\"", "host is empty"},
        {"ftp://h", "\"ftp://h\"", "unsupported scheme \"ftp\""},
        {"tcp://h:3000", "\"tcp://h:3000\"", "unsupported scheme \"tcp\""},
        {"://h", "\"://h\"", "scheme before \"://\" is missing"},
        {"//h:3000", "\"//h:3000\"", "scheme before \"//\" is missing"},
        {"ws:/h", "\"ws:/h\"", "scheme \"ws:\" must be followed by \"//\""},
        {"HTTP:h", "\"HTTP:h\"", "scheme \"HTTP:\" must be followed by \"//\""},
        {"h:abc", "\"h:abc\"", "port \"abc\" is not a number"},
        {"ws://h:-1", "\"ws://h:-1\"", "port \"-1\" is not a number"},
        {"ws://h:", "\"ws://h:\"", "port is empty"},
        {"h:70000", "\"h:70000\"", "port \"70000\" is out of range 1-65535"},
        {"ws://h:65536", "\"ws://h:65536\"", "out of range"},
        {"ws://h:99999999999999999999999", "\"ws://h:99999999999999999999999\"", "out of range"},
        {"ws://h:0", "\"ws://h:0\"", "port \"0\" is out of range"},
        {"ws://h/?x=1", "\"ws://h/?x=1\"", "query \"?x=1\" is not allowed"},
        {"ws://h?x=1", "\"ws://h?x=1\"", "query \"?x=1\" is not allowed"},
        {"ws://h:3000?", "\"ws://h:3000?\"", "query \"?\" is not allowed"},
        {"ws://h#f", "\"ws://h#f\"", "fragment \"#f\" is not allowed"},
        {"ws://h/p#f?x", "\"ws://h/p#f?x\"", "fragment \"#f?x\" is not allowed"},
        {"ws://my host:3000", "\"ws://my host:3000\"", "whitespace"},
        {"ws://h :3000", "\"ws://h :3000\"", "whitespace"},
        {"ws://h:3000/a b", "\"ws://h:3000/a b\"", "whitespace"},
        {"ws://h\t:3000", "\"ws://h\\x09:3000\"", "whitespace or control characters"},
        {"ws://[::1", "\"ws://[::1\"", "missing its closing ']'"},
        {"ws://[::zz]:3000", "\"ws://[::zz]:3000\"", "\"[::zz]\" is not a valid IPv6 address"},
        {"ws://[::1]x", "\"ws://[::1]x\"", "unexpected \"x\" after the IPv6 address"},
        {"ws://[::1]:", "\"ws://[::1]:\"", "port is empty"},
        {"ws://::1:3000", "\"ws://::1:3000\"", "must be in brackets"},
        {"ws://ho<st:3000", "\"ws://ho<st:3000\"", "contains \"<\""},
        {"ws://h%41:3000", "\"ws://h%41:3000\"", "contains \"%\""},
        {"ws://h\xc3\xa9llo", "\"ws://h\xc3\xa9llo\"", "punycode"},
        {"ws://h/a/../b", "\"ws://h/a/../b\"", "\"..\" segments"},
        {"ws://h/./b", "\"ws://h/./b\"", "\".\" or \"..\""},
        {"ws://h//./b", "\"ws://h//./b\"", "\".\" or \"..\""},
        {"ws://h/p/%2e%2E/", "\"ws://h/p/%2e%2E/\"", "\".\" or \"..\""},
        {"ws://h/p/v1/", "\"ws://h/p/v1/\"", "contains an API route"},
        {"ws://h/%zz", "\"ws://h/%zz\"", "not a valid URL path"},
        {"ws://h:3000/v1/database/test-1/subscribe", "\"ws://h:3000/v1/database/test-1/subscribe\"",
         "contains an API route"},
        {"ws://user@h", "\"ws://user@h\"", "user info"},
        {"ws://u:secret@h:3000/", "\"ws://u:***@h:3000/\"", "user info"},
        {"say \"hi\"", "\"say \\\"hi\\\"\"", "whitespace"},
    };
    return cases;
}

class BadEndpoint : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadEndpoint, ThrowsWithQuotedInputAndReason) {
    const BadCase& c = GetParam();
    try {
        const Endpoint e = parse_endpoint(c.input);
        ADD_FAILURE() << "accepted, display() = " << e.display();
    } catch (const EndpointError& err) {
        const std::string msg = err.what();
        EXPECT_THAT(msg, HasSubstr("invalid --stdb-url " + c.quoted + ": "));
        EXPECT_THAT(msg, HasSubstr(c.reason));
        EXPECT_THAT(msg, HasSubstr("expected ws://HOST[:PORT], wss://, http://, https:// or HOST:PORT"));
    }
}

INSTANTIATE_TEST_SUITE_P(Forms, BadEndpoint, ::testing::ValuesIn(bad_cases()));

TEST(EndpointError, IsARuntimeError) { EXPECT_THROW(parse_endpoint("ftp://h"), std::runtime_error); }

TEST(EndpointError, NeverRepeatsThePassword) {
    try {
        parse_endpoint("ftp://admin:hunter2@h");
        FAIL() << "accepted";
    } catch (const EndpointError& err) {
        EXPECT_THAT(std::string(err.what()), Not(HasSubstr("hunter2")));
        EXPECT_THAT(std::string(err.what()), HasSubstr("\"ftp://admin:***@h\""));
    }
}

// ---------------------------------------------------------------------------
// Route details

TEST(SubscribeTarget, MatchesTheUrlTheOfficialSdkBuilds) {
    // vectors.json sdk_live.v2.client.Subscribe, as observed from the SDK.
    const HttpTarget t = subscribe_target(parse_endpoint("ws://127.0.0.1:3000"), "test-1", Compression::Gzip, true);
    EXPECT_EQ(t.to_string(), "ws://127.0.0.1:3000/v1/database/test-1/subscribe?compression=Gzip&confirmed=true");
    EXPECT_EQ(t.target, "/v1/database/test-1/subscribe?compression=Gzip&confirmed=true");
    EXPECT_EQ(t.host_header, "127.0.0.1:3000");
    EXPECT_EQ(t.scheme(), "ws");
}

TEST(SubscribeTarget, AlwaysSendsCompressionAndConfirmedOnlyWhenSet) {
    const Endpoint e = parse_endpoint("localhost:3000");
    EXPECT_EQ(subscribe_target(e, "db", Compression::None).target, "/v1/database/db/subscribe?compression=None");
    EXPECT_EQ(subscribe_target(e, "db", Compression::Brotli).target, "/v1/database/db/subscribe?compression=Brotli");
    EXPECT_EQ(subscribe_target(e, "db", Compression::Gzip, false).target,
              "/v1/database/db/subscribe?compression=Gzip&confirmed=false");
    EXPECT_EQ(subscribe_target(e, "db", Compression::None, true).target,
              "/v1/database/db/subscribe?compression=None&confirmed=true");
}

TEST(SubscribeTarget, KeepsTlsAndPrefix) {
    const HttpTarget t =
        subscribe_target(parse_endpoint("https://Proxy.Example.com/stdb/"), "test-1", Compression::None);
    EXPECT_TRUE(t.tls);
    EXPECT_EQ(t.scheme(), "wss");
    EXPECT_EQ(t.port, 443);
    EXPECT_EQ(t.to_string(), "wss://proxy.example.com/stdb/v1/database/test-1/subscribe?compression=None");
}

TEST(SqlTarget, ConfirmedOnlyWhenSet) {
    const Endpoint e = parse_endpoint("ws://h:3000");
    EXPECT_EQ(sql_target(e, "test-1").to_string(), "http://h:3000/v1/database/test-1/sql");
    EXPECT_EQ(sql_target(e, "test-1", true).to_string(), "http://h:3000/v1/database/test-1/sql?confirmed=true");
    EXPECT_EQ(sql_target(e, "test-1", false).target, "/v1/database/test-1/sql?confirmed=false");
}

TEST(HttpTargets, FullUrlsOverTls) {
    const Endpoint e = parse_endpoint("wss://db.example.com:8443/p");
    EXPECT_EQ(metrics_target(e).to_string(), "https://db.example.com:8443/p/v1/metrics");
    EXPECT_EQ(ping_target(e).to_string(), "https://db.example.com:8443/p/v1/ping");
    EXPECT_EQ(identity_target(e).to_string(), "https://db.example.com:8443/p/v1/identity");
    EXPECT_EQ(database_info_target(e, "test-1").to_string(), "https://db.example.com:8443/p/v1/database/test-1");
    EXPECT_EQ(database_identity_target(e, "test-1").to_string(),
              "https://db.example.com:8443/p/v1/database/test-1/identity");
    EXPECT_EQ(call_target(e, "test-1", "seed").to_string(),
              "https://db.example.com:8443/p/v1/database/test-1/call/seed");
    EXPECT_EQ(metrics_target(e).scheme(), "https");
}

TEST(HttpTargets, SniOnlyForTlsHostNames) {
    EXPECT_TRUE(metrics_target(parse_endpoint("https://db.example.com")).sends_sni());
    EXPECT_FALSE(metrics_target(parse_endpoint("https://10.1.2.3")).sends_sni());
    EXPECT_FALSE(metrics_target(parse_endpoint("wss://[::1]")).sends_sni());
    EXPECT_FALSE(metrics_target(parse_endpoint("ws://db.example.com")).sends_sni());
}

struct EncodingCase {
    std::string name;
    std::string encoded;
};

TEST(DatabaseNames, ArePercentEncodedAsOneSegment) {
    const Endpoint e = parse_endpoint("ws://h:3000");
    const std::vector<EncodingCase> cases = {
        {"test-1", "test-1"},         {"c200a81f4e2b00ff", "c200a81f4e2b00ff"},
        {"0xC200", "0xC200"},         {"a.b_c~d", "a.b_c~d"},
        {"my db", "my%20db"},         {"a/b", "a%2Fb"},
        {"x?y#z", "x%3Fy%23z"},       {"100%", "100%25"},
        {"a+b&c=d", "a%2Bb%26c%3Dd"}, {"..", ".."},
        {"\xc3\xbc", "%C3%BC"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        EXPECT_EQ(database_info_target(e, c.name).target, "/v1/database/" + c.encoded);
        EXPECT_EQ(database_identity_target(e, c.name).target, "/v1/database/" + c.encoded + "/identity");
        EXPECT_EQ(sql_target(e, c.name).target, "/v1/database/" + c.encoded + "/sql");
        EXPECT_EQ(call_target(e, c.name, "transfer").target, "/v1/database/" + c.encoded + "/call/transfer");
        EXPECT_EQ(subscribe_target(e, c.name, Compression::None).target,
                  "/v1/database/" + c.encoded + "/subscribe?compression=None");
    }
}

TEST(ReducerNames, ArePercentEncoded) {
    const Endpoint e = parse_endpoint("ws://h:3000");
    EXPECT_EQ(call_target(e, "db", "do thing/now").target, "/v1/database/db/call/do%20thing%2Fnow");
}

TEST(RouteArguments, EmptyNamesAreRejected) {
    const Endpoint e = parse_endpoint("ws://h:3000");
    EXPECT_THROW(subscribe_target(e, "", Compression::None), EndpointError);
    EXPECT_THROW(database_info_target(e, ""), EndpointError);
    EXPECT_THROW(database_identity_target(e, ""), EndpointError);
    EXPECT_THROW(sql_target(e, ""), EndpointError);
    EXPECT_THROW(call_target(e, "", "transfer"), EndpointError);
    try {
        call_target(e, "db", "");
        FAIL() << "accepted an empty reducer name";
    } catch (const EndpointError& err) {
        EXPECT_THAT(std::string(err.what()), HasSubstr("reducer name"));
    }
}

}  // namespace
}  // namespace benchdist::stdb
