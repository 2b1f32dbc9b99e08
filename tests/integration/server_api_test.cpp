// Integration test of the coordinator's blocking SpacetimeDB clients
// (server_api.hpp: identity, committed counter, reducer call; and
// accounts_snapshot.hpp: the verification read) against a real stdb-standin
// process, plus the failure paths an operator meets: unknown database, module
// errors, nothing listening, a server that accepts and never answers.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "benchdist/net/http_client.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/stdbhttp/accounts_snapshot.hpp"
#include "benchdist/stdbhttp/server_api.hpp"
#include "rig.hpp"

namespace {

namespace asio = boost::asio;
namespace stdb = benchdist::stdb;
namespace stdbhttp = benchdist::stdbhttp;
namespace xfer = benchdist::stdb::transfer;
using namespace benchdist::testing;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

constexpr milliseconds kTimeout{10000};

// stdb-standin with test-1 and test-2 and its debug routes, on a free port.
class Standin : public benchdist::testing::StandinProcess {
public:
    Standin()
        : StandinProcess({.databases = {"test-1", "test-2"}, .args = {"--debug-routes"}}),
          endpoint_(stdb::parse_endpoint(http_url())) {}

    const stdb::Endpoint& endpoint() const { return endpoint_; }

    void call(const std::string& reducer, const std::string& args, const std::string& db = "test-1") const {
        stdbhttp::call_reducer_json(endpoint_, db, reducer, args, kTimeout);
    }

private:
    stdb::Endpoint endpoint_;
};

// The message of the ServerApiError `f` throws; fails the test if it throws
// nothing or something else.
std::string api_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const stdbhttp::ServerApiError& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected ServerApiError, got another exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected ServerApiError, nothing was thrown";
    return {};
}

TEST(ServerApi, DatabaseIdentityMatchesWhatTheStandinPrints) {
    Standin s;
    EXPECT_EQ(stdbhttp::fetch_database_identity(s.endpoint(), "test-1", kTimeout), s.identity("test-1"));
    EXPECT_EQ(stdbhttp::fetch_database_identity(s.endpoint(), "test-2", kTimeout), s.identity("test-2"));
    EXPECT_EQ(s.identity("test-1").size(), 64u);
    EXPECT_NE(s.identity("test-1"), s.identity("test-2"));
}

TEST(ServerApi, UnknownDatabaseNamesTheDatabase) {
    Standin s;
    const auto msg = api_error([&] { stdbhttp::fetch_database_identity(s.endpoint(), "no-such-db", kTimeout); });
    EXPECT_TRUE(contains(msg, "no-such-db")) << msg;
    EXPECT_TRUE(contains(msg, "not found")) << msg;
    EXPECT_TRUE(contains(msg, "http://127.0.0.1:" + std::to_string(s.port()))) << msg;
}

TEST(ServerApi, CounterIsAbsentBeforeAnyTransfer) {
    Standin s;
    const auto read = stdbhttp::read_committed_transfers(s.endpoint(), s.identity("test-1"), kTimeout);
    EXPECT_TRUE(read.series_absent);
    EXPECT_EQ(read.committed, 0u);
    EXPECT_GT(read.sent_at_ms, 0);
    EXPECT_LE(read.sent_at_ms, read.received_at_ms);
}

TEST(ServerApi, CounterCountsCommittedTransfersOfOneDatabaseOnly) {
    Standin s;
    s.call("seed", "[10, 1000]");
    s.call("transfer", "[0, 1, 5]");
    s.call("transfer", "[1, 2, 5]");
    s.call("transfer", "[2, 3, 5]");
    // A rolled-back transfer is not a committed one.
    EXPECT_TRUE(contains(api_error([&] { s.call("transfer", "[4, 4, 5]"); }), "same_account"));

    const auto one = stdbhttp::read_committed_transfers(s.endpoint(), s.identity("test-1"), kTimeout);
    EXPECT_FALSE(one.series_absent);
    EXPECT_EQ(one.committed, 3u);

    const auto two = stdbhttp::read_committed_transfers(s.endpoint(), s.identity("test-2"), kTimeout);
    EXPECT_TRUE(two.series_absent);
    EXPECT_EQ(two.committed, 0u);
}

TEST(ServerApi, ReducerErrorCarriesTheModuleMessage) {
    Standin s;
    s.call("seed", "[10, 1000]");
    const auto msg = api_error([&] { s.call("transfer", "[3, 3, 1]"); });
    EXPECT_TRUE(contains(msg, "same_account")) << msg;
    EXPECT_TRUE(contains(msg, "530")) << msg;
    EXPECT_TRUE(contains(msg, "transfer")) << msg;

    const auto missing = api_error([&] { s.call("no_such_reducer", "[]"); });
    EXPECT_TRUE(contains(missing, "404")) << missing;
}

// https:// and wss:// are spoken (tls_test covers them end to end); a TLS
// URL with nothing listening fails like a plain one, naming the URL.
TEST(ServerApi, HttpsToAClosedPortIsUnreachable) {
    const auto endpoint = stdb::parse_endpoint("https://127.0.0.1:1");
    const auto msg = api_error([&] { stdbhttp::fetch_database_identity(endpoint, "test-1", kTimeout); });
    EXPECT_TRUE(contains(msg, "https://127.0.0.1:1/")) << msg;
    EXPECT_TRUE(contains(msg, "is the SpacetimeDB server running")) << msg;
    const auto ws = api_error(
        [&] { stdbhttp::fetch_account_balances(endpoint, "test-1", 1000, stdb::Compression::None, kTimeout); });
    EXPECT_TRUE(contains(ws, "cannot connect to wss://127.0.0.1:1/")) << ws;
}

TEST(AccountsSnapshot, TalliesEveryAccountAndVerifies) {
    Standin s;
    s.call("seed", "[100, 1000]");
    s.call("transfer", "[0, 1, 7]");
    s.call("transfer", "[5, 99, 300]");
    s.call("transfer", "[42, 0, 1]");

    const auto tally =
        stdbhttp::fetch_account_balances(s.endpoint(), "test-1", 1000, stdb::Compression::None, kTimeout);
    EXPECT_EQ(tally.count(), 100u);
    EXPECT_EQ(tally.total(), 100000);
    EXPECT_EQ(tally.changed(), 5u);  // accounts 0, 1, 5, 99, 42
    EXPECT_EQ(tally.initial_balance(), 1000);
    const auto outcome = xfer::verify(tally);
    EXPECT_TRUE(outcome.passed) << outcome.reason;
}

TEST(AccountsSnapshot, CorruptedBalanceFailsVerification) {
    Standin s;
    s.call("seed", "[100, 1000]");
    s.call("transfer", "[0, 1, 7]");

    benchdist::net::ClientRequest req;
    req.method = "POST";
    req.url = "http://127.0.0.1:" + std::to_string(s.port()) + "/v1/debug/database/test-1/corrupt?id=0&delta=5";
    req.timeout = kTimeout;
    const auto res = benchdist::net::http_request(req);
    ASSERT_EQ(res.status, 200u) << res.body;

    const auto tally =
        stdbhttp::fetch_account_balances(s.endpoint(), "test-1", 1000, stdb::Compression::None, kTimeout);
    EXPECT_EQ(tally.count(), 100u);
    EXPECT_EQ(tally.total(), 100005);
    const auto outcome = xfer::verify(tally);
    EXPECT_FALSE(outcome.passed);
    EXPECT_TRUE(contains(outcome.reason, "total_balance mismatch")) << outcome.reason;
}

TEST(AccountsSnapshot, GzipCompressedSnapshotDecodes) {
    Standin s;
    // 300 rows x 12 bytes is well above the 1024-byte compression threshold.
    s.call("seed", "[300, 50]");
    s.call("transfer", "[299, 0, 50]");
    for (const auto c : {stdb::Compression::Gzip, stdb::Compression::Brotli}) {
        const auto tally = stdbhttp::fetch_account_balances(s.endpoint(), "test-1", 50, c, kTimeout);
        EXPECT_EQ(tally.count(), 300u) << stdb::compression_flag_name(c);
        EXPECT_EQ(tally.total(), 300 * 50) << stdb::compression_flag_name(c);
        EXPECT_EQ(tally.changed(), 2u) << stdb::compression_flag_name(c);
        EXPECT_TRUE(xfer::verify(tally).passed) << stdb::compression_flag_name(c);
    }
}

TEST(AccountsSnapshot, EmptyDatabaseFailsVerificationWithNoAccounts) {
    Standin s;
    const auto tally =
        stdbhttp::fetch_account_balances(s.endpoint(), "test-2", 1000, stdb::Compression::None, kTimeout);
    EXPECT_EQ(tally.count(), 0u);
    const auto outcome = xfer::verify(tally);
    EXPECT_FALSE(outcome.passed);
    EXPECT_TRUE(contains(outcome.reason, "no accounts")) << outcome.reason;
}

TEST(AccountsSnapshot, RefusedUpgradeReportsStatusAndBody) {
    Standin s;
    const auto msg = api_error(
        [&] { stdbhttp::fetch_account_balances(s.endpoint(), "no-such-db", 1000, stdb::Compression::None, kTimeout); });
    EXPECT_TRUE(contains(msg, "refused the WebSocket upgrade")) << msg;
    EXPECT_TRUE(contains(msg, "404")) << msg;
    EXPECT_TRUE(contains(msg, "`no-such-db` not found")) << msg;
}

TEST(Unreachable, EveryCallFailsQuicklyNamingTheUrl) {
    const int port = benchdist::testing::free_port();
    const auto endpoint = stdb::parse_endpoint("http://127.0.0.1:" + std::to_string(port));
    const std::string where = "127.0.0.1:" + std::to_string(port);
    const auto started = std::chrono::steady_clock::now();

    const auto snap = api_error(
        [&] { stdbhttp::fetch_account_balances(endpoint, "test-1", 1000, stdb::Compression::None, kTimeout); });
    EXPECT_TRUE(contains(snap, "ws://" + where + "/v1/database/test-1/subscribe")) << snap;
    EXPECT_TRUE(contains(snap, "cannot connect")) << snap;

    const auto id = api_error([&] { stdbhttp::fetch_database_identity(endpoint, "test-1", kTimeout); });
    EXPECT_TRUE(contains(id, "http://" + where + "/v1/database/test-1/identity")) << id;

    const auto counter =
        api_error([&] { stdbhttp::read_committed_transfers(endpoint, std::string(64, 'a'), kTimeout); });
    EXPECT_TRUE(contains(counter, "http://" + where + "/v1/metrics")) << counter;

    const auto call = api_error([&] { stdbhttp::call_reducer_json(endpoint, "test-1", "seed", "[1, 1]", kTimeout); });
    EXPECT_TRUE(contains(call, "http://" + where + "/v1/database/test-1/call/seed")) << call;

    // Refused connections must not wait for the timeout.
    EXPECT_LT(std::chrono::steady_clock::now() - started, kTimeout / 2);
}

TEST(Unreachable, SilentServerTimesOut) {
    // Accepts connections (the kernel completes the handshake into the
    // backlog) but never answers.
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    const int port = acceptor.local_endpoint().port();
    const auto endpoint = stdb::parse_endpoint("http://127.0.0.1:" + std::to_string(port));
    const milliseconds short_timeout{300};

    const auto started = std::chrono::steady_clock::now();
    const auto snap = api_error(
        [&] { stdbhttp::fetch_account_balances(endpoint, "test-1", 1000, stdb::Compression::None, short_timeout); });
    EXPECT_TRUE(contains(snap, "no SubscribeApplied within 300 ms")) << snap;
    EXPECT_TRUE(contains(snap, "ws://127.0.0.1:" + std::to_string(port))) << snap;
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(5000));

    const auto counter =
        api_error([&] { stdbhttp::read_committed_transfers(endpoint, std::string(64, 'a'), short_timeout); });
    EXPECT_TRUE(contains(counter, "/v1/metrics")) << counter;
}

}  // namespace
