// The io_uring backend of ConnIo (generator/uring_conn_io.*) over real
// loopback TCP pairs: our end adopted by the backend, the peer a plain
// non-blocking socket the test drives between bounded turns of the
// io_context. Waits are on conditions with a deadline, never sleeps.
// Skipped only where make_uring_conn_io refuses (its why_not says why).
#include "generator/uring_conn_io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace gen = benchdist::generator;
using namespace std::chrono_literals;

void set_non_blocking(int fd) { ASSERT_EQ(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK), 0); }

// A connected loopback pair: `ours` for the backend, `peer` for the test.
struct TcpPair {
    int ours = -1;
    int peer = -1;
};

TcpPair connect_pair() {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    TcpPair pair;
    pair.ours = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(pair.ours, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    pair.peer = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    EXPECT_GE(pair.peer, 0);
    ::close(listener);
    set_non_blocking(pair.ours);
    return pair;
}

std::span<const std::uint8_t> as_bytes(const std::string& text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Whatever the peer can read now, appended to `into`; true once it read the end.
bool drain_peer(int peer, std::string& into) {
    char chunk[65536];
    for (;;) {
        const ssize_t got = ::recv(peer, chunk, sizeof chunk, MSG_DONTWAIT);
        if (got > 0) {
            into.append(chunk, static_cast<std::size_t>(got));
            continue;
        }
        return got == 0;
    }
}

struct RecordingOwner : gen::ConnIoOwner {
    std::string received;
    std::optional<int> read_end;
    std::vector<int> sent;
    bool closed = false;  // set when the test closes: every callback after it is a failure
    int calls_after_close = 0;
    std::function<void(std::span<const std::uint8_t>)> on_bytes;  // e.g. echo

    void on_io_bytes(std::span<const std::uint8_t> bytes) override {
        calls_after_close += closed;
        EXPECT_FALSE(read_end.has_value()) << "bytes after the read side ended";
        received.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        if (on_bytes) on_bytes(bytes);
    }
    void on_io_read_end(int error) override {
        calls_after_close += closed;
        EXPECT_FALSE(read_end.has_value()) << "read side ended twice";
        read_end = error;
    }
    void on_io_sent(int error) override {
        calls_after_close += closed;
        sent.push_back(error);
    }
};

class UringConnIoTest : public ::testing::Test {
protected:
    void make_backend(std::size_t connections, std::optional<gen::UringSizing> sizing = std::nullopt) {
        std::string why_not;
        factory_ = sizing ? gen::make_uring_conn_io(io_, connections, *sizing, why_not)
                          : gen::make_uring_conn_io(io_, connections, why_not);
        if (!factory_) GTEST_SKIP() << "io_uring unavailable here: " << why_not;
        EXPECT_EQ(factory_->name(), "io_uring");
    }

    gen::UringCounters counters() const { return *gen::uring_counters(*factory_); }

    // Turns the io_context in short bounded steps until `done` holds (true)
    // or five seconds pass (false).
    bool run_until(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            io_.restart();
            io_.run_for(2ms);
        }
        return true;
    }

    ~UringConnIoTest() override {
        for (int fd : peers_) ::close(fd);
    }

    TcpPair pair() {
        TcpPair made = connect_pair();
        peers_.push_back(made.peer);
        return made;
    }

    asio::io_context io_;
    std::unique_ptr<gen::ConnIoFactory> factory_;
    std::vector<int> peers_;
};

TEST_F(UringConnIoTest, MovesBytesBothWays) {
    make_backend(4);
    if (!factory_) return;
    const TcpPair sockets = pair();
    RecordingOwner owner;
    auto conn = factory_->adopt(sockets.ours, owner);
    conn->start_reading();

    const std::string hello = "hello, server";
    EXPECT_FALSE(conn->send(as_bytes(hello))) << "an io_uring send is always under way first";
    std::string at_peer;
    ASSERT_TRUE(run_until([&] {
        drain_peer(sockets.peer, at_peer);
        return !owner.sent.empty() && at_peer.size() == hello.size();
    }));
    EXPECT_EQ(owner.sent, std::vector<int>{0});
    EXPECT_EQ(at_peer, hello);

    ASSERT_EQ(::send(sockets.peer, "hello, client", 13, 0), 13);
    ASSERT_TRUE(run_until([&] { return owner.received.size() == 13; }));
    EXPECT_EQ(owner.received, "hello, client");
    conn->close();
}

TEST_F(UringConnIoTest, AnIdleLoopSleeps) {
    // The eventfd's counter must be consumed, or the io_context would wake
    // for it again and again with nothing to reap: a core spent on nothing.
    make_backend(1);
    if (!factory_) return;
    const TcpPair sockets = pair();
    RecordingOwner owner;
    auto conn = factory_->adopt(sockets.ours, owner);
    conn->start_reading();
    ASSERT_EQ(::send(sockets.peer, "wake", 4, 0), 4);
    ASSERT_TRUE(run_until([&] { return owner.received == "wake"; }));
    const std::uint64_t wakeups = counters().wakeups;
    for (int turn = 0; turn < 20; ++turn) {
        io_.restart();
        io_.run_for(1ms);
    }
    EXPECT_LE(counters().wakeups - wakeups, 1U) << "woken with nothing to do";
    conn->close();
}

TEST_F(UringConnIoTest, SendsOfManyConnectionsGoToTheKernelTogether) {
    constexpr int kConnections = 200;
    make_backend(kConnections);
    if (!factory_) return;
    std::vector<TcpPair> sockets;
    std::vector<std::unique_ptr<RecordingOwner>> owners;
    std::vector<std::unique_ptr<gen::ConnIo>> conns;
    const std::string message(100, 'm');
    for (int i = 0; i < kConnections; ++i) {
        sockets.push_back(pair());
        owners.push_back(std::make_unique<RecordingOwner>());
        conns.push_back(factory_->adopt(sockets.back().ours, *owners.back()));
        conns.back()->start_reading();
        // Each owner echoes what it gets: sends queued from within the
        // completions' dispatch.
        owners.back()->on_bytes = [&, i](std::span<const std::uint8_t>) {
            EXPECT_FALSE(conns[static_cast<std::size_t>(i)]->send(as_bytes(message)));
        };
    }
    ASSERT_TRUE(run_until([&] { return counters().sqes_submitted == kConnections; })) << "the receives";

    // Sends queued outside a dispatch (as from a timer): one posted submit.
    const gen::UringCounters before_sends = counters();
    asio::post(io_, [&] {
        for (auto& conn : conns) EXPECT_FALSE(conn->send(as_bytes(message)));
    });
    std::vector<std::string> at_peers(kConnections);
    ASSERT_TRUE(run_until([&] {
        for (const auto& owner : owners) {
            if (owner->sent.size() != 1) return false;
        }
        return true;
    }));
    const gen::UringCounters after_sends = counters();
    EXPECT_EQ(after_sends.sqes_submitted - before_sends.sqes_submitted, kConnections);
    EXPECT_EQ(after_sends.submit_calls - before_sends.submit_calls, 1U);

    // Every peer answers while our thread is busy here: the completions wait
    // in the ring and the echoes they cause go to the kernel in few submits.
    for (const TcpPair& each : sockets) ASSERT_EQ(::send(each.peer, message.data(), message.size(), 0), 100);
    ASSERT_TRUE(run_until([&] {
        for (const auto& owner : owners) {
            if (owner->sent.size() != 2) return false;
        }
        return true;
    }));
    const gen::UringCounters after_echoes = counters();
    EXPECT_EQ(after_echoes.sqes_submitted - after_sends.sqes_submitted, kConnections);
    EXPECT_LE(after_echoes.submit_calls - after_sends.submit_calls, 4U)
        << "echoes queued in one dispatch are submitted together";
    for (std::size_t i = 0; i < sockets.size(); ++i) {
        drain_peer(sockets[i].peer, at_peers[i]);
        EXPECT_EQ(at_peers[i], message + message) << "connection " << i;
        EXPECT_EQ(owners[i]->sent, (std::vector<int>{0, 0}));
    }
    for (auto& conn : conns) conn->close();
}

TEST_F(UringConnIoTest, MoreConnectionsThanTheRingWasSizedForStillWork) {
    // Sized for one connection (64 SQEs, 128 CQEs) and given 300: the SQ
    // fills mid-batch (submitted early) and the completions overflow the CQ
    // (kept by the kernel, flushed when reaped); nothing may be lost.
    constexpr int kConnections = 300;
    make_backend(1);
    if (!factory_) return;
    std::vector<TcpPair> sockets;
    std::vector<std::unique_ptr<RecordingOwner>> owners;
    std::vector<std::unique_ptr<gen::ConnIo>> conns;
    const std::string message(100, 'q');
    for (int i = 0; i < kConnections; ++i) {
        sockets.push_back(pair());
        owners.push_back(std::make_unique<RecordingOwner>());
        conns.push_back(factory_->adopt(sockets.back().ours, *owners.back()));
    }
    asio::post(io_, [&] {
        for (auto& conn : conns) {
            conn->start_reading();
            EXPECT_FALSE(conn->send(as_bytes(message)));
        }
    });
    ASSERT_TRUE(run_until([&] {
        for (const auto& owner : owners) {
            if (owner->sent.size() != 1) return false;
        }
        return true;
    }));
    EXPECT_GT(counters().sq_full_submits, 0U);
    for (const TcpPair& each : sockets) ASSERT_EQ(::send(each.peer, message.data(), message.size(), 0), 100);
    ASSERT_TRUE(run_until([&] {
        for (const auto& owner : owners) {
            if (owner->received.size() != message.size()) return false;
        }
        return true;
    }));
    for (std::size_t i = 0; i < sockets.size(); ++i) {
        std::string at_peer;
        drain_peer(sockets[i].peer, at_peer);
        EXPECT_EQ(at_peer, message) << "connection " << i;
        EXPECT_EQ(owners[i]->sent, std::vector<int>{0});
    }
    for (auto& conn : conns) conn->close();
    ASSERT_TRUE(run_until([&] { return counters().open_sockets == 0; }));
}

TEST_F(UringConnIoTest, DataBeyondTheBufferRingArrivesWholeAndInOrder) {
    // 8 buffers of 256 bytes against 256 KiB waiting in the socket: the
    // multishot receive runs dry (ENOBUFS) and is re-armed, again and again.
    make_backend(1, gen::UringSizing{8, 256});
    if (!factory_) return;
    const TcpPair sockets = pair();
    std::string pattern(256 * 1024, '\0');
    for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    std::size_t written = 0;
    auto pump = [&] {
        while (written < pattern.size()) {
            const ssize_t put = ::send(sockets.peer, pattern.data() + written, pattern.size() - written, MSG_DONTWAIT);
            if (put <= 0) break;
            written += static_cast<std::size_t>(put);
        }
    };
    pump();  // as much as the socket holds before anyone reads
    RecordingOwner owner;
    auto conn = factory_->adopt(sockets.ours, owner);
    conn->start_reading();
    ASSERT_TRUE(run_until([&] {
        pump();
        return owner.received.size() == pattern.size();
    }));
    EXPECT_TRUE(owner.received == pattern) << "bytes lost or reordered";
    EXPECT_GT(counters().enobufs, 0U) << "the ring never ran dry: the test tests nothing";
    EXPECT_FALSE(owner.read_end.has_value());
    conn->close();
}

TEST_F(UringConnIoTest, PeerCloseEndsTheReadSideWithZero) {
    make_backend(1);
    if (!factory_) return;
    const TcpPair sockets = pair();
    RecordingOwner owner;
    auto conn = factory_->adopt(sockets.ours, owner);
    conn->start_reading();
    ASSERT_EQ(::send(sockets.peer, "last", 4, 0), 4);
    ASSERT_EQ(::shutdown(sockets.peer, SHUT_WR), 0);
    ASSERT_TRUE(run_until([&] { return owner.read_end.has_value(); }));
    EXPECT_EQ(owner.received, "last");
    EXPECT_EQ(*owner.read_end, 0);
    conn->close();
}

TEST_F(UringConnIoTest, CloseWithAReceivePendingEndsEveryCallbackAndClosesTheSocket) {
    make_backend(1);
    if (!factory_) return;
    const TcpPair sockets = pair();
    auto owner = std::make_unique<RecordingOwner>();
    auto conn = factory_->adopt(sockets.ours, *owner);
    conn->start_reading();
    ASSERT_TRUE(run_until([&] { return counters().sqes_submitted >= 1; }));  // the receive is in the kernel
    conn->close();
    owner->closed = true;
    conn.reset();  // the handle may go at once ...
    RecordingOwner* watched = owner.get();
    ASSERT_EQ(::send(sockets.peer, "late", 4, 0), 4);  // ... and data still arrive
    std::string at_peer;
    ASSERT_TRUE(run_until([&] { return counters().open_sockets == 0 && drain_peer(sockets.peer, at_peer); }))
        << "the socket was never closed";
    EXPECT_EQ(watched->calls_after_close, 0);
    EXPECT_TRUE(watched->received.empty());
    owner.reset();  // ... and the owner: under ASan a late callback would be a use after free
    ASSERT_EQ(::send(sockets.peer, "later", 5, MSG_NOSIGNAL), 5);
    io_.restart();
    io_.run_for(20ms);
}

TEST_F(UringConnIoTest, SendToAResetPeerReportsTheError) {
    make_backend(1);
    if (!factory_) return;
    const TcpPair sockets = pair();
    const linger abort_on_close{1, 0};
    ASSERT_EQ(::setsockopt(sockets.peer, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close), 0);
    ::close(sockets.peer);  // RST
    peers_.pop_back();
    RecordingOwner owner;
    auto conn = factory_->adopt(sockets.ours, owner);
    const std::string message(100, 'x');
    EXPECT_FALSE(conn->send(as_bytes(message)));
    ASSERT_TRUE(run_until([&] { return !owner.sent.empty(); }));
    ASSERT_EQ(owner.sent.size(), 1U);
    EXPECT_TRUE(owner.sent[0] == ECONNRESET || owner.sent[0] == EPIPE) << "error " << owner.sent[0];
    conn->close();
}

TEST_F(UringConnIoTest, ALargeSendFinishesThroughShortSends) {
    make_backend(1);
    if (!factory_) return;
    const TcpPair sockets = pair();
    std::string big(8 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 251);
    RecordingOwner owner;
    auto conn = factory_->adopt(sockets.ours, owner);
    EXPECT_FALSE(conn->send(as_bytes(big)));
    std::string at_peer;
    ASSERT_TRUE(run_until([&] {
        drain_peer(sockets.peer, at_peer);
        return !owner.sent.empty() && at_peer.size() == big.size();
    }));
    EXPECT_EQ(owner.sent, std::vector<int>{0});
    EXPECT_TRUE(at_peer == big);
    conn->close();
}

// close() lets the owner free a buffer whose send is still waiting for
// room in the socket: the kernel must never read it again, even when room
// appears before the cancellation is submitted (the waiting send's retry
// would then copy whatever the memory holds by now onto the wire). On the
// 6.18 kernel this was written on, the cancellation submitted at the next
// turn reaches the send before its retry runs, so this passes without the
// shutdown that close() does first; that shutdown is what makes the
// contract hold on a kernel that runs the retry first.
TEST_F(UringConnIoTest, CloseWithASendWaitingForRoomNeverReadsItsBufferAgain) {
    make_backend(1);
    if (!factory_) return;
    const TcpPair sockets = pair();
    const int small = 4096;
    ASSERT_EQ(::setsockopt(sockets.ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    ASSERT_EQ(::setsockopt(sockets.peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    std::string buffer(4 * 1024 * 1024, 'A');
    RecordingOwner owner;
    auto conn = factory_->adopt(sockets.ours, owner);
    EXPECT_FALSE(conn->send(as_bytes(buffer)));
    // The first send is short (what fitted); its rest is queued again and,
    // once submitted, waits in the kernel for room: the peer's window is full.
    int queued_at_peer = 0;
    ASSERT_TRUE(run_until([&] {
        return counters().sqes_submitted >= 1 && ::ioctl(sockets.peer, FIONREAD, &queued_at_peer) == 0 &&
               queued_at_peer > 0;
    }));
    ASSERT_TRUE(owner.sent.empty()) << "the send was meant to be waiting for room";
    conn->close();
    owner.closed = true;
    std::fill(buffer.begin(), buffer.end(), 'F');  // the owner reuses (or frees) its memory
    // Room appears before the loop turns again.
    std::string at_peer;
    drain_peer(sockets.peer, at_peer);
    ASSERT_TRUE(run_until([&] {
        drain_peer(sockets.peer, at_peer);
        return counters().open_sockets == 0;
    }));
    for (int turn = 0; turn < 50 && !drain_peer(sockets.peer, at_peer); ++turn) {
        io_.restart();
        io_.run_for(1ms);
    }
    EXPECT_EQ(at_peer.find('F'), std::string::npos)
        << "bytes written after close(): " << at_peer.size() - at_peer.find('F') << " of " << at_peer.size();
    EXPECT_EQ(owner.calls_after_close, 0);
}

TEST_F(UringConnIoTest, ShutdownSendWaitsForTheSendUnderWay) {
    make_backend(1);
    if (!factory_) return;
    const TcpPair sockets = pair();
    RecordingOwner owner;
    auto conn = factory_->adopt(sockets.ours, owner);
    const std::string close_frame = "close frame";
    EXPECT_FALSE(conn->send(as_bytes(close_frame)));
    conn->shutdown_send();  // the send is still in the SQ: the FIN must follow it
    std::string at_peer;
    bool peer_saw_end = false;
    ASSERT_TRUE(run_until([&] { return peer_saw_end = drain_peer(sockets.peer, at_peer); }));
    EXPECT_EQ(at_peer, close_frame);
    EXPECT_EQ(owner.sent, std::vector<int>{0});
    conn->close();
}

TEST_F(UringConnIoTest, ReusedSlotsNeverSeeTheirPredecessorsCompletions) {
    make_backend(2);
    if (!factory_) return;
    for (int round = 0; round < 20; ++round) {
        const TcpPair sockets = pair();
        RecordingOwner owner;
        auto conn = factory_->adopt(sockets.ours, owner);
        conn->start_reading();
        ASSERT_EQ(::send(sockets.peer, "ping", 4, 0), 4);
        ASSERT_TRUE(run_until([&] { return owner.received == "ping"; })) << "round " << round;
        // Closed while its multishot receive is armed; the next round's
        // connection takes the same slot.
        conn->close();
        owner.closed = true;
        ASSERT_EQ(::send(sockets.peer, "pong", 4, MSG_NOSIGNAL), 4);
        io_.restart();
        io_.run_for(1ms);
        EXPECT_EQ(owner.calls_after_close, 0) << "round " << round;
    }
    ASSERT_TRUE(run_until([&] { return counters().open_sockets == 0; }));
}

// What make_uring_conn_io says in a child process whose seccomp filter
// refuses io_uring_setup with EPERM, as Docker's and containerd's default
// profiles do: null and a why_not naming the errno and the way out.
TEST(UringConnIoProbe, RefusedBySeccompSaysWhyAndWhatToDo) {
    int pipe_ends[2];
    ASSERT_EQ(::pipe(pipe_ends), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(pipe_ends[0]);
        sock_filter filter[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
            ::_exit(2);
        }
        asio::io_context io;
        std::string why_not;
        const bool made = gen::make_uring_conn_io(io, 10, why_not) != nullptr;
        const std::string report = (made ? "made:" : "null:") + why_not;
        const bool written = ::write(pipe_ends[1], report.data(), report.size()) == static_cast<ssize_t>(report.size());
        ::_exit(written ? 0 : 3);
    }
    ::close(pipe_ends[1]);
    std::string report;
    char chunk[512];
    for (ssize_t got; (got = ::read(pipe_ends[0], chunk, sizeof chunk)) > 0;)
        report.append(chunk, static_cast<std::size_t>(got));
    ::close(pipe_ends[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    EXPECT_EQ(report.rfind("null:", 0), 0U) << report;
    EXPECT_NE(report.find("EPERM"), std::string::npos) << report;
    EXPECT_NE(report.find("seccomp"), std::string::npos) << report;
    EXPECT_NE(report.find("--io-backend epoll"), std::string::npos) << report;
}

}  // namespace
