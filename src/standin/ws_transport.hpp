// WsTransport: the stand-in's side of a plain ws:// connection after Beast's
// handshake (issue 18, item 4). Beast's websocket stream cost the stand-in
// most of its CPU per transfer: a composed operation, a timer update and
// handler posts per message, a speculative read that fails, one write per
// reply. This reads into one buffer and parses the client's frames in place
// with net::ws (unmasking in place), and writes every frame queued since the
// last flush with one non-blocking send, falling back to an async write only
// when the socket's buffer is full.
//
// It keeps what Beast did for the stand-in (net/ws_frame.hpp's header):
// fragmented client messages are reassembled, control frames may come
// between fragments; outgoing messages are fragmented at 4 KiB; pings are
// answered with a pong carrying the same payload; a message over the limit
// fails the connection with 1009, a protocol violation with 1002, a text
// message that is not UTF-8 with 1007 (close frame without a reason, then
// TCP teardown); a client's close is echoed with its code (1000 when it sent
// none); with no bytes from the client for 15 s it sends a ping, and after
// 15 s more it drops the connection. A close the owner asks for (close())
// sends the code and reason, waits for the client's close frame, then tears
// down, as Beast's async_close.
//
// Reads use async_read_some, whose first read is speculative and fails with
// EAGAIN about once per message in a closed loop (Asio 1.81 stops trying only
// after a read of 0 bytes). Waiting for readability first was tried and
// measured: Asio queues such a wait with an epoll_ctl MOD, one system call
// for another, so it was dropped.
//
// Single-threaded: every call and every completion is on the socket's
// executor (the session's strand).
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "benchdist/net/ws_frame.hpp"

namespace benchdist::standin {

class WsTransportOwner {
public:
    // A whole message (fragments joined), valid until the call returns.
    // Text messages arrive here only when they are valid UTF-8.
    virtual void on_ws_message(std::span<const std::uint8_t> payload, bool text) = 0;
    // The connection is over (closed, failed, timed out); called once.
    virtual void on_ws_end() = 0;
    // Keeps the owner (and so the transport) alive while an operation runs.
    virtual std::shared_ptr<void> ws_keep_alive() = 0;

protected:
    ~WsTransportOwner() = default;
};

class WsTransport {
public:
    WsTransport(boost::asio::ip::tcp::socket socket, WsTransportOwner& owner, std::uint64_t max_message_bytes);

    // Starts reading; `already_read` holds bytes the handshake read past the
    // upgrade request (wire bytes, parsed first).
    void start(std::span<const std::uint8_t> already_read);

    // Queues one binary message; nothing is sent before flush().
    void queue_binary(std::span<const std::uint8_t> payload);
    // Sends everything queued: one send when the socket takes it all.
    void flush();

    // Sends a close frame with this code and reason (cut to 123 bytes),
    // then waits for the client's close and tears down.
    void close(std::uint16_t code, std::string_view reason);
    // True once a close is under way or the connection is over: replies are
    // no longer sent.
    bool closing() const { return state_ != State::Open; }

private:
    enum class State : std::uint8_t { Open, CloseSent, TearingDown, Ended };

    void read_some();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    // Parses and handles every complete frame in the buffer. False when the
    // connection failed or ended.
    bool process_frames();
    bool handle_frame(const net::ws::FrameHeader& h, std::span<std::uint8_t> payload);
    void handle_message(std::span<const std::uint8_t> payload, bool text);
    void queue_control(net::ws::Opcode op, std::span<const std::uint8_t> payload);
    void fail(std::uint16_t code);
    void teardown();
    void end();
    void arm_idle_timer();
    void on_write(const boost::system::error_code& ec, std::size_t n);

    boost::asio::ip::tcp::socket socket_;
    WsTransportOwner& owner_;
    net::ws::ReadLimits limits_;
    net::ws::MessageState message_state_;
    State state_ = State::Open;

    std::vector<std::uint8_t> in_;  // wire bytes [in_begin_, in_end_)
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::vector<std::uint8_t> fragments_;  // a fragmented message so far

    std::vector<std::uint8_t> out_;      // frames queued since the last send
    std::vector<std::uint8_t> sending_;  // what an async write still holds
    bool async_writing_ = false;
    bool shut_down_ = false;  // tearing down: our side is half-closed

    boost::asio::steady_timer idle_timer_;
    bool heard_ = false;      // bytes read since the last idle tick
    bool ping_sent_ = false;  // the keep-alive ping went out, still silent
};

}  // namespace benchdist::standin
