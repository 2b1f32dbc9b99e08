// HeaderOnlyStream: the stream Beast's WebSocket handshake runs over on the
// lean ws:// path (issue 18, item 2), a beast::tcp_stream whose reads never
// take a byte past the end of the HTTP response header.
//
// Why: after the handshake the socket leaves Beast (its fd goes to a ConnIo,
// generator/conn_io.hpp) and Beast's websocket stream is destroyed with its
// private read buffer. The server's first message (InitialConnection) often
// arrives in the same TCP segment as the 101 response; had Beast read it
// into that buffer it would be lost. So until the header's "\r\n\r\n" has
// gone by, a read waits for readability, peeks (MSG_PEEK) at what the kernel
// holds and takes out only the bytes up to and including the end of the
// header: whatever follows stays in the kernel for the ConnIo to read. A 101
// has no body, so Beast reads nothing more; a refusal (404 with a body)
// keeps reading through the plain stream, as before. The costs -- a wait
// and two recv calls per read -- are paid once per connection.
#pragma once

#include <array>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <sys/socket.h>

namespace benchdist::generator::detail {

// Finds the end of an HTTP header ("\r\n\r\n") in bytes arriving in pieces.
class HeaderEndScanner {
public:
    // How many of `bytes` belong to the header: all of them while its end
    // is not among them, else up to and including the end's last byte.
    std::size_t scan(const std::uint8_t* bytes, std::size_t size) noexcept {
        static constexpr std::array<std::uint8_t, 4> kEnd{'\r', '\n', '\r', '\n'};
        for (std::size_t i = 0; i < size && !done(); ++i) {
            if (bytes[i] == kEnd[matched_]) {
                ++matched_;
                if (done()) return i + 1;
            } else {
                matched_ = bytes[i] == '\r' ? 1 : 0;
            }
        }
        return size;
    }
    bool done() const noexcept { return matched_ == 4; }

private:
    std::size_t matched_ = 0;
};

class HeaderOnlyStream {
public:
    using executor_type = boost::beast::tcp_stream::executor_type;
    using next_layer_type = boost::beast::tcp_stream;

    template <typename... Args>
    explicit HeaderOnlyStream(Args&&... args) : next_(std::forward<Args>(args)...) {}

    executor_type get_executor() noexcept { return next_.get_executor(); }
    next_layer_type& next_layer() noexcept { return next_; }
    const next_layer_type& next_layer() const noexcept { return next_; }

    template <typename ConstBuffers, typename Handler>
    auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
        return next_.async_write_some(buffers, std::forward<Handler>(handler));
    }

    template <typename MutableBuffers, typename Handler>
    auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
        if (header_.done()) return next_.async_read_some(buffers, std::forward<Handler>(handler));
        boost::asio::mutable_buffer target;
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
             ++it) {
            const boost::asio::mutable_buffer buffer = *it;
            if (buffer.size() > 0) {
                target = buffer;
                break;
            }
        }
        // Readiness first, then the peek: the handler never runs inside
        // this call, as Asio requires of an initiating function.
        return boost::asio::async_compose<Handler, void(boost::system::error_code, std::size_t)>(
            [this, target](auto& self, boost::system::error_code ec = {}) {
                if (!ec && target.size() > 0) {
                    const auto taken = take_header_bytes(target, ec);
                    if (ec == boost::asio::error::would_block) {
                        next_.socket().async_wait(boost::asio::socket_base::wait_read, std::move(self));
                        return;
                    }
                    self.complete(ec, taken);
                    return;
                }
                if (ec) {
                    self.complete(ec, 0);
                    return;
                }
                next_.socket().async_wait(boost::asio::socket_base::wait_read, std::move(self));
            },
            handler, next_.socket());
    }

private:
    // Whatever a first wait found: reads nothing before a wait happened.
    std::size_t take_header_bytes(boost::asio::mutable_buffer target, boost::system::error_code& ec) {
        if (!waited_) {
            waited_ = true;
            ec = boost::asio::error::would_block;
            return 0;
        }
        const int fd = next_.socket().native_handle();
        auto* bytes = static_cast<std::uint8_t*>(target.data());
        ssize_t peeked;
        do {
            peeked = ::recv(fd, bytes, target.size(), MSG_PEEK | MSG_DONTWAIT);
        } while (peeked < 0 && errno == EINTR);
        if (peeked < 0) {
            ec = errno == EAGAIN || errno == EWOULDBLOCK
                     ? boost::system::error_code(boost::asio::error::would_block)
                     : boost::system::error_code(errno, boost::system::system_category());
            return 0;
        }
        if (peeked == 0) {
            ec = boost::asio::error::eof;
            return 0;
        }
        const std::size_t take = header_.scan(bytes, static_cast<std::size_t>(peeked));
        ssize_t got;
        do {
            got = ::recv(fd, bytes, take, MSG_DONTWAIT);
        } while (got < 0 && errno == EINTR);
        if (got < 0) {
            ec = boost::system::error_code(errno, boost::system::system_category());
            return 0;
        }
        waited_ = false;
        return static_cast<std::size_t>(got);
    }

    next_layer_type next_;
    HeaderEndScanner header_;
    bool waited_ = false;
};

// Beast closes a websocket stream's transport through these (found by ADL).
inline void teardown(boost::beast::role_type role, HeaderOnlyStream& stream, boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    teardown(role, stream.next_layer().socket(), ec);
}

template <typename TeardownHandler>
void async_teardown(boost::beast::role_type role, HeaderOnlyStream& stream, TeardownHandler&& handler) {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, stream.next_layer().socket(), std::forward<TeardownHandler>(handler));
}

}  // namespace benchdist::generator::detail
