#include "ws_transport.hpp"

#include <algorithm>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <string_view>

#include "benchdist/bsatn/reader.hpp"

namespace benchdist::standin {

namespace asio = boost::asio;
namespace ws = net::ws;

namespace {

// Room for many small frames per read; grows for a larger frame.
constexpr std::size_t kInitialReadBuffer = 16 * 1024;
// A buffer grown past this for one large message is given back afterwards,
// so a burst of big messages does not pin memory on an idle connection.
constexpr std::size_t kKeepBufferBytes = 1024 * 1024;
// Beast's write buffer, which is also where it cut our messages into frames
// (auto_fragment): clients have always seen frames of at most 4 KiB.
constexpr std::size_t kFragmentBytes = 4096;
// Beast's keep-alive with idle_timeout 30 s: a ping after half of it with
// nothing heard, the connection dropped after the other half.
constexpr auto kIdleTick = std::chrono::seconds(15);

}  // namespace

WsTransport::WsTransport(asio::ip::tcp::socket socket, WsTransportOwner& owner, std::uint64_t max_message_bytes)
    : socket_(std::move(socket)), owner_(owner), idle_timer_(socket_.get_executor()) {
    limits_.max_message_bytes = max_message_bytes;
}

void WsTransport::start(std::span<const std::uint8_t> already_read) {
    boost::system::error_code ec;
    // Writes are tried at once (flush); only a full socket buffer waits.
    socket_.non_blocking(true, ec);
    in_.resize(std::max(kInitialReadBuffer, already_read.size()));
    std::memcpy(in_.data(), already_read.data(), already_read.size());
    in_end_ = already_read.size();
    arm_idle_timer();
    if (in_end_ > 0 && !process_frames()) return;
    flush();
    read_some();
}

void WsTransport::read_some() {
    if (state_ == State::Ended) return;
    if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    if (in_end_ == in_.size()) {
        if (in_begin_ > 0) {
            std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
            in_end_ -= in_begin_;
            in_begin_ = 0;
        } else {
            in_.resize(in_.size() * 2);
        }
    }
    socket_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                            [keep = owner_.ws_keep_alive(), this](const boost::system::error_code& ec, std::size_t n) {
                                on_read(ec, n);
                            });
}

void WsTransport::on_read(const boost::system::error_code& ec, std::size_t n) {
    if (state_ == State::Ended) return;
    if (ec) return end();  // EOF or a reset: over, whatever state we were in
    heard_ = true;
    in_end_ += n;
    if (state_ == State::TearingDown) {
        in_begin_ = in_end_ = 0;  // waiting for the client's EOF: discard
    } else if (!process_frames()) {
        return;
    }
    flush();
    read_some();
}

bool WsTransport::process_frames() {
    while (state_ == State::Open || state_ == State::CloseSent) {
        const std::span<const std::uint8_t> bytes(in_.data() + in_begin_, in_end_ - in_begin_);
        if (bytes.empty()) break;
        const auto r = ws::parse_client_frame(bytes, limits_, message_state_);
        std::size_t wanted = 0;  // bytes from in_begin_ the next frame needs
        if (r.is_error()) {
            if (state_ == State::Open) {
                fail(ws::close_code_for(r.error));
            } else {
                teardown();
            }
            break;
        }
        if (r.needs_more()) {
            wanted = bytes.size() + r.need;
        } else {
            const auto& h = r.header;
            const std::size_t total = h.header_length + static_cast<std::size_t>(h.payload_length);
            if (bytes.size() < total) {
                wanted = total;
            } else {
                message_state_.accept(h);
                const std::span<std::uint8_t> payload(in_.data() + in_begin_ + h.header_length,
                                                      static_cast<std::size_t>(h.payload_length));
                ws::apply_mask(payload, h.mask_key);
                in_begin_ += total;
                handle_frame(h, payload);
                continue;
            }
        }
        // An incomplete frame: make room for all of it behind in_begin_.
        if (in_.size() - in_begin_ < wanted) {
            std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
            in_end_ -= in_begin_;
            in_begin_ = 0;
            if (in_.size() < wanted) in_.resize(wanted);
        }
        break;
    }
    if (in_begin_ == in_end_) {
        in_begin_ = in_end_ = 0;
        if (in_.size() > kKeepBufferBytes) {
            in_.assign(kInitialReadBuffer, 0);
            in_.shrink_to_fit();
        }
    }
    return state_ == State::Open || state_ == State::CloseSent || state_ == State::TearingDown;
}

bool WsTransport::handle_frame(const ws::FrameHeader& h, std::span<std::uint8_t> payload) {
    switch (h.opcode) {
        case ws::Opcode::Ping:
            // Beast answers pings except while closing.
            if (state_ == State::Open) queue_control(ws::Opcode::Pong, payload);
            return true;
        case ws::Opcode::Pong:
            return true;  // being heard is all a pong does (heard_)
        case ws::Opcode::Close: {
            const auto close = ws::parse_close_payload(payload);
            if (state_ == State::CloseSent) {
                teardown();  // the answer to our close
                return false;
            }
            if (!close.ok) {
                fail(ws::kCloseProtocolError);
                return false;
            }
            // Echo the code alone, 1000 when the client sent none (Beast).
            fail(close.code == ws::kCloseNoStatus ? ws::kCloseNormal : close.code);
            return false;
        }
        default:
            break;
    }
    if (state_ != State::Open) return true;  // closing: data is discarded
    if (h.fin && h.opcode != ws::Opcode::Continuation) {
        handle_message(payload, h.opcode == ws::Opcode::Text);
        return true;
    }
    fragments_.insert(fragments_.end(), payload.begin(), payload.end());
    if (h.fin) {
        handle_message(fragments_, message_state_.opcode == ws::Opcode::Text);
        fragments_.clear();
        if (fragments_.capacity() > kKeepBufferBytes) fragments_.shrink_to_fit();
    }
    return true;
}

void WsTransport::handle_message(std::span<const std::uint8_t> payload, bool text) {
    if (text &&
        !bsatn::is_valid_utf8(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()))) {
        return fail(1007);  // Beast validates text messages (invalid frame payload data)
    }
    owner_.on_ws_message(payload, text);
}

void WsTransport::queue_binary(std::span<const std::uint8_t> payload) {
    if (state_ != State::Open) return;
    std::size_t offset = 0;
    bool first = true;
    do {
        const std::size_t chunk = std::min(kFragmentBytes, payload.size() - offset);
        ws::FrameHeader h;
        h.fin = offset + chunk == payload.size();
        h.opcode = first ? ws::Opcode::Binary : ws::Opcode::Continuation;
        h.masked = false;
        h.payload_length = chunk;
        const std::size_t at = out_.size();
        out_.resize(at + ws::header_length(chunk, false));
        ws::write_frame_header(std::span(out_).subspan(at), h);
        out_.insert(out_.end(), payload.begin() + static_cast<std::ptrdiff_t>(offset),
                    payload.begin() + static_cast<std::ptrdiff_t>(offset + chunk));
        offset += chunk;
        first = false;
    } while (offset < payload.size());
}

void WsTransport::queue_control(ws::Opcode op, std::span<const std::uint8_t> payload) {
    std::array<std::uint8_t, ws::kMaxControlFrameBytes> frame{};
    const std::size_t n = ws::write_control_frame(frame, op, payload, nullptr);
    out_.insert(out_.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));
}

void WsTransport::flush() {
    if (async_writing_ || state_ == State::Ended) return;
    if (!out_.empty()) {
        boost::system::error_code ec;
        std::size_t n = socket_.write_some(asio::buffer(out_), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            n = 0;
        } else if (ec) {
            return end();
        }
        if (n < out_.size()) {
            // The socket's buffer is full: the rest waits for it to drain.
            sending_.assign(out_.begin() + static_cast<std::ptrdiff_t>(n), out_.end());
            out_.clear();
            async_writing_ = true;
            asio::async_write(socket_, asio::buffer(sending_),
                              [keep = owner_.ws_keep_alive(), this](const boost::system::error_code& e,
                                                                    std::size_t written) { on_write(e, written); });
            return;
        }
        out_.clear();
    }
    if (state_ == State::TearingDown && !shut_down_) {
        // Everything (the close frame last) is out: half-close, then wait
        // for the client's EOF (read_some discards until then).
        shut_down_ = true;
        boost::system::error_code ignored;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    }
}

void WsTransport::on_write(const boost::system::error_code& ec, std::size_t) {
    async_writing_ = false;
    sending_.clear();
    if (state_ == State::Ended) return;
    if (ec) return end();
    flush();
}

void WsTransport::close(std::uint16_t code, std::string_view reason) {
    if (state_ != State::Open) return;
    std::array<std::uint8_t, ws::kMaxControlPayload> payload{};
    const std::size_t n = ws::write_close_payload(payload, code, reason);
    queue_control(ws::Opcode::Close, std::span<const std::uint8_t>(payload.data(), n));
    state_ = State::CloseSent;
    flush();
}

void WsTransport::fail(std::uint16_t code) {
    if (state_ == State::Open) {
        std::array<std::uint8_t, ws::kMaxControlPayload> payload{};
        const std::size_t n = ws::write_close_payload(payload, code, {});
        queue_control(ws::Opcode::Close, std::span<const std::uint8_t>(payload.data(), n));
    }
    teardown();
}

void WsTransport::teardown() {
    if (state_ == State::TearingDown || state_ == State::Ended) return;
    state_ = State::TearingDown;
    flush();
}

void WsTransport::end() {
    if (state_ == State::Ended) return;
    state_ = State::Ended;
    idle_timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    owner_.on_ws_end();
}

void WsTransport::arm_idle_timer() {
    idle_timer_.expires_after(kIdleTick);
    idle_timer_.async_wait([keep = owner_.ws_keep_alive(), this](const boost::system::error_code& ec) {
        if (ec || state_ == State::Ended) return;
        if (heard_) {
            heard_ = false;
            ping_sent_ = false;
        } else if (!ping_sent_) {
            ping_sent_ = true;
            if (state_ == State::Open) {
                queue_control(ws::Opcode::Ping, {});
                flush();
            }
        } else {
            return end();  // silent for the whole idle timeout
        }
        arm_idle_timer();
    });
}

}  // namespace benchdist::standin
