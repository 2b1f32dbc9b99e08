// The epoll backend of ConnIo (conn_io.hpp): the fd goes back onto the
// thread's io_context as an Asio socket, so its reads ride Asio's epoll
// reactor; sends are tried at once with send(2) and only wait on the
// reactor when the kernel's buffer is full.
//
// Asio's async_read_some first tries the read speculatively, before asking
// epoll, and in a closed loop the answer is not there yet: one recv per
// transfer fails with EAGAIN (see src/standin/ws_transport.hpp's note on
// why waiting for readability first is no cheaper). The io_uring backend is
// the way around it.
//
// Pending handlers hold the shared Core, never the ConnIo: close() clears
// the owner and closes the socket, so a handler that still runs finds no
// owner to call, and the read buffer it may point into lives as long as it.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <memory>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include "generator/conn_io.hpp"

namespace benchdist::generator {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One read's worth: a closed loop's or a pipeline's results fit many times
// over; a larger message just takes more reads (the owner keeps the partial
// frame). Small, because it is per connection (issue 18, item 6: <= 8 KiB
// of memory per connection).
constexpr std::size_t kReadBufferBytes = 4096;

struct Core {
    Core(asio::io_context& io, ConnIoOwner& o) : socket(io), owner(&o) {}
    tcp::socket socket;
    ConnIoOwner* owner;  // null once closed
    std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(kReadBufferBytes);
};

void read_next(std::shared_ptr<Core> core) {
    auto& c = *core;
    c.socket.async_read_some(asio::buffer(c.buffer),
                             [core = std::move(core)](const boost::system::error_code& ec, std::size_t n) mutable {
                                 if (core->owner == nullptr) return;
                                 if (ec) {
                                     core->owner->on_io_read_end(ec == asio::error::eof ? 0 : ec.value());
                                     return;
                                 }
                                 core->owner->on_io_bytes(std::span<const std::uint8_t>(core->buffer.data(), n));
                                 if (core->owner != nullptr) read_next(std::move(core));
                             });
}

class EpollConnIo final : public ConnIo {
public:
    explicit EpollConnIo(std::shared_ptr<Core> core) : core_(std::move(core)) {}
    ~EpollConnIo() override { close(); }

    void start_reading() override { read_next(core_); }

    bool send(std::span<const std::uint8_t> bytes) override {
        const int fd = core_->socket.native_handle();
        ssize_t n;
        do {
            n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        if (n == static_cast<ssize_t>(bytes.size())) return true;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            // Reported later, never from inside this call.
            asio::post(core_->socket.get_executor(), [core = core_, error = errno] {
                if (core->owner != nullptr) core->owner->on_io_sent(error);
            });
            return false;
        }
        // The kernel's buffer is full: the rest goes when epoll says it may.
        const auto rest = bytes.subspan(n > 0 ? static_cast<std::size_t>(n) : 0);
        asio::async_write(core_->socket, asio::buffer(rest.data(), rest.size()),
                          [core = core_](const boost::system::error_code& ec, std::size_t) {
                              if (core->owner != nullptr) core->owner->on_io_sent(ec ? ec.value() : 0);
                          });
        return false;
    }

    void shutdown_send() override {
        boost::system::error_code ignored;
        core_->socket.shutdown(tcp::socket::shutdown_send, ignored);
    }

    void close() override {
        if (core_->owner == nullptr) return;
        core_->owner = nullptr;
        boost::system::error_code ignored;
        core_->socket.close(ignored);
    }

private:
    std::shared_ptr<Core> core_;
};

class EpollConnIoFactory final : public ConnIoFactory {
public:
    explicit EpollConnIoFactory(asio::io_context& io) : io_(io) {}

    std::unique_ptr<ConnIo> adopt(int fd, ConnIoOwner& owner) override {
        auto core = std::make_shared<Core>(io_, owner);
        sockaddr_storage local{};
        socklen_t length = sizeof local;
        const bool v6 =
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0 && local.ss_family == AF_INET6;
        boost::system::error_code ec;
        core->socket.assign(v6 ? tcp::v6() : tcp::v4(), fd, ec);
        if (ec) {
            ::close(fd);
            auto io = std::make_unique<EpollConnIo>(core);
            // The failure reaches the owner as the end of its reads.
            asio::post(io_, [core, error = ec.value()] {
                if (core->owner != nullptr) core->owner->on_io_read_end(error);
            });
            return io;
        }
        // Already so since Beast's connect; saying it spares Asio an ioctl.
        core->socket.non_blocking(true, ec);
        return std::make_unique<EpollConnIo>(std::move(core));
    }

    std::string_view name() const override { return "epoll"; }

private:
    asio::io_context& io_;
};

}  // namespace

std::unique_ptr<ConnIoFactory> make_epoll_conn_io(asio::io_context& io) {
    return std::make_unique<EpollConnIoFactory>(io);
}

}  // namespace benchdist::generator
