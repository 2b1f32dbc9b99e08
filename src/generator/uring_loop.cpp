#include "generator/uring_loop.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace benchdist::generator {

namespace {

namespace asio = boost::asio;

std::string errno_text(int error) { return std::string(strerrordesc_np(error)) + " (" + strerrorname_np(error) + ")"; }

// What to do, at the end of every reason (under --io-backend auto the
// generator has already fallen back to epoll when it logs this).
constexpr const char* kUseEpoll = "; --io-backend epoll does without io_uring";

std::string why_setup_failed(int error) {
    std::string text = "io_uring_setup failed: " + errno_text(error);
    switch (error) {
        case ENOSYS:
            return text + ": this kernel has no io_uring" + kUseEpoll;
        case EPERM:
            return text + ": refused by kernel.io_uring_disabled, a seccomp filter or the container runtime (allow " +
                   "the io_uring_* system calls there to use it)" + kUseEpoll;
        case ENOMEM:
            return text + ": out of locked memory: raise the memlock limit (ulimit -l, LimitMEMLOCK= in systemd)" +
                   kUseEpoll;
        case EINVAL:
            return text + ": the kernel rejects the ring's setup flags (it needs Linux 5.19 or later)" + kUseEpoll;
        default:
            return text + kUseEpoll;
    }
}

unsigned next_power_of_two(std::size_t n) {
    unsigned power = 1;
    while (power < n && power < (1U << 30)) power <<= 1;
    return power;
}

// Posts a multishot receive on one end of a socket pair, writes a byte to
// the other and checks that the completion says more will follow: Linux
// 5.19 has buffer rings but refuses IORING_RECV_MULTISHOT (EINVAL; 6.0 on
// accept it). Then cancels the receive and waits for both completions, so
// the ring is clean. Runs before the eventfd is registered: wakes nobody.
int probe_multishot_receive(io_uring& ring, ProvidedBufferRing& buffers) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) return -errno;
    constexpr std::uint64_t kProbeReceive = 1;
    constexpr std::uint64_t kProbeCancel = 2;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, pair[0], nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = ProvidedBufferRing::kGroup;
    io_uring_sqe_set_data64(sqe, kProbeReceive);
    int outcome = io_uring_submit(&ring);
    if (outcome >= 0) outcome = ::write(pair[1], "x", 1) == 1 ? -ETIME : -errno;
    bool receive_ended = outcome != -ETIME;
    bool cancel_pending = false;
    // At most a second: on a sane kernel every completion is there at once.
    for (int waits = 0; waits < 10 && (!receive_ended || cancel_pending); ++waits) {
        __kernel_timespec timeout{0, 100'000'000};
        io_uring_cqe* cqe = nullptr;
        if (io_uring_wait_cqe_timeout(&ring, &cqe, &timeout) != 0) continue;
        if (cqe->user_data == kProbeReceive) {
            if (cqe->flags & IORING_CQE_F_BUFFER) buffers.give_back(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
            const bool more = cqe->flags & IORING_CQE_F_MORE;
            if (outcome == -ETIME) outcome = cqe->res == 1 && more ? 0 : (cqe->res < 0 ? cqe->res : -EINVAL);
            if (!more) receive_ended = true;
        } else if (cqe->user_data == kProbeCancel) {
            cancel_pending = false;
        }
        io_uring_cqe_seen(&ring, cqe);
        if (!receive_ended && outcome != -ETIME && !cancel_pending) {
            io_uring_sqe* cancel = io_uring_get_sqe(&ring);
            io_uring_prep_cancel64(cancel, kProbeReceive, 0);
            io_uring_sqe_set_data64(cancel, kProbeCancel);
            io_uring_submit(&ring);
            cancel_pending = true;
        }
    }
    ::close(pair[0]);
    ::close(pair[1]);
    return outcome;
}

}  // namespace

UringLoop::UringLoop(asio::io_context& io) : io_(io), eventfd_watch_(io) {}

UringLoop::~UringLoop() {
    // The ring first: the kernel lets go of the buffer ring's memory and of
    // every socket an operation still held, then the members free them.
    if (ring_ready_) io_uring_queue_exit(&ring_);
}

std::shared_ptr<UringLoop> UringLoop::create(asio::io_context& io, std::size_t connections, const UringSizing& sizing,
                                             std::string& why_not) {
    std::shared_ptr<UringLoop> loop(new UringLoop(io));
    if (loop->init(connections, sizing, why_not) != 0) return nullptr;
    return loop;
}

int UringLoop::init(std::size_t connections, const UringSizing& sizing, std::string& why_not) {
    // SQ: room for a send and a receive per connection of a typical batch;
    // a larger burst submits early (counted). CQ: every connection may have
    // a receive and a send completion waiting at once; beyond that (or the
    // kernel's own maximum, CLAMP) completions wait in the kernel's overflow
    // list (IORING_FEAT_NODROP), flushed by io_uring_peek_batch_cqe.
    io_uring_params params{};
    const unsigned sq_entries = next_power_of_two(std::clamp<std::size_t>(connections, 64, 4096));
    // COOP_TASKRUN: the kernel runs the ring's task work (a receive's
    // completion) when this thread next enters the kernel, instead of
    // interrupting it for each one. Without it a closed loop at 1,000
    // connections spent 24% of the generator's samples returning from those
    // interrupts (irqentry_exit_to_user_mode) and cost 12.1 us per transfer
    // against 8.5 with it (bench/load_bench.sh, pinned, docs/performance.md).
    // TASKRUN_FLAG lets liburing's peek see pending task work and flush it.
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                   IORING_SETUP_TASKRUN_FLAG;
    params.cq_entries = next_power_of_two(std::max<std::size_t>(2 * connections, 2 * sq_entries));
    if (int result = io_uring_queue_init_params(sq_entries, &ring_, &params); result < 0) {
        why_not = why_setup_failed(-result);
        return result;
    }
    ring_ready_ = true;
    if (!(params.features & IORING_FEAT_NODROP)) {
        why_not = "io_uring lacks IORING_FEAT_NODROP (it needs Linux 5.19 or later)" + std::string(kUseEpoll);
        return -EINVAL;
    }

    if (io_uring_probe* probe = io_uring_get_probe_ring(&ring_)) {
        const bool supported = io_uring_opcode_supported(probe, IORING_OP_SEND) &&
                               io_uring_opcode_supported(probe, IORING_OP_RECV) &&
                               io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL);
        io_uring_free_probe(probe);
        if (!supported) {
            why_not = "io_uring lacks send, receive or cancel operations (it needs Linux 6.0 or later)" +
                      std::string(kUseEpoll);
            return -EINVAL;
        }
    }

    if (int result = buffers_.register_with(ring_, sizing); result < 0) {
        why_not = "cannot register io_uring's provided buffer ring: " + errno_text(-result) +
                  (result == -EINVAL ? ": it needs Linux 5.19 or later" : "") +
                  (result == -ENOMEM ? ": raise the memlock limit (ulimit -l)" : "") + kUseEpoll;
        return result;
    }
    if (int result = probe_multishot_receive(ring_, buffers_); result < 0) {
        why_not = "io_uring's multishot receive does not work here: " + errno_text(-result) +
                  (result == -EINVAL ? ": it needs Linux 6.0 or later" : "") + kUseEpoll;
        return result;
    }

    const int event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd < 0) {
        why_not = "cannot make an eventfd for io_uring: " + errno_text(errno) + kUseEpoll;
        return -errno;
    }
    eventfd_watch_.assign(event_fd);
    if (int result = io_uring_register_eventfd(&ring_, event_fd); result < 0) {
        why_not = "cannot register an eventfd with io_uring: " + errno_text(-result) + kUseEpoll;
        return result;
    }
    return 0;
}

void UringLoop::start(Sink& sink) {
    sink_ = &sink;
    watch();
}

void UringLoop::stop() {
    sink_ = nullptr;
    boost::system::error_code ignored;
    eventfd_watch_.cancel(ignored);
}

void UringLoop::watch() {
    // A read of the eventfd rather than async_wait: Asio re-registers a
    // descriptor with epoll_ctl(EPOLL_CTL_MOD) for every async_wait (a system
    // call per wake-up, and with the counter unread the event fires again at
    // once), while a read is queued without one. Asio tries the read at once
    // (EAGAIN when nothing completed meanwhile), which also picks up the
    // completions our own submit just produced without an epoll_wait.
    eventfd_watch_.async_read_some(asio::buffer(&eventfd_count_, sizeof eventfd_count_),
                                   [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
                                       if (!error && self->sink_ != nullptr) self->on_eventfd_ready();
                                   });
}

void UringLoop::on_eventfd_ready() {
    ++counters_.wakeups;
    turn();
    // Renewed after the turn: completions posted since the read above make
    // the renewed read succeed at once.
    watch();
}

void UringLoop::turn() {
    dispatching_ = true;
    // Our own submit completes many SQEs at once (a send with room in the
    // socket); those completions are reaped here, in the same turn, rather
    // than by one more wake-up (another read of the eventfd, another
    // epoll_wait). Bounded, so that connections streaming without pause
    // cannot keep the io_context from its timers: the last submit of a turn
    // leaves the eventfd on, and what it completes wakes the next turn.
    for (int round = 0;; ++round) {
        dispatch_ready();
        if (queued_ == 0) break;
        if (round == kQuietRounds) {
            submit(Notify::eventfd);
            break;
        }
        submit(Notify::none);
    }
    dispatching_ = false;
}

void UringLoop::dispatch_ready() {
    io_uring_cqe* batch[256];
    for (;;) {
        // Also flushes the kernel's overflow list once the ring is empty.
        const unsigned count = io_uring_peek_batch_cqe(&ring_, batch, std::size(batch));
        if (count == 0) return;
        for (unsigned i = 0; i < count && sink_ != nullptr; ++i) sink_->on_completion(*batch[i]);
        io_uring_cq_advance(&ring_, count);
        counters_.cqes_reaped += count;
    }
}

void UringLoop::submit(Notify notify) {
    if (queued_ == 0) return;
    // With the eventfd off, what the kernel completes during our own
    // io_uring_enter is posted without a signal: every caller peeks the CQ
    // afterwards (turn() at once, others through the turn request_turn
    // posts). Completions come from task work run by this thread, so none
    // can slip in between; only io-wq workers post from elsewhere, and this
    // backend gives them no work (sockets are polled, never punted).
    const bool quiet = notify == Notify::none;
    if (quiet) io_uring_cq_eventfd_toggle(&ring_, false);
    int result;
    do {
        result = io_uring_submit(&ring_);
    } while (result == -EINTR);
    if (quiet) {
        io_uring_cq_eventfd_toggle(&ring_, true);
        std::atomic_thread_fence(std::memory_order_seq_cst);  // the flag's store before the CQ's load
    }
    if (result >= 0) {
        ++counters_.submit_calls;
        counters_.sqes_submitted += static_cast<unsigned>(result);
        queued_ -= std::min(queued_, static_cast<unsigned>(result));
        if (queued_ == 0) return;
    }
    // EBUSY/EAGAIN: the kernel holds completions it could not post; the next
    // turn reaps them and submits what is left.
    request_turn();
}

void UringLoop::request_turn() {
    if (dispatching_ || turn_posted_) return;
    turn_posted_ = true;
    asio::post(io_, [self = shared_from_this()] {
        self->turn_posted_ = false;
        self->turn();
    });
}

io_uring_sqe* UringLoop::next_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
        ++counters_.sq_full_submits;
        submit(Notify::none);
        sqe = io_uring_get_sqe(&ring_);
        if (sqe == nullptr) return nullptr;
    }
    ++queued_;
    request_turn();
    return sqe;
}

}  // namespace benchdist::generator
