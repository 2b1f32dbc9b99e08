// One io_uring per worker thread, driven by that thread's asio::io_context
// (issue 18): the ring's completions signal an eventfd that the io_context
// reads like any socket, so Asio timers and io_uring completions share one
// thread and one epoll_wait. A wake-up reaps every completion, dispatches
// each to the Sink (the connections, uring_conn_io.cpp), and hands every SQE
// the handlers queued meanwhile to the kernel in ONE io_uring_submit (then
// reaps what that submit completed at once, and so on, a few rounds). SQEs
// queued outside a dispatch (from a timer, say) are submitted by one posted
// turn, however many there are.
//
// Lifetime: the loop is shared by the backend and the io_context's pending
// handlers, so it may outlive the factory; it must not outlive the
// io_context (its eventfd is an Asio descriptor): destroy the factory and
// its ConnIos before the io_context, as a worker's members naturally are.
//
// Private to the io_uring backend; the only header besides
// uring_buffer_ring.hpp that includes liburing.
#pragma once

#include <liburing.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "generator/uring_buffer_ring.hpp"
#include "generator/uring_conn_io.hpp"

namespace benchdist::generator {

class UringLoop : public std::enable_shared_from_this<UringLoop> {
public:
    class Sink {
    public:
        // One completion; the CQE is valid only during the call. SQEs the
        // call queues go to the kernel after the whole batch.
        virtual void on_completion(const io_uring_cqe& cqe) = 0;

    protected:
        ~Sink() = default;
    };

    // The ring sized for `connections` sockets, its buffer ring registered
    // and multishot receive checked to work. Null with `why_not` saying
    // what failed and what to do when this kernel or sandbox refuses.
    static std::shared_ptr<UringLoop> create(boost::asio::io_context& io, std::size_t connections,
                                             const UringSizing& sizing, std::string& why_not);
    ~UringLoop();
    UringLoop(const UringLoop&) = delete;
    UringLoop& operator=(const UringLoop&) = delete;

    // Starts dispatching completions to `sink` (which must outlive the loop
    // or stop() it first).
    void start(Sink& sink);
    // No dispatch after this; the watch on the eventfd is cancelled so the
    // io_context lets go of the loop.
    void stop();

    // A free SQE, queued for the next submit. When the SQ is full, what is
    // queued is submitted first. Null only if the ring is broken.
    io_uring_sqe* next_sqe();

    ProvidedBufferRing& buffers() { return buffers_; }
    UringCounters& counters() { return counters_; }
    boost::asio::io_context& io() { return io_; }

private:
    explicit UringLoop(boost::asio::io_context& io);
    int init(std::size_t connections, const UringSizing& sizing, std::string& why_not);
    void watch();
    void on_eventfd_ready();
    // Reaps and dispatches every completion, submits what the handlers
    // queued, and reaps again what that submit completed at once.
    void turn();
    void dispatch_ready();
    enum class Notify { none, eventfd };
    void submit(Notify notify);
    // One posted turn, for SQEs queued outside a turn (timers, say).
    void request_turn();

    static constexpr int kQuietRounds = 4;

    boost::asio::io_context& io_;
    io_uring ring_{};
    bool ring_ready_ = false;
    ProvidedBufferRing buffers_;
    boost::asio::posix::stream_descriptor eventfd_watch_;
    std::uint64_t eventfd_count_ = 0;  // what the watch reads; only resetting it matters
    Sink* sink_ = nullptr;
    bool dispatching_ = false;
    bool turn_posted_ = false;
    unsigned queued_ = 0;  // SQEs handed out since the last submit
    UringCounters counters_;
};

}  // namespace benchdist::generator
