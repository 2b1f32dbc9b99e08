// Integration test of stdb-standin driven by our own codec (no SDK): real
// processes on 127.0.0.1, a synchronous-style Beast WebSocket/HTTP client in
// which every operation runs under a deadline, so a broken or silent server
// fails a test instead of hanging it. The SDK conformance suite checks that
// the official client is happy; this file checks the wire details an SDK
// would hide (negotiation, batching, close codes, request ids, metrics).
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/prometheus.hpp"
#include "benchdist/stdb/row_list.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/stdb/v3_framing.hpp"
#include "rig.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace stdb = benchdist::stdb;
namespace bsatn = benchdist::bsatn;
namespace xfer = benchdist::stdb::transfer;
using namespace benchdist::testing;
using tcp = asio::ip::tcp;
using Bytes = std::vector<std::uint8_t>;

// Generous for a loaded 2-core CI box, yet far below the ctest TIMEOUT, so a
// hang shows up as a named failing operation.
constexpr auto kIoTimeout = std::chrono::seconds(10);

// Runs one async operation on `ioc` until it completes or the deadline
// passes; on timeout the socket is closed (aborting the operation) and
// beast::error::timeout is returned. This is what makes the "synchronous"
// client safe: Beast's blocking calls ignore tcp_stream deadlines.
template <typename Start>
beast::error_code run_with_deadline(asio::io_context& ioc, beast::tcp_stream& lowest, Start&& start) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run_for(kIoTimeout);
    if (result) return *result;
    lowest.close();
    ioc.restart();
    ioc.run();
    return beast::error::timeout;
}

// --- The server process ------------------------------------------------------

// One plain stand-in (database test-1, no debug routes) for every test that
// does not need special flags; tests reseed it, so they do not depend on order.
StandinProcess& shared_standin() {
    static const std::unique_ptr<StandinProcess> server = std::make_unique<StandinProcess>();
    return *server;
}

// --- HTTP ----------------------------------------------------------------------

struct HttpReply {
    unsigned status = 0;
    std::string body;
    http::fields headers;
};

HttpReply http_request(int port, http::verb method, const std::string& target, const std::string& body = "",
                       std::optional<std::string> content_type = std::nullopt) {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    const auto what = std::string(http::to_string(method)) + " " + target;

    stream.expires_after(kIoTimeout);
    auto ec = run_with_deadline(ioc, stream, [&](auto h) { stream.async_connect(ep, std::move(h)); });
    if (ec) throw std::runtime_error("connect for " + what + ": " + ec.message());

    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req.keep_alive(false);
    if (content_type) req.set(http::field::content_type, *content_type);
    req.body() = body;
    req.prepare_payload();
    stream.expires_after(kIoTimeout);
    ec = run_with_deadline(ioc, stream, [&](auto h) { http::async_write(stream, req, std::move(h)); });
    if (ec) throw std::runtime_error("write " + what + ": " + ec.message());

    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    stream.expires_after(kIoTimeout);
    ec = run_with_deadline(ioc, stream, [&](auto h) { http::async_read(stream, buffer, res, std::move(h)); });
    if (ec) throw std::runtime_error("read reply to " + what + ": " + ec.message());
    HttpReply out;
    out.status = res.result_int();
    out.body = res.body();
    out.headers = res.base();
    return out;
}

HttpReply call_json(int port, const std::string& db, const std::string& reducer, const std::string& json_args) {
    return http_request(port, http::verb::post, "/v1/database/" + db + "/call/" + reducer, json_args,
                        "application/json");
}

// Balances as the HTTP SQL endpoint reports them, ordered by id.
std::vector<xfer::Account> sql_accounts(int port, const std::string& db = "test-1") {
    const auto reply =
        http_request(port, http::verb::post, "/v1/database/" + db + "/sql", std::string(xfer::kAccountsQuery));
    if (reply.status != 200) throw std::runtime_error("sql: HTTP " + std::to_string(reply.status) + " " + reply.body);
    const auto json = nlohmann::json::parse(reply.body);
    std::vector<xfer::Account> rows;
    for (const auto& row : json.at(0).at("rows")) {
        rows.push_back(xfer::Account{row.at(0).get<std::uint32_t>(), row.at(1).get<std::int64_t>()});
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return rows;
}

std::int64_t total_of(const std::vector<xfer::Account>& rows) {
    std::int64_t total = 0;
    for (const auto& r : rows) total += r.balance;
    return total;
}

void seed_over_http(int port, std::uint32_t n, std::int64_t balance, const std::string& db = "test-1") {
    const auto reply = call_json(port, db, "seed", "[" + std::to_string(n) + "," + std::to_string(balance) + "]");
    if (reply.status != 200) throw std::runtime_error("seed: HTTP " + std::to_string(reply.status) + " " + reply.body);
}

// --- Codec helpers ---------------------------------------------------------------

Bytes transfer_args(std::uint32_t from, std::uint32_t to, std::int64_t amount) {
    const auto a = xfer::transfer_args_bytes(xfer::TransferArgs{from, to, amount});
    return Bytes(a.begin(), a.end());
}

Bytes seed_args(std::uint32_t n, std::int64_t balance) {
    Bytes out;
    bsatn::Writer w(out);
    xfer::encode_seed_args(w, xfer::SeedArgs{n, balance});
    return out;
}

stdb::ClientMessage call_transfer(std::uint32_t request_id, std::uint32_t from, std::uint32_t to, std::int64_t amount) {
    return stdb::CallReducer{request_id, std::string(xfer::kTransferReducer), transfer_args(from, to, amount)};
}

// A one-line rendering of a reducer outcome, so assertions read like the spec.
std::string outcome_text(const stdb::ReducerOutcome& o) {
    if (std::holds_alternative<stdb::ReducerOk>(o)) return "Ok";
    if (std::holds_alternative<stdb::ReducerOkEmpty>(o)) return "OkEmpty";
    if (const auto* e = std::get_if<stdb::ReducerErr>(&o)) return "Err(" + e->message() + ")";
    return "InternalError(" + std::get<stdb::ReducerInternalError>(o).message + ")";
}

std::vector<xfer::Account> accounts_of(const stdb::BsatnRowList& list) {
    std::vector<xfer::Account> rows;
    for (const auto row : stdb::rows_of(list)) rows.push_back(xfer::decode_account(row));
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return rows;
}

std::vector<xfer::Account> accounts(std::initializer_list<std::pair<std::uint32_t, std::int64_t>> rows) {
    std::vector<xfer::Account> out;
    for (const auto& [id, balance] : rows) out.push_back(xfer::Account{id, balance});
    return out;
}

// The single accounts PersistentTableRows of a one-query-set update.
const stdb::PersistentTableRows& accounts_update(const stdb::TransactionUpdate& u, std::uint32_t query_set_id) {
    if (u.query_sets.size() != 1) throw std::runtime_error("expected 1 query set in update");
    const auto& qs = u.query_sets[0];
    if (qs.query_set_id.id != query_set_id) throw std::runtime_error("wrong query set id in update");
    if (qs.tables.size() != 1 || qs.tables[0].table_name != xfer::kAccountsTable || qs.tables[0].rows.size() != 1) {
        throw std::runtime_error("expected one accounts table with one row group");
    }
    return std::get<stdb::PersistentTableRows>(qs.tables[0].rows[0]);
}

template <typename T>
std::string message_name() {
    stdb::ServerMessage m{T{}};
    return std::string(stdb::server_message_name(stdb::tag_of(m)));
}

// --- WebSocket client -------------------------------------------------------------

std::string subscribe_target(const std::string& db, const std::string& query = "compression=None") {
    return "/v1/database/" + db + "/subscribe" + (query.empty() ? "" : "?" + query);
}

class WsClient {
public:
    explicit WsClient(int port) : port_(port), ws_(ioc_) {}
    ~WsClient() {
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    // Connects and attempts the upgrade; returns websocket::error::upgrade_declined
    // when the server answered with an HTTP error (see response()).
    beast::error_code try_open(const std::string& target, std::optional<std::string> protocols) {
        auto& lowest = beast::get_lowest_layer(ws_);
        const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_));
        auto ec = run_with_deadline(ioc_, lowest, [&](auto h) { lowest.async_connect(ep, std::move(h)); });
        if (ec) return ec;
        ws_.set_option(websocket::stream_base::decorator([protocols](websocket::request_type& req) {
            if (protocols) req.set(http::field::sec_websocket_protocol, *protocols);
        }));
        const std::string host = "127.0.0.1:" + std::to_string(port_);
        return run_with_deadline(ioc_, lowest,
                                 [&](auto h) { ws_.async_handshake(response_, host, target, std::move(h)); });
    }

    // A successful upgrade, then the first message, which must be InitialConnection.
    void open(const std::string& target, const std::string& protocols) {
        const auto ec = try_open(target, protocols);
        if (ec) {
            throw std::runtime_error("upgrade to " + target + " failed: " + ec.message() + " (HTTP " +
                                     std::to_string(response_.result_int()) + " " + response_.body() + ")");
        }
        const auto chosen =
            stdb::protocol_from_subprotocol(std::string(response_[http::field::sec_websocket_protocol]));
        if (!chosen) throw std::runtime_error("101 without a known Sec-WebSocket-Protocol");
        version_ = *chosen;
        ws_.binary(true);
        hello_ = next_as<stdb::InitialConnection>();
    }

    void open_v3(const std::string& db = "test-1", const std::string& query = "compression=None") {
        open(subscribe_target(db, query), std::string(stdb::kSubprotocolV3));
    }

    const websocket::response_type& response() const { return response_; }
    stdb::ProtocolVersion version() const { return version_; }
    const stdb::InitialConnection& hello() const { return hello_; }

    void send(std::span<const stdb::ClientMessage> messages) {
        Bytes frame;
        stdb::encode_client_frame(frame, messages, version_);
        send_binary(frame);
    }
    void send(const stdb::ClientMessage& message) { send(std::span<const stdb::ClientMessage>(&message, 1)); }

    void send_binary(const Bytes& payload) {
        ws_.binary(true);
        write(asio::buffer(payload));
    }
    void send_text(const std::string& text) {
        ws_.text(true);
        write(asio::buffer(text));
        ws_.binary(true);
    }

    // One whole server WebSocket message, still framed (compression tag first).
    Bytes read_payload() {
        beast::flat_buffer buffer;
        const auto ec = run_with_deadline(ioc_, beast::get_lowest_layer(ws_),
                                          [&](auto h) { ws_.async_read(buffer, std::move(h)); });
        if (ec) throw std::runtime_error("reading a server message: " + ec.message() + close_text());
        if (!ws_.got_binary()) throw std::runtime_error("server sent a text frame");
        const auto* p = static_cast<const std::uint8_t*>(buffer.cdata().data());
        return Bytes(p, p + buffer.size());
    }

    stdb::ServerMessage next() {
        while (pending_.empty()) {
            const auto payload = read_payload();
            for (auto& m : stdb::decode_server_payload(payload, version_)) pending_.push_back(std::move(m));
            ++frames_read_;
        }
        auto m = std::move(pending_.front());
        pending_.pop_front();
        return m;
    }

    template <typename T>
    T next_as() {
        auto m = next();
        if (!std::holds_alternative<T>(m)) {
            throw std::runtime_error("expected " + message_name<T>() + ", got " +
                                     std::string(stdb::server_message_name(stdb::tag_of(m))));
        }
        return std::get<T>(std::move(m));
    }

    // Calls a reducer and returns its result, checking the request id echo.
    stdb::ReducerResult call(std::uint32_t request_id, const std::string& reducer, const Bytes& args) {
        send(stdb::ClientMessage{stdb::CallReducer{request_id, reducer, args}});
        auto r = next_as<stdb::ReducerResult>();
        if (r.request_id != request_id) throw std::runtime_error("ReducerResult for a different request id");
        return r;
    }

    // Reads until the connection ends; the server must have sent a Close frame.
    websocket::close_reason expect_close() {
        for (;;) {
            beast::flat_buffer buffer;
            const auto ec = run_with_deadline(ioc_, beast::get_lowest_layer(ws_),
                                              [&](auto h) { ws_.async_read(buffer, std::move(h)); });
            if (ec == websocket::error::closed) return ws_.reason();
            if (ec) throw std::runtime_error("expected a Close frame, connection ended with: " + ec.message());
            // Data still in flight before the close is allowed; keep reading.
        }
    }

    std::size_t frames_read() const { return frames_read_; }

    // Beast cuts every message this client writes into frames of `bytes`.
    void fragment_writes(std::size_t bytes) {
        ws_.auto_fragment(true);
        ws_.write_buffer_bytes(bytes);
    }
    // Sends a ping; pongs the server sends are kept (pongs()), seen while
    // reading a message.
    void ping(const std::string& payload) {
        ws_.control_callback([this](websocket::frame_type kind, beast::string_view data) {
            if (kind == websocket::frame_type::pong) pongs_.emplace_back(data);
        });
        const auto ec = run_with_deadline(ioc_, beast::get_lowest_layer(ws_), [&](auto h) {
            ws_.async_ping(websocket::ping_data(payload.c_str()), std::move(h));
        });
        if (ec) throw std::runtime_error("ping: " + ec.message());
    }
    const std::vector<std::string>& pongs() const { return pongs_; }
    // Starts the closing handshake; returns the close the server answered with.
    websocket::close_reason close(websocket::close_reason reason) {
        const auto ec = run_with_deadline(ioc_, beast::get_lowest_layer(ws_),
                                          [&](auto h) { ws_.async_close(reason, std::move(h)); });
        if (ec) throw std::runtime_error("close: " + ec.message());
        return ws_.reason();
    }

private:
    void write(asio::const_buffer buf) {
        const auto ec =
            run_with_deadline(ioc_, beast::get_lowest_layer(ws_), [&](auto h) { ws_.async_write(buf, std::move(h)); });
        if (ec) throw std::runtime_error("writing to the server: " + ec.message());
    }
    std::string close_text() const {
        const auto& r = ws_.reason();
        if (r.code == websocket::close_code::none) return "";
        return " (close " + std::to_string(static_cast<unsigned>(r.code)) + " " + std::string(r.reason.c_str()) + ")";
    }

    int port_;
    asio::io_context ioc_;
    websocket::stream<beast::tcp_stream> ws_;
    websocket::response_type response_;
    stdb::ProtocolVersion version_ = stdb::ProtocolVersion::V3;
    stdb::InitialConnection hello_;
    std::deque<stdb::ServerMessage> pending_;
    std::size_t frames_read_ = 0;
    std::vector<std::string> pongs_;
};

// =============================================================================
// Handshake
// =============================================================================

TEST(StandinHandshake, OfferingV3AndV2PicksV3WhateverTheClientOrder) {
    const int port = shared_standin().port();
    for (const std::string offer :
         {"v3.bsatn.spacetimedb, v2.bsatn.spacetimedb", "v2.bsatn.spacetimedb,v3.bsatn.spacetimedb"}) {
        WsClient c(port);
        c.open(subscribe_target("test-1"), offer);
        EXPECT_EQ(c.response().result_int(), 101u);
        EXPECT_EQ(c.response()[http::field::sec_websocket_protocol], stdb::kSubprotocolV3) << offer;
        EXPECT_EQ(c.version(), stdb::ProtocolVersion::V3);
    }
}

TEST(StandinHandshake, OnlyV2OfferedPicksV2) {
    WsClient c(shared_standin().port());
    c.open(subscribe_target("test-1"), std::string(stdb::kSubprotocolV2));
    EXPECT_EQ(c.response()[http::field::sec_websocket_protocol], stdb::kSubprotocolV2);
    EXPECT_EQ(c.version(), stdb::ProtocolVersion::V2);
}

TEST(StandinHandshake, NoOrUnknownProtocolIs400) {
    const int port = shared_standin().port();
    const std::vector<std::optional<std::string>> offers{std::nullopt, "v1.json.spacetimedb", "v1.bsatn.spacetimedb",
                                                         "v4.bsatn.spacetimedb, chat"};
    for (const auto& offer : offers) {
        WsClient c(port);
        EXPECT_EQ(c.try_open(subscribe_target("test-1"), offer), websocket::error::upgrade_declined)
            << offer.value_or("(none)");
        EXPECT_EQ(c.response().result_int(), 400u) << offer.value_or("(none)");
        EXPECT_EQ(c.response().body(), "no valid protocol selected") << offer.value_or("(none)");
    }
}

TEST(StandinHandshake, UnknownDatabaseIs404) {
    WsClient c(shared_standin().port());
    EXPECT_EQ(c.try_open(subscribe_target("nope"), std::string(stdb::kSubprotocolOfferV3V2)),
              websocket::error::upgrade_declined);
    EXPECT_EQ(c.response().result_int(), 404u);
    EXPECT_EQ(c.response().body(), "`nope` not found");
}

TEST(StandinHandshake, BadCompressionValueIs400) {
    for (const std::string value : {"gzip", "Zstd", ""}) {
        WsClient c(shared_standin().port());
        EXPECT_EQ(c.try_open(subscribe_target("test-1", "compression=" + value), std::string(stdb::kSubprotocolV3)),
                  websocket::error::upgrade_declined)
            << value;
        EXPECT_EQ(c.response().result_int(), 400u) << value;
    }
}

TEST(StandinHandshake, AllZeroConnectionIdIs400) {
    WsClient c(shared_standin().port());
    EXPECT_EQ(c.try_open(subscribe_target("test-1", "compression=None&connection_id=" + std::string(32, '0')),
                         std::string(stdb::kSubprotocolV3)),
              websocket::error::upgrade_declined);
    EXPECT_EQ(c.response().result_int(), 400u);
    EXPECT_EQ(c.response().body(), "Invalid connection ID: the all-zeros ConnectionId is reserved.");
}

TEST(StandinHandshake, FirstMessageIsInitialConnection) {
    WsClient c(shared_standin().port());
    c.open_v3();  // throws unless the first message is InitialConnection
    const auto& hello = c.hello();
    EXPECT_NE(hello.identity, stdb::Identity{});
    EXPECT_EQ(hello.identity.to_hex().substr(0, 4), "c200") << hello.identity.to_hex();
    EXPECT_EQ(hello.identity.to_hex().size(), 64u);
    EXPECT_FALSE(hello.token.empty());
    EXPECT_NE(hello.connection_id, stdb::ConnectionId{});
    // The 101 carries the same anonymous identity and token.
    EXPECT_EQ(c.response()["spacetime-identity"], hello.identity.to_hex());
    EXPECT_EQ(c.response()["spacetime-identity-token"], hello.token);
}

TEST(StandinHandshake, RequestedConnectionIdIsEchoed) {
    const std::string id = "00112233445566778899aabbccddeeff";
    WsClient c(shared_standin().port());
    c.open(subscribe_target("test-1", "compression=None&connection_id=" + id), std::string(stdb::kSubprotocolV3));
    EXPECT_EQ(c.hello().connection_id.to_hex(), id);
}

// =============================================================================
// Reducers, over each protocol and compression
// =============================================================================

struct ReducerParam {
    stdb::ProtocolVersion version;
    stdb::Compression compression;
};

class StandinReducers : public ::testing::TestWithParam<ReducerParam> {
protected:
    void SetUp() override {
        port_ = shared_standin().port();
        client_ = std::make_unique<WsClient>(port_);
        const auto p = GetParam();
        client_->open(subscribe_target("test-1",
                                       "compression=" + std::string(stdb::compression_query_value(p.compression))),
                      std::string(stdb::subprotocol_name(p.version)));
        ASSERT_EQ(client_->version(), p.version);
    }

    int port_ = 0;
    std::unique_ptr<WsClient> client_;
};

TEST_P(StandinReducers, SeedTransferAndEveryError) {
    WsClient& c = *client_;
    auto r = c.call(1, "seed", seed_args(10, 1000));
    EXPECT_EQ(outcome_text(r.result), "Ok");
    EXPECT_GT(r.timestamp.micros_since_unix_epoch, 0);

    r = c.call(4242, "transfer", transfer_args(1, 2, 5));
    EXPECT_EQ(r.request_id, 4242u);
    ASSERT_EQ(outcome_text(r.result), "Ok");
    const auto& ok = std::get<stdb::ReducerOk>(r.result);
    EXPECT_TRUE(ok.ret_value.empty());
    EXPECT_TRUE(ok.transaction_update.query_sets.empty()) << "caller has no subscription";

    EXPECT_EQ(outcome_text(c.call(10, "transfer", transfer_args(3, 3, 5)).result), "Err(same_account)");
    EXPECT_EQ(outcome_text(c.call(11, "transfer", transfer_args(1, 2, 0)).result), "Err(non_positive_amount)");
    EXPECT_EQ(outcome_text(c.call(12, "transfer", transfer_args(1, 2, -3)).result), "Err(non_positive_amount)");
    EXPECT_EQ(outcome_text(c.call(13, "transfer", transfer_args(1, 10, 5)).result), "Err(account_missing)");
    EXPECT_EQ(outcome_text(c.call(14, "transfer", transfer_args(1, 2, 996)).result), "Err(insufficient_funds)");
    EXPECT_EQ(outcome_text(c.call(15, "no_such_thing", {}).result), "InternalError(no such reducer)");

    r = c.call(16, "transfer", Bytes{1, 2, 3});
    ASSERT_TRUE(std::holds_alternative<stdb::ReducerInternalError>(r.result)) << outcome_text(r.result);
    EXPECT_EQ(std::get<stdb::ReducerInternalError>(r.result).message.rfind("invalid arguments for reducer transfer", 0),
              0u)
        << std::get<stdb::ReducerInternalError>(r.result).message;

    // Only the one good transfer changed anything.
    const auto rows = sql_accounts(port_);
    ASSERT_EQ(rows.size(), 10u);
    EXPECT_EQ(rows[1].balance, 995);
    EXPECT_EQ(rows[2].balance, 1005);
    EXPECT_EQ(total_of(rows), 10000);
}

INSTANTIATE_TEST_SUITE_P(ProtocolsAndCompression, StandinReducers,
                         ::testing::Values(ReducerParam{stdb::ProtocolVersion::V3, stdb::Compression::None},
                                           ReducerParam{stdb::ProtocolVersion::V3, stdb::Compression::Gzip},
                                           ReducerParam{stdb::ProtocolVersion::V2, stdb::Compression::None},
                                           ReducerParam{stdb::ProtocolVersion::V2, stdb::Compression::Gzip}),
                         [](const ::testing::TestParamInfo<ReducerParam>& info) {
                             return std::string(info.param.version == stdb::ProtocolVersion::V3 ? "V3" : "V2") +
                                    std::string(stdb::compression_query_value(info.param.compression));
                         });

TEST(StandinV3Batching, ThreeCallsInOneFrameGetThreeResultsInOrder) {
    const int port = shared_standin().port();
    seed_over_http(port, 10, 1000);
    WsClient c(port);
    c.open_v3();
    const std::vector<stdb::ClientMessage> batch{call_transfer(101, 1, 2, 1), call_transfer(102, 3, 3, 1),
                                                 call_transfer(103, 2, 1, 4)};
    c.send(batch);
    const auto r1 = c.next_as<stdb::ReducerResult>();
    const auto r2 = c.next_as<stdb::ReducerResult>();
    const auto r3 = c.next_as<stdb::ReducerResult>();
    EXPECT_EQ(r1.request_id, 101u);
    EXPECT_EQ(r2.request_id, 102u);
    EXPECT_EQ(r3.request_id, 103u);
    EXPECT_EQ(outcome_text(r1.result), "Ok");
    EXPECT_EQ(outcome_text(r2.result), "Err(same_account)");
    EXPECT_EQ(outcome_text(r3.result), "Ok");
    const auto rows = sql_accounts(port);
    ASSERT_EQ(rows.size(), 10u);
    EXPECT_EQ(rows[1].balance, 1003);
    EXPECT_EQ(rows[2].balance, 997);
}

TEST(StandinV2Framing, TwoMessagesInOneV2FrameAreRejected) {
    // v2 is one message per WebSocket message: a v3-style batch must be a
    // protocol error, not silently half-processed.
    const int port = shared_standin().port();
    seed_over_http(port, 10, 1000);
    WsClient c(port);
    c.open(subscribe_target("test-1"), std::string(stdb::kSubprotocolV2));
    Bytes frame = stdb::encode_to_bytes(call_transfer(1, 1, 2, 1));
    const Bytes second = stdb::encode_to_bytes(call_transfer(2, 2, 1, 1));
    frame.insert(frame.end(), second.begin(), second.end());
    c.send_binary(frame);
    EXPECT_EQ(c.expect_close().code, websocket::close_code::internal_error);
    EXPECT_EQ(total_of(sql_accounts(port)), 10000);
    EXPECT_EQ(sql_accounts(port)[1].balance, 1000);
}

// =============================================================================
// Subscriptions and one-off queries
// =============================================================================

TEST(StandinSubscription, AppliedUpdatesCallerUpdateUnsubscribeAndOneOff) {
    const int port = shared_standin().port();
    seed_over_http(port, 10, 1000);
    WsClient sub(port);
    sub.open_v3();
    WsClient other(port);
    other.open_v3();

    sub.send(stdb::ClientMessage{stdb::Subscribe{7, stdb::QuerySetId{1}, {std::string(xfer::kAccountsQuery)}}});
    const auto applied = sub.next_as<stdb::SubscribeApplied>();
    EXPECT_EQ(applied.request_id, 7u);
    EXPECT_EQ(applied.query_set_id.id, 1u);
    ASSERT_EQ(applied.rows.tables.size(), 1u);
    EXPECT_EQ(applied.rows.tables[0].table, xfer::kAccountsTable);
    const auto& initial = applied.rows.tables[0].rows;
    ASSERT_TRUE(std::holds_alternative<stdb::FixedSizeHint>(initial.size_hint));
    EXPECT_EQ(std::get<stdb::FixedSizeHint>(initial.size_hint).row_size, xfer::kAccountRowSize);
    const auto initial_rows = accounts_of(initial);
    ASSERT_EQ(initial_rows.size(), 10u);
    for (std::uint32_t i = 0; i < 10; ++i) EXPECT_EQ(initial_rows[i], (xfer::Account{i, 1000}));

    // Another connection's commit reaches the subscriber as a TransactionUpdate.
    auto r = other.call(1, "transfer", transfer_args(1, 2, 5));
    ASSERT_EQ(outcome_text(r.result), "Ok");
    EXPECT_TRUE(std::get<stdb::ReducerOk>(r.result).transaction_update.query_sets.empty());
    const auto update = sub.next_as<stdb::TransactionUpdate>();
    const auto& rows = accounts_update(update, 1);
    EXPECT_EQ(accounts_of(rows.deletes), accounts({{1, 1000}, {2, 1000}}));
    EXPECT_EQ(accounts_of(rows.inserts), accounts({{1, 995}, {2, 1005}}));

    // The subscribed caller gets its own update inside ReducerOk, not as a
    // separate TransactionUpdate.
    r = sub.call(2, "transfer", transfer_args(2, 3, 7));
    ASSERT_EQ(outcome_text(r.result), "Ok");
    const auto& own = accounts_update(std::get<stdb::ReducerOk>(r.result).transaction_update, 1);
    EXPECT_EQ(accounts_of(own.deletes), accounts({{2, 1005}, {3, 1000}}));
    EXPECT_EQ(accounts_of(own.inserts), accounts({{2, 998}, {3, 1007}}));

    // A failed call changes nothing, so no update is attached.
    r = sub.call(3, "transfer", transfer_args(4, 4, 1));
    EXPECT_EQ(outcome_text(r.result), "Err(same_account)");

    sub.send(stdb::ClientMessage{stdb::Unsubscribe{8, stdb::QuerySetId{1}, stdb::UnsubscribeFlags::SendDroppedRows}});
    const auto gone = sub.next_as<stdb::UnsubscribeApplied>();
    EXPECT_EQ(gone.request_id, 8u);
    EXPECT_EQ(gone.query_set_id.id, 1u);
    ASSERT_TRUE(gone.rows.has_value());
    ASSERT_EQ(gone.rows->tables.size(), 1u);
    const auto dropped = accounts_of(gone.rows->tables[0].rows);
    ASSERT_EQ(dropped.size(), 10u);
    EXPECT_EQ(dropped[1].balance, 995);
    EXPECT_EQ(dropped[2].balance, 998);
    EXPECT_EQ(dropped[3].balance, 1007);

    // After unsubscribing, another commit produces nothing for `sub`: its
    // next message is the answer to its own later call, with no update.
    ASSERT_EQ(outcome_text(other.call(4, "transfer", transfer_args(5, 6, 1)).result), "Ok");
    r = sub.call(5, "transfer", transfer_args(6, 5, 1));
    ASSERT_EQ(outcome_text(r.result), "Ok");
    EXPECT_TRUE(std::get<stdb::ReducerOk>(r.result).transaction_update.query_sets.empty());

    sub.send(stdb::ClientMessage{stdb::OneOffQuery{9, "SELECT * FROM accounts WHERE id = 3"}});
    const auto one = sub.next_as<stdb::OneOffQueryResult>();
    EXPECT_EQ(one.request_id, 9u);
    ASSERT_TRUE(std::holds_alternative<stdb::QueryRows>(one.result));
    const auto& q = std::get<stdb::QueryRows>(one.result);
    ASSERT_EQ(q.tables.size(), 1u);
    EXPECT_EQ(accounts_of(q.tables[0].rows), accounts({{3, 1007}}));

    sub.send(stdb::ClientMessage{stdb::OneOffQuery{10, "SELECT * FROM nope"}});
    const auto bad = sub.next_as<stdb::OneOffQueryResult>();
    EXPECT_EQ(bad.request_id, 10u);
    ASSERT_TRUE(std::holds_alternative<std::string>(bad.result));
    EXPECT_NE(std::get<std::string>(bad.result).find("nope"), std::string::npos) << std::get<std::string>(bad.result);
}

TEST(StandinSubscription, LargeMessagesAreGzippedOnlyWhenAsked) {
    const int port = shared_standin().port();
    seed_over_http(port, 200, 1000);  // 200 x 12-byte rows: well over the 1024-byte threshold
    for (const auto compression : {stdb::Compression::Gzip, stdb::Compression::None}) {
        WsClient c(port);
        c.open(subscribe_target("test-1", "compression=" + std::string(stdb::compression_query_value(compression))),
               std::string(stdb::kSubprotocolV2));
        c.send(stdb::ClientMessage{stdb::Subscribe{1, stdb::QuerySetId{3}, {std::string(xfer::kAccountsQuery)}}});
        const auto payload = c.read_payload();
        ASSERT_FALSE(payload.empty());
        EXPECT_EQ(stdb::server_payload_compression(payload), compression);
        const auto messages = stdb::decode_server_payload(payload, stdb::ProtocolVersion::V2);
        ASSERT_EQ(messages.size(), 1u);
        const auto& applied = std::get<stdb::SubscribeApplied>(messages[0]);
        ASSERT_EQ(applied.rows.tables.size(), 1u);
        EXPECT_EQ(stdb::row_count(applied.rows.tables[0].rows), 200u);
    }
}

// =============================================================================
// Bad input: the connection is closed with 1011, the server and its state survive
// =============================================================================

struct BadInputCase {
    const char* name;
    stdb::ProtocolVersion version;
    std::function<void(WsClient&)> send;
    const char* reason_contains;  // "" = any reason
};

Bytes encoded_transfer() { return stdb::encode_to_bytes(call_transfer(77, 1, 2, 5)); }

class StandinBadInput : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(StandinBadInput, ClosesWith1011AndLeavesStateAlone) {
    const auto& tc = GetParam();
    const int port = shared_standin().port();
    seed_over_http(port, 10, 1000);
    ASSERT_EQ(call_json(port, "test-1", "transfer", "[3,4,9]").status, 200u);
    const auto before = sql_accounts(port);

    {
        WsClient c(port);
        c.open(subscribe_target("test-1"), std::string(stdb::subprotocol_name(tc.version)));
        tc.send(c);
        const auto reason = c.expect_close();
        EXPECT_EQ(reason.code, websocket::close_code::internal_error) << reason.reason.c_str();
        EXPECT_NE(std::string(reason.reason.c_str()).find(tc.reason_contains), std::string::npos)
            << "reason: " << reason.reason.c_str();
    }

    EXPECT_EQ(sql_accounts(port), before);
    EXPECT_EQ(total_of(before), 10000);
    WsClient fresh(port);
    fresh.open_v3();
    EXPECT_EQ(outcome_text(fresh.call(1, "transfer", transfer_args(1, 2, 5)).result), "Ok");
}

INSTANTIATE_TEST_SUITE_P(Cases, StandinBadInput,
                         ::testing::Values(BadInputCase{"TextFrameV3", stdb::ProtocolVersion::V3,
                                                        [](WsClient& c) { c.send_text("hello"); }, "text"},
                                           BadInputCase{"TextFrameV2", stdb::ProtocolVersion::V2,
                                                        [](WsClient& c) { c.send_text("{}"); }, "text"},
                                           BadInputCase{"TruncatedCallReducer", stdb::ProtocolVersion::V3,
                                                        [](WsClient& c) {
                                                            const auto full = encoded_transfer();
                                                            c.send_binary(Bytes(full.begin(), full.begin() + 10));
                                                        },
                                                        "decode error"},
                                           BadInputCase{"TruncatedCallReducerV2", stdb::ProtocolVersion::V2,
                                                        [](WsClient& c) {
                                                            const auto full = encoded_transfer();
                                                            c.send_binary(Bytes(full.begin(), full.end() - 1));
                                                        },
                                                        "decode error"},
                                           BadInputCase{"UnknownTag", stdb::ProtocolVersion::V3,
                                                        [](WsClient& c) {
                                                            c.send_binary(Bytes{0x09, 0, 0, 0, 0});
                                                        },
                                                        "decode error"},
                                           BadInputCase{"EmptyFrameV3", stdb::ProtocolVersion::V3,
                                                        [](WsClient& c) { c.send_binary(Bytes{}); }, "decode error"},
                                           BadInputCase{"CallReducerFlagsOne", stdb::ProtocolVersion::V3,
                                                        [](WsClient& c) {
                                                            auto bytes = encoded_transfer();
                                                            bytes.at(5) =
                                                                1;  // tag(1) + request_id(4), then the flags byte
                                                            c.send_binary(bytes);
                                                        },
                                                        "decode error"}),
                         [](const ::testing::TestParamInfo<BadInputCase>& info) {
                             return std::string(info.param.name);
                         });

// =============================================================================
// WebSocket frames: what Beast did for the stand-in, kept by its own data path
// =============================================================================

TEST(StandinFrames, FragmentedMessagesAreReassembled) {
    const int port = shared_standin().port();
    seed_over_http(port, 10, 1000);
    WsClient c(port);
    c.open_v3();
    c.fragment_writes(8);  // a CallReducer in 8-byte pieces (Beast's smallest), each its own frame
    EXPECT_EQ(outcome_text(c.call(1, "transfer", transfer_args(1, 2, 5)).result), "Ok");
    EXPECT_EQ(outcome_text(c.call(2, "transfer", transfer_args(2, 1, 5)).result), "Ok");
}

TEST(StandinFrames, PingsAreAnsweredWithTheirPayload) {
    const int port = shared_standin().port();
    seed_over_http(port, 10, 1000);
    WsClient c(port);
    c.open_v3();
    c.ping("are you there");
    // The pong arrives before this call's answer; reading the answer sees it.
    EXPECT_EQ(outcome_text(c.call(1, "transfer", transfer_args(1, 2, 5)).result), "Ok");
    ASSERT_EQ(c.pongs().size(), 1u);
    EXPECT_EQ(c.pongs()[0], "are you there");
}

TEST(StandinFrames, AClientsCloseIsAnsweredWithItsCode) {
    const int port = shared_standin().port();
    WsClient c(port);
    c.open_v3();
    const auto answer = c.close(websocket::close_reason(static_cast<websocket::close_code>(4000), "done"));
    EXPECT_EQ(answer.code, 4000u);
}

TEST(StandinFrames, AMessageOverTheLimitFailsWith1009) {
    StandinProcess server({.args = {"--max-message-bytes", "1024"}});
    WsClient c(server.port());
    c.open_v3();
    c.send_binary(Bytes(2000, 0));
    EXPECT_EQ(c.expect_close().code, websocket::close_code::too_big);
    // Smaller messages still work on a new connection.
    server.seed(10, 1000);
    WsClient fresh(server.port());
    fresh.open_v3();
    EXPECT_EQ(outcome_text(fresh.call(1, "transfer", transfer_args(1, 2, 5)).result), "Ok");
}

TEST(StandinFrames, LargeRepliesArriveWhole) {
    // A subscription to every row of 2,000 accounts: a 24 KB reply, which the
    // server sends in 4 KiB frames; the client sees one message.
    const int port = shared_standin().port();
    seed_over_http(port, 2000, 1000);
    WsClient c(port);
    c.open_v3();
    stdb::Subscribe sub;
    sub.request_id = 1;
    sub.query_set_id.id = 1;
    sub.query_strings = {"SELECT * FROM accounts"};
    c.send(stdb::ClientMessage{sub});
    const auto applied = c.next_as<stdb::SubscribeApplied>();
    ASSERT_EQ(applied.rows.tables.size(), 1u);
    EXPECT_EQ(accounts_of(applied.rows.tables[0].rows).size(), 2000u);
}

// =============================================================================
// HTTP API
// =============================================================================

TEST(StandinHttp, PingAndCallStatuses) {
    const int port = shared_standin().port();
    EXPECT_EQ(http_request(port, http::verb::get, "/v1/ping").status, 200u);

    seed_over_http(port, 10, 1000);
    auto reply = call_json(port, "test-1", "transfer", "[1,2,5]");
    EXPECT_EQ(reply.status, 200u) << reply.body;
    reply = call_json(port, "test-1", "transfer", "[1,1,5]");
    EXPECT_EQ(reply.status, 530u);
    EXPECT_EQ(reply.body, "same_account");
    reply = http_request(port, http::verb::post, "/v1/database/test-1/call/transfer", "[1,2,5]");
    EXPECT_EQ(reply.status, 400u) << reply.body;
    reply = call_json(port, "nope", "transfer", "[1,2,5]");
    EXPECT_EQ(reply.status, 404u);
    EXPECT_EQ(reply.body, "`nope` not found");

    const auto rows = sql_accounts(port);
    ASSERT_EQ(rows.size(), 10u);
    EXPECT_EQ(rows[1].balance, 995);
    EXPECT_EQ(rows[2].balance, 1005);
}

TEST(StandinHttp, DebugRoutesAreOffByDefault) {
    const int port = shared_standin().port();
    seed_over_http(port, 10, 1000);
    const auto reply = http_request(port, http::verb::post, "/v1/debug/database/test-1/corrupt?id=0&delta=1");
    EXPECT_EQ(reply.status, 404u);
    EXPECT_EQ(total_of(sql_accounts(port)), 10000);
}

std::uint64_t counter(const std::string& metrics_text, const stdb::CounterQuery& q) {
    const auto scrape = stdb::parse_prometheus_text(metrics_text);
    const auto result = stdb::find_counter(scrape, q);
    const auto& reading = result.value();  // throws with a precise message when missing
    if (!reading.exact) throw std::runtime_error("counter is not an exact integer");
    return *reading.exact;
}

stdb::CounterQuery rolled_back_transfers_query(const std::string& db) {
    stdb::CounterQuery q;
    q.name = std::string(stdb::kNumTxnsMetric);
    q.labels = {{"committed", "false"}, {"reducer", "transfer"}, {"txn_type", "Reducer"}};
    q.db = db;
    return q;
}

TEST(StandinHttpTwoDatabases, MetricsSeriesPerDatabaseAndDebugCorrupt) {
    StandinProcess server({.databases = {"test-1", "test-2"}, .args = {"--debug-routes"}});
    const int port = server.port();
    const std::string id1 = server.identity("test-1");
    const std::string id2 = server.identity("test-2");
    EXPECT_NE(id1, id2);
    EXPECT_EQ(http_request(port, http::verb::get, "/v1/database/test-1/identity").body, id1);
    EXPECT_EQ(http_request(port, http::verb::get, "/v1/database/test-2/identity").body, id2);

    seed_over_http(port, 10, 1000, "test-1");
    seed_over_http(port, 10, 1000, "test-2");
    // test-1: 2 committed over WebSocket + 1 over HTTP, 1 rolled back; test-2: 1 committed.
    {
        WsClient c(port);
        c.open_v3("test-1");
        EXPECT_EQ(outcome_text(c.call(1, "transfer", transfer_args(1, 2, 5)).result), "Ok");
        EXPECT_EQ(outcome_text(c.call(2, "transfer", transfer_args(2, 3, 5)).result), "Ok");
        EXPECT_EQ(outcome_text(c.call(3, "transfer", transfer_args(2, 2, 5)).result), "Err(same_account)");
    }
    EXPECT_EQ(call_json(port, "test-1", "transfer", "[4,5,1]").status, 200u);
    EXPECT_EQ(call_json(port, "test-2", "transfer", "[4,5,1]").status, 200u);

    const auto metrics = http_request(port, http::verb::get, "/v1/metrics");
    ASSERT_EQ(metrics.status, 200u);
    const std::string series =
        "spacetime_num_txns_total{committed=\"true\",db=\"" + id1 + "\",reducer=\"transfer\",txn_type=\"Reducer\"}";
    EXPECT_NE(metrics.body.find(series), std::string::npos) << metrics.body;
    EXPECT_EQ(counter(metrics.body, stdb::committed_transfers_query(id1)), 3u);
    EXPECT_EQ(counter(metrics.body, stdb::committed_transfers_query(id2)), 1u);
    EXPECT_EQ(counter(metrics.body, rolled_back_transfers_query(id1)), 1u);

    // The debug route breaks test-1's conserved total by exactly delta, and
    // leaves test-2 alone.
    const auto before = total_of(sql_accounts(port, "test-1"));
    const auto reply = http_request(port, http::verb::post, "/v1/debug/database/test-1/corrupt?id=0&delta=1");
    EXPECT_EQ(reply.status, 200u) << reply.body;
    EXPECT_EQ(total_of(sql_accounts(port, "test-1")), before + 1);
    EXPECT_EQ(total_of(sql_accounts(port, "test-2")), 10000);
    EXPECT_TRUE(server.running());
}

}  // namespace
