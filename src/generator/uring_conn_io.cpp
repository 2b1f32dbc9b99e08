// The io_uring backend of ConnIo (generator/conn_io.hpp, uring_conn_io.hpp):
// per connection one multishot receive into the thread's provided buffers
// and at most one send, both as SQEs on the thread's UringLoop.
//
// A connection's state lives in a slot owned by the backend, not in the
// ConnIo handle: after close() the owner and the handle may be gone while
// the kernel still completes (or cancels) operations that name the slot.
// Each SQE's user_data carries the slot's index, its generation (bumped
// when the slot is reused) and the kind of operation, so a completion never
// reaches memory that was freed or a connection that came later; the socket
// is closed only when no operation of the ring refers to it any more.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "generator/conn_io.hpp"
#include "generator/uring_conn_io.hpp"
#include "generator/uring_loop.hpp"

namespace benchdist::generator {

namespace {

enum class Op : std::uint8_t { receive = 1, send = 2, cancel = 3 };

constexpr std::uint32_t kGenerationMask = 0xFF'FFFF;

std::uint64_t user_data(Op op, std::uint32_t generation, std::uint32_t index) {
    return (static_cast<std::uint64_t>(op) << 56) | (static_cast<std::uint64_t>(generation & kGenerationMask) << 32) |
           index;
}

struct Slot {
    ConnIoOwner* owner = nullptr;  // null once closed: no callback after close()
    int fd = -1;
    std::uint32_t generation = 0;
    bool in_use = false;
    bool reading = false;         // start_reading called, read side not ended
    bool receive_armed = false;   // a multishot receive is in the ring
    bool send_in_flight = false;  // a send SQE is in the ring
    bool shutdown_after_send = false;
    bool closing = false;
    std::uint8_t cancels_in_flight = 0;
    const std::uint8_t* send_data = nullptr;
    std::size_t send_left = 0;
};

// The thread's connections: the slot table and what each completion means.
class UringConnections final : public UringLoop::Sink {
public:
    explicit UringConnections(UringLoop& loop) : loop_(loop) {}
    UringConnections(const UringConnections&) = delete;
    UringConnections& operator=(const UringConnections&) = delete;
    ~UringConnections() {
        // Sockets still waiting for their cancellations: the ring's exit
        // (when the loop goes) drops its own references to them.
        for (Slot& slot : slots_) {
            if (slot.in_use) ::close(slot.fd);
        }
    }

    struct Handle {
        std::uint32_t index;
        std::uint32_t generation;
    };

    Handle adopt(int fd, ConnIoOwner& owner) {
        std::uint32_t index;
        if (!free_.empty()) {
            index = free_.back();
            free_.pop_back();
        } else {
            index = static_cast<std::uint32_t>(slots_.size());
            slots_.emplace_back();  // a deque: references to other slots stay valid
        }
        Slot& slot = slots_[index];
        const std::uint32_t generation = slot.generation;
        slot = Slot{};
        slot.owner = &owner;
        slot.fd = fd;
        slot.generation = generation;
        slot.in_use = true;
        ++loop_.counters().open_sockets;
        return {index, generation};
    }

    void start_reading(Handle handle) {
        Slot& slot = slots_[handle.index];
        slot.reading = true;
        arm_receive(handle.index);
    }

    void send(Handle handle, std::span<const std::uint8_t> bytes) {
        Slot& slot = slots_[handle.index];
        slot.send_data = bytes.data();
        slot.send_left = bytes.size();
        queue_send(handle.index);
    }

    void shutdown_send(Handle handle) {
        Slot& slot = slots_[handle.index];
        // A send still in the SQ would otherwise follow our FIN: the close
        // frame before the end, always.
        if (slot.send_in_flight) {
            slot.shutdown_after_send = true;
        } else {
            ::shutdown(slot.fd, SHUT_WR);
        }
    }

    void close(Handle handle) {
        Slot& slot = slots_[handle.index];
        slot.owner = nullptr;
        slot.reading = false;
        slot.shutdown_after_send = false;
        slot.closing = true;
        if (slot.receive_armed) cancel(handle.index, Op::receive);
        if (slot.send_in_flight) {
            // The owner may free the send's bytes as soon as we return, and
            // a send waiting for room is retried by the kernel, reading
            // them, whenever room appears before the cancel below is
            // submitted. Once the socket's send side is shut, that retry
            // (or the send itself, if still in the SQ) fails with EPIPE
            // before it copies a byte.
            ::shutdown(slot.fd, SHUT_WR);
            cancel(handle.index, Op::send);
        }
        release_if_idle(handle.index);
    }

    void on_completion(const io_uring_cqe& cqe) override {
        const auto op = static_cast<Op>(cqe.user_data >> 56);
        const auto generation = static_cast<std::uint32_t>(cqe.user_data >> 32) & kGenerationMask;
        const auto index = static_cast<std::uint32_t>(cqe.user_data);
        const bool current =
            index < slots_.size() && slots_[index].in_use && (slots_[index].generation & kGenerationMask) == generation;
        if (!current) {
            // Cannot happen while slots are released only when idle; the
            // buffer must go back all the same.
            if (cqe.flags & IORING_CQE_F_BUFFER) give_back_buffer(cqe);
            return;
        }
        switch (op) {
            case Op::receive:
                on_receive(index, cqe);
                break;
            case Op::send:
                on_send(index, cqe.res);
                break;
            case Op::cancel:
                --slots_[index].cancels_in_flight;
                release_if_idle(index);
                break;
        }
    }

private:
    void give_back_buffer(const io_uring_cqe& cqe) {
        loop_.buffers().give_back(static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
    }

    bool same_connection(std::uint32_t index, std::uint32_t generation) const {
        return slots_[index].in_use && slots_[index].generation == generation;
    }

    void on_receive(std::uint32_t index, const io_uring_cqe& cqe) {
        Slot& slot = slots_[index];
        const std::uint32_t generation = slot.generation;
        const bool more = cqe.flags & IORING_CQE_F_MORE;
        if (!more) slot.receive_armed = false;
        if (cqe.flags & IORING_CQE_F_BUFFER) {
            if (cqe.res > 0 && slot.reading) {
                const auto id = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
                slot.owner->on_io_bytes(loop_.buffers().bytes(id, static_cast<std::size_t>(cqe.res)));
            }
            give_back_buffer(cqe);
            // The owner may have closed (and the slot been released) meanwhile.
            if (!same_connection(index, generation)) return;
        }
        if (more) return;
        if (slot.closing) {
            release_if_idle(index);
        } else if (!slot.reading) {
            // Read side already ended; nothing more to say.
        } else if (cqe.res > 0 || cqe.res == -ENOBUFS) {
            // The kernel ended the multishot receive (buffers ran dry, or
            // its own limits): the bytes wait in the socket until re-armed.
            if (cqe.res == -ENOBUFS) ++loop_.counters().enobufs;
            ++loop_.counters().recv_rearms;
            arm_receive(index);
        } else {
            slot.reading = false;
            slot.owner->on_io_read_end(cqe.res == 0 ? 0 : -cqe.res);
        }
    }

    void on_send(std::uint32_t index, int result) {
        Slot& slot = slots_[index];
        slot.send_in_flight = false;
        if (slot.closing) {
            release_if_idle(index);
            return;
        }
        if (result == -EAGAIN || result == -EINTR) {
            queue_send(index);
            return;
        }
        if (result < 0) {
            slot.send_left = 0;
            slot.owner->on_io_sent(-result);
            return;
        }
        slot.send_data += result;
        slot.send_left -= static_cast<std::size_t>(result);
        if (slot.send_left > 0) {
            queue_send(index);  // a short send: the rest, in the next batch
            return;
        }
        if (slot.shutdown_after_send) {
            slot.shutdown_after_send = false;
            ::shutdown(slot.fd, SHUT_WR);
        }
        slot.owner->on_io_sent(0);
    }

    void arm_receive(std::uint32_t index) {
        Slot& slot = slots_[index];
        io_uring_sqe* sqe = loop_.next_sqe();
        if (sqe == nullptr) return fail_later(index, Op::receive);
        io_uring_prep_recv_multishot(sqe, slot.fd, nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = ProvidedBufferRing::kGroup;
        io_uring_sqe_set_data64(sqe, user_data(Op::receive, slot.generation, index));
        slot.receive_armed = true;
    }

    void queue_send(std::uint32_t index) {
        Slot& slot = slots_[index];
        io_uring_sqe* sqe = loop_.next_sqe();
        if (sqe == nullptr) return fail_later(index, Op::send);
        io_uring_prep_send(sqe, slot.fd, slot.send_data, slot.send_left, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, user_data(Op::send, slot.generation, index));
        slot.send_in_flight = true;
    }

    void cancel(std::uint32_t index, Op target) {
        Slot& slot = slots_[index];
        io_uring_sqe* sqe = loop_.next_sqe();
        if (sqe == nullptr) {
            // No SQE to cancel with: ending both directions ends the
            // receive (0) and the send (EPIPE) just as well.
            ::shutdown(slot.fd, SHUT_RDWR);
            return;
        }
        io_uring_prep_cancel64(sqe, user_data(target, slot.generation, index), 0);
        io_uring_sqe_set_data64(sqe, user_data(Op::cancel, slot.generation, index));
        ++slot.cancels_in_flight;
    }

    void release_if_idle(std::uint32_t index) {
        Slot& slot = slots_[index];
        if (!slot.closing || slot.receive_armed || slot.send_in_flight || slot.cancels_in_flight > 0) return;
        ::close(slot.fd);
        slot.fd = -1;
        slot.in_use = false;
        slot.closing = false;
        ++slot.generation;
        free_.push_back(index);
        --loop_.counters().open_sockets;
    }

    // A broken ring (no SQE even after submitting): the owner hears of it
    // from the io_context, never inside the call that found it.
    void fail_later(std::uint32_t index, Op op) {
        const std::uint32_t generation = slots_[index].generation;
        boost::asio::post(loop_.io(), [this, index, generation, op, alive = std::weak_ptr<int>(alive_)] {
            if (alive.expired() || !same_connection(index, generation) || slots_[index].owner == nullptr) return;
            Slot& slot = slots_[index];
            if (op == Op::send) {
                slot.owner->on_io_sent(EIO);
            } else if (slot.reading) {
                slot.reading = false;
                slot.owner->on_io_read_end(EIO);
            }
        });
    }

    UringLoop& loop_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // tells fail_later's handler we are gone
    std::deque<Slot> slots_;
    std::vector<std::uint32_t> free_;
};

// What the factory and every ConnIo share: the loop, and the connections
// it dispatches to. The loop may outlive it (a handler of the io_context
// holding it); stop() makes sure it dispatches to nothing then.
struct UringBackend {
    explicit UringBackend(std::shared_ptr<UringLoop> uring) : loop(std::move(uring)), connections(*loop) {
        loop->start(connections);
    }
    ~UringBackend() { loop->stop(); }
    UringBackend(const UringBackend&) = delete;
    UringBackend& operator=(const UringBackend&) = delete;

    std::shared_ptr<UringLoop> loop;
    UringConnections connections;
};

class UringConnIo final : public ConnIo {
public:
    UringConnIo(std::shared_ptr<UringBackend> backend, UringConnections::Handle handle)
        : backend_(std::move(backend)), handle_(handle) {}
    ~UringConnIo() override { close(); }
    UringConnIo(const UringConnIo&) = delete;
    UringConnIo& operator=(const UringConnIo&) = delete;

    void start_reading() override {
        if (!closed_) backend_->connections.start_reading(handle_);
    }
    bool send(std::span<const std::uint8_t> bytes) override {
        if (closed_ || bytes.empty()) return true;
        backend_->connections.send(handle_, bytes);
        return false;
    }
    void shutdown_send() override {
        if (!closed_) backend_->connections.shutdown_send(handle_);
    }
    void close() override {
        if (closed_) return;
        closed_ = true;
        backend_->connections.close(handle_);
    }

private:
    std::shared_ptr<UringBackend> backend_;
    UringConnections::Handle handle_;
    bool closed_ = false;
};

class UringConnIoFactory final : public ConnIoFactory {
public:
    explicit UringConnIoFactory(std::shared_ptr<UringBackend> backend) : backend_(std::move(backend)) {}

    std::unique_ptr<ConnIo> adopt(int fd, ConnIoOwner& owner) override {
        return std::make_unique<UringConnIo>(backend_, backend_->connections.adopt(fd, owner));
    }
    std::string_view name() const override { return "io_uring"; }
    const UringCounters& counters() const { return backend_->loop->counters(); }

private:
    std::shared_ptr<UringBackend> backend_;
};

}  // namespace

UringSizing UringSizing::for_connections(std::size_t connections) {
    std::uint32_t count = 256;
    while (count < 32768 && count < connections) count <<= 1;
    return {count, 1024};
}

std::unique_ptr<ConnIoFactory> make_uring_conn_io(boost::asio::io_context& io, std::size_t connections,
                                                  const UringSizing& sizing, std::string& why_not) {
    std::shared_ptr<UringLoop> loop = UringLoop::create(io, connections, sizing, why_not);
    if (!loop) return nullptr;
    return std::make_unique<UringConnIoFactory>(std::make_shared<UringBackend>(std::move(loop)));
}

std::unique_ptr<ConnIoFactory> make_uring_conn_io(boost::asio::io_context& io, std::size_t connections,
                                                  std::string& why_not) {
    return make_uring_conn_io(io, connections, UringSizing::for_connections(connections), why_not);
}

std::optional<UringCounters> uring_counters(const ConnIoFactory& factory) {
    if (const auto* uring = dynamic_cast<const UringConnIoFactory*>(&factory)) return uring->counters();
    return std::nullopt;
}

}  // namespace benchdist::generator
