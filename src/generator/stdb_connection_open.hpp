// The opening phase of StdbConnectionImpl (stdb_connection_impl.hpp): the
// TCP connect (from any address, or bound to a --source-addresses entry and
// walking the server's endpoints itself), the TLS handshake for wss://, the
// WebSocket upgrade with the sub-protocol offer, and what each failure tells
// the operator. Kept apart from the running connection's reads, writes and
// timers because the two change for different reasons; included only at the
// end of stdb_connection_impl.hpp.
#pragma once

#include "generator/stdb_connection_impl.hpp"

namespace benchdist::generator::detail {

template <typename Stream>
void StdbConnectionImpl<Stream>::start_connect() {
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
                                               [self = this->shared_from_this()](beast::error_code ec,
                                                                                 const tcp::endpoint&) {
                                                   self->on_connect(ec);
                                               });
}

template <typename Stream>
void StdbConnectionImpl<Stream>::connect_from_source() {
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

template <typename Stream>
void StdbConnectionImpl<Stream>::connect_next_endpoint(beast::error_code last_error) {
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

template <typename Stream>
void StdbConnectionImpl<Stream>::on_connect(beast::error_code ec) {
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
    if constexpr (kTcp) {
        beast::get_lowest_layer(ws_).expires_never();
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    }

    // One deadline for TLS, the upgrade and InitialConnection.
    state_ = State::Handshaking;
    timer_.expires_after(opt_.handshake_timeout);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code tec) {
        if (tec) return;
        if (self->state_ == State::Handshaking || self->state_ == State::AwaitInitial) {
            self->fail_open("connected to " + self->url_ +
                            " but the server did not complete the handshake "
                            "(" +
                            std::string(kTls ? "TLS + " : "") + "101 + InitialConnection) within " +
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

template <typename Stream>
void StdbConnectionImpl<Stream>::on_tls_handshake(beast::error_code ec) {
    if (state_ != State::Handshaking) return;
    if (ec) {
        if constexpr (kTls) {
            fail_open(
                net::describe_tls_failure(ws_.next_layer().native_handle(), url_, opt_.target.host, ec.message()));
        }
        return;
    }
    start_upgrade();
}

template <typename Stream>
void StdbConnectionImpl<Stream>::start_upgrade() {
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
    ws_.set_option(websocket::stream_base::decorator([offer, token = opt_.token](websocket::request_type& req) {
        req.set(http::field::sec_websocket_protocol, offer);
        req.set(http::field::user_agent, "bench-dist-generator");
        if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    }));
    ws_.binary(true);
    ws_.async_handshake(res_, opt_.target.host_header, opt_.target.target,
                        [self = this->shared_from_this()](beast::error_code hec) { self->on_handshake(hec); });
}

template <typename Stream>
void StdbConnectionImpl<Stream>::on_handshake(beast::error_code ec) {
    if (state_ != State::Handshaking) return;
    if (ec) {
        // Beast fills res_ only once a whole answer was read (its error is
        // then one of the WebSocket category: declined, no Upgrade header,
        // bad Sec-WebSocket-Accept, ...); before that it holds a 500 Beast
        // puts there itself, which no server sent.
        const bool answered = ec.category() == websocket::make_error_code(websocket::error::closed).category();
        const std::string is_it = " -- is --stdb-url a SpacetimeDB server, and nothing between cutting connections?";
        if (ec == http::error::end_of_stream) {
            fail_open("the server at " + url_ + " closed the connection without answering the WebSocket upgrade" +
                      is_it);
            return;
        }
        if (ec == http::error::partial_message || ec == asio::ssl::error::stream_truncated) {
            fail_open(
                "the server's answer to the WebSocket upgrade was cut off: the connection closed before a "
                "whole HTTP response had arrived (" +
                url_ + ")" + is_it);
            return;
        }
        if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
            fail_open("the server's answer to the WebSocket upgrade is not valid HTTP: " + ec.message() + " (" + url_ +
                      ")" + is_it);
            return;
        }
        const unsigned status = answered ? res_.result_int() : 0;
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
        fail_open("server at " + url_ + " chose " + std::string(stdb::subprotocol_name(protocol_)) + " although only " +
                  std::string(stdb::subprotocol_name(*opt_.force_protocol)) + " was offered");
        return;
    }
    res_ = {};  // the response body is no longer needed
    if constexpr (kLeanOpener) {
        hand_off();
        return;
    }
    state_ = State::AwaitInitial;
    read();
}

template <typename Stream>
void StdbConnectionImpl<Stream>::hand_off() {
    // Keeps this object alive while it replaces itself in the slot.
    auto self = this->shared_from_this();
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(ws_).socket();
    const int fd = socket.release(ec);
    if (ec || slot_ == nullptr) {
        if (!ec) ::close(fd);
        fail_open("connection to " + url_ + ": cannot take the socket over from Beast: " + ec.message());
        return;
    }
    LeanHandOff h;
    h.options = std::move(opt_);
    h.url = url_;
    h.protocol = protocol_;
    h.max_inflight = calls_.max_inflight();
    h.open_deadline = timer_.expiry();
    h.open_done = std::move(open_done_);
    open_done_ = nullptr;
    h.fd = fd;
    // This object is done: nothing of it may run again. Its websocket
    // stream, with Beast's buffers, goes with it.
    state_ = State::Closed;
    timer_.cancel();
    auto& slot = *slot_;
    slot_ = nullptr;
    slot = start_lean_connection(static_cast<asio::io_context&>(timer_.get_executor().context()), std::move(h));
}

}  // namespace benchdist::generator::detail
