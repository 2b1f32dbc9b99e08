#include "ws_session.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>

#include "auth_token.hpp"
#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/net/http_message.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdb/v3_framing.hpp"
#include "server_context.hpp"

namespace benchdist::standin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

constexpr std::string_view kSubscribePrefix = "/v1/database/";
constexpr std::string_view kSubscribeSuffix = "/subscribe";
// Close reasons are limited to 123 bytes by RFC 6455.
std::string close_reason_text(std::string_view s) { return std::string(s.substr(0, 123)); }

struct HandshakeParams {
    DatabaseHost* host = nullptr;
    stdb::ProtocolVersion version = stdb::ProtocolVersion::V3;
    stdb::Compression compression = stdb::Compression::Brotli;
    bsatn::U256 identity;
    std::string token;
    stdb::ConnectionId connection_id;
};

// Answers an upgrade request with an HTTP error and closes.
void reject(net::UpgradeRequest&& up, http::status status, std::string body) {
    struct Pending {
        beast::tcp_stream stream;
        http::response<http::string_body> res;
    };
    auto p = std::make_shared<Pending>(Pending{std::move(up.stream), {status, up.request.version()}});
    p->res.set(http::field::server, "stdb-standin");
    p->res.set(http::field::content_type, "text/plain; charset=utf-8");
    p->res.body() = std::move(body);
    p->res.keep_alive(false);
    p->res.prepare_payload();
    p->stream.expires_after(std::chrono::seconds(10));
    http::async_write(p->stream, p->res, [p](beast::error_code, std::size_t) {
        beast::error_code ignored;
        p->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    });
}

}  // namespace

class WsSession : public std::enable_shared_from_this<WsSession> {
public:
    WsSession(beast::tcp_stream stream, ServerContext& ctx, HandshakeParams params)
        : ws_(std::move(stream)), ctx_(ctx), p_(std::move(params)), delay_timer_(ws_.get_executor()) {}

    void accept(http::request<http::string_body> request, beast::flat_buffer buffer) {
        buffer_ = std::move(buffer);
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = std::chrono::seconds(30);
        // SpacetimeDB pings every 15 s and drops a client silent for 30 s;
        // Beast pings at half the idle timeout.
        timeouts.idle_timeout = std::chrono::seconds(30);
        timeouts.keep_alive_pings = true;
        ws_.set_option(timeouts);
        ws_.read_message_max(ctx_.options.max_message_bytes);
        ws_.binary(true);
        const std::string protocol(stdb::subprotocol_name(p_.version));
        const std::string identity_hex = p_.identity.to_hex_be();
        const std::string token = p_.token;
        ws_.set_option(
            websocket::stream_base::decorator([protocol, identity_hex, token](websocket::response_type& res) {
                res.set(http::field::server, "stdb-standin");
                res.set(http::field::sec_websocket_protocol, protocol);
                res.set("spacetime-identity", identity_hex);
                res.set("spacetime-identity-token", token);
            }));
        ws_.async_accept(request, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
    }

    // From any thread.
    void deliver(stdb::ServerMessage message) {
        asio::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(message)]() mutable {
            self->queue_delayed(std::move(m));
        });
    }

private:
    void on_accept(beast::error_code ec) {
        if (ec) return;  // the client went away during the handshake
        stdb::InitialConnection hello;
        hello.identity.value = p_.identity;
        hello.connection_id = p_.connection_id;
        hello.token = p_.token;
        queue_now(stdb::ServerMessage{std::move(hello)});
        do_read();
    }

    void do_read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec == websocket::error::message_too_big) {
            return close(websocket::close_code::too_big, "message exceeds the 32 MiB limit");
        }
        if (ec) return finish();
        if (!ws_.got_binary()) {
            return close(websocket::close_code::internal_error, "text frames are not supported by the " +
                                                                    std::string(stdb::subprotocol_name(p_.version)) +
                                                                    " protocol; send binary BSATN messages");
        }
        const auto data = buffer_.cdata();
        std::vector<stdb::ClientMessage> messages;
        try {
            messages = stdb::decode_client_frame(std::span(static_cast<const std::uint8_t*>(data.data()), data.size()),
                                                 p_.version);
        } catch (const bsatn::DecodeError& e) {
            return close(websocket::close_code::internal_error, e.what());
        }
        buffer_.consume(buffer_.size());
        for (auto& m : messages) handle(std::move(m));
        do_read();
    }

    void handle(stdb::ClientMessage&& message) {
        std::weak_ptr<WsSession> weak = shared_from_this();
        DatabaseHost* host = p_.host;
        std::visit(
            [&](auto&& m) {
                using T = std::decay_t<decltype(m)>;
                if constexpr (std::is_same_v<T, stdb::CallReducer>) {
                    host->post(
                        [host, weak, self_key = this, m = std::move(m), arrived = std::chrono::steady_clock::now()] {
                            call_reducer(*host, weak, self_key, m, arrived);
                        });
                } else if constexpr (std::is_same_v<T, stdb::Subscribe>) {
                    host->post(
                        [host, weak, self_key = this, m = std::move(m)] { subscribe(*host, weak, self_key, m); });
                } else if constexpr (std::is_same_v<T, stdb::Unsubscribe>) {
                    host->post(
                        [host, weak, self_key = this, m = std::move(m)] { unsubscribe(*host, weak, self_key, m); });
                } else if constexpr (std::is_same_v<T, stdb::OneOffQuery>) {
                    host->post([host, weak, m = std::move(m)] { one_off_query(*host, weak, m); });
                } else {
                    static_assert(std::is_same_v<T, stdb::CallProcedure>);
                    stdb::ProcedureResult r;
                    r.status = stdb::ProcedureInternalError{"no such procedure: the transfer module has no procedures"};
                    r.timestamp.micros_since_unix_epoch = system_clock_micros();
                    r.request_id = m.request_id;
                    queue_delayed(stdb::ServerMessage{std::move(r)});
                }
            },
            std::move(message));
    }

    // --- Database-thread work (static: runs on the host thread, not the strand).

    static void call_reducer(DatabaseHost& host, const std::weak_ptr<WsSession>& weak, const WsSession* key,
                             const stdb::CallReducer& call, std::chrono::steady_clock::time_point arrived) {
        auto outcome = host.db().call_reducer(call.reducer, call.args, arrived);
        stdb::ReducerResult rr;
        rr.request_id = call.request_id;
        rr.timestamp.micros_since_unix_epoch = outcome.timestamp_us;
        switch (outcome.status) {
            case CallStatus::Committed: {
                stdb::ReducerOk ok;
                auto& subs = host.subscribers();
                if (!subs.empty() && !outcome.change.empty()) {
                    for (auto& [sub_key, sub] : subs) {
                        auto update = host.update_for(sub, outcome.change);
                        if (sub_key == key) {
                            ok.transaction_update = std::move(update);
                        } else if (!update.query_sets.empty()) {
                            standin::deliver(sub.session, stdb::ServerMessage{std::move(update)});
                        }
                    }
                }
                rr.result = std::move(ok);
                break;
            }
            case CallStatus::UserError:
                rr.result = stdb::ReducerErr::make(outcome.user_error);
                break;
            default:
                rr.result = stdb::ReducerInternalError{outcome.internal_error};
                break;
        }
        standin::deliver(weak, stdb::ServerMessage{std::move(rr)});
    }

    static void subscribe(DatabaseHost& host, const std::weak_ptr<WsSession>& weak, const WsSession* key,
                          const stdb::Subscribe& req) {
        auto& subscriber = host.subscribers()[key];
        subscriber.session = weak;
        auto fail = [&](std::string error) {
            stdb::SubscriptionError e;
            e.request_id = req.request_id;
            e.query_set_id = req.query_set_id;
            e.error = std::move(error);
            standin::deliver(weak, stdb::ServerMessage{std::move(e)});
        };
        for (const auto& s : subscriber.subscriptions) {
            if (s.query_set_id == req.query_set_id) {
                return fail("query set " + std::to_string(req.query_set_id.id) + " is already subscribed");
            }
        }
        if (req.query_strings.empty()) return fail("a subscription needs at least one query");
        Subscription sub;
        sub.query_set_id = req.query_set_id;
        for (const auto& q : req.query_strings) {
            auto parsed = parse_sql(q);
            if (!parsed.ok()) return fail(parsed.error);
            sub.queries.push_back(*parsed.query);
        }
        stdb::SubscribeApplied applied;
        applied.request_id = req.request_id;
        applied.query_set_id = req.query_set_id;
        applied.rows = host.rows_for(sub.queries);
        subscriber.subscriptions.push_back(std::move(sub));
        standin::deliver(weak, stdb::ServerMessage{std::move(applied)});
    }

    static void unsubscribe(DatabaseHost& host, const std::weak_ptr<WsSession>& weak, const WsSession* key,
                            const stdb::Unsubscribe& req) {
        auto& subs = host.subscribers();
        auto it = subs.find(key);
        if (it != subs.end()) {
            auto& list = it->second.subscriptions;
            for (auto s = list.begin(); s != list.end(); ++s) {
                if (s->query_set_id != req.query_set_id) continue;
                stdb::UnsubscribeApplied done;
                done.request_id = req.request_id;
                done.query_set_id = req.query_set_id;
                if (req.flags == stdb::UnsubscribeFlags::SendDroppedRows) done.rows = host.rows_for(s->queries);
                list.erase(s);
                standin::deliver(weak, stdb::ServerMessage{std::move(done)});
                return;
            }
        }
        stdb::SubscriptionError e;
        e.request_id = req.request_id;
        e.query_set_id = req.query_set_id;
        e.error = "query set " + std::to_string(req.query_set_id.id) + " is not subscribed";
        standin::deliver(weak, stdb::ServerMessage{std::move(e)});
    }

    static void one_off_query(DatabaseHost& host, const std::weak_ptr<WsSession>& weak, const stdb::OneOffQuery& req) {
        stdb::OneOffQueryResult result;
        result.request_id = req.request_id;
        auto parsed = parse_sql(req.query_string);
        if (parsed.ok()) {
            result.result = host.rows_for({*parsed.query});
        } else {
            result.result = parsed.error;
        }
        standin::deliver(weak, stdb::ServerMessage{std::move(result)});
    }

    // --- Outgoing path (on the strand).

    void queue_delayed(stdb::ServerMessage&& m) {
        // Read per reply: the debug route may change it at any moment.
        const auto delay = std::chrono::microseconds(ctx_.reply_delay_us.load(std::memory_order_relaxed));
        // Replies still held back from an earlier, longer delay go first:
        // answers leave in the order they were produced.
        if (delay.count() == 0 && delayed_.empty()) return queue_now(std::move(m));
        delayed_.emplace_back(std::chrono::steady_clock::now() + delay, std::move(m));
        if (delayed_.size() == 1) arm_delay_timer();
    }

    void arm_delay_timer() {
        delay_timer_.expires_at(delayed_.front().first);
        delay_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec) return;
            const auto now = std::chrono::steady_clock::now();
            while (!self->delayed_.empty() && self->delayed_.front().first <= now) {
                self->queue_now(std::move(self->delayed_.front().second));
                self->delayed_.pop_front();
            }
            if (!self->delayed_.empty()) self->arm_delay_timer();
        });
    }

    void queue_now(stdb::ServerMessage&& m) {
        if (closing_) return;
        if (p_.version == stdb::ProtocolVersion::V3) {
            bsatn::Writer w(pending_v3_);
            stdb::encode(w, m);
        } else {
            std::vector<std::uint8_t> body;
            bsatn::Writer w(body);
            stdb::encode(w, m);
            pending_v2_.push_back(std::move(body));
        }
        maybe_write();
    }

    void maybe_write() {
        if (writing_ || closing_) return;
        std::span<const std::uint8_t> body;
        if (p_.version == stdb::ProtocolVersion::V3) {
            if (pending_v3_.empty()) return;
            writing_body_.swap(pending_v3_);
            pending_v3_.clear();
            body = writing_body_;
        } else {
            if (pending_v2_.empty()) return;
            writing_body_ = std::move(pending_v2_.front());
            pending_v2_.pop_front();
            body = writing_body_;
        }
        stdb::frame_server_body(frame_, body, p_.compression);
        writing_ = true;
        ws_.async_write(asio::buffer(frame_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->writing_ = false;
            if (ec) return self->finish();
            self->maybe_write();
        });
    }

    void close(websocket::close_code code, const std::string& reason) {
        if (closing_) return;
        closing_ = true;
        ws_.async_close(websocket::close_reason(code, close_reason_text(reason)),
                        [self = shared_from_this()](beast::error_code) { self->finish(); });
    }

    void finish() {
        if (finished_) return;
        finished_ = true;
        closing_ = true;
        delay_timer_.cancel();
        // Forget this client's subscriptions on the database thread.
        p_.host->post([host = p_.host, key = static_cast<const WsSession*>(this)] { host->subscribers().erase(key); });
    }

    websocket::stream<beast::tcp_stream> ws_;
    ServerContext& ctx_;
    HandshakeParams p_;
    beast::flat_buffer buffer_;
    asio::steady_timer delay_timer_;
    std::deque<std::pair<std::chrono::steady_clock::time_point, stdb::ServerMessage>> delayed_;
    std::vector<std::uint8_t> pending_v3_;
    std::deque<std::vector<std::uint8_t>> pending_v2_;
    std::vector<std::uint8_t> writing_body_;
    std::vector<std::uint8_t> frame_;
    bool writing_ = false;
    bool closing_ = false;
    bool finished_ = false;
};

void deliver(const std::weak_ptr<WsSession>& session, stdb::ServerMessage message) {
    if (auto s = session.lock()) s->deliver(std::move(message));
}

void start_websocket_session(net::UpgradeRequest&& up, ServerContext& ctx) {
    const std::string target(up.request.target());
    const auto q = target.find('?');
    const std::string path = target.substr(0, q);
    net::HttpRequest plain;  // for query parsing only
    if (q != std::string::npos) plain.query = target.substr(q + 1);

    if (path.rfind(kSubscribePrefix, 0) != 0 || path.size() <= kSubscribePrefix.size() + kSubscribeSuffix.size() ||
        path.compare(path.size() - kSubscribeSuffix.size(), kSubscribeSuffix.size(), kSubscribeSuffix) != 0) {
        return reject(std::move(up), http::status::not_found,
                      "no WebSocket endpoint at " + path + "; connect to /v1/database/{name}/subscribe");
    }
    const auto name = net::percent_decode(
        path.substr(kSubscribePrefix.size(), path.size() - kSubscribePrefix.size() - kSubscribeSuffix.size()));
    if (!name || name->find('/') != std::string::npos) {
        return reject(std::move(up), http::status::not_found, "no WebSocket endpoint at " + path);
    }

    HandshakeParams p;
    if (auto c = plain.query_param("compression")) {
        const auto parsed = stdb::compression_from_query_value(*c);
        if (!parsed) {
            return reject(std::move(up), http::status::bad_request,
                          "Failed to deserialize query string: compression: unknown variant `" + *c +
                              "`, expected one of `None`, `Brotli`, `Gzip`");
        }
        p.compression = *parsed;
    }
    if (auto c = plain.query_param("confirmed")) {
        // No durability to wait for: accepted and validated, otherwise a no-op.
        if (*c != "true" && *c != "false") {
            return reject(std::move(up), http::status::bad_request,
                          "Failed to deserialize query string: confirmed: provided string was not `true` or `false`");
        }
    }
    if (auto c = plain.query_param("connection_id")) {
        bsatn::U128 id;
        if (c->size() != 32 || !bsatn::U128::from_hex_be(*c, id)) {
            return reject(std::move(up), http::status::bad_request, "Invalid connection ID: expected 32 hex digits");
        }
        if (id == bsatn::U128{}) {
            return reject(std::move(up), http::status::bad_request,
                          "Invalid connection ID: the all-zeros ConnectionId is reserved.");
        }
        p.connection_id.value = id;
    } else {
        // A fresh random-looking id from the identity mint's generator.
        const auto fresh = ctx.mint_identity();
        std::copy_n(fresh.le.begin(), 16, p.connection_id.value.le.begin());
    }

    std::optional<std::string_view> auth_header;
    if (auto it = up.request.find(http::field::authorization); it != up.request.end()) auth_header = it->value();
    auto auth = authenticate(ctx, auth_header, plain.query_param("token"));
    if (auth.error_status != 0) {
        return reject(std::move(up), static_cast<http::status>(auth.error_status), auth.error);
    }
    p.identity = auth.identity;
    p.token = std::move(auth.token);

    p.host = ctx.find(*name);
    if (p.host == nullptr) return reject(std::move(up), http::status::not_found, "`" + *name + "` not found");

    std::string offered;
    for (const auto& field : up.request) {
        if (field.name() == http::field::sec_websocket_protocol) {
            if (!offered.empty()) offered += ",";
            offered += std::string(field.value());
        }
    }
    const auto version = stdb::select_subprotocol(offered);
    if (!version) return reject(std::move(up), http::status::bad_request, "no valid protocol selected");
    p.version = *version;

    auto session = std::make_shared<WsSession>(std::move(up.stream), ctx, std::move(p));
    session->accept(std::move(up.request), std::move(up.buffer));
}

}  // namespace benchdist::standin
