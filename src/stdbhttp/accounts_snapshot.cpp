#include "benchdist/stdbhttp/accounts_snapshot.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "benchdist/net/bearer_auth.hpp"
#include "benchdist/net/tls_context.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/row_list.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::stdbhttp {

// The codec and the endpoint forms this client is written in.
using namespace benchdist::stdb;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::uint32_t kRequestId = 1;
constexpr std::uint32_t kQuerySetId = 1;
// A million accounts are 12 MB of rows; leave room for larger tables.
constexpr std::size_t kMaxMessageBytes = std::size_t{64} << 20;
// The rows are in hand by the time we close, so a slow close handshake must
// not cost the caller much more than this.
constexpr std::chrono::milliseconds kCloseGrace{1000};

std::string excerpt(std::string_view body) {
    constexpr std::size_t kMax = 300;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) body.remove_suffix(1);
    if (body.empty()) return "(empty body)";
    if (body.size() <= kMax) return std::string(body);
    return std::string(body.substr(0, kMax)) + "...";
}

// One connection on a private io_context. Every asynchronous step runs until
// it completes or the deadline passes (Beast's blocking calls would ignore
// any deadline), so the whole read is bounded by one timeout. Stream is the
// plain TCP stream for ws:// and a TLS stream over it for wss://.
template <typename Stream>
class SnapshotReader {
public:
    static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

    SnapshotReader(const Endpoint& server, const std::string& database, Compression compression,
                   std::chrono::milliseconds timeout, std::string token)
        : target_(subscribe_target(server, database, compression)),
          token_(std::move(token)),
          url_(target_.to_string()),
          timeout_(timeout),
          deadline_(Clock::now() + timeout),
          resolver_(ioc_),
          tls_(kTls ? net::default_tls_client_context() : nullptr),
          ws_(make_stream()) {}

    transfer::BalanceTally run(std::int64_t initial_balance) {
        connect();
        handshake();
        subscribe();
        transfer::BalanceTally tally(initial_balance);
        read_until_applied(tally);
        close();
        return tally;
    }

private:
    websocket::stream<Stream> make_stream() {
        if constexpr (kTls) {
            return websocket::stream<Stream>(ioc_, tls_->native());
        } else {
            return websocket::stream<Stream>(ioc_);
        }
    }

    // nullopt: the deadline passed, and the outstanding operation has been
    // aborted and drained (so no handler outlives this frame).
    template <typename Start>
    std::optional<beast::error_code> step(Start&& start) {
        std::optional<beast::error_code> result;
        start([&result](beast::error_code ec, auto&&...) { result = ec; });
        ioc_.restart();
        while (!result && Clock::now() < deadline_) {
            if (ioc_.run_one_until(deadline_) == 0 && ioc_.stopped()) break;
        }
        if (result) return result;
        resolver_.cancel();
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
        ioc_.restart();
        ioc_.run();
        return std::nullopt;
    }

    template <typename Start>
    beast::error_code step_or_timeout(std::string_view stage, Start&& start) {
        auto ec = step(std::forward<Start>(start));
        if (!ec) {
            throw ServerApiError(url_ + ": no SubscribeApplied within " + std::to_string(timeout_.count()) +
                                 " ms (timed out while " + std::string(stage) +
                                 ") -- is the server overloaded, or is the table very large for this timeout?");
        }
        return *ec;
    }

    void connect() {
        tcp::resolver::results_type endpoints;
        const std::string port = std::to_string(target_.port);
        auto ec = step_or_timeout("resolving the host", [&](auto handler) {
            resolver_.async_resolve(target_.host, port,
                                    [&endpoints, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
                                        endpoints = std::move(r);
                                        handler(e);
                                    });
        });
        if (ec) throw ServerApiError(url_ + ": cannot resolve host " + target_.host + ": " + ec.message());
        ec = step_or_timeout("connecting",
                             [&](auto handler) { beast::get_lowest_layer(ws_).async_connect(endpoints, handler); });
        if (ec) {
            throw ServerApiError("cannot connect to " + url_ + ": " + ec.message() +
                                 " -- is the SpacetimeDB server running and is --stdb-url (STDB_URL) right?");
        }
        if constexpr (kTls) {
            auto* session = ws_.next_layer().native_handle();
            const std::string why = net::prepare_tls_session(session, target_.host);
            if (!why.empty()) throw ServerApiError("cannot connect to " + url_ + ": " + why);
            ec = step_or_timeout("doing the TLS handshake", [&](auto handler) {
                ws_.next_layer().async_handshake(asio::ssl::stream_base::client, handler);
            });
            if (ec) throw ServerApiError(net::describe_tls_failure(session, url_, target_.host, ec.message()));
        }
    }

    void handshake() {
        ws_.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
            req.set(http::field::user_agent, "bench-dist");
            req.set(http::field::sec_websocket_protocol, kSubprotocolOfferV3V2);
            if (!token_.empty()) req.set(http::field::authorization, net::bearer_header_value(token_));
        }));
        ws_.read_message_max(kMaxMessageBytes);
        ws_.binary(true);
        websocket::response_type res;
        const auto ec = step_or_timeout("upgrading to WebSocket", [&](auto handler) {
            ws_.async_handshake(res, target_.host_header, target_.target, handler);
        });
        if (ec == websocket::error::upgrade_declined) {
            const unsigned status = res.result_int();
            const std::string hint = status != 401 && status != 403 ? std::string()
                                     : token_.empty()
                                         ? " -- the server wants a token: pass --stdb-token (or STDB_TOKEN)"
                                         : " -- the token given with --stdb-token (STDB_TOKEN) is not accepted";
            throw ServerApiError("the server refused the WebSocket upgrade at " + url_ + ": " + std::to_string(status) +
                                 " " + excerpt(res.body()) + hint);
        }
        if (ec) throw ServerApiError("WebSocket handshake with " + url_ + " failed: " + ec.message());
        const auto chosen = res[http::field::sec_websocket_protocol];
        if (chosen.empty()) {
            // What the SDK assumes when the server names no protocol.
            version_ = ProtocolVersion::V2;
        } else if (auto v = protocol_from_subprotocol(std::string_view(chosen.data(), chosen.size()))) {
            version_ = *v;
        } else {
            throw ServerApiError(url_ + ": the server chose sub-protocol `" + std::string(chosen) +
                                 "`, but we offered only " + std::string(kSubprotocolOfferV3V2));
        }
    }

    void subscribe() {
        Subscribe sub;
        sub.request_id = kRequestId;
        sub.query_set_id = QuerySetId{kQuerySetId};
        sub.query_strings.emplace_back(transfer::kAccountsQuery);
        const auto bytes = encode_to_bytes(ClientMessage{std::move(sub)});
        const auto ec =
            step_or_timeout("sending Subscribe", [&](auto handler) { ws_.async_write(asio::buffer(bytes), handler); });
        if (ec) throw ServerApiError(url_ + ": sending Subscribe failed: " + ec.message());
    }

    void read_until_applied(transfer::BalanceTally& tally) {
        beast::flat_buffer buffer;
        for (;;) {
            buffer.clear();
            const auto ec =
                step_or_timeout("waiting for SubscribeApplied", [&](auto handler) { ws_.async_read(buffer, handler); });
            if (ec == websocket::error::closed) {
                const auto& reason = ws_.reason();
                throw ServerApiError(url_ + ": the server closed the connection before SubscribeApplied (close code " +
                                     std::to_string(static_cast<unsigned>(reason.code)) +
                                     (reason.reason.empty()
                                          ? std::string()
                                          : ": " + std::string(reason.reason.data(), reason.reason.size())) +
                                     ")");
            }
            if (ec) {
                throw ServerApiError(url_ + ": the connection was lost before SubscribeApplied: " + ec.message());
            }
            if (!ws_.got_binary()) {
                throw ServerApiError(url_ + ": the server sent a text message; v2/v3 speak binary only");
            }
            const auto data = buffer.cdata();
            const std::span<const std::uint8_t> payload(static_cast<const std::uint8_t*>(data.data()), data.size());
            std::vector<ServerMessage> messages;
            try {
                messages = decode_server_payload(payload, version_);
            } catch (const std::exception& e) {
                throw ServerApiError(url_ + ": cannot decode a server message: " + e.what());
            }
            for (const auto& message : messages) {
                if (const auto* err = std::get_if<SubscriptionError>(&message)) {
                    throw ServerApiError(url_ + ": subscription to `" + std::string(transfer::kAccountsQuery) +
                                         "` failed: " + err->error);
                }
                if (const auto* applied = std::get_if<SubscribeApplied>(&message)) {
                    if (applied->query_set_id.id != kQuerySetId) continue;
                    add_rows(applied->rows, tally);
                    return;
                }
            }
        }
    }

    void add_rows(const QueryRows& rows, transfer::BalanceTally& tally) const {
        try {
            for (const auto& table : rows.tables) {
                if (table.table != transfer::kAccountsTable) continue;
                for (const auto row : rows_of(table.rows)) tally.add(transfer::decode_account(row));
            }
        } catch (const std::exception& e) {
            throw ServerApiError(url_ + ": malformed `accounts` rows in SubscribeApplied: " + e.what());
        }
    }

    // Polite goodbye; failures here do not matter, the rows are in hand.
    void close() {
        deadline_ = Clock::now() + std::min(timeout_, kCloseGrace);
        step([&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); });
    }

    HttpTarget target_;
    std::string token_;
    std::string url_;
    std::chrono::milliseconds timeout_;
    Clock::time_point deadline_;
    asio::io_context ioc_;
    tcp::resolver resolver_;
    std::shared_ptr<const net::TlsClientContext> tls_;
    websocket::stream<Stream> ws_;
    ProtocolVersion version_ = ProtocolVersion::V3;
};

}  // namespace

transfer::BalanceTally fetch_account_balances(const Endpoint& server, const std::string& database,
                                              std::int64_t initial_balance, Compression compression,
                                              std::chrono::milliseconds timeout, const std::string& token) {
    if (server.tls) {
        SnapshotReader<TlsStream> reader(server, database, compression, timeout, token);
        return reader.run(initial_balance);
    }
    SnapshotReader<PlainStream> reader(server, database, compression, timeout, token);
    return reader.run(initial_balance);
}

}  // namespace benchdist::stdbhttp
