// Bad input against real processes on 127.0.0.1 (issue 6, item 4): malformed,
// truncated, mistyped, oversized and slow HTTP requests at every coordinator
// route and every stand-in route, and malformed WebSocket frames at the
// stand-in. Each must get a 4xx naming the problem (or a clean close when
// there is no request to answer), leave the process serving, and change no
// state. The client is a raw POSIX socket so the test controls every byte:
// a Content-Length that lies, headers that never end, frames no library
// would send. docs/reliability.md lists the cases and what each gets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <variant>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/net/http_server.hpp"
#include "benchdist/standin/standin_server.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/stdb/v3_framing.hpp"
#include "rig.hpp"

namespace {

namespace bc = benchdist::control;
namespace bn = benchdist::net;
namespace fs = std::filesystem;
namespace stdb = benchdist::stdb;
using namespace benchdist::testing;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The limits under test, from the same defaults the servers use, so the
// test follows them if they change. The coordinator raises its body limit
// to 64 MiB in its main() (a ten-minute /stopped report with per-second
// histograms is several MB); that value lives only there.
constexpr std::size_t kCoordinatorBodyLimit = std::size_t{64} << 20;
constexpr std::size_t kCoordinatorControlBodyLimit = std::size_t{1} << 20;  // every route but /stopped
const std::size_t kStandinBodyLimit = benchdist::standin::StandinOptions{}.max_http_body_bytes;
const std::size_t kHeaderLimit = bn::HttpServerOptions{}.max_header_bytes;
const auto kReadTimeout = bn::HttpServerOptions{}.read_timeout;
// The stand-in is started with a small WebSocket message limit so an
// oversized frame costs 2 MiB instead of 32.
constexpr std::size_t kWsMessageLimit = std::size_t{1} << 20;
constexpr auto kIoTimeout = 10s;

// --- A raw TCP client ------------------------------------------------------------

struct HttpReply {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

struct WsFrame {
    std::uint8_t opcode = 0;
    bool fin = true;
    std::string payload;
};

constexpr std::uint8_t kOpContinuation = 0x0, kOpText = 0x1, kOpBinary = 0x2, kOpClose = 0x8, kOpPing = 0x9;

// A client WebSocket frame; masked as RFC 6455 requires unless told not to.
std::string ws_frame(std::uint8_t opcode, std::string_view payload, bool masked = true) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
    const std::uint64_t n = payload.size();
    if (n < 126) {
        f.push_back(static_cast<char>(mask_bit | n));
    } else if (n <= 0xFFFF) {
        f.push_back(static_cast<char>(mask_bit | 126));
        for (int shift = 8; shift >= 0; shift -= 8) f.push_back(static_cast<char>((n >> shift) & 0xFF));
    } else {
        f.push_back(static_cast<char>(mask_bit | 127));
        for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((n >> shift) & 0xFF));
    }
    if (!masked) return f + std::string(payload);
    const char key[4] = {0x3a, 0x5c, 0x7e, 0x11};
    f.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
    return f;
}

std::string bytes_of(const std::vector<std::uint8_t>& v) { return std::string(v.begin(), v.end()); }

class RawConnection {
public:
    explicit RawConnection(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            const int e = errno;
            ::close(fd_);
            throw std::system_error(e, std::generic_category(), "connect to 127.0.0.1:" + std::to_string(port));
        }
    }
    ~RawConnection() { ::close(fd_); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    // Writes all of `bytes`; false once the peer is gone (or stops reading
    // for kIoTimeout), which for several cases here is the expected outcome.
    bool send(std::string_view bytes) {
        const auto deadline = Clock::now() + kIoTimeout;
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                bytes.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, millis_left(deadline)) <= 0) return false;
        }
        return true;
    }

    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

    // One HTTP response; nullopt when the connection ends or the deadline
    // passes before a whole one arrived.
    std::optional<HttpReply> read_response(std::chrono::milliseconds timeout = kIoTimeout) {
        const auto deadline = Clock::now() + timeout;
        std::size_t head_end = 0;
        while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill(deadline)) return std::nullopt;
        }
        HttpReply r;
        const std::string head = in_.substr(0, head_end);
        const auto first_space = head.find(' ');
        if (head.rfind("HTTP/1.", 0) != 0 || first_space == std::string::npos) return std::nullopt;
        r.status = static_cast<unsigned>(std::stoul(head.substr(first_space + 1, 3)));
        std::size_t pos = head.find("\r\n");
        while (pos != std::string::npos && pos < head.size()) {
            const auto next = head.find("\r\n", pos + 2);
            const auto line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
            if (const auto colon = line.find(':'); colon != std::string::npos) {
                auto value = line.substr(colon + 1);
                value.erase(0, value.find_first_not_of(' '));
                r.headers[lower(line.substr(0, colon))] = value;
            }
            pos = next;
        }
        const auto length_text = r.header("content-length");
        const std::size_t length = length_text.empty() ? 0 : std::stoul(length_text);
        while (in_.size() < head_end + 4 + length) {
            if (!fill(deadline)) return std::nullopt;
        }
        r.body = in_.substr(head_end + 4, length);
        in_.erase(0, head_end + 4 + length);
        return r;
    }

    // True when the peer closes (FIN or reset) before the timeout; what it
    // sends meanwhile is dropped.
    bool wait_closed(std::chrono::milliseconds timeout = kIoTimeout) {
        const auto deadline = Clock::now() + timeout;
        while (fill(deadline)) in_.clear();
        in_.clear();
        return closed_;
    }

    // Non-blocking: has the peer closed already? (Reads and drops data.)
    bool closed_now() {
        while (!closed_ && fill(Clock::now())) in_.clear();
        return closed_;
    }

    // One WebSocket frame from the server.
    std::optional<WsFrame> read_frame(Clock::time_point deadline) {
        auto need = [&](std::size_t n) {
            while (in_.size() < n) {
                if (!fill(deadline)) return false;
            }
            return true;
        };
        if (!need(2)) return std::nullopt;
        const auto b0 = static_cast<std::uint8_t>(in_[0]);
        const auto b1 = static_cast<std::uint8_t>(in_[1]);
        std::size_t header = 2;
        std::uint64_t length = b1 & 0x7F;
        if (length >= 126) {
            const std::size_t width = length == 126 ? 2 : 8;
            if (!need(2 + width)) return std::nullopt;
            length = 0;
            for (std::size_t i = 0; i < width; ++i) length = (length << 8) | static_cast<std::uint8_t>(in_[2 + i]);
            header += width;
        }
        const bool masked = (b1 & 0x80) != 0;
        const std::size_t key_at = header;
        if (masked) header += 4;
        if (!need(header + length)) return std::nullopt;
        WsFrame f;
        f.fin = (b0 & 0x80) != 0;
        f.opcode = b0 & 0x0F;
        f.payload = in_.substr(header, length);
        if (masked) {
            for (std::size_t i = 0; i < f.payload.size(); ++i)
                f.payload[i] = static_cast<char>(f.payload[i] ^ in_[key_at + i % 4]);
        }
        in_.erase(0, header + length);
        return f;
    }

private:
    static int millis_left(Clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        return static_cast<int>(std::max<std::int64_t>(0, left));
    }

    // Appends what arrives before the deadline; false once the peer has
    // closed or reset, or the deadline passed with nothing to read.
    bool fill(Clock::time_point deadline) {
        if (closed_) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, millis_left(deadline)) <= 0) return false;
        char buf[65536];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            in_.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
        closed_ = true;
        return false;
    }

    int fd_ = -1;
    std::string in_;
    bool closed_ = false;
};

// "METHOD target HTTP/1.1" with Host, Connection: close, the given
// Content-Length, any extra header lines, then the blank line.
std::string request_head(const std::string& method, const std::string& target, std::size_t content_length,
                         const std::string& extra_headers = "", const std::string& content_type = "application/json") {
    std::string head = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!content_type.empty()) head += "Content-Type: " + content_type + "\r\n";
    head += "Content-Length: " + std::to_string(content_length) + "\r\n" + extra_headers + "\r\n";
    return head;
}

// One header line well over the header limit.
std::string huge_header() { return "X-Big: " + std::string(kHeaderLimit + 1024, 'a') + "\r\n"; }

// Many small header lines adding up to twice the limit: Beast enforces it
// per read, so a total just over it may pass; twice the limit never does.
std::string many_headers() {
    std::string many;
    for (std::size_t i = 0; many.size() <= 2 * kHeaderLimit; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    return many;
}

std::optional<HttpReply> raw_request(int port, const std::string& method, const std::string& target,
                                     const std::string& body = "",
                                     const std::string& content_type = "application/json") {
    RawConnection c(port);
    if (!c.send(request_head(method, target, body.size(), "", content_type) + body)) return std::nullopt;
    return c.read_response();
}

std::string describe(const std::optional<HttpReply>& r) {
    if (!r) return "no response (connection closed or timed out)";
    return "HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 300);
}

// --- The processes -----------------------------------------------------------------

class Standin : public benchdist::testing::StandinProcess {
public:
    Standin() : StandinProcess({.args = {"--debug-routes", "--max-message-bytes", std::to_string(kWsMessageLimit)}}) {
        seed(10, 1000);
    }
    std::string url(const std::string& target) const { return http_url(target); }

    // What bad input must not change: every balance, and the committed
    // reducer counts (SQL reads are counted as transactions too, so their
    // series are left out).
    std::string state() const {
        const auto accounts = bn::http_request({.method = "POST",
                                                .url = url("/v1/database/test-1/sql"),
                                                .body = std::string(stdb::transfer::kAccountsQuery)});
        if (accounts.status != 200) throw std::runtime_error("sql: HTTP " + std::to_string(accounts.status));
        std::string out = bc::Json::parse(accounts.body).at(0).at("rows").dump() + "\n";
        const auto metrics = bn::http_request({.url = url("/v1/metrics")});
        std::size_t pos = 0;
        while (pos < metrics.body.size()) {
            auto end = metrics.body.find('\n', pos);
            if (end == std::string::npos) end = metrics.body.size();
            const auto line = metrics.body.substr(pos, end - pos);
            if (line.rfind("spacetime_num_txns_total{", 0) == 0 && contains(line, "reducer=\"") &&
                !contains(line, "reducer=\"\"")) {
                out += line + "\n";
            }
            pos = end + 1;
        }
        return out;
    }

    bool answers_ping() const { return bn::http_request({.url = url("/v1/ping")}).status == 200; }
};

class Coordinator {
public:
    explicit Coordinator(int stdb_port)
        : dir_("bad-input"),
          proc_({.stdb_url = "ws://127.0.0.1:" + std::to_string(stdb_port),
                 .results_dir = dir_.path() / "results",
                 // Generators registered by these tests stay silent: without a
                 // lease they are never marked lost, so "state unchanged" holds.
                 .args = {"--lease-seconds", "0"},
                 .call_timeout = std::chrono::seconds(10)}) {}
    int port() const { return proc_.port(); }
    std::string url(const std::string& target) const { return proc_.url(target); }
    bool running() { return proc_.process().running(); }
    std::string output() const { return proc_.process().output(); }

    bn::ClientResponse call(const std::string& method, const std::string& target, const std::string& body = "") const {
        return proc_.call(method, target, body);
    }

    // A generator the test registers by hand (no generator process needed):
    // known ids make "unknown generator" and "wrong epoch" distinguishable.
    void register_generator(const std::string& id) const {
        const auto r =
            call("POST", "/register", R"({"id":")" + id + R"(","hostname":"bad-input-test","desiredConnections":1})");
        if (r.status != 200)
            throw std::runtime_error("register " + id + ": HTTP " + std::to_string(r.status) + " " + r.body);
    }

    // /admin/status without what moves on its own (the clock, last contact):
    // any other difference is a state change. "version" is bumped by every
    // change, so it is kept.
    bc::Json state() const {
        auto j = bc::Json::parse(call("GET", "/admin/status").body);
        j.erase("serverTimeMs");
        for (auto& g : j["generators"]) g.erase("lastSeenAt");
        return j;
    }

    bool answers_healthz() const {
        const auto r = call("GET", "/healthz");
        return r.status == 200 && bc::Json::parse(r.body).value("ok", false);
    }

private:
    benchdist::testing::TempDir dir_;
    benchdist::testing::CoordinatorProcess proc_;
};

// One stand-in and one coordinator (with generator gen-a registered, not
// ready, so nothing a test sends can start an epoch) shared by the tests
// that only send bad input; a test whose input might change state uses its
// own coordinator.
struct Shared {
    Standin standin;
    Coordinator coordinator{standin.port()};
    Shared() { coordinator.register_generator("gen-a"); }
};

Shared& shared() {
    static const std::unique_ptr<Shared> s = std::make_unique<Shared>();
    return *s;
}

// --- Expectations -------------------------------------------------------------------

// A coordinator refusal: the status, and a JSON {"error": ...} naming the problem.
::testing::AssertionResult coordinator_refused(const std::optional<HttpReply>& r, unsigned status,
                                               std::string_view names) {
    if (!r || r->status != status) {
        return ::testing::AssertionFailure() << "expected HTTP " << status << ", got " << describe(r);
    }
    if (!contains(r->header("content-type"), "application/json")) {
        return ::testing::AssertionFailure() << "error body is not JSON: " << describe(r);
    }
    const auto j = bc::Json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.contains("error") || !j["error"].is_string()) {
        return ::testing::AssertionFailure() << "no string \"error\" in " << describe(r);
    }
    if (!contains(j["error"].get<std::string>(), names)) {
        return ::testing::AssertionFailure() << "error does not mention \"" << names << "\": " << describe(r);
    }
    return ::testing::AssertionSuccess();
}

// A stand-in refusal: the status and a plain-text body naming the problem
// (the real SpacetimeDB's convention).
::testing::AssertionResult standin_refused(const std::optional<HttpReply>& r, unsigned status, std::string_view names) {
    if (!r || r->status != status) {
        return ::testing::AssertionFailure() << "expected HTTP " << status << ", got " << describe(r);
    }
    if (!contains(r->body, names)) {
        return ::testing::AssertionFailure() << "body does not mention \"" << names << "\": " << describe(r);
    }
    return ::testing::AssertionSuccess();
}

// A truncated request: the server may answer 4xx (it saw the end of the
// stream mid-request) or just close; it must never act on it.
::testing::AssertionResult refused_or_closed(RawConnection& c) {
    const auto r = c.read_response();
    if (r && (r->status < 400 || r->status >= 500)) {
        return ::testing::AssertionFailure() << "a truncated request got " << describe(r);
    }
    if (!c.wait_closed()) return ::testing::AssertionFailure() << "the connection was not closed";
    return ::testing::AssertionSuccess();
}

// =====================================================================================
// Coordinator: every route
// =====================================================================================

struct CoordinatorRoute {
    const char* method;
    const char* path;
    const char* other_method;  // for the 405 case
    bool reads_body;           // parses a JSON body (others ignore it)
};

constexpr CoordinatorRoute kCoordinatorRoutes[] = {
    {"GET", "/healthz", "POST", false},
    {"GET", "/state", "POST", false},
    {"GET", "/admin/status", "DELETE", false},
    {"POST", "/register", "GET", true},
    {"POST", "/ready", "PUT", true},
    {"POST", "/started", "GET", true},
    {"POST", "/stopped", "GET", true},
    {"POST", "/admin/start-epoch", "GET", true},
    {"POST", "/admin/stop-epoch", "GET", false},
    {"GET", "/admin/generators", "POST", false},
    {"POST", "/admin/include", "GET", true},
    {"POST", "/admin/exclude", "GET", true},
};

std::string route_name(std::string_view method, std::string_view path) {
    std::string name(method);
    for (const char c : path) name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    return name;
}

class CoordinatorEveryRoute : public ::testing::TestWithParam<CoordinatorRoute> {
protected:
    void SetUp() override { before_ = shared().coordinator.state(); }
    void TearDown() override {
        auto& c = shared().coordinator;
        ASSERT_TRUE(c.running()) << "coordinator died:\n" << c.output();
        EXPECT_TRUE(c.answers_healthz());
        EXPECT_EQ(c.state(), before_) << "state changed";
    }
    int port() const { return shared().coordinator.port(); }
    const CoordinatorRoute& route() const { return GetParam(); }

private:
    bc::Json before_;
};

// Only /stopped (a generator's per-second report) may be large; every
// other route refuses more than 1 MiB.
std::size_t body_limit_of(std::string_view path) {
    return path == "/stopped" ? kCoordinatorBodyLimit : kCoordinatorControlBodyLimit;
}

TEST_P(CoordinatorEveryRoute, BodyOverTheLimitGets413BeforeItIsSent) {
    const std::size_t limit = body_limit_of(route().path);
    RawConnection c(port());
    ASSERT_TRUE(c.send(request_head(route().method, route().path, limit + 1)));
    EXPECT_TRUE(coordinator_refused(c.read_response(), 413, "exceeds the limit of " + std::to_string(limit)));
    EXPECT_TRUE(c.wait_closed());
}

TEST_P(CoordinatorEveryRoute, TenMiBOfGarbageIsRefusedOrIgnored) {
    if (body_limit_of(route().path) < (10u << 20)) {
        // Refused from its headers, before any of the body is read.
        RawConnection c(port());
        ASSERT_TRUE(c.send(request_head(route().method, route().path, 10u << 20)));
        EXPECT_TRUE(coordinator_refused(c.read_response(), 413, "exceeds the limit of"));
        EXPECT_TRUE(c.wait_closed());
        return;
    }
    // /stopped: 10 MiB is under its 64 MiB limit, so it is read whole and
    // then refused as JSON.
    const auto r = raw_request(port(), route().method, route().path, std::string(10u << 20, 'x'));
    if (route().reads_body) {
        EXPECT_TRUE(coordinator_refused(r, 400, "not valid JSON"));
    } else {
        ASSERT_TRUE(r) << describe(r);
        EXPECT_EQ(r->status, 200u) << describe(r);
    }
}

TEST_P(CoordinatorEveryRoute, MalformedJsonIsRefusedOrIgnored) {
    const auto r = raw_request(port(), route().method, route().path, R"({"id": "gen-a", )");
    if (route().reads_body) {
        EXPECT_TRUE(coordinator_refused(r, 400, "not valid JSON"));
    } else {
        ASSERT_TRUE(r) << describe(r);
        EXPECT_EQ(r->status, 200u) << describe(r);
    }
}

TEST_P(CoordinatorEveryRoute, TruncatedBodyIsRefusedOrClosed) {
    RawConnection c(port());
    ASSERT_TRUE(c.send(request_head(route().method, route().path, 100) + R"({"id":"gen-a","epo)"));
    c.shutdown_write();
    EXPECT_TRUE(refused_or_closed(c));
}

TEST_P(CoordinatorEveryRoute, HugeHeaderGets431) {
    RawConnection c(port());
    c.send(request_head(route().method, route().path, 2, huge_header()) + "{}");  // the server may stop reading early
    EXPECT_TRUE(coordinator_refused(c.read_response(), 431, "headers exceed the limit"));
}

TEST_P(CoordinatorEveryRoute, TooManyHeadersGet431) {
    RawConnection c(port());
    c.send(request_head(route().method, route().path, 2, many_headers()) + "{}");
    EXPECT_TRUE(coordinator_refused(c.read_response(), 431, "headers exceed the limit"));
}

TEST_P(CoordinatorEveryRoute, WrongMethodGets405NamingTheRightOne) {
    const auto r = raw_request(port(), route().other_method, route().path, "{}");
    EXPECT_TRUE(coordinator_refused(r, 405, std::string("use ") + route().method));
    if (r) {
        EXPECT_EQ(r->header("allow"), route().method);
    }
}

INSTANTIATE_TEST_SUITE_P(Routes, CoordinatorEveryRoute, ::testing::ValuesIn(kCoordinatorRoutes),
                         [](const ::testing::TestParamInfo<CoordinatorRoute>& info) {
                             return route_name(info.param.method, info.param.path);
                         });

// =====================================================================================
// Coordinator: route-specific bodies and query parameters
// =====================================================================================

struct CoordinatorCase {
    const char* name;
    const char* method;
    const char* target;
    const char* body;
    unsigned status;
    const char* names;  // what the "error" must mention
};

constexpr CoordinatorCase kCoordinatorCases[] = {
    // Not JSON, or not an object.
    {"RegisterEmptyBody", "POST", "/register", "", 400, "Request body is empty"},
    {"RegisterArray", "POST", "/register", "[1,2]", 400, "must be a JSON object"},
    {"RegisterTrailingGarbage", "POST", "/register", R"({"id":"g","hostname":"h","desiredConnections":1} x)", 400,
     "not valid JSON"},
    // Wrong types and missing keys: the message names the key.
    {"RegisterIdNumber", "POST", "/register", R"({"id":5,"hostname":"h","desiredConnections":1})", 400, "\"id\""},
    {"RegisterIdMissing", "POST", "/register", R"({"hostname":"h","desiredConnections":1})", 400, "\"id\""},
    {"RegisterConnectionsString", "POST", "/register", R"({"id":"g","hostname":"h","desiredConnections":"4"})", 400,
     "\"desiredConnections\""},
    {"RegisterConnectionsNegative", "POST", "/register", R"({"id":"g","hostname":"h","desiredConnections":-4})", 400,
     "\"desiredConnections\""},
    {"RegisterHostnameNull", "POST", "/register", R"({"id":"g","hostname":null,"desiredConnections":1})", 400,
     "\"hostname\""},
    {"ReadyConnectionsFraction", "POST", "/ready", R"({"id":"gen-a","openedConnections":1.5})", 400,
     "\"openedConnections\""},
    {"ReadyConnectionsString", "POST", "/ready", R"({"id":"gen-a","openedConnections":"4"})", 400,
     "\"openedConnections\""},
    {"ReadyIdArray", "POST", "/ready", R"({"id":["gen-a"],"openedConnections":1})", 400, "\"id\""},
    {"StartedEpochString", "POST", "/started", R"({"id":"gen-a","epoch":"1"})", 400, "\"epoch\""},
    {"StoppedEpochNegative", "POST", "/stopped", R"({"id":"gen-a","epoch":-1})", 400, "\"epoch\""},
    {"StoppedEpochHuge", "POST", "/stopped", R"({"id":"gen-a","epoch":1e400})", 400, "number overflow"},
    {"StartEpochLabelNumber", "POST", "/admin/start-epoch", R"({"label":7})", 400, "\"label\""},
    {"StartEpochIdsString", "POST", "/admin/start-epoch", R"({"generatorIds":"gen-a"})", 400, "\"generatorIds\""},
    {"StartEpochIdsNumbers", "POST", "/admin/start-epoch", R"({"generatorIds":[1,2]})", 400, "\"generatorIds\""},
    {"IncludeIdsMissing", "POST", "/admin/include", "{}", 400, "\"generatorIds\""},
    {"IncludeIdsString", "POST", "/admin/include", R"({"generatorIds":"gen-a"})", 400, "\"generatorIds\""},
    {"ExcludeIdsNull", "POST", "/admin/exclude", R"({"generatorIds":[null]})", 400, "\"generatorIds\""},
    // Unknown generator ids.
    {"ReadyUnknownGenerator", "POST", "/ready", R"({"id":"nope","openedConnections":1})", 400,
     "Unknown generator \"nope\""},
    {"StoppedUnknownGenerator", "POST", "/stopped", R"({"id":"nope","epoch":1})", 400, "Unknown generator \"nope\""},
    {"StartedUnknownGenerator", "POST", "/started", R"({"id":"nope","epoch":1})", 400, "\"nope\""},
    // All or nothing: gen-a exists, nope does not, and gen-a stays included.
    {"ExcludeOneUnknownGenerator", "POST", "/admin/exclude", R"({"generatorIds":["gen-a","nope"]})", 400,
     "Unknown generator \"nope\""},
    {"IncludeUnknownGenerator", "POST", "/admin/include", R"({"generatorIds":["nope"]})", 400,
     "Unknown generator \"nope\""},
    // Wrong epoch: no epoch is running.
    {"StartedWrongEpoch", "POST", "/started", R"({"id":"gen-a","epoch":7})", 400, "unexpected epoch 7"},
    // Names follow their rules (control/identifiers.hpp) on every route that
    // takes one: a newline, an escape sequence or a NUL in an id would reach
    // the coordinator's log and bench-dist-control's tables.
    {"RegisterIdNewline", "POST", "/register",
     R"({"id":"gen-x\nepoch=1 verification=passed","hostname":"h","desiredConnections":1})", 400,
     "\"id\" is not a valid generator id: byte 6 is \\x0A"},
    {"RegisterIdEscape", "POST", "/register", R"({"id":"gen\u001b[2J","hostname":"h","desiredConnections":1})", 400,
     "\"id\" is not a valid generator id: byte 4 is \\x1B"},
    {"RegisterIdNul", "POST", "/register", R"({"id":"gen\u0000x","hostname":"h","desiredConnections":1})", 400,
     "\"id\" is not a valid generator id: byte 4 is \\x00"},
    {"RegisterIdComma", "POST", "/register", R"({"id":"a,b","hostname":"h","desiredConnections":1})", 400,
     "1 to 128 bytes of A-Z a-z 0-9 . _ : @ -"},
    {"RegisterIdEmpty", "POST", "/register", R"({"id":"","hostname":"h","desiredConnections":1})", 400,
     "\"id\" is not a valid generator id: it is empty"},
    {"RegisterHostnameEscape", "POST", "/register",
     R"({"id":"gen-x","hostname":"h\u001b]0;owned\u0007","desiredConnections":1})", 400,
     "\"hostname\" is not a valid host name"},
    {"RegisterHostnameEmpty", "POST", "/register", R"({"id":"gen-x","hostname":"","desiredConnections":1})", 400,
     "\"hostname\" is not a valid host name: it is empty"},
    {"RegisterConnectionsAbsurd", "POST", "/register",
     R"({"id":"gen-x","hostname":"h","desiredConnections":18446744073709551615})", 400,
     "\"desiredConnections\" is 18446744073709551615; a generator holds at most 1000000 connections"},
    {"ReadyIdNewline", "POST", "/ready", R"({"id":"gen-a\n","openedConnections":1})", 400,
     "\"id\" is not a valid generator id"},
    {"ReadyAboveDesired", "POST", "/ready", R"({"id":"gen-a","openedConnections":2})", 400,
     "openedConnections 2 above its desiredConnections 1"},
    {"StartedIdEscape", "POST", "/started", R"({"id":"gen\u001b[31m","epoch":1})", 400,
     "\"id\" is not a valid generator id"},
    {"StoppedIdNul", "POST", "/stopped", R"({"id":"gen-a\u0000","epoch":1})", 400,
     "\"id\" is not a valid generator id"},
    {"StateIdNewline", "GET", "/state?id=gen-a%0Aphase%3Didle", "", 400,
     "query parameter \"id\" is not a valid generator id"},
    {"StateViewIdEscape", "GET", "/state?view=self&since=0&id=%1B%5B2J", "", 400,
     "query parameter \"id\" is not a valid generator id"},
    {"StartEpochIdsNewline", "POST", "/admin/start-epoch", R"({"generatorIds":["gen-a","gen-a\n"]})", 400,
     "\"generatorIds\"[1] is not a valid generator id"},
    {"StartEpochLabelEscape", "POST", "/admin/start-epoch", R"({"label":"run\u001b[2J"})", 400,
     "\"label\" holds a control character"},
    {"StartEpochLabelNewline", "POST", "/admin/start-epoch", R"({"label":"run\nepoch=1 verification=passed"})", 400,
     "\"label\" holds a control character"},
    {"IncludeIdsEscape", "POST", "/admin/include", R"({"generatorIds":["\u001b[2J"]})", 400,
     "\"generatorIds\"[0] is not a valid generator id"},
    {"ExcludeIdsNewline", "POST", "/admin/exclude", R"({"generatorIds":["gen-a\n"]})", 400,
     "\"generatorIds\"[0] is not a valid generator id"},
    // Query parameters of the long-poll.
    {"StateSinceNotANumber", "GET", "/state?since=abc", "", 400, "\"since\""},
    {"StateSinceNegative", "GET", "/state?since=-1", "", 400, "\"since\""},
    {"StateSinceEmpty", "GET", "/admin/status?since=", "", 400, "\"since\""},
    {"StateWaitNotANumber", "GET", "/state?since=0&waitMs=soon", "", 400, "\"waitMs\""},
    {"StateSinceOverflow", "GET", "/state?since=99999999999999999999999", "", 400, "\"since\""},
    // Not a route.
    {"UnknownRoute", "GET", "/admin/nothing", "", 404, "Unknown route: GET /admin/nothing"},
};

class CoordinatorBadBody : public ::testing::TestWithParam<CoordinatorCase> {};

TEST_P(CoordinatorBadBody, IsRefusedNamingTheProblemAndChangesNothing) {
    const auto& tc = GetParam();
    auto& c = shared().coordinator;
    const auto before = c.state();
    EXPECT_TRUE(coordinator_refused(raw_request(c.port(), tc.method, tc.target, tc.body), tc.status, tc.names));
    ASSERT_TRUE(c.running()) << c.output();
    EXPECT_TRUE(c.answers_healthz());
    EXPECT_EQ(c.state(), before);
}

INSTANTIATE_TEST_SUITE_P(Cases, CoordinatorBadBody, ::testing::ValuesIn(kCoordinatorCases),
                         [](const ::testing::TestParamInfo<CoordinatorCase>& info) {
                             return std::string(info.param.name);
                         });

TEST(CoordinatorBadInput, StartEpochNamingUnknownGeneratorsIsRefusedWithoutStarting) {
    // The original harness answers refusals with 200 and started=false;
    // scripts rely on that, so this one is not a 4xx.
    auto& c = shared().coordinator;
    const auto before = c.state();
    const auto r = raw_request(c.port(), "POST", "/admin/start-epoch", R"({"generatorIds":["nope"]})");
    ASSERT_TRUE(r && r->status == 200) << describe(r);
    const auto j = bc::Json::parse(r->body);
    EXPECT_EQ(j["started"], false);
    EXPECT_TRUE(contains(j["message"].get<std::string>(), "not ready: nope")) << r->body;
    EXPECT_EQ(c.state(), before);
}

// A megabyte-long id (just under the 1 MiB body limit) is refused by its
// length, and neither the answer nor the log repeats it.
TEST(CoordinatorBadInput, MegabyteIdIsRefusedByItsLengthNotEchoed) {
    auto& c = shared().coordinator;
    const auto before = c.state();
    const std::string id(1000000, 'a');
    const auto r =
        raw_request(c.port(), "POST", "/register", R"({"id":")" + id + R"(","hostname":"h","desiredConnections":1})");
    EXPECT_TRUE(coordinator_refused(r, 400, "\"id\" is not a valid generator id: it is 1000000 bytes long"));
    ASSERT_TRUE(r);
    EXPECT_LT(r->body.size(), 1000u) << r->body.substr(0, 200);
    const auto label =
        raw_request(c.port(), "POST", "/admin/start-epoch", R"({"label":")" + std::string(100000, 'l') + R"("})");
    EXPECT_TRUE(coordinator_refused(label, 400, "\"label\" is 100000 bytes long; a label is at most 256 bytes"));
    EXPECT_EQ(c.state(), before);
    EXPECT_FALSE(contains(c.output(), std::string(1000, 'a')));
}

// Was a finding of this suite (fixed; see docs/reliability.md): a body nested ~30000 levels deep under
// an unknown key (60 KB, far below the body limit) kills the coordinator
// with SIGSEGV. Parsing and destroying such a value are iterative in
// nlohmann::json, but /register, /ready and /stopped keep unknown keys in
// `extra`, and copying a json value recurses once per level. Fix in
// control::parse_body (src/control/protocol.cpp): refuse bodies nested
// deeper than a small bound (say 64 levels) with a ProtocolError, e.g.
// with the depth argument of nlohmann's parser callback.
TEST(CoordinatorBadInput, DeeplyNestedJsonIsRefused) {
    Coordinator c(shared().standin.port());  // its own: the bug kills it
    c.register_generator("gen-b");
    const auto before = c.state();
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    for (const auto& [path, prefix] : std::vector<std::pair<std::string, std::string>>{
             {"/register", R"({"id":"gen-c","hostname":"h","desiredConnections":1,"x":)"},
             {"/ready", R"({"id":"gen-b","openedConnections":1,"x":)"},
             {"/stopped", R"({"id":"gen-b","epoch":1,"x":)"}}) {
        EXPECT_TRUE(coordinator_refused(raw_request(c.port(), "POST", path, prefix + deep + "}"), 400, "")) << path;
        ASSERT_TRUE(c.running()) << path << " killed the coordinator:\n" << c.output();
    }
    EXPECT_EQ(c.state(), before);
}

// Was a finding of this suite (fixed; see docs/reliability.md): bytes that are not UTF-8 and end up in
// an error message (a percent-encoded query value, or a body whose JSON
// string is not UTF-8: nlohmann's parse error quotes the bytes) make the
// 400's own JSON serialization throw (nlohmann refuses to dump invalid
// UTF-8). The exception escapes the route's catch block and the HTTP server
// answers 500 "internal error" instead of the 400. Fix in
// src/coordinator/routes.cpp error_response (or control::pretty): dump with
// nlohmann::json::error_handler_t::replace, so any message can be sent.
TEST(CoordinatorBadInput, NonUtf8InAnErrorMessageGets400Not500) {
    auto& c = shared().coordinator;
    const auto before = c.state();
    EXPECT_TRUE(coordinator_refused(raw_request(c.port(), "GET", "/state?since=%FF"), 400, "\"since\""));
    EXPECT_TRUE(coordinator_refused(raw_request(c.port(), "POST", "/register",
                                                "{\"id\":\"\xff\xfe\",\"hostname\":\"h\",\"desiredConnections\":1}"),
                                    400, "not valid JSON"));
    EXPECT_EQ(c.state(), before);
}

// Was a finding of this suite (fixed; see docs/reliability.md): /stopped for an epoch that never ran
// is accepted (200) and marks a registered-but-not-ready generator ready, so
// a stray or forged ack makes it eligible for the next epoch. Fix in
// EpochStateMachine::acknowledge_stopped (src/coordinator/epoch_state.cpp):
// refuse epochs the coordinator never started (0 or >= the next epoch
// number) with RequestRejected("... acknowledged unexpected epoch N"), and
// change local_state only for a generator that is Starting/Running that epoch.
TEST(CoordinatorBadInput, StoppedForAnEpochThatNeverRanIsRefused) {
    Coordinator c(shared().standin.port());  // its own: the bug changes state
    c.register_generator("gen-b");
    const auto before = c.state();
    EXPECT_TRUE(coordinator_refused(raw_request(c.port(), "POST", "/stopped", R"({"id":"gen-b","epoch":7})"), 400,
                                    "unexpected epoch 7"));
    EXPECT_EQ(c.state(), before);
}

// =====================================================================================
// Stand-in: every HTTP route
// =====================================================================================

struct StandinRoute {
    const char* method;
    const char* target;
    const char* other_method;
    bool websocket_only = false;  // answers any plain request with 426, whatever the method
};

constexpr StandinRoute kStandinRoutes[] = {
    {"GET", "/v1/ping", "POST"},
    {"GET", "/v1/health", "POST"},
    {"GET", "/v1/metrics", "DELETE"},
    {"POST", "/v1/identity", "GET"},
    {"POST", "/v1/identity/websocket-token", "GET"},
    {"GET", "/v1/database/test-1", "POST"},
    {"GET", "/v1/database/test-1/identity", "POST"},
    {"POST", "/v1/database/test-1/sql", "GET"},
    {"POST", "/v1/database/test-1/call/transfer", "GET"},
    {"GET", "/v1/database/test-1/subscribe", "POST", true},
    {"POST", "/v1/debug/delays", "GET"},
    {"POST", "/v1/debug/database/test-1/corrupt", "GET"},
};

class StandinEveryRoute : public ::testing::TestWithParam<StandinRoute> {
protected:
    void SetUp() override { before_ = shared().standin.state(); }
    void TearDown() override {
        auto& s = shared().standin;
        ASSERT_TRUE(s.running()) << "stand-in died:\n" << s.output();
        EXPECT_TRUE(s.answers_ping());
        EXPECT_EQ(s.state(), before_) << "state changed";
    }
    int port() const { return shared().standin.port(); }
    const StandinRoute& route() const { return GetParam(); }

private:
    std::string before_;
};

TEST_P(StandinEveryRoute, BodyOverTheLimitGets413BeforeItIsSent) {
    RawConnection c(port());
    ASSERT_TRUE(c.send(request_head(route().method, route().target, kStandinBodyLimit + 1)));
    EXPECT_TRUE(standin_refused(c.read_response(), 413, "exceeds the limit of " + std::to_string(kStandinBodyLimit)));
    EXPECT_TRUE(c.wait_closed());
}

TEST_P(StandinEveryRoute, TruncatedBodyIsRefusedOrClosed) {
    RawConnection c(port());
    ASSERT_TRUE(c.send(request_head(route().method, route().target, 100) + "[1,2,"));
    c.shutdown_write();
    EXPECT_TRUE(refused_or_closed(c));
}

TEST_P(StandinEveryRoute, HugeHeaderGets431) {
    RawConnection c(port());
    c.send(request_head(route().method, route().target, 2, huge_header()) + "[]");
    EXPECT_TRUE(standin_refused(c.read_response(), 431, "headers exceed the limit"));
}

TEST_P(StandinEveryRoute, TooManyHeadersGet431) {
    RawConnection c(port());
    c.send(request_head(route().method, route().target, 2, many_headers()) + "[]");
    EXPECT_TRUE(standin_refused(c.read_response(), 431, "headers exceed the limit"));
}

TEST_P(StandinEveryRoute, WrongMethodIsRefused) {
    const auto r = raw_request(port(), route().other_method, route().target, "[]");
    if (route().websocket_only) {
        EXPECT_TRUE(standin_refused(r, 426, "WebSocket endpoint"));
    } else {
        EXPECT_TRUE(standin_refused(r, 405, std::string("method ") + route().other_method + " is not allowed"));
    }
}

INSTANTIATE_TEST_SUITE_P(Routes, StandinEveryRoute, ::testing::ValuesIn(kStandinRoutes),
                         [](const ::testing::TestParamInfo<StandinRoute>& info) {
                             return route_name(info.param.method, info.param.target);
                         });

// =====================================================================================
// Stand-in: route-specific input
// =====================================================================================

struct StandinCase {
    const char* name;
    const char* method;
    const char* target;
    const char* content_type;
    const char* body;
    unsigned status;
    const char* names;
    std::vector<std::string> headers = {};
};

const StandinCase kStandinCases[] = {
    {"CallMalformedJson", "POST", "/v1/database/test-1/call/transfer", "application/json", "[1,2", 400,
     "invalid arguments for reducer"},
    {"CallObjectArgs", "POST", "/v1/database/test-1/call/transfer", "application/json", R"({"from":1})", 400,
     "invalid arguments for reducer"},
    {"CallStringArgs", "POST", "/v1/database/test-1/call/transfer", "application/json", R"(["1","2","3"])", 400,
     "invalid arguments for reducer"},
    {"CallTooFewArgs", "POST", "/v1/database/test-1/call/transfer", "application/json", "[1,2]", 400,
     "invalid arguments for reducer"},
    {"CallFractionalAmount", "POST", "/v1/database/test-1/call/transfer", "application/json", "[1,2,1.5]", 400,
     "invalid arguments for reducer"},
    {"CallIdOverflow", "POST", "/v1/database/test-1/call/transfer", "application/json", "[4294967297,2,1]", 400,
     "invalid arguments for reducer"},
    {"SeedWrongTypes", "POST", "/v1/database/test-1/call/seed", "application/json", R"(["10","1000"])", 400,
     "invalid arguments for reducer"},
    {"CallNoContentType", "POST", "/v1/database/test-1/call/transfer", "", "[1,2,1]", 400, "content-type"},
    {"CallTextContentType", "POST", "/v1/database/test-1/call/transfer", "text/plain", "[1,2,1]", 415,
     "Content-Type must be application/json"},
    {"CallUnknownReducer", "POST", "/v1/database/test-1/call/drain", "application/json", "[]", 404,
     "No such procedure"},
    {"CallUnknownDatabase", "POST", "/v1/database/nope/call/transfer", "application/json", "[1,2,1]", 404,
     "`nope` not found"},
    {"SqlNotSql", "POST", "/v1/database/test-1/sql", "text/plain", "SELEC * FROM accounts", 400, ""},
    {"SqlDelete", "POST", "/v1/database/test-1/sql", "text/plain", "DELETE FROM accounts", 400, ""},
    {"SqlEmpty", "POST", "/v1/database/test-1/sql", "text/plain", "", 400, ""},
    {"SqlIdOverflow", "POST", "/v1/database/test-1/sql", "text/plain", "SELECT * FROM accounts WHERE id = 99999999999",
     400, ""},
    {"BadPercentEscape", "GET", "/v1/database/%zz/identity", "", "", 400, "malformed percent-escape"},
    {"ForeignToken", "GET", "/v1/database/test-1/identity?token=not.a.token", "", "", 401, ""},
    {"WebsocketTokenWithoutAuthorization", "POST", "/v1/identity/websocket-token", "", "", 401,
     "Authorization required"},
    {"WebsocketTokenBogusBearer",
     "POST",
     "/v1/identity/websocket-token",
     "",
     "",
     401,
     "",
     {"Authorization: Bearer nope"}},
    {"DelaysNotANumber", "POST", "/v1/debug/delays?replyUs=abc", "", "", 400, "replyUs"},
    {"DelaysTooLarge", "POST", "/v1/debug/delays?reducerUs=60000001", "", "", 400, "reducerUs"},
    {"CorruptIdNotANumber", "POST", "/v1/debug/database/test-1/corrupt?id=abc", "", "", 400,
     "id must be an account id"},
    {"CorruptDeltaNotANumber", "POST", "/v1/debug/database/test-1/corrupt?id=1&delta=x", "", "", 400,
     "delta must be a 64-bit signed integer"},
    {"CorruptUnknownAccount", "POST", "/v1/debug/database/test-1/corrupt?id=999", "", "", 404, "does not exist"},
    {"UnknownDebugRoute", "POST", "/v1/debug/nothing", "", "", 404, "unknown debug route"},
    {"OutsideV1", "GET", "/v2/ping", "", "", 404, "the API lives under /v1"},
    {"UnknownDatabase", "GET", "/v1/database/nope", "", "", 404, "`nope` not found"},
    {"SubscribeWithoutUpgrade", "GET", "/v1/database/test-1/subscribe", "", "", 426, "WebSocket endpoint"},
};

class StandinBadRequest : public ::testing::TestWithParam<StandinCase> {};

TEST_P(StandinBadRequest, IsRefusedNamingTheProblemAndChangesNothing) {
    const auto& tc = GetParam();
    auto& s = shared().standin;
    const auto before = s.state();
    std::string extra;
    for (const auto& h : tc.headers) extra += h + "\r\n";
    RawConnection c(s.port());
    ASSERT_TRUE(
        c.send(request_head(tc.method, tc.target, std::string_view(tc.body).size(), extra, tc.content_type) + tc.body));
    EXPECT_TRUE(standin_refused(c.read_response(), tc.status, tc.names));
    ASSERT_TRUE(s.running()) << s.output();
    EXPECT_TRUE(s.answers_ping());
    EXPECT_EQ(s.state(), before);
}

INSTANTIATE_TEST_SUITE_P(Cases, StandinBadRequest, ::testing::ValuesIn(kStandinCases),
                         [](const ::testing::TestParamInfo<StandinCase>& info) {
                             return std::string(info.param.name);
                         });

TEST(StandinHttpBadInput, TenMiBBodiesAreReadAndRefused) {
    auto& s = shared().standin;
    const auto before = s.state();
    const std::string garbage(10u << 20, 'x');
    EXPECT_TRUE(standin_refused(raw_request(s.port(), "POST", "/v1/database/test-1/call/transfer", garbage), 400,
                                "invalid arguments for reducer"));
    EXPECT_TRUE(
        standin_refused(raw_request(s.port(), "POST", "/v1/database/test-1/sql", garbage, "text/plain"), 400, ""));
    EXPECT_TRUE(s.answers_ping());
    EXPECT_EQ(s.state(), before);
}

// Was a finding of this suite (fixed; see docs/reliability.md): the debug corrupt route parses id and
// delta with std::stoul/std::stoll, which accept a numeric prefix ("1abc" is
// 1) and wrap an id above 2^32 onto a real account (4294967297 is account
// 1), so a malformed request corrupts a balance instead of getting a 400.
// Debug-only (--debug-routes), but a test that meant account 4294967297
// silently breaks account 1. Fix in src/standin/http_api.cpp corrupt_route:
// parse both with std::from_chars over the whole value and range-check the id.
TEST(StandinHttpBadInput, CorruptRouteRefusesMalformedNumbers) {
    Standin s;  // its own: the bug changes balances
    for (const char* target :
         {"/v1/debug/database/test-1/corrupt?id=4294967297&delta=5",
          "/v1/debug/database/test-1/corrupt?id=1abc&delta=5", "/v1/debug/database/test-1/corrupt?id=1&delta=5x"}) {
        const auto before = s.state();
        EXPECT_TRUE(standin_refused(raw_request(s.port(), "POST", target, "", ""), 400, "must be a")) << target;
        EXPECT_EQ(s.state(), before) << target;
    }
}

// =====================================================================================
// Stand-in: WebSocket frames
// =====================================================================================

// A v3 WebSocket session over a raw socket, past its InitialConnection.
std::unique_ptr<RawConnection> open_v3_session(int port) {
    auto c = std::make_unique<RawConnection>(port);
    const bool sent = c->send(
        "GET /v1/database/test-1/subscribe?compression=None HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: YmVuY2gtZGlzdC1iYWQtaW4=\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v3.bsatn.spacetimedb\r\n\r\n");
    if (!sent) throw std::runtime_error("sending the upgrade request failed");
    const auto r = c->read_response();
    if (!r || r->status != 101) throw std::runtime_error("upgrade refused: " + describe(r));
    if (r->header("sec-websocket-protocol") != "v3.bsatn.spacetimedb") throw std::runtime_error("not v3");
    return c;
}

// The next whole data message (continuations joined, pings skipped);
// nullopt at a Close frame or the end of the connection.
std::optional<std::string> read_ws_message(RawConnection& c) {
    const auto deadline = Clock::now() + kIoTimeout;
    std::string message;
    for (;;) {
        const auto f = c.read_frame(deadline);
        if (!f || f->opcode == kOpClose) return std::nullopt;
        if (f->opcode == kOpPing || f->opcode == 0xA) continue;
        message += f->payload;
        if (f->fin) return message;
    }
}

stdb::ServerMessage read_server_message(RawConnection& c) {
    const auto payload = read_ws_message(c);
    if (!payload) throw std::runtime_error("the session ended while a message was expected");
    const auto messages =
        stdb::decode_server_payload(std::span(reinterpret_cast<const std::uint8_t*>(payload->data()), payload->size()),
                                    stdb::ProtocolVersion::V3);
    if (messages.size() != 1) throw std::runtime_error("expected one message per frame here");
    return messages.front();
}

struct CloseFrame {
    std::uint16_t code = 0;
    std::string reason;
};

// Reads up to the server's Close frame (data before it is allowed), answers
// it as a client must, and returns it; nullopt if the connection ended
// without one.
std::optional<CloseFrame> expect_close(RawConnection& c) {
    const auto deadline = Clock::now() + kIoTimeout;
    for (;;) {
        const auto f = c.read_frame(deadline);
        if (!f) return std::nullopt;
        if (f->opcode != kOpClose) continue;
        CloseFrame out;
        if (f->payload.size() >= 2) {
            out.code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(f->payload[0]) << 8) |
                                                  static_cast<std::uint8_t>(f->payload[1]));
            out.reason = f->payload.substr(2);
        }
        c.send(ws_frame(kOpClose, f->payload.substr(0, 2)));
        return out;
    }
}

std::string encoded_transfer() {
    const auto args = stdb::transfer::transfer_args_bytes(stdb::transfer::TransferArgs{1, 2, 5});
    return bytes_of(stdb::encode_to_bytes(
        stdb::ClientMessage{stdb::CallReducer{77, std::string(stdb::transfer::kTransferReducer),
                                              std::vector<std::uint8_t>(args.begin(), args.end())}}));
}

struct WsCase {
    const char* name;
    std::function<std::string()> frames;  // the bytes sent after the handshake
    std::uint16_t close_code;
    const char* reason;  // what the close reason must mention ("" = anything)
};

const WsCase kWsCases[] = {
    {"EmptyBinaryMessage", [] { return ws_frame(kOpBinary, ""); }, 1011, "decode error"},
    {"TruncatedCallReducer", [] { return ws_frame(kOpBinary, encoded_transfer().substr(0, 12)); }, 1011,
     "decode error"},
    {"CallReducerMissingLastByte",
     [] {
         const auto m = encoded_transfer();
         return ws_frame(kOpBinary, m.substr(0, m.size() - 1));
     },
     1011, "decode error"},
    {"UnknownTagByte", [] { return ws_frame(kOpBinary, std::string("\x09\x00\x00\x00\x00", 5)); }, 1011,
     "decode error"},
    {"ValidCallThenGarbage", [] { return ws_frame(kOpBinary, encoded_transfer() + "\xff"); }, 1011, "decode error"},
    {"TextFrame", [] { return ws_frame(kOpText, R"({"CallReducer":{}})"); }, 1011, "text frames are not supported"},
    {"MessageOverTheLimit", [] { return ws_frame(kOpBinary, std::string(2u << 20, '\0')); }, 1009, ""},
    // Frame-level violations are caught by the WebSocket layer itself (RFC
    // 6455 section 7.4.1: 1002 protocol error).
    {"UnmaskedClientFrame", [] { return ws_frame(kOpBinary, encoded_transfer(), /*masked=*/false); }, 1002, ""},
    {"ReservedOpcode", [] { return ws_frame(0x3, "x"); }, 1002, ""},
    {"ContinuationWithoutStart", [] { return ws_frame(kOpContinuation, "x"); }, 1002, ""},
};

class StandinWebSocket : public ::testing::TestWithParam<WsCase> {};

TEST_P(StandinWebSocket, MalformedFrameClosesThatSessionOnly) {
    const auto& tc = GetParam();
    auto& s = shared().standin;
    const auto before = s.state();
    // A bystander session opened first must be unaffected.
    auto bystander = open_v3_session(s.port());
    ASSERT_TRUE(std::holds_alternative<stdb::InitialConnection>(read_server_message(*bystander)));

    auto victim = open_v3_session(s.port());
    ASSERT_TRUE(std::holds_alternative<stdb::InitialConnection>(read_server_message(*victim)));
    victim->send(tc.frames());  // the server may close before it has read everything
    const auto close = expect_close(*victim);
    ASSERT_TRUE(close.has_value()) << "the connection ended without a Close frame";
    EXPECT_EQ(close->code, tc.close_code) << close->reason;
    EXPECT_TRUE(contains(close->reason, tc.reason)) << close->reason;
    victim->shutdown_write();
    EXPECT_TRUE(victim->wait_closed()) << "the server did not close the TCP connection";

    // The bystander still gets answers, and nothing was applied.
    std::vector<std::uint8_t> bytes;
    const std::vector<stdb::ClientMessage> query{stdb::OneOffQuery{5, std::string(stdb::transfer::kAccountsQuery)}};
    stdb::encode_client_frame(bytes, query, stdb::ProtocolVersion::V3);
    ASSERT_TRUE(bystander->send(ws_frame(kOpBinary, bytes_of(bytes))));
    const auto answer = read_server_message(*bystander);
    ASSERT_TRUE(std::holds_alternative<stdb::OneOffQueryResult>(answer));
    EXPECT_EQ(std::get<stdb::OneOffQueryResult>(answer).request_id, 5u);
    EXPECT_TRUE(std::holds_alternative<stdb::QueryRows>(std::get<stdb::OneOffQueryResult>(answer).result));
    ASSERT_TRUE(s.running()) << s.output();
    EXPECT_EQ(s.state(), before);
}

INSTANTIATE_TEST_SUITE_P(Frames, StandinWebSocket, ::testing::ValuesIn(kWsCases),
                         [](const ::testing::TestParamInfo<WsCase>& info) { return std::string(info.param.name); });

// =====================================================================================
// Slow requests (both servers at once)
// =====================================================================================

// Requests that never finish, one byte per tick: the read deadline
// (HttpServerOptions::read_timeout, for the whole request) must close them
// while other clients are served. The deadline is armed by the HTTP server
// before it knows the route, so one route per server covers them all.
TEST(SlowRequests, TrickledHeadersAndBodiesAreCutAtTheReadTimeout) {
    auto& s = shared().standin;
    Coordinator coordinator(s.port());  // its own: nothing registered, nothing to expire meanwhile
    const auto coordinator_before = coordinator.state();
    const auto standin_before = s.state();

    struct Slow {
        int port;
        std::string head;  // sent at once
        std::string tail;  // trickled, and never all of it within the deadline
        std::atomic<bool> closed{false};
        std::chrono::milliseconds closed_after{0};  // written by its thread before closed is set
    };
    const auto tick = 250ms;
    const std::size_t enough = static_cast<std::size_t>((kReadTimeout + 10s) / tick);
    std::vector<std::unique_ptr<Slow>> slow;
    auto add = [&slow](int port, std::string head, std::string tail) {
        auto sl = std::make_unique<Slow>();
        sl->port = port;
        sl->head = std::move(head);
        sl->tail = std::move(tail);
        slow.push_back(std::move(sl));
    };
    // Headers one byte at a time, padded past what the ticks can send
    // before the deadline; then headers at once and the body trickled.
    const std::string pad = "X-Slow: " + std::string(enough, 'a') + "\r\n";
    add(coordinator.port(), "", "POST /register HTTP/1.1\r\n" + pad + "Content-Length: 2\r\n\r\n{}");
    add(coordinator.port(), request_head("POST", "/register", enough + 10), std::string(enough + 10, ' '));
    add(s.port(), "", "POST /v1/database/test-1/call/transfer HTTP/1.1\r\n" + pad + "Content-Length: 7\r\n\r\n[1,2,1]");
    add(s.port(), request_head("POST", "/v1/database/test-1/sql", enough + 10), std::string(enough + 10, ' '));

    std::vector<std::thread> threads;
    for (auto& sl : slow) {
        threads.emplace_back([&sl = *sl, tick] {
            RawConnection c(sl.port);
            const auto start = Clock::now();
            if (!c.send(sl.head)) return;
            for (const char byte : sl.tail) {
                if (!c.send(std::string_view(&byte, 1)) || c.closed_now()) break;
                // Pacing the input is the input: this is what a slow client does.
                std::this_thread::sleep_for(tick);
            }
            if (c.wait_closed(1s)) {
                sl.closed_after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
                sl.closed = true;
            }
        });
    }
    // Meanwhile both servers answer everyone else.
    EXPECT_TRUE(coordinator.answers_healthz());
    EXPECT_TRUE(s.answers_ping());
    for (auto& t : threads) t.join();

    for (std::size_t i = 0; i < slow.size(); ++i) {
        EXPECT_TRUE(slow[i]->closed) << "slow request " << i << " was never cut off";
        EXPECT_LE(slow[i]->closed_after, kReadTimeout + 5s) << "slow request " << i;
        std::printf("slow request %zu closed after %lld ms\n", i,
                    static_cast<long long>(slow[i]->closed_after.count()));
    }
    ASSERT_TRUE(coordinator.running()) << coordinator.output();
    EXPECT_TRUE(coordinator.answers_healthz());
    EXPECT_TRUE(s.answers_ping());
    EXPECT_EQ(coordinator.state(), coordinator_before);
    EXPECT_EQ(s.state(), standin_before);
}

}  // namespace
