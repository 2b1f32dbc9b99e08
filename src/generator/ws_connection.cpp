#include "benchdist/generator/ws_connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <span>
#include <stdexcept>
#include <vector>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/transfer_module.hpp"

namespace benchdist::generator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class ResolvedServer {
public:
    tcp::resolver::results_type results;
};

std::shared_ptr<const ResolvedServer> resolve_server(const stdb::HttpTarget& target) {
    if (target.tls) {
        throw std::runtime_error("cannot connect to " + target.to_string() +
                                 ": wss:// (TLS) is not supported by bench-dist-generator yet -- use ws://");
    }
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto results = resolver.resolve(target.host, std::to_string(target.port), ec);
    if (ec || results.empty()) {
        throw std::runtime_error("cannot resolve host `" + target.host + "` of " + target.to_string() + ": " +
                                 (ec ? ec.message() : std::string("no addresses")) + " -- check --stdb-url");
    }
    auto server = std::make_shared<ResolvedServer>();
    server->results = std::move(results);
    return server;
}

std::string_view call_status_name(CallStatus s) {
    switch (s) {
        case CallStatus::Committed: return "committed";
        case CallStatus::ModuleError: return "module error";
        case CallStatus::InternalError: return "internal error";
        case CallStatus::Timeout: return "timeout";
        case CallStatus::Disconnected: return "disconnected";
    }
    return "unknown";
}

namespace {

std::string upgrade_hint(unsigned status) {
    switch (status) {
        case 404: return " -- check --stdb-module (the database name or identity)";
        case 400: return " -- check --stdb-protocol, --stdb-compression and --confirmed-reads";
        case 401: return " -- check the token";
        default: return " -- check --stdb-url";
    }
}

}  // namespace

class StdbConnection::Impl : public std::enable_shared_from_this<Impl> {
public:
    Impl(asio::io_context& io, std::shared_ptr<const ResolvedServer> server, ConnectionOptions options)
        : ws_(io), timer_(io), close_timer_(io), server_(std::move(server)), opt_(std::move(options)),
          url_(opt_.target.to_string()) {}

    enum class State { Idle, Connecting, Handshaking, AwaitInitial, Open, Closing, Closed };

    void open(OpenHandler done) {
        if (state_ != State::Idle) {
            post_open_error(std::move(done), "connection to " + url_ + " was already opened once");
            return;
        }
        open_done_ = std::move(done);
        state_ = State::Connecting;
        ws_.next_layer().expires_after(opt_.connect_timeout);
        ws_.next_layer().async_connect(server_->results,
                                       [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                                           self->on_connect(ec);
                                       });
    }

    void call(std::uint32_t from, std::uint32_t to, std::int64_t amount, std::chrono::milliseconds op_timeout,
              CallHandler done) {
        if (state_ != State::Open || call_pending_) {
            const CallStatus status = call_pending_ ? CallStatus::InternalError : CallStatus::Disconnected;
            asio::post(ws_.get_executor(), [done = std::move(done), status, open = state_ == State::Open] {
                done(CallOutcome{status, open ? "a call is already in flight on this connection"
                                              : "connection is not open"});
            });
            return;
        }
        pending_id_ = next_request_id_++;
        call_pending_ = true;
        call_done_ = std::move(done);
        wbuf_.clear();
        bsatn::Writer w(wbuf_);
        const auto args = stdb::transfer::transfer_args_bytes({from, to, amount});
        stdb::encode_call_reducer(w, pending_id_, stdb::transfer::kTransferReducer, args);

        op_timeout_ = op_timeout;
        timer_.expires_after(op_timeout);
        timer_.async_wait([self = shared_from_this(), id = pending_id_](beast::error_code ec) {
            if (!ec) self->on_op_timer(id);
        });
        ws_.async_write(asio::buffer(wbuf_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) self->lost("sending to " + self->url_ + " failed: " + ec.message());
        });
    }

    void close(CloseHandler done) {
        switch (state_) {
            case State::Open:
                close_done_ = std::move(done);
                start_close();
                return;
            case State::AwaitInitial: {
                auto opened = std::move(open_done_);
                open_done_ = nullptr;
                close_done_ = std::move(done);
                start_close();
                if (opened) opened("connection to " + url_ + " was closed before it opened");
                return;
            }
            case State::Closing:
                // Already closing (e.g. after an op timeout): chain the handler.
                if (close_done_) {
                    auto first = std::move(close_done_);
                    close_done_ = [first = std::move(first), done = std::move(done)] {
                        first();
                        if (done) done();
                    };
                } else {
                    close_done_ = std::move(done);
                }
                return;
            case State::Connecting:
            case State::Handshaking:
                fail_open("connection to " + url_ + " was closed before it opened");
                [[fallthrough]];
            case State::Idle:
            case State::Closed:
                state_ = State::Closed;
                drop_socket();
                if (done) asio::post(ws_.get_executor(), std::move(done));
                return;
        }
    }

    // The owner went away: no callback may run any more.
    void release() {
        open_done_ = nullptr;
        call_done_ = nullptr;
        close_done_ = nullptr;
        call_pending_ = false;
        if (state_ != State::Closing) {
            state_ = State::Closed;
            drop_socket();
        }
    }

    bool is_open() const { return state_ == State::Open; }
    stdb::ProtocolVersion protocol() const { return protocol_; }
    const std::string& url() const { return url_; }

private:
    void on_connect(beast::error_code ec) {
        if (state_ != State::Connecting) return;
        if (ec) {
            const std::string why = ec == beast::error::timeout
                                        ? "no answer within " + std::to_string(opt_.connect_timeout.count()) + " ms"
                                        : ec.message();
            fail_open("cannot connect to " + url_ + ": " + why +
                      " -- is SpacetimeDB (or stdb-standin) running and reachable there? check --stdb-url");
            return;
        }
        ws_.next_layer().expires_never();
        beast::error_code ignored;
        ws_.next_layer().socket().set_option(tcp::no_delay(true), ignored);

        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = opt_.handshake_timeout;
        // SpacetimeDB drops a client silent for 30 s and pings every 15 s;
        // our own pings at half the idle timeout detect a dead server.
        timeouts.idle_timeout = std::chrono::seconds(30);
        timeouts.keep_alive_pings = true;
        ws_.set_option(timeouts);
        const std::string offer = opt_.force_protocol ? std::string(stdb::subprotocol_name(*opt_.force_protocol))
                                                      : std::string(stdb::kSubprotocolOfferV3V2);
        ws_.set_option(websocket::stream_base::decorator(
            [offer, token = opt_.token](websocket::request_type& req) {
                req.set(http::field::sec_websocket_protocol, offer);
                req.set(http::field::user_agent, "bench-dist-generator");
                if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
            }));
        ws_.binary(true);

        state_ = State::Handshaking;
        timer_.expires_after(opt_.handshake_timeout);
        timer_.async_wait([self = shared_from_this()](beast::error_code tec) {
            if (tec) return;
            if (self->state_ == State::Handshaking || self->state_ == State::AwaitInitial) {
                self->fail_open("connected to " + self->url_ + " but the server did not complete the handshake "
                                "(101 + InitialConnection) within " +
                                std::to_string(self->opt_.handshake_timeout.count()) + " ms");
            }
        });
        ws_.async_handshake(res_, opt_.target.host_header, opt_.target.target,
                            [self = shared_from_this()](beast::error_code hec) { self->on_handshake(hec); });
    }

    void on_handshake(beast::error_code ec) {
        if (state_ != State::Handshaking) return;
        if (ec) {
            const unsigned status = res_.result_int();
            if (ec == websocket::error::upgrade_declined || (status != 0 && status != 101)) {
                std::string body = res_.body();
                while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
                if (body.size() > 300) body = body.substr(0, 300) + "...";
                fail_open("server refused the WebSocket upgrade: " + std::to_string(status) +
                          (body.empty() ? std::string(" ") + std::string(res_.reason()) : " " + body) +
                          upgrade_hint(status) + " (" + url_ + ")");
            } else {
                fail_open("WebSocket handshake with " + url_ + " failed: " + ec.message());
            }
            return;
        }
        const auto chosen = res_[http::field::sec_websocket_protocol];
        if (chosen.empty()) {
            // What the official SDK assumes when the server names none.
            protocol_ = stdb::ProtocolVersion::V2;
        } else if (auto v = stdb::protocol_from_subprotocol(chosen)) {
            protocol_ = *v;
        } else {
            fail_open("server at " + url_ + " chose an unsupported sub-protocol `" + std::string(chosen) + "`");
            return;
        }
        if (opt_.force_protocol && *opt_.force_protocol != protocol_) {
            fail_open("server at " + url_ + " chose " + std::string(stdb::subprotocol_name(protocol_)) +
                      " although only " + std::string(stdb::subprotocol_name(*opt_.force_protocol)) +
                      " was offered");
            return;
        }
        res_ = {};  // the response body is no longer needed
        state_ = State::AwaitInitial;
        read();
    }

    void read() {
        ws_.async_read(rbuf_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (state_ == State::Closed) return;
        if (ec) {
            if (state_ == State::Closing) return;  // on_close finishes the job
            std::string why = ec == websocket::error::closed
                                  ? "server closed the connection (code " + std::to_string(ws_.reason().code) +
                                        (ws_.reason().reason.empty() ? "" : ": " + std::string(ws_.reason().reason.data(), ws_.reason().reason.size())) +
                                        ")"
                                  : ec.message();
            lost("connection to " + url_ + " lost: " + why);
            return;
        }
        if (!ws_.got_binary()) {
            protocol_error("server sent a text frame on a binary protocol");
            return;
        }
        const auto data = rbuf_.cdata();
        const std::span<const std::uint8_t> payload(static_cast<const std::uint8_t*>(data.data()), data.size());
        // Keep this object alive across the user callbacks below (they may
        // destroy the owning StdbConnection).
        auto self = shared_from_this();
        try {
            const auto body = stdb::open_server_payload(payload, scratch_);
            stdb::ServerBodyCursor cursor(body, protocol_);
            while (cursor.next()) {
                if (cursor.tag() == stdb::ServerMessageTag::InitialConnection) {
                    if (state_ == State::AwaitInitial) {
                        state_ = State::Open;
                        timer_.cancel();
                        auto done = std::move(open_done_);
                        open_done_ = nullptr;
                        if (done) done(std::string());
                    }
                } else if (const auto* r = cursor.reducer_result()) {
                    if (call_pending_ && r->request_id == pending_id_) {
                        switch (r->outcome) {
                            case stdb::ReducerOutcomeKind::Ok:
                            case stdb::ReducerOutcomeKind::OkEmpty:
                                complete_call(CallStatus::Committed, {});
                                break;
                            case stdb::ReducerOutcomeKind::Err:
                                complete_call(CallStatus::ModuleError, r->error_text);
                                break;
                            case stdb::ReducerOutcomeKind::InternalError:
                                complete_call(CallStatus::InternalError, r->error_text);
                                break;
                        }
                    }
                }
                if (state_ == State::Closed) return;
            }
        } catch (const std::exception& e) {
            protocol_error(std::string("undecodable server message: ") + e.what());
            return;
        }
        rbuf_.consume(rbuf_.size());
        if (state_ == State::Open || state_ == State::AwaitInitial || state_ == State::Closing) read();
    }

    void on_op_timer(std::uint32_t id) {
        if (!call_pending_ || pending_id_ != id || state_ != State::Open) return;
        // Close first, so the handler sees a connection that is no longer open
        // and never sends a second request on it.
        start_close();
        complete_call(CallStatus::Timeout, "no ReducerResult within " + std::to_string(op_timeout_.count()) + " ms");
    }

    void complete_call(CallStatus status, std::string_view text) {
        call_pending_ = false;
        if (state_ == State::Open) timer_.cancel();
        auto done = std::move(call_done_);
        call_done_ = nullptr;
        if (done) done(CallOutcome{status, text});
    }

    void protocol_error(const std::string& what) {
        const std::string msg = "protocol error on " + url_ + ": " + what;
        if (state_ == State::AwaitInitial) {
            fail_open(msg);
            return;
        }
        auto self = shared_from_this();
        if (state_ == State::Open) start_close();
        if (call_pending_) complete_call(CallStatus::Disconnected, msg);
    }

    // The connection ended without our close.
    void lost(const std::string& why) {
        if (state_ == State::Closed) return;
        auto self = shared_from_this();
        if (state_ == State::Connecting || state_ == State::Handshaking || state_ == State::AwaitInitial) {
            fail_open(why);
            return;
        }
        const bool was_closing = state_ == State::Closing;
        state_ = State::Closed;
        drop_socket();
        if (call_pending_) complete_call(CallStatus::Disconnected, why);
        if (was_closing) finish_close();
    }

    void fail_open(const std::string& why) {
        state_ = State::Closed;
        drop_socket();
        auto done = std::move(open_done_);
        open_done_ = nullptr;
        if (done) done(why);
    }

    void post_open_error(OpenHandler done, std::string why) {
        asio::post(ws_.get_executor(), [done = std::move(done), why = std::move(why)] { done(why); });
    }

    void start_close() {
        state_ = State::Closing;
        timer_.cancel();
        close_timer_.expires_after(opt_.close_timeout);
        close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec && self->state_ == State::Closing) self->on_close();
        });
        ws_.async_close(websocket::close_code::normal,
                        [self = shared_from_this()](beast::error_code) { self->on_close(); });
    }

    void on_close() {
        if (state_ != State::Closing) return;
        state_ = State::Closed;
        close_timer_.cancel();
        drop_socket();
        auto self = shared_from_this();
        if (call_pending_) complete_call(CallStatus::Disconnected, "connection closed");
        finish_close();
    }

    void finish_close() {
        auto done = std::move(close_done_);
        close_done_ = nullptr;
        if (done) done();
    }

    void drop_socket() {
        timer_.cancel();
        beast::error_code ignored;
        auto& socket = beast::get_lowest_layer(ws_).socket();
        if (socket.is_open()) {
            socket.shutdown(tcp::socket::shutdown_both, ignored);
            socket.close(ignored);
        }
    }

    websocket::stream<beast::tcp_stream> ws_;
    asio::steady_timer timer_;        // open deadline, then the op deadline
    asio::steady_timer close_timer_;  // bounds the close handshake
    std::shared_ptr<const ResolvedServer> server_;
    ConnectionOptions opt_;
    std::string url_;
    websocket::response_type res_;

    State state_ = State::Idle;
    stdb::ProtocolVersion protocol_ = stdb::ProtocolVersion::V3;
    beast::flat_buffer rbuf_;
    std::vector<std::uint8_t> wbuf_;
    std::vector<std::uint8_t> scratch_;

    OpenHandler open_done_;
    CallHandler call_done_;
    CloseHandler close_done_;
    std::uint32_t next_request_id_ = 1;
    std::uint32_t pending_id_ = 0;
    bool call_pending_ = false;
    std::chrono::milliseconds op_timeout_{0};
};

StdbConnection::StdbConnection(asio::io_context& io, std::shared_ptr<const ResolvedServer> server,
                               ConnectionOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(server), std::move(options))) {}

StdbConnection::~StdbConnection() {
    if (impl_) impl_->release();
}

void StdbConnection::async_open(OpenHandler done) { impl_->open(std::move(done)); }

void StdbConnection::async_call_transfer(std::uint32_t from, std::uint32_t to, std::int64_t amount,
                                         std::chrono::milliseconds op_timeout, CallHandler done) {
    impl_->call(from, to, amount, op_timeout, std::move(done));
}

void StdbConnection::async_close(CloseHandler done) { impl_->close(std::move(done)); }

bool StdbConnection::is_open() const { return impl_->is_open(); }
stdb::ProtocolVersion StdbConnection::protocol() const { return impl_->protocol(); }
std::string StdbConnection::url() const { return impl_->url(); }

}  // namespace benchdist::generator
