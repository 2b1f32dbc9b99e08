#include "generator/lean_connection.hpp"

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "benchdist/generator/call_pipeline.hpp"
#include "benchdist/generator/protocol_errors.hpp"
#include "benchdist/net/ws_frame.hpp"
#include "generator/conn_io.hpp"
#include "generator/server_message.hpp"
#include "generator/silence_watch.hpp"

namespace benchdist::generator::detail {

namespace asio = boost::asio;
namespace ws = net::ws;
using Clock = std::chrono::steady_clock;

namespace {

// A partial frame kept across reads grows the buffer; past this it is
// given back once empty, so one large message does not pin memory.
constexpr std::size_t kKeepBufferBytes = 64 * 1024;

std::uint64_t fresh_mask_seed() {
    // Once per connection (see MaskKeySource for why this is enough).
    thread_local std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

std::string errno_text(int error) { return std::system_category().message(error); }

class LeanConnection final : public StdbConnection::Impl,
                             public ConnIoOwner,
                             private ServerMessageTarget,
                             public std::enable_shared_from_this<LeanConnection> {
public:
    enum class State { AwaitInitial, Open, Closing, Closed };

    LeanConnection(asio::io_context& io, LeanHandOff&& h)
        : io_(io),
          timer_(io),
          close_timer_(io),
          idle_timer_(io),
          opt_(std::move(h.options)),
          url_(std::move(h.url)),
          protocol_(h.protocol),
          open_done_(std::move(h.open_done)),
          calls_(h.max_inflight),
          masks_(fresh_mask_seed()) {}

    ~LeanConnection() override {
        if (conn_) conn_->close();
    }

    void start(int fd, Clock::time_point open_deadline) {
        conn_ = opt_.io->adopt(fd, *this);
        timer_.expires_at(open_deadline);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->state_ != State::AwaitInitial) return;
            self->fail_open("connected to " + self->url_ +
                            " but the server did not complete the handshake (101 + InitialConnection) within " +
                            std::to_string(self->opt_.handshake_timeout.count()) + " ms");
        });
        conn_->start_reading();
    }

    // --- StdbConnection::Impl ------------------------------------------------

    void open(StdbConnection::OpenHandler done) override {
        asio::post(io_,
                   [done = std::move(done), why = "connection to " + url_ + " was already opened once"] { done(why); });
    }

    void call(std::uint32_t from, std::uint32_t to, std::int64_t amount, std::chrono::milliseconds op_timeout,
              StdbConnection::CallHandler done) override {
        if (state_ != State::Open || calls_.full()) {
            const bool open = state_ == State::Open;
            asio::post(io_, [done = std::move(done), open, limit = calls_.max_inflight()] {
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

    void close(StdbConnection::CloseHandler done) override {
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
            case State::Closed:
                drop_socket();
                if (done) asio::post(io_, std::move(done));
                return;
        }
    }

    void release() override {
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

    // --- ConnIoOwner ---------------------------------------------------------

    void on_io_bytes(std::span<const std::uint8_t> bytes) override {
        if (state_ == State::Closed) return;
        // The handlers below may destroy the owning StdbConnection.
        auto self = shared_from_this();
        batch_now_ = Clock::now();
        if (in_.empty()) {
            // The common case: whole frames, parsed where the ConnIo read them.
            const std::size_t used = process(bytes);
            if (state_ != State::Closed && used < bytes.size()) in_.assign(bytes.begin() + used, bytes.end());
        } else {
            in_.insert(in_.end(), bytes.begin(), bytes.end());
            const std::size_t used = process(in_);
            if (state_ == State::Closed) {
                in_.clear();
            } else {
                in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(used));
            }
            if (in_.empty() && in_.capacity() > kKeepBufferBytes) std::vector<std::uint8_t>().swap(in_);
        }
        batch_now_.reset();
        flush();
    }

    void on_io_read_end(int error) override {
        if (state_ == State::Closed) return;
        if (state_ == State::Closing) {
            on_close();
            return;
        }
        // Beast's words for the same ends, so logs read as before.
        lost("connection to " + url_ + " lost: " + (error == 0 ? std::string("End of file") : errno_text(error)));
    }

    void on_io_sent(int error) override {
        sending_ = false;
        finish_send();
        if (state_ == State::Closed) return;
        if (error != 0) {
            if (state_ == State::Closing) {
                on_close();
                return;
            }
            lost("sending to " + url_ + " failed: " + errno_text(error));
            return;
        }
        flush();
    }

private:
    // --- Reading -------------------------------------------------------------

    // Handles every whole frame at the start of `bytes`; returns how many
    // bytes they took (the rest is an incomplete frame).
    std::size_t process(std::span<const std::uint8_t> bytes) {
        std::size_t used = 0;
        while (used < bytes.size() && state_ != State::Closed) {
            const auto rest = bytes.subspan(used);
            const auto r = ws::parse_server_frame(rest, limits_, message_);
            if (r.is_error()) {
                frame_error(r.error);
                return bytes.size();
            }
            if (r.needs_more()) break;
            const auto& h = r.header;
            const std::size_t total = h.header_length + static_cast<std::size_t>(h.payload_length);
            if (rest.size() < total) break;
            message_.accept(h);
            used += total;
            handle_frame(h, rest.subspan(h.header_length, static_cast<std::size_t>(h.payload_length)));
        }
        return used;
    }

    void handle_frame(const ws::FrameHeader& h, std::span<const std::uint8_t> payload) {
        silence_.heard();  // any frame: a message, a ping, a pong, a close
        switch (h.opcode) {
            case ws::Opcode::Ping:
                // Beast answers pings except while closing.
                if (state_ == State::Open || state_ == State::AwaitInitial) queue_control(ws::Opcode::Pong, payload);
                return;
            case ws::Opcode::Pong:
                return;
            case ws::Opcode::Close:
                on_server_close(payload);
                return;
            default:
                break;
        }
        if (h.fin && h.opcode != ws::Opcode::Continuation) {
            on_message(payload, h.opcode == ws::Opcode::Text);
            return;
        }
        fragments_.insert(fragments_.end(), payload.begin(), payload.end());
        if (h.fin) {
            std::vector<std::uint8_t> whole;
            whole.swap(fragments_);
            on_message(whole, message_.opcode == ws::Opcode::Text);
            if (whole.capacity() <= kKeepBufferBytes && fragments_.empty()) {
                whole.clear();
                fragments_.swap(whole);
            }
        }
    }

    void on_server_close(std::span<const std::uint8_t> payload) {
        const auto close = ws::parse_close_payload(payload);
        if (state_ == State::Closing) {
            on_close();  // the answer to our close (or anything: we are done)
            return;
        }
        if (!close.ok) {
            frame_error_text(ws::kCloseProtocolError, ws::describe(close.error));
            return;
        }
        // Echoed with the code alone, 1000 when the server sent none (Beast).
        send_close(close.code == ws::kCloseNoStatus ? ws::kCloseNormal : close.code);
        // Beast reports an empty close as code 0 (close_code::none).
        const unsigned code = close.code == ws::kCloseNoStatus ? 0u : close.code;
        lost("connection to " + url_ + " lost: server closed the connection (code " + std::to_string(code) +
             (close.reason.empty() ? "" : ": " + std::string(close.reason)) + ")");
    }

    void frame_error(ws::FrameError error) { frame_error_text(ws::close_code_for(error), ws::describe(error)); }

    // The server broke the WebSocket protocol: fail the connection with
    // this close code as Beast does, and report it as Beast's errors were.
    void frame_error_text(std::uint16_t code, std::string_view what) {
        if (state_ == State::Closing) {
            on_close();
            return;
        }
        send_close(code);
        failed_ = true;
        protocol_error(ProtocolErrorKind::WebSocketFrame,
                       "the WebSocket layer refused the server's frame: " + std::string(what), {});
    }

    // One whole message (fragments joined).
    void on_message(std::span<const std::uint8_t> payload, bool text) {
        if (text) {
            protocol_error(ProtocolErrorKind::TextFrame, "server sent a text frame on a binary protocol", payload);
            return;
        }
        take_server_message(*this, calls_, payload, protocol_, scratch_, batch_now_ ? *batch_now_ : Clock::now());
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

    // --- Writing -------------------------------------------------------------

    // Sends what is waiting, control frames first, one send at a time; a
    // send the kernel takes at once is followed by the next right here.
    void flush() {
        while (!sending_ && state_ != State::Closed && conn_) {
            std::span<const std::uint8_t> out;
            if (!control_out_.empty()) {
                control_sending_.swap(control_out_);
                control_out_.clear();
                out = control_sending_;
            } else if (state_ == State::Open && calls_.write_ready()) {
                out = frame_next_message();
                data_sending_ = true;
            } else {
                return;
            }
            if (!conn_->send(out)) {
                sending_ = true;
                return;
            }
            finish_send();
        }
    }

    void finish_send() {
        if (data_sending_) {
            data_sending_ = false;
            calls_.finish_write();
        }
        control_sending_.clear();
    }

    // The next message as one masked binary frame, its header written in
    // the room CallPipeline leaves in front and the payload masked in
    // place. One frame per message, not Beast's 4 KiB fragments: a server
    // must take unfragmented frames, and one header costs less than many.
    std::span<const std::uint8_t> frame_next_message() {
        const auto payload = calls_.start_write(protocol_, ws::kMaxHeaderBytes);
        ws::FrameHeader h;
        h.fin = true;
        h.opcode = ws::Opcode::Binary;
        h.masked = true;
        h.mask_key = masks_.next();
        h.payload_length = payload.size();
        const std::size_t header = ws::header_length(payload.size(), true);
        std::uint8_t* start = payload.data() - header;
        ws::write_frame_header(std::span<std::uint8_t>(start, header), h);
        ws::apply_mask(payload, h.mask_key);
        return {start, header + payload.size()};
    }

    void queue_control(ws::Opcode op, std::span<const std::uint8_t> payload) {
        std::array<std::uint8_t, ws::kMaxControlFrameBytes> frame{};
        const ws::MaskKey key = masks_.next();
        const std::size_t n = ws::write_control_frame(frame, op, payload, &key);
        control_out_.insert(control_out_.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));
    }

    void send_close(std::uint16_t code) {
        if (close_sent_) return;
        close_sent_ = true;
        std::array<std::uint8_t, ws::kMaxControlPayload> payload{};
        const std::size_t n = ws::write_close_payload(payload, code, {});
        queue_control(ws::Opcode::Close, std::span<const std::uint8_t>(payload.data(), n));
        flush();
    }

    // --- Timers --------------------------------------------------------------

    void arm_idle_check() {
        if (opt_.idle_timeout.count() <= 0) return;
        idle_timer_.expires_after(opt_.idle_timeout / 2);
        idle_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->on_idle_check();
        });
    }

    void on_idle_check() {
        if (state_ != State::Open) return;
        switch (silence_.check()) {
            case SilenceWatch::Verdict::Alive:
                break;
            case SilenceWatch::Verdict::SendPing:
                queue_control(ws::Opcode::Ping, {});
                flush();
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

    // One timer, armed lazily for the oldest call's deadline (as on Beast's path).
    void arm_op_timer(Clock::time_point deadline) {
        timer_armed_ = true;
        timer_.expires_at(deadline);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->on_op_timer();
        });
    }

    void on_op_timer() {
        timer_armed_ = false;
        if (state_ != State::Open || calls_.in_flight() == 0) return;
        const auto now = Clock::now();
        const auto check = calls_.check_deadlines(now);
        if (!check.expired) {
            if (check.next) arm_op_timer(*check.next);
            return;
        }
        auto self = shared_from_this();
        start_close();
        calls_.time_out_expired(now);
        calls_.fail_all("connection closed because another call on it timed out");
    }

    // --- Endings -------------------------------------------------------------

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
        auto self = shared_from_this();
        if (state_ == State::Open) start_close();
        calls_.fail_all(msg);
    }

    void lost(const std::string& why) {
        if (state_ == State::Closed) return;
        auto self = shared_from_this();
        if (state_ == State::AwaitInitial) {
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

    // Our close frame, then the server's answer (or its end of the stream,
    // or close_timeout) ends it.
    void start_close() {
        state_ = State::Closing;
        timer_.cancel();
        timer_armed_ = false;
        idle_timer_.cancel();
        calls_.clear_outbox();
        close_timer_.expires_after(opt_.close_timeout);
        close_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec && self->state_ == State::Closing) self->on_close();
        });
        if (failed_) {
            // The close frame went out with the failure: nothing to wait
            // for (Beast's close on a failed stream completes at once).
            asio::post(io_, [self = shared_from_this()] { self->on_close(); });
            return;
        }
        send_close(ws::kCloseNormal);
    }

    void on_close() {
        if (state_ != State::Closing) return;
        state_ = State::Closed;
        close_timer_.cancel();
        drop_socket();
        auto self = shared_from_this();
        calls_.fail_all("connection closed");
        finish_close();
    }

    void finish_close() {
        auto done = std::move(close_done_);
        close_done_ = nullptr;
        if (done) done();
    }

    // Closes the socket; the ConnIo object stays until this connection
    // goes, since its read buffer may be what on_io_bytes is walking.
    void drop_socket() {
        timer_.cancel();
        timer_armed_ = false;
        idle_timer_.cancel();
        close_timer_.cancel();
        if (conn_) conn_->close();
        sending_ = false;
        finish_send();
        control_out_.clear();
    }

    asio::io_context& io_;
    asio::steady_timer timer_;        // open deadline, then the op deadline
    asio::steady_timer close_timer_;  // bounds the close handshake
    asio::steady_timer idle_timer_;   // the SilenceWatch's checks while open
    ConnectionOptions opt_;
    std::string url_;
    stdb::ProtocolVersion protocol_;
    State state_ = State::AwaitInitial;
    StdbConnection::OpenHandler open_done_;
    StdbConnection::CloseHandler close_done_;
    CallPipeline calls_;
    std::unique_ptr<ConnIo> conn_;

    ws::ReadLimits limits_;  // Beast's default: 16 MiB per message
    ws::MessageState message_;
    std::vector<std::uint8_t> in_;                // an incomplete frame carried to the next read
    std::vector<std::uint8_t> fragments_;         // a fragmented message so far
    std::vector<std::uint8_t> scratch_;           // decompression
    std::optional<Clock::time_point> batch_now_;  // the current read's one clock reading, for every message in it

    ws::MaskKeySource masks_;
    std::vector<std::uint8_t> control_out_;      // pongs, pings, the close: sent before data
    std::vector<std::uint8_t> control_sending_;  // what a send under way holds
    bool sending_ = false;
    bool data_sending_ = false;
    bool close_sent_ = false;
    bool failed_ = false;  // a protocol violation: our close frame already went
    bool timer_armed_ = false;
    SilenceWatch silence_;
};

}  // namespace

std::shared_ptr<StdbConnection::Impl> start_lean_connection(asio::io_context& io, LeanHandOff hand_off) {
    const int fd = hand_off.fd;
    const auto deadline = hand_off.open_deadline;
    auto connection = std::make_shared<LeanConnection>(io, std::move(hand_off));
    connection->start(fd, deadline);
    return connection;
}

}  // namespace benchdist::generator::detail
