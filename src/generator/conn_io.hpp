// ConnIo: the bytes under a plain ws:// connection once Beast's handshake is
// done (issue 18, items 1 and 2). The lean WebSocket path
// (generator/lean_connection.*) frames, parses and dispatches; a ConnIo only
// moves bytes between it and the socket, through one of two backends chosen
// per session by --io-backend:
//
//   epoll   the socket stays on the thread's Asio io_context (epoll):
//           reads complete into the owner's callback, a send is tried at
//           once with a non-blocking send(2) and only waits on the reactor
//           when the kernel's buffer is full (generator/epoll_conn_io.*).
//   uring   the thread's io_uring (generator/uring_loop.*): one multishot
//           receive per connection into a ring of provided buffers, sends
//           queued as SQEs and submitted together once per turn of the
//           thread's loop, the ring's eventfd watched by the io_context so
//           Asio timers and the uring completions share one thread.
//
// wss:// and the unit tests' in-memory streams keep Beast's own data path.
//
// Threading: a ConnIoFactory belongs to one worker thread (its io_context);
// every call and every callback happens on that thread. Callbacks never run
// inside the ConnIo call that caused them (no re-entrancy): a failure found
// during a call is delivered later, from the io_context or the ring.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace benchdist::generator {

class ConnIoOwner {
public:
    // Bytes read from the socket, valid only during the call: the owner
    // copies what it cannot consume yet (a partial frame).
    virtual void on_io_bytes(std::span<const std::uint8_t> bytes) = 0;
    // The read side ended: error 0 for an orderly end (the peer closed,
    // recv returned 0), else an errno value. Called once; no on_io_bytes after it.
    virtual void on_io_read_end(int error) = 0;
    // The send that send() reported as pending finished: every byte handed
    // to the kernel (error 0), or an errno value. Called once per pending send.
    virtual void on_io_sent(int error) = 0;

protected:
    ~ConnIoOwner() = default;
};

class ConnIo {
public:
    virtual ~ConnIo() = default;
    // Starts delivering bytes to the owner. Call once.
    virtual void start_reading() = 0;
    // One send at a time. True: every byte is in the kernel already and
    // the buffer is free again (no callback). False: the send is under way
    // (or failed), on_io_sent follows exactly once, and the bytes must stay
    // valid and unchanged until it does.
    virtual bool send(std::span<const std::uint8_t> bytes) = 0;
    // shutdown(SHUT_WR): after our close frame, so the server sees the end.
    virtual void shutdown_send() = 0;
    // Stops reading, drops any send under way and closes the socket (at
    // once, or as soon as the backend no longer uses it). No callback runs
    // after close() returns; the owner may be destroyed right after.
    virtual void close() = 0;
};

// One per worker thread: takes over connected sockets for that thread.
class ConnIoFactory {
public:
    virtual ~ConnIoFactory() = default;
    // Takes ownership of `fd` (a connected, non-blocking TCP socket whose
    // handshake is done); `owner` must outlive the ConnIo or close() it first.
    virtual std::unique_ptr<ConnIo> adopt(int fd, ConnIoOwner& owner) = 0;
    // "epoll" or "io_uring", for logs and results.
    virtual std::string_view name() const = 0;
};

// The epoll backend on this io_context. Never fails.
std::unique_ptr<ConnIoFactory> make_epoll_conn_io(boost::asio::io_context& io);

// The io_uring backend on this io_context, sized for up to `connections`
// sockets. Null with `why_not` set when io_uring cannot be used here (no
// kernel support, refused by seccomp or a container, out of locked memory,
// no multishot receive or provided buffer rings), the text being what the
// generator logs when --io-backend auto falls back to epoll.
std::unique_ptr<ConnIoFactory> make_uring_conn_io(boost::asio::io_context& io, std::size_t connections,
                                                  std::string& why_not);

}  // namespace benchdist::generator
