// The Beast glue of StdbConnection, as a template over the stream under the
// WebSocket: beast::tcp_stream for ws://, an ssl_stream over it for wss://,
// and beast::test::stream in the unit tests, whose fail_count makes the N-th
// read or write fail so that every failure path (handshake, read, write,
// close) can be walked without a socket. The glue runs the connection's
// states -- connect, TLS, upgrade, InitialConnection, open, closing -- and
// the timers that bound them; which calls are in flight and what goes out
// next is the CallPipeline's business. Plain ws:// with a ConnIoFactory
// (ConnectionOptions::io) uses it as an opener only, over a HeaderOnlyStream:
// once the upgrade is done it hands the socket to the lean data path and
// replaces itself in its StdbConnection (hand_off, stdb_connection_open.hpp).
// Only stdb_connection.cpp and tests include this header: it pulls in Asio
// and Beast.
#pragma once

#include <algorithm>
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
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchdist/generator/call_pipeline.hpp"
#include "benchdist/generator/protocol_errors.hpp"
#include "benchdist/generator/stdb_connection.hpp"
#include "benchdist/net/tls_context.hpp"
#include "generator/connection_impl.hpp"
#include "generator/handler_memory.hpp"
#include "generator/header_only_stream.hpp"
#include "generator/lean_connection.hpp"
#include "generator/server_message.hpp"
#include "generator/silence_watch.hpp"

namespace benchdist::generator {

class ResolvedServer {
public:
    boost::asio::ip::tcp::resolver::results_type results;
    // Set exactly when the target is wss://.
    std::shared_ptr<const net::TlsClientContext> tls;
};

namespace detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// What to tell an operator whose upgrade got this HTTP status.
std::string upgrade_hint(unsigned status);

// The connection over one stream type: plain ws:// uses beast::tcp_stream,
// wss:// the same code over an ssl_stream, the only difference being the TLS
// handshake (if constexpr); a stream whose lowest layer is not a TCP stream
// (beast::test::stream) is taken as connected already, and has no socket
// options, no bind and no connect deadline.
template <typename Stream>
class StdbConnectionImpl final : public StdbConnection::Impl,
                                 private ServerMessageTarget,
                                 public std::enable_shared_from_this<StdbConnectionImpl<Stream>> {
public:
    static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
    static constexpr bool kTcp = std::is_same_v<beast::lowest_layer_type<Stream>, beast::tcp_stream>;
    // Opens only: after the upgrade the lean data path takes the socket.
    static constexpr bool kLeanOpener = std::is_same_v<Stream, HeaderOnlyStream>;
    using OpenHandler = StdbConnection::OpenHandler;
    using CallHandler = StdbConnection::CallHandler;
    using CloseHandler = StdbConnection::CloseHandler;

    // stream_args construct the stream under the WebSocket: the io_context,
    // and for wss:// the TLS context; in tests whatever a test stream takes.
    // server may be null only when the stream is not a TCP stream.
    template <typename... StreamArgs>
    StdbConnectionImpl(asio::io_context& io, std::shared_ptr<const ResolvedServer> server, ConnectionOptions options,
                       StreamArgs&&... stream_args)
        : ws_(std::forward<StreamArgs>(stream_args)...),
          timer_(io),
          close_timer_(io),
          idle_timer_(io),
          server_(std::move(server)),
          opt_(std::move(options)),
          url_(opt_.target.to_string()),
          calls_(opt_.max_inflight) {}

    enum class State { Idle, Connecting, Handshaking, AwaitInitial, Open, Closing, Closed };

    void open(OpenHandler done) override {
        if (state_ != State::Idle) {
            post_open_error(std::move(done), "connection to " + url_ + " was already opened once");
            return;
        }
        open_done_ = std::move(done);
        state_ = State::Connecting;
        if constexpr (!kTcp) {
            // The test put the other end in place: carry on as after a connect.
            asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->on_connect({}); });
        } else {
            start_connect();
        }
    }

    void call(std::uint32_t from, std::uint32_t to, std::int64_t amount, std::chrono::milliseconds op_timeout,
              CallHandler done) override {
        if (state_ != State::Open || calls_.full()) {
            const bool open = state_ == State::Open;
            asio::post(ws_.get_executor(), [done = std::move(done), open, limit = calls_.max_inflight()] {
                const std::string text =
                    open ? "already " + std::to_string(limit) + " calls in flight on this connection (--max-inflight)"
                         : std::string("connection is not open");
                done(CallOutcome{open ? CallStatus::InternalError : CallStatus::Disconnected, text});
            });
            return;
        }
        const auto deadline = calls_.call_start_time() + op_timeout;
        calls_.add_transfer(from, to, amount, deadline, op_timeout, std::move(done));
        if (!timer_armed_) arm_op_timer(deadline);
        if (!calls_.dispatching()) flush();
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
        slot_ = nullptr;
        open_done_ = nullptr;
        opt_.on_protocol_error = nullptr;
        calls_.drop_all();
        close_done_ = nullptr;
        if (state_ != State::Closing) {
            state_ = State::Closed;
            drop_socket();
        }
    }

    bool is_open() const override { return state_ == State::Open; }
    std::size_t in_flight() const override { return calls_.in_flight(); }
    std::size_t max_inflight() const override { return calls_.max_inflight(); }
    void raise_max_inflight(std::size_t n) override { calls_.raise_max_inflight(n); }
    std::uint64_t frames_sent() const override { return calls_.frames_sent(); }
    std::uint64_t calls_sent() const override { return calls_.calls_sent(); }
    stdb::ProtocolVersion protocol() const override { return protocol_; }
    const std::string& url() const override { return url_; }

    // The lean path's opener: where StdbConnection keeps this object, to be
    // replaced by the lean connection once the upgrade is done.
    void hand_off_into(std::shared_ptr<StdbConnection::Impl>* slot) { slot_ = slot; }

    // For tests: the WebSocket stream and, under it, the test stream.
    websocket::stream<Stream>& stream() { return ws_; }

private:
    // Opening: connect, TLS, upgrade (stdb_connection_open.hpp).
    // The TCP connect, from a given source address or from any.
    void start_connect();
    // A bound socket cannot go through the range connect, which closes and
    // reopens the socket for every endpoint it tries (losing the bind): the
    // server's endpoints of the source address's family are tried one by
    // one here instead, each on a freshly bound socket, all under the one
    // connect deadline.
    void connect_from_source();
    void connect_next_endpoint(beast::error_code last_error);
    void on_connect(beast::error_code ec);
    void on_tls_handshake(beast::error_code ec);
    void start_upgrade();
    void on_handshake(beast::error_code ec);
    // The lean path: the socket leaves Beast for a ConnIo (lean_connection.hpp).
    void hand_off();

    // Reads and writes happen once per transfer: their operations' memory
    // is recycled per thread (handler_memory.hpp), never malloc'd.
    void read() {
        ws_.async_read(rbuf_,
                       asio::bind_allocator(HandlerAllocator<void>(),
                                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                                self->on_read(ec);
                                            }));
    }

    void on_read(beast::error_code ec) {
        if (state_ == State::Closed) return;
        if (ec) {
            if (state_ == State::Closing) return;  // on_close finishes the job
            if (ec == websocket::condition::protocol_violation || ec == websocket::error::message_too_big) {
                protocol_error(ProtocolErrorKind::WebSocketFrame,
                               "the WebSocket layer refused the server's frame: " + ec.message(), {});
                return;
            }
            std::string why = ec == websocket::error::closed
                                  ? "server closed the connection (code " + std::to_string(ws_.reason().code) +
                                        (ws_.reason().reason.empty() ? ""
                                                                     : ": " + std::string(ws_.reason().reason.data(),
                                                                                          ws_.reason().reason.size())) +
                                        ")"
                                  : ec.message();
            lost("connection to " + url_ + " lost: " + why);
            return;
        }
        silence_.heard();
        const auto data = rbuf_.cdata();
        const std::span<const std::uint8_t> payload(static_cast<const std::uint8_t*>(data.data()), data.size());
        if (!ws_.got_binary()) {
            protocol_error(ProtocolErrorKind::TextFrame, "server sent a text frame on a binary protocol", payload);
            return;
        }
        // Keep this object alive across the user callbacks below (they may
        // destroy the owning StdbConnection).
        auto self = this->shared_from_this();
        // The one clock reading for everything this read completes: the
        // outcomes' time, and the deadlines of the calls their handlers make.
        if (!take_server_message(*this, calls_, payload, protocol_, scratch_, std::chrono::steady_clock::now())) return;
        if (state_ == State::Open) flush();
        rbuf_.consume(rbuf_.size());
        if (state_ == State::Open || state_ == State::AwaitInitial || state_ == State::Closing) read();
    }

    // ServerMessageTarget (server_message.hpp).
    bool awaiting_initial() const override { return state_ == State::AwaitInitial; }
    void opened() override {
        state_ = State::Open;
        timer_.cancel();
        arm_idle_check();
        auto done = std::move(open_done_);
        open_done_ = nullptr;
        if (done) done(std::string());
    }
    bool open() const override { return state_ == State::Open; }
    bool closed() const override { return state_ == State::Closed; }

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
        if (state_ != State::Open || calls_.in_flight() == 0) return;
        const auto now = std::chrono::steady_clock::now();
        const auto check = calls_.check_deadlines(now);
        if (!check.expired) {
            if (check.next) arm_op_timer(*check.next);
            return;
        }
        // Close first, so the handlers see a connection that is no longer
        // open and never send another request on it.
        auto self = this->shared_from_this();
        start_close();
        calls_.time_out_expired(now);
        calls_.fail_all("connection closed because another call on it timed out");
    }

    // Writes what the outbox holds unless a write is under way: on v3 every
    // queued call up to the SDK's 256 KiB frame cap in one message, on v2
    // the oldest call alone (CallPipeline::start_write).
    void flush() {
        if (state_ != State::Open || !calls_.write_ready()) return;
        const auto frame = calls_.start_write(protocol_);
        ws_.async_write(asio::buffer(frame.data(), frame.size()),
                        asio::bind_allocator(HandlerAllocator<void>(),
                                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                                 self->calls_.finish_write();
                                                 if (ec) {
                                                     self->lost("sending to " + self->url_ +
                                                                " failed: " + ec.message());
                                                     return;
                                                 }
                                                 self->flush();
                                             }));
    }

    // A message from the server this connection cannot take: reported to
    // the owner (counted and logged there), then the connection is given up
    // as for any broken connection. Only while opening or open: once closing,
    // what the server still sends no longer matters.
    void protocol_error(ProtocolErrorKind kind, std::string_view detail, std::span<const std::uint8_t> frame) override {
        if (state_ != State::AwaitInitial && state_ != State::Open) return;
        if (opt_.on_protocol_error) opt_.on_protocol_error(ProtocolErrorEvent{kind, url_, detail, frame});
        fail_connection("protocol error (" + std::string(protocol_error_kind_name(kind)) + ") on " + url_ + ": " +
                        std::string(detail));
    }

    void fail_connection(const std::string& msg) override {
        if (state_ == State::AwaitInitial) {
            fail_open(msg);
            return;
        }
        auto self = this->shared_from_this();
        if (state_ == State::Open) start_close();
        calls_.fail_all(msg);
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
        calls_.fail_all(why);
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
        calls_.clear_outbox();
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
        calls_.fail_all("connection closed");
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
        if constexpr (kTcp) {
            beast::error_code ignored;
            auto& socket = beast::get_lowest_layer(ws_).socket();
            if (socket.is_open()) {
                socket.shutdown(tcp::socket::shutdown_both, ignored);
                socket.close(ignored);
            }
        } else {
            beast::get_lowest_layer(ws_).close();
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
    std::vector<std::uint8_t> scratch_;

    OpenHandler open_done_;
    CloseHandler close_done_;
    // The calls in flight and the outbox. Not merged with the load worker's
    // own table of calls (LoadSession's Worker::Call): see load_session_impl.hpp.
    CallPipeline calls_;
    bool timer_armed_ = false;
    SilenceWatch silence_;
    bool ping_pending_ = false;
    std::shared_ptr<StdbConnection::Impl>* slot_ = nullptr;  // kLeanOpener: see hand_off_into
};

}  // namespace detail
}  // namespace benchdist::generator

// The opening phase's member definitions.
#include "generator/stdb_connection_open.hpp"
