#include "benchdist/generator/ws_connection.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/system/errc.hpp>
#include <algorithm>
#include <optional>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/generator/handler_memory.hpp"
#include "benchdist/generator/silence_watch.hpp"
#include "benchdist/net/tls_context.hpp"
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
    // Set exactly when the target is wss://.
    std::shared_ptr<const net::TlsClientContext> tls;
};

std::shared_ptr<const ResolvedServer> resolve_server(const stdb::HttpTarget& target,
                                                     std::shared_ptr<const net::TlsClientContext> tls) {
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
    if (target.tls) server->tls = tls ? std::move(tls) : net::default_tls_client_context();
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
        case 401:
        case 403:
            return " -- the server refused this caller: pass its token with --stdb-token (or STDB_TOKEN), or check "
                   "the one given";
        default: return " -- check --stdb-url";
    }
}

}  // namespace

// What StdbConnection forwards to: one virtual call per API call (open,
// call, close), never per byte; the stream type is fixed inside.
class StdbConnection::Impl {
public:
    virtual ~Impl() = default;
    virtual void open(OpenHandler done) = 0;
    virtual void call(std::uint32_t from, std::uint32_t to, std::int64_t amount,
                      std::chrono::milliseconds op_timeout, CallHandler done) = 0;
    virtual void close(CloseHandler done) = 0;
    virtual void release() = 0;
    virtual bool is_open() const = 0;
    virtual std::size_t in_flight() const = 0;
    virtual std::uint64_t frames_sent() const = 0;
    virtual std::uint64_t calls_sent() const = 0;
    virtual stdb::ProtocolVersion protocol() const = 0;
    virtual const std::string& url() const = 0;
};

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// The connection over one stream type: plain ws:// uses beast::tcp_stream
// exactly as before TLS existed, wss:// the same code over an ssl_stream,
// the only difference being the TLS handshake (if constexpr).
template <typename Stream>
class ConnectionImpl final : public StdbConnection::Impl,
                             public std::enable_shared_from_this<ConnectionImpl<Stream>> {
public:
    static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
    using OpenHandler = StdbConnection::OpenHandler;
    using CallHandler = StdbConnection::CallHandler;
    using CloseHandler = StdbConnection::CloseHandler;

    ConnectionImpl(asio::io_context& io, std::shared_ptr<const ResolvedServer> server, ConnectionOptions options)
        : ws_(make_stream(io, *server)), timer_(io), close_timer_(io), idle_timer_(io), server_(std::move(server)),
          opt_(std::move(options)), url_(opt_.target.to_string()),
          max_inflight_(std::max<std::size_t>(1, opt_.max_inflight)), calls_(max_inflight_) {}

    enum class State { Idle, Connecting, Handshaking, AwaitInitial, Open, Closing, Closed };

    void open(OpenHandler done) override {
        if (state_ != State::Idle) {
            post_open_error(std::move(done), "connection to " + url_ + " was already opened once");
            return;
        }
        open_done_ = std::move(done);
        state_ = State::Connecting;
        if (!opt_.source_address.empty()) {
            // Posted so that a bind failure, found synchronously, still
            // reaches the handler from the io_context as every other open
            // failure does (the handler may destroy this connection's owner).
            asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
                if (self->state_ == State::Connecting) self->connect_from_source();
            });
            return;
        }
        beast::get_lowest_layer(ws_).expires_after(opt_.connect_timeout);
        beast::get_lowest_layer(ws_).async_connect(server_->results,
                                       [self = this->shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                                           self->on_connect(ec);
                                       });
    }

    void call(std::uint32_t from, std::uint32_t to, std::int64_t amount, std::chrono::milliseconds op_timeout,
              CallHandler done) override {
        if (state_ != State::Open || in_flight_ >= max_inflight_) {
            const bool open = state_ == State::Open;
            asio::post(ws_.get_executor(), [done = std::move(done), open, limit = max_inflight_] {
                const std::string text = open ? "already " + std::to_string(limit) +
                                                    " calls in flight on this connection (--max-inflight)"
                                              : std::string("connection is not open");
                done(CallOutcome{open ? CallStatus::InternalError : CallStatus::Disconnected, text});
            });
            return;
        }
        const std::uint32_t id = next_request_id_++;
        const auto deadline = std::chrono::steady_clock::now() + op_timeout;
        for (auto& slot : calls_) {
            if (slot.active) continue;
            slot.active = true;
            slot.request_id = id;
            slot.deadline = deadline;
            slot.timeout = op_timeout;
            slot.done = std::move(done);
            break;
        }
        ++in_flight_;

        const std::size_t before = outbox_.size();
        bsatn::Writer w(outbox_);
        const auto args = stdb::transfer::transfer_args_bytes({from, to, amount});
        stdb::encode_call_reducer(w, id, stdb::transfer::kTransferReducer, args);
        outbox_sizes_.push_back(outbox_.size() - before);

        if (!timer_armed_) arm_op_timer(deadline);
        if (dispatching_ == 0) flush();
    }

    void close(CloseHandler done) override {
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
    void release() override {
        open_done_ = nullptr;
        for (auto& slot : calls_) {
            slot.active = false;
            slot.done = nullptr;
        }
        in_flight_ = 0;
        close_done_ = nullptr;
        if (state_ != State::Closing) {
            state_ = State::Closed;
            drop_socket();
        }
    }

    bool is_open() const override { return state_ == State::Open; }
    std::size_t in_flight() const override { return in_flight_; }
    std::uint64_t frames_sent() const override { return frames_sent_; }
    std::uint64_t calls_sent() const override { return calls_sent_; }
    stdb::ProtocolVersion protocol() const override { return protocol_; }
    const std::string& url() const override { return url_; }

private:
    static websocket::stream<Stream> make_stream(asio::io_context& io, const ResolvedServer& server) {
        if constexpr (kTls) {
            return websocket::stream<Stream>(io, server.tls->native());
        } else {
            return websocket::stream<Stream>(io);
        }
    }

    // A bound socket cannot go through the range connect, which closes and
    // reopens the socket for every endpoint it tries (losing the bind): the
    // server's endpoints of the source address's family are tried one by
    // one here instead, each on a freshly bound socket, all under the one
    // connect deadline.
    void connect_from_source() {
        beast::error_code ec;
        const auto address = asio::ip::make_address(opt_.source_address, ec);
        if (ec) {
            fail_open("--source-addresses " + opt_.source_address + ": not an IPv4 or IPv6 address");
            return;
        }
        source_ = tcp::endpoint(address, 0);
        next_endpoint_ = 0;
        connect_deadline_ = std::chrono::steady_clock::now() + opt_.connect_timeout;
        connect_next_endpoint({});
    }

    void connect_next_endpoint(beast::error_code last_error) {
        const auto& results = server_->results;
        auto it = results.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(next_endpoint_));
        while (it != results.end() && it->endpoint().protocol() != source_.protocol()) {
            ++it;
            ++next_endpoint_;
        }
        if (it == results.end()) {
            if (last_error) {
                on_connect(last_error);
            } else {
                const bool v6 = source_.address().is_v6();
                fail_open("--source-addresses " + opt_.source_address + ": an " + (v6 ? "IPv6" : "IPv4") +
                          " address, but the server of " + url_ + " resolved to " + (v6 ? "IPv4" : "IPv6") +
                          " addresses only -- give source addresses of the server's family");
            }
            return;
        }
        const tcp::endpoint target = it->endpoint();
        ++next_endpoint_;

        auto& socket = beast::get_lowest_layer(ws_).socket();
        beast::error_code ec;
        socket.close(ec);
        socket.open(target.protocol(), ec);
        if (ec) {
            fail_open("cannot connect to " + url_ + ": cannot open a socket: " + ec.message());
            return;
        }
#ifdef IP_BIND_ADDRESS_NO_PORT
        // Lets the kernel pick the port at connect time, when it knows the
        // destination, so ports are shared across destinations rather than
        // reserved per bind. Older kernels lack it; binding works without.
        const int one = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
        socket.bind(source_, ec);
        if (ec) {
            std::string hint;
            if (ec == boost::system::errc::address_not_available) {
                hint = " -- give addresses of this host's interfaces (127.0.0.2.. work on loopback)";
            } else if (ec == boost::system::errc::address_in_use) {
                hint = " -- its local ports are used up: give more addresses";
            }
            fail_open("--source-addresses " + opt_.source_address + ": cannot bind: " + ec.message() + hint);
            return;
        }
        beast::get_lowest_layer(ws_).expires_at(connect_deadline_);
        beast::get_lowest_layer(ws_).async_connect(target, [self = this->shared_from_this()](beast::error_code cec) {
            if (self->state_ != State::Connecting) return;
            if (cec && cec != beast::error::timeout) {
                self->connect_next_endpoint(cec);
                return;
            }
            self->on_connect(cec);
        });
    }

    void on_connect(beast::error_code ec) {
        if (state_ != State::Connecting) return;
        if (ec) {
            const bool bound = !opt_.source_address.empty();
            const std::string from = bound ? " from " + opt_.source_address : std::string();
            if (ec == boost::system::errc::address_not_available) {
                // connect() found no free local port for this destination.
                fail_open("cannot connect to " + url_ + from + ": " + ec.message() +
                          " -- the local ports towards that server are used up (about 28,000 per source address): " +
                          (bound ? "add more --source-addresses" : "spread the connections with --source-addresses") +
                          " or over more generators");
                return;
            }
            const std::string why = ec == beast::error::timeout
                                        ? "no answer within " + std::to_string(opt_.connect_timeout.count()) + " ms"
                                        : ec.message();
            fail_open("cannot connect to " + url_ + from + ": " + why +
                      " -- is SpacetimeDB (or stdb-standin) running and reachable there? check --stdb-url");
            return;
        }
        beast::get_lowest_layer(ws_).expires_never();
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);

        // One deadline for TLS, the upgrade and InitialConnection.
        state_ = State::Handshaking;
        timer_.expires_after(opt_.handshake_timeout);
        timer_.async_wait([self = this->shared_from_this()](beast::error_code tec) {
            if (tec) return;
            if (self->state_ == State::Handshaking || self->state_ == State::AwaitInitial) {
                self->fail_open("connected to " + self->url_ + " but the server did not complete the handshake "
                                "(" + std::string(kTls ? "TLS + " : "") + "101 + InitialConnection) within " +
                                std::to_string(self->opt_.handshake_timeout.count()) + " ms");
            }
        });
        if constexpr (kTls) {
            const std::string why = net::prepare_tls_session(ws_.next_layer().native_handle(), opt_.target.host);
            if (!why.empty()) {
                fail_open("cannot connect to " + url_ + ": " + why);
                return;
            }
            ws_.next_layer().async_handshake(asio::ssl::stream_base::client,
                                             [self = this->shared_from_this()](beast::error_code tec) {
                                                 self->on_tls_handshake(tec);
                                             });
        } else {
            start_upgrade();
        }
    }

    void on_tls_handshake(beast::error_code ec) {
        if (state_ != State::Handshaking) return;
        if (ec) {
            if constexpr (kTls) {
                fail_open(net::describe_tls_failure(ws_.next_layer().native_handle(), url_, opt_.target.host,
                                                    ec.message()));
            }
            return;
        }
        start_upgrade();
    }

    void start_upgrade() {

        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = opt_.handshake_timeout;
        // A dead server is found by our SilenceWatch (opt_.idle_timeout),
        // not by Beast's idle timeout, which re-arms a timer per read.
        timeouts.idle_timeout = websocket::stream_base::none();
        timeouts.keep_alive_pings = false;
        ws_.set_option(timeouts);
        // Pings, pongs and closes count as hearing from the server. The
        // callback lives in ws_, a member: it cannot outlive this object.
        ws_.control_callback([this](websocket::frame_type, beast::string_view) { silence_.heard(); });
        const std::string offer = opt_.force_protocol ? std::string(stdb::subprotocol_name(*opt_.force_protocol))
                                                      : std::string(stdb::kSubprotocolOfferV3V2);
        ws_.set_option(websocket::stream_base::decorator(
            [offer, token = opt_.token](websocket::request_type& req) {
                req.set(http::field::sec_websocket_protocol, offer);
                req.set(http::field::user_agent, "bench-dist-generator");
                if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
            }));
        ws_.binary(true);
        ws_.async_handshake(res_, opt_.target.host_header, opt_.target.target,
                            [self = this->shared_from_this()](beast::error_code hec) { self->on_handshake(hec); });
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

    // Reads and writes happen once per transfer: their operations' memory
    // is recycled per thread (handler_memory.hpp), never malloc'd.
    void read() {
        ws_.async_read(rbuf_, asio::bind_allocator(HandlerAllocator<void>(),
                                                   [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                                       self->on_read(ec);
                                                   }));
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
        silence_.heard();
        if (!ws_.got_binary()) {
            protocol_error("server sent a text frame on a binary protocol");
            return;
        }
        const auto data = rbuf_.cdata();
        const std::span<const std::uint8_t> payload(static_cast<const std::uint8_t*>(data.data()), data.size());
        // Keep this object alive across the user callbacks below (they may
        // destroy the owning StdbConnection).
        auto self = this->shared_from_this();
        // Calls made by the handlers below wait in the outbox and leave in
        // one write afterwards: results that arrived together are answered
        // together.
        ++dispatching_;
        try {
            const auto body = stdb::open_server_payload(payload, scratch_);
            stdb::ServerBodyCursor cursor(body, protocol_);
            while (cursor.next()) {
                if (cursor.tag() == stdb::ServerMessageTag::InitialConnection) {
                    if (state_ == State::AwaitInitial) {
                        state_ = State::Open;
                        timer_.cancel();
                        arm_idle_check();
                        auto done = std::move(open_done_);
                        open_done_ = nullptr;
                        if (done) done(std::string());
                    }
                } else if (const auto* r = cursor.reducer_result()) {
                    if (CallSlot* slot = find_call(r->request_id)) {
                        switch (r->outcome) {
                            case stdb::ReducerOutcomeKind::Ok:
                            case stdb::ReducerOutcomeKind::OkEmpty:
                                complete_call(*slot, CallStatus::Committed, {});
                                break;
                            case stdb::ReducerOutcomeKind::Err:
                                complete_call(*slot, CallStatus::ModuleError, r->error_text);
                                break;
                            case stdb::ReducerOutcomeKind::InternalError:
                                complete_call(*slot, CallStatus::InternalError, r->error_text);
                                break;
                        }
                    }
                }
                if (state_ == State::Closed) {
                    --dispatching_;
                    return;
                }
            }
        } catch (const std::exception& e) {
            --dispatching_;
            protocol_error(std::string("undecodable server message: ") + e.what());
            return;
        }
        --dispatching_;
        if (state_ == State::Open) flush();
        rbuf_.consume(rbuf_.size());
        if (state_ == State::Open || state_ == State::AwaitInitial || state_ == State::Closing) read();
    }

    // Every half idle timeout while open: is the server still there?
    void arm_idle_check() {
        if (opt_.idle_timeout.count() <= 0) return;
        idle_timer_.expires_after(opt_.idle_timeout / 2);
        idle_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) self->on_idle_check();
        });
    }

    void on_idle_check() {
        if (state_ != State::Open) return;
        switch (silence_.check()) {
            case SilenceWatch::Verdict::Alive:
                break;
            case SilenceWatch::Verdict::SendPing:
                // One ping at a time: Beast holds a single waiting ping.
                if (!ping_pending_) {
                    ping_pending_ = true;
                    ws_.async_ping({}, [self = this->shared_from_this()](beast::error_code) {
                        self->ping_pending_ = false;
                    });
                }
                break;
            case SilenceWatch::Verdict::Silent:
                lost("connection to " + url_ + " lost: no frame from the server for " +
                     std::to_string(opt_.idle_timeout.count()) +
                     " ms, not even an answer to a ping (idle timeout): the server is frozen or the network "
                     "path to it is gone");
                return;
        }
        arm_idle_check();
    }

    // One timer per connection, armed lazily for the oldest call's deadline:
    // results that arrive in time cost no timer operation at all, and the
    // timer wakes at most once per op timeout to look again.
    void arm_op_timer(std::chrono::steady_clock::time_point deadline) {
        timer_armed_ = true;
        timer_.expires_at(deadline);
        timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) self->on_op_timer();
        });
    }

    void on_op_timer() {
        timer_armed_ = false;
        if (state_ != State::Open || in_flight_ == 0) return;
        const auto now = std::chrono::steady_clock::now();
        std::optional<std::chrono::steady_clock::time_point> next;
        bool expired = false;
        for (const auto& slot : calls_) {
            if (!slot.active) continue;
            if (slot.deadline <= now) {
                expired = true;
            } else if (!next || slot.deadline < *next) {
                next = slot.deadline;
            }
        }
        if (!expired) {
            if (next) arm_op_timer(*next);
            return;
        }
        // Close first, so the handlers see a connection that is no longer
        // open and never send another request on it.
        auto self = this->shared_from_this();
        start_close();
        for (auto& slot : calls_) {
            if (!slot.active || slot.deadline > now) continue;
            complete_call(slot, CallStatus::Timeout,
                          "no ReducerResult within " + std::to_string(slot.timeout.count()) + " ms");
        }
        fail_all_calls("connection closed because another call on it timed out");
    }

    struct CallSlot;

    CallSlot* find_call(std::uint32_t request_id) {
        for (auto& slot : calls_) {
            if (slot.active && slot.request_id == request_id) return &slot;
        }
        return nullptr;
    }

    void complete_call(CallSlot& slot, CallStatus status, std::string_view text) {
        slot.active = false;
        --in_flight_;
        auto done = std::move(slot.done);
        slot.done = nullptr;
        if (done) done(CallOutcome{status, text});
    }

    // Every call still in flight ends as Disconnected. A handler may make new
    // calls (refused: not open) or release this connection; both are safe
    // while walking the fixed slots.
    void fail_all_calls(std::string_view why) {
        for (auto& slot : calls_) {
            if (slot.active) complete_call(slot, CallStatus::Disconnected, why);
        }
    }

    // Writes what the outbox holds unless a write is under way: on v3 every
    // queued call up to the SDK's 256 KiB frame cap in one message, on v2
    // the oldest call alone.
    void flush() {
        if (writing_ || outbox_sizes_.empty() || state_ != State::Open) return;
        std::size_t take_bytes = 0;
        std::size_t take_calls = 0;
        while (take_calls < outbox_sizes_.size()) {
            const std::size_t next = outbox_sizes_[take_calls];
            if (take_calls > 0 && (protocol_ == stdb::ProtocolVersion::V2 || take_bytes + next > kMaxV3FrameBytes)) break;
            take_bytes += next;
            ++take_calls;
        }
        wbuf_.assign(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(take_bytes));
        outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(take_bytes));
        outbox_sizes_.erase(outbox_sizes_.begin(), outbox_sizes_.begin() + static_cast<std::ptrdiff_t>(take_calls));
        ++frames_sent_;
        calls_sent_ += take_calls;
        writing_ = true;
        ws_.async_write(asio::buffer(wbuf_), asio::bind_allocator(HandlerAllocator<void>(), [self = this->shared_from_this()](
                                                                                   beast::error_code ec, std::size_t) {
            self->writing_ = false;
            if (ec) {
                self->lost("sending to " + self->url_ + " failed: " + ec.message());
                return;
            }
            self->flush();
        }));
    }

    void protocol_error(const std::string& what) {
        const std::string msg = "protocol error on " + url_ + ": " + what;
        if (state_ == State::AwaitInitial) {
            fail_open(msg);
            return;
        }
        auto self = this->shared_from_this();
        if (state_ == State::Open) start_close();
        fail_all_calls(msg);
    }

    // The connection ended without our close.
    void lost(const std::string& why) {
        if (state_ == State::Closed) return;
        auto self = this->shared_from_this();
        if (state_ == State::Connecting || state_ == State::Handshaking || state_ == State::AwaitInitial) {
            fail_open(why);
            return;
        }
        const bool was_closing = state_ == State::Closing;
        state_ = State::Closed;
        drop_socket();
        fail_all_calls(why);
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
        timer_armed_ = false;
        idle_timer_.cancel();
        outbox_.clear();
        outbox_sizes_.clear();
        close_timer_.expires_after(opt_.close_timeout);
        close_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec && self->state_ == State::Closing) self->on_close();
        });
        ws_.async_close(websocket::close_code::normal,
                        [self = this->shared_from_this()](beast::error_code) { self->on_close(); });
    }

    void on_close() {
        if (state_ != State::Closing) return;
        state_ = State::Closed;
        close_timer_.cancel();
        drop_socket();
        auto self = this->shared_from_this();
        fail_all_calls("connection closed");
        finish_close();
    }

    void finish_close() {
        auto done = std::move(close_done_);
        close_done_ = nullptr;
        if (done) done();
    }

    void drop_socket() {
        timer_.cancel();
        timer_armed_ = false;
        idle_timer_.cancel();
        beast::error_code ignored;
        auto& socket = beast::get_lowest_layer(ws_).socket();
        if (socket.is_open()) {
            socket.shutdown(tcp::socket::shutdown_both, ignored);
            socket.close(ignored);
        }
    }

    websocket::stream<Stream> ws_;
    asio::steady_timer timer_;        // open deadline, then the op deadline
    asio::steady_timer close_timer_;  // bounds the close handshake
    asio::steady_timer idle_timer_;   // the SilenceWatch's checks while open
    std::shared_ptr<const ResolvedServer> server_;
    ConnectionOptions opt_;
    // With a source address: it, the next of the server's endpoints to try
    // and the deadline shared by the tries.
    tcp::endpoint source_;
    std::size_t next_endpoint_ = 0;
    std::chrono::steady_clock::time_point connect_deadline_;
    std::string url_;
    websocket::response_type res_;

    State state_ = State::Idle;
    stdb::ProtocolVersion protocol_ = stdb::ProtocolVersion::V3;
    beast::flat_buffer rbuf_;
    std::vector<std::uint8_t> wbuf_;
    std::vector<std::uint8_t> scratch_;

    struct CallSlot {
        bool active = false;
        std::uint32_t request_id = 0;
        std::chrono::steady_clock::time_point deadline;
        std::chrono::milliseconds timeout{0};
        CallHandler done;
    };
    // The SDK's cap on one outgoing v3 message.
    static constexpr std::size_t kMaxV3FrameBytes = 256 * 1024;

    OpenHandler open_done_;
    CloseHandler close_done_;
    std::size_t max_inflight_ = 1;
    std::vector<CallSlot> calls_;  // max_inflight_ slots, reused
    std::size_t in_flight_ = 0;
    std::uint32_t next_request_id_ = 1;
    bool timer_armed_ = false;
    SilenceWatch silence_;
    bool ping_pending_ = false;
    // Encoded calls not yet written, and each one's size (for v2's one
    // message per frame and v3's frame cap).
    std::vector<std::uint8_t> outbox_;
    std::vector<std::size_t> outbox_sizes_;
    bool writing_ = false;
    int dispatching_ = 0;  // > 0 while results of a server message are handed out
    std::uint64_t frames_sent_ = 0;
    std::uint64_t calls_sent_ = 0;
};

}  // namespace

StdbConnection::StdbConnection(asio::io_context& io, std::shared_ptr<const ResolvedServer> server,
                               ConnectionOptions options) {
    if (options.target.tls != static_cast<bool>(server->tls)) {
        throw std::invalid_argument("StdbConnection: resolve_server was given another target than " +
                                    options.target.to_string());
    }
    if (server->tls) {
        impl_ = std::make_shared<ConnectionImpl<TlsStream>>(io, std::move(server), std::move(options));
    } else {
        impl_ = std::make_shared<ConnectionImpl<PlainStream>>(io, std::move(server), std::move(options));
    }
}

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
std::size_t StdbConnection::in_flight() const { return impl_->in_flight(); }
std::uint64_t StdbConnection::frames_sent() const { return impl_->frames_sent(); }
std::uint64_t StdbConnection::calls_sent() const { return impl_->calls_sent(); }
stdb::ProtocolVersion StdbConnection::protocol() const { return impl_->protocol(); }
std::string StdbConnection::url() const { return impl_->url(); }

}  // namespace benchdist::generator
