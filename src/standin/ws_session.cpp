#include "ws_session.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "auth_token.hpp"
#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/net/http_message.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdb/v3_framing.hpp"
#include "round_batch.hpp"
#include "server_context.hpp"
#include "ws_transport.hpp"

namespace benchdist::standin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

constexpr std::string_view kSubscribePrefix = "/v1/database/";
constexpr std::string_view kSubscribeSuffix = "/subscribe";

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

class WsSession : public std::enable_shared_from_this<WsSession>, private WsTransportOwner {
public:
    WsSession(beast::tcp_stream stream, ServerContext& ctx, HandshakeParams params)
        : executor_(stream.get_executor()),
          ws_(std::in_place, std::move(stream)),
          ctx_(ctx),
          p_(std::move(params)),
          delay_timer_(executor_) {}

    void accept(http::request<http::string_body> request, beast::flat_buffer buffer) {
        buffer_ = std::move(buffer);
        // Beast does the handshake only; the data path is WsTransport, which
        // also keeps SpacetimeDB's keep-alive (a ping after 15 s of silence,
        // the client dropped after 30 s).
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = std::chrono::seconds(30);
        timeouts.idle_timeout = websocket::stream_base::none();
        timeouts.keep_alive_pings = false;
        ws_->set_option(timeouts);
        const std::string protocol(stdb::subprotocol_name(p_.version));
        const std::string identity_hex = p_.identity.to_hex_be();
        const std::string token = p_.token;
        ws_->set_option(
            websocket::stream_base::decorator([protocol, identity_hex, token](websocket::response_type& res) {
                res.set(http::field::server, "stdb-standin");
                res.set(http::field::sec_websocket_protocol, protocol);
                res.set("spacetime-identity", identity_hex);
                res.set("spacetime-identity-token", token);
            }));
        ws_->async_accept(request, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
    }

    // From any thread (the database threads). Replies gather in the inbox;
    // only the one that finds it empty hands the session over (to the relay
    // with one I/O thread, else a drain posted to the strand), so the
    // replies a database produced in one batch cross over in one handler.
    void deliver(stdb::ServerMessage message) {
        bool post_drain = false;
        {
            std::lock_guard lock(inbox_mutex_);
            post_drain = inbox_.empty();
            inbox_.push_back(std::move(message));
        }
        if (!post_drain) return;
        if (relay_ != nullptr) {
            relay_->ready(shared_from_this());
        } else {
            asio::post(executor_, [self = shared_from_this()] { self->drain_inbox(); });
        }
    }

private:
    void on_accept(beast::error_code ec) {
        if (ec) return;  // the client went away during the handshake
        // Take the socket from Beast outside its own completion handler.
        asio::post(executor_, [self = shared_from_this()] { self->start_transport(); });
    }

    void start_transport() {
        auto socket = ws_->next_layer().release_socket();
        ws_.reset();
        if (ctx_.options.io_threads == 1) {
            if (const auto* strand = executor_.target<asio::strand<asio::io_context::executor_type>>()) {
                round_io_ = strand->get_inner_executor();
                relay_ = &ctx_.relay_for(*round_io_);
            }
        }
        transport_.emplace(std::move(socket), static_cast<WsTransportOwner&>(*this), ctx_.options.max_message_bytes);
        stdb::InitialConnection hello;
        hello.identity.value = p_.identity;
        hello.connection_id = p_.connection_id;
        hello.token = p_.token;
        queue_now(stdb::ServerMessage{std::move(hello)});
        send_queued();
        // Bytes the client sent right behind its upgrade request come first.
        const auto early = buffer_.cdata();
        transport_->start(std::span(static_cast<const std::uint8_t*>(early.data()), early.size()));
        buffer_ = {};
    }

    // In this thread's round batch when the sessions' io_context has one
    // thread, else in work_ for a submit per read (round_batch.hpp says why).
    void to_database(SessionWork&& work) {
        if (round_io_) {
            RoundBatch::local().add(*p_.host, std::move(work), *round_io_);
        } else {
            work_.push_back(std::move(work));
        }
    }

    std::shared_ptr<void> ws_keep_alive() override { return shared_from_this(); }
    void on_ws_end() override { finish(); }

    void on_ws_message(std::span<const std::uint8_t> payload, bool text) override {
        if (text) {
            return close(1011, "text frames are not supported by the " +
                                   std::string(stdb::subprotocol_name(p_.version)) +
                                   " protocol; send binary BSATN messages");
        }
        std::vector<stdb::ClientMessage> messages;
        try {
            messages = stdb::decode_client_frame(payload, p_.version);
        } catch (const bsatn::DecodeError& e) {
            return close(1011, e.what());
        }
        // Everything for the database goes over in the order the client sent
        // it: in the I/O thread's round batch, or in one submit per read.
        const auto arrived = std::chrono::steady_clock::now();
        for (auto& m : messages) {
            if (auto* procedure = std::get_if<stdb::CallProcedure>(&m)) {
                answer_procedure(*procedure);
                continue;
            }
            to_database(SessionWork{weak_from_this(), this, std::move(m), arrived});
        }
        if (!round_io_) p_.host->submit(work_);
        send_queued();  // a procedure's answer
    }

    void answer_procedure(const stdb::CallProcedure& m) {
        stdb::ProcedureResult r;
        r.status = stdb::ProcedureInternalError{"no such procedure: the transfer module has no procedures"};
        r.timestamp.micros_since_unix_epoch = system_clock_micros();
        r.request_id = m.request_id;
        queue_delayed(stdb::ServerMessage{std::move(r)});
    }

    friend void run_session_work(DatabaseHost& host, std::vector<SessionWork>& batch);
    friend void drain_session_inbox(WsSession& session);

    static void run_one(DatabaseHost& host, SessionWork& work) {
        if (work.forget) {
            host.subscribers().erase(work.key);
            return;
        }
        std::visit(
            [&](auto& m) {
                using T = std::decay_t<decltype(m)>;
                if constexpr (std::is_same_v<T, stdb::CallReducer>) {
                    call_reducer(host, work.session, work.key, m, work.arrived);
                } else if constexpr (std::is_same_v<T, stdb::Subscribe>) {
                    subscribe(host, work.session, work.key, m);
                } else if constexpr (std::is_same_v<T, stdb::Unsubscribe>) {
                    unsubscribe(host, work.session, work.key, m);
                } else if constexpr (std::is_same_v<T, stdb::OneOffQuery>) {
                    one_off_query(host, work.session, m);
                }
                // CallProcedure never gets here: the session answers it itself.
            },
            work.message);
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

    void drain_inbox() {
        {
            std::lock_guard lock(inbox_mutex_);
            draining_.swap(inbox_);
        }
        for (auto& m : draining_) queue_delayed(std::move(m));
        draining_.clear();  // keeps its capacity for the next swap
        send_queued();
    }

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
            self->send_queued();
            if (!self->delayed_.empty()) self->arm_delay_timer();
        });
    }

    // Encodes a reply; send_queued() sends what was queued. v3: replies
    // queued together share one message; v2: one message each.
    void queue_now(stdb::ServerMessage&& m) {
        if (finished_ || !transport_ || transport_->closing()) return;
        if (p_.version == stdb::ProtocolVersion::V3) {
            bsatn::Writer w(pending_v3_);
            stdb::encode(w, m);
        } else {
            pending_v2_.clear();
            bsatn::Writer w(pending_v2_);
            stdb::encode(w, m);
            stdb::frame_server_body(frame_, pending_v2_, p_.compression);
            transport_->queue_binary(frame_);
            queued_ = true;
        }
    }

    // Everything queued since the last call goes out in one send.
    void send_queued() {
        if (!transport_) return;
        if (!pending_v3_.empty()) {
            stdb::frame_server_body(frame_, pending_v3_, p_.compression);
            pending_v3_.clear();
            transport_->queue_binary(frame_);
            queued_ = true;
        }
        if (queued_) {
            queued_ = false;
            transport_->flush();
        }
    }

    void close(std::uint16_t code, const std::string& reason) {
        send_queued();  // replies already produced leave before the close
        if (transport_) transport_->close(code, reason);
    }

    void finish() {
        if (finished_) return;
        finished_ = true;
        delay_timer_.cancel();
        // Forget this client's subscriptions on the database thread, after
        // whatever it sent before.
        SessionWork forget;
        forget.key = this;
        forget.forget = true;
        to_database(std::move(forget));
        if (!round_io_) p_.host->submit(work_);
    }

    asio::any_io_executor executor_;  // the session's strand
    // The handshake only; then transport_ owns the socket.
    std::optional<websocket::stream<beast::tcp_stream>> ws_;
    std::optional<WsTransport> transport_;
    ServerContext& ctx_;
    HandshakeParams p_;
    beast::flat_buffer buffer_;
    std::vector<SessionWork> work_;                            // one read's messages for the database, reused
    std::optional<asio::io_context::executor_type> round_io_;  // set: RoundBatch
    // Set with round_io_ (one I/O thread): replies come through the relay.
    // Written before the first message reaches a database, which the
    // database's queue mutex orders before every read of it there.
    ReplyRelay* relay_ = nullptr;
    std::mutex inbox_mutex_;
    std::vector<stdb::ServerMessage> inbox_;     // replies from database threads; guarded by inbox_mutex_
    std::vector<stdb::ServerMessage> draining_;  // the strand's, during drain_inbox()
    asio::steady_timer delay_timer_;
    std::deque<std::pair<std::chrono::steady_clock::time_point, stdb::ServerMessage>> delayed_;
    std::vector<std::uint8_t> pending_v3_;  // v3 replies not yet framed
    std::vector<std::uint8_t> pending_v2_;  // one v2 reply while it is framed
    std::vector<std::uint8_t> frame_;       // a server message: compression tag and body
    bool queued_ = false;                   // frames queued in the transport since the last flush
    bool finished_ = false;
};

void drain_session_inbox(WsSession& session) { session.drain_inbox(); }

void run_session_work(DatabaseHost& host, std::vector<SessionWork>& batch) {
    for (auto& work : batch) WsSession::run_one(host, work);
}

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
