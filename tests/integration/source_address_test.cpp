// --source-addresses end to end: a LoadSession against an in-process
// stdb-standin on 127.0.0.1 spreads its connections round-robin over
// 127.0.0.2 and 127.0.0.3 (Linux routes all of 127/8 to loopback), as the
// kernel's own table of TCP sockets (/proc/net/tcp) shows; the connections
// carry real load; connections that replace dropped ones leave from the
// same addresses; and an address that is not this host's fails open_all
// with a message naming the flag and the address.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "benchdist/generator/load_session.hpp"
#include "benchdist/generator/source_addresses.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/standin/standin_server.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "load_session_support.hpp"

namespace benchdist::generator {
namespace {

using namespace std::chrono_literals;
using benchdist::testing::small_pairs;
using benchdist::testing::wait_counters;

// An in-process stand-in on 127.0.0.1 whose test-1 holds 1000 accounts of
// 10,000,000 (amount 1 never runs out, so a module error is a bug).
class Standin {
public:
    explicit Standin(std::uint16_t port = 0) : server_(options(port)) {
        server_.start();
        net::ClientRequest req;
        req.method = "POST";
        req.url = "http://127.0.0.1:" + std::to_string(server_.port()) + "/v1/database/test-1/call/seed";
        req.body = "[1000,10000000]";
        req.content_type = "application/json";
        const auto r = net::http_request(req);
        if (r.status != 200) throw std::runtime_error("seed failed: " + std::to_string(r.status) + " " + r.body);
    }
    std::uint16_t port() const { return server_.port(); }
    void stop() { server_.stop(); }

private:
    static standin::StandinOptions options(std::uint16_t port) {
        standin::StandinOptions o;
        o.listen_address = "127.0.0.1";
        o.port = port;
        return o;
    }
    standin::StandinServer server_;
};

// The address of one /proc/net/tcp field ("0100007F:0BB8"): the raw
// network-order word printed as a host integer, so copying it back gives
// the bytes.
std::pair<std::string, unsigned long> decode_endpoint(const std::string& field) {
    const auto colon = field.find(':');
    if (colon == std::string::npos) return {};
    const auto word = static_cast<std::uint32_t>(std::stoul(field.substr(0, colon), nullptr, 16));
    in_addr addr{};
    std::memcpy(&addr, &word, sizeof word);
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &addr, text, sizeof text);
    return {text, std::stoul(field.substr(colon + 1), nullptr, 16)};
}

// Local IPv4 addresses of the ESTABLISHED TCP sockets connected to
// 127.0.0.1:port, with how many each: the client ends of connections to the
// stand-in (its own accepted ends have the client as their remote).
std::map<std::string, int> established_sources(std::uint16_t port) {
    std::ifstream in("/proc/net/tcp");
    if (!in) throw std::runtime_error("cannot read /proc/net/tcp");
    std::string line;
    std::getline(in, line);  // header
    std::map<std::string, int> out;
    while (std::getline(in, line)) {
        // "  sl  local_address rem_address   st ..."
        std::istringstream fields(line);
        std::string slot, local, remote, state;
        if (!(fields >> slot >> local >> remote >> state)) continue;
        if (state != "01") continue;  // TCP_ESTABLISHED
        if (decode_endpoint(remote) != std::make_pair(std::string("127.0.0.1"), static_cast<unsigned long>(port))) {
            continue;
        }
        ++out[decode_endpoint(local).first];
    }
    return out;
}

// The sockets table as the kernel has it can trail the open/close
// callbacks by a moment (the last ACK of a handshake or close); reads it
// until it shows `want` or the deadline passes, and returns the last read.
std::map<std::string, int> wait_sources(std::uint16_t port, const std::map<std::string, int>& want,
                                        std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto seen = established_sources(port);
    while (seen != want && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);  // polling the kernel's table, bounded by the deadline
        seen = established_sources(port);
    }
    return seen;
}

LoadSessionOptions options_for(std::uint16_t port, std::vector<std::string> sources) {
    LoadSessionOptions o = benchdist::testing::test_session_options(port, "test-1", 6, 3);
    o.source_addresses = std::move(sources);
    return o;
}

const std::map<std::string, int> kEvenSpread{{"127.0.0.2", 3}, {"127.0.0.3", 3}};

TEST(SourceAddresses, ConnectionsAreSpreadRoundRobinAndCarryLoad) {
    Standin server;
    LoadSession session(options_for(server.port(), parse_source_addresses("127.0.0.2,127.0.0.3")), small_pairs());
    session.open_all();
    ASSERT_EQ(session.opened(), 6u);
    EXPECT_EQ(wait_sources(server.port(), kEvenSpread), kEvenSpread);

    session.start(1);
    ASSERT_TRUE(session.wait_for_committed(600, 30s)) << "committed only " << session.counters().committed;
    ASSERT_TRUE(session.stop());
    const LoadCounters c = session.counters();
    EXPECT_GE(c.committed, 600u);
    EXPECT_EQ(c.attempted, c.committed) << "no errors of any kind";
    EXPECT_EQ(c.reopened, 0u);
    // Still the same six connections, from the same addresses.
    EXPECT_EQ(wait_sources(server.port(), kEvenSpread), kEvenSpread);

    session.close_all(5s);
    EXPECT_EQ(wait_sources(server.port(), {}), (std::map<std::string, int>{}));
}

TEST(SourceAddresses, ReplacementConnectionsKeepTheirAddress) {
    auto server = std::make_unique<Standin>();
    const std::uint16_t port = server->port();
    LoadSession session(options_for(port, {"127.0.0.2", "127.0.0.3"}), small_pairs());
    session.open_all();
    session.start(1);
    ASSERT_TRUE(session.wait_for_committed(100, 30s));

    // The server goes away under load and comes back on the same port: every
    // worker loses its connection and opens a new one.
    server->stop();
    server.reset();
    server = std::make_unique<Standin>(port);
    const LoadCounters c = wait_counters(
        session, [](const LoadCounters& k) { return k.reopened >= 6; }, 30s);
    ASSERT_GE(c.reopened, 6u);
    const std::uint64_t committed = session.counters().committed;
    ASSERT_TRUE(session.wait_for_committed(committed + 300, 30s)) << "no load after the reopen";
    EXPECT_EQ(wait_sources(port, kEvenSpread), kEvenSpread);
    ASSERT_TRUE(session.stop());
    session.close_all(5s);
}

// What open_all threw for a session from these source addresses (empty if
// it opened), after checking that nothing was left open.
std::string open_all_error(std::vector<std::string> sources) {
    Standin server;
    LoadSession session(options_for(server.port(), std::move(sources)), small_pairs());
    std::string error;
    try {
        session.open_all();
    } catch (const LoadSessionError& e) {
        error = e.what();
    }
    EXPECT_EQ(session.live_connections(), 0u) << "a failed open_all closes what it opened";
    return error;
}

constexpr const char* kNotLocal =
    "--source-addresses 192.0.2.1: cannot bind: Cannot assign requested address -- give addresses of this "
    "host's interfaces (127.0.0.2.. work on loopback)";

TEST(SourceAddresses, AddressOfAnotherHostFailsOpenAllNamingTheFlag) {
    // 192.0.2.0/24 is TEST-NET-1: documentation only, never a local address.
    const std::string alone = open_all_error({"192.0.2.1"});
    EXPECT_EQ(alone.rfind("opened 0 of 6 connections to ws://127.0.0.1:", 0), 0u) << alone;
    EXPECT_NE(alone.find("; first error: connection "), std::string::npos) << alone;
    EXPECT_NE(alone.find(kNotLocal), std::string::npos) << alone;

    // Beside a good address, the connections given the bad one fail the open.
    const std::string mixed = open_all_error({"127.0.0.2", "192.0.2.1"});
    EXPECT_NE(mixed.find(kNotLocal), std::string::npos) << mixed;
}

TEST(SourceAddresses, AddressOfTheWrongFamilyFailsOpenAll) {
    const std::string what = open_all_error({"::1"});
    EXPECT_NE(what.find("--source-addresses ::1: an IPv6 address, but the server of ws://127.0.0.1:"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("resolved to IPv4 addresses only -- give source addresses of the server's family"),
              std::string::npos)
        << what;
}

TEST(SourceAddresses, InvalidListIsRefusedWhenTheSessionIsMade) {
    Standin server;
    try {
        LoadSession session(options_for(server.port(), {"127.0.0.2", "not-an-address"}), small_pairs());
        FAIL() << "accepted a bad address";
    } catch (const LoadSessionError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("--source-addresses not-an-address: not an IPv4 or IPv6 address", 0), 0u)
            << e.what();
    }
}

}  // namespace
}  // namespace benchdist::generator
