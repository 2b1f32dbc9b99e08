// The generator's ConnIo backends against the plain Asio loop they replace,
// sockets included: N loopback connections, each with one 100-byte request
// in flight to an echo server in a forked child process (so the figures are
// the client's alone), answered by 100 bytes. Per round trip it reports the
// client's CPU (getrusage of this process: its io-wq threads included, the
// echo server not), its system calls (counted by the kernel's
// raw_syscalls:sys_enter tracepoint on this thread, during the measured
// loop only; -1 where perf events are not allowed) and, for io_uring, how
// many SQEs each io_uring_submit carried.
//
//   flock /tmp/i18_bench.lock build/release/bin/uring_echo_bench
//
// The echo server runs pinned to CPU 0 and the client to CPU 1 when there
// are two CPUs or more. The epoll backend (make_epoll_conn_io) plugs in as
// one more BM_ConnIo registration once it exists on this branch.
#include <benchmark/benchmark.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "generator/conn_io.hpp"
#include "generator/uring_conn_io.hpp"

namespace {

namespace asio = boost::asio;
namespace gen = benchdist::generator;

constexpr std::size_t kMessage = 100;

void pin_to_cpu(int cpu) {
    if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::sched_setaffinity(0, sizeof set, &set);
}

// An epoll echo server in a child process: what it reads it writes back.
[[noreturn]] void run_echo_server(int listener) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    pin_to_cpu(0);
    const int epoll = ::epoll_create1(0);
    epoll_event event{EPOLLIN, {.fd = listener}};
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    std::vector<epoll_event> ready(1024);
    char buffer[65536];
    for (;;) {
        const int count = ::epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), -1);
        for (int i = 0; i < count; ++i) {
            const int fd = ready[static_cast<std::size_t>(i)].data.fd;
            if (fd == listener) {
                for (int client; (client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
                    const int one = 1;
                    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    epoll_event added{EPOLLIN, {.fd = client}};
                    ::epoll_ctl(epoll, EPOLL_CTL_ADD, client, &added);
                }
                continue;
            }
            const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
            if (got <= 0) {
                ::close(fd);
                continue;
            }
            for (ssize_t sent = 0; sent < got;) {
                const ssize_t put = ::send(fd, buffer + sent, static_cast<std::size_t>(got - sent), MSG_NOSIGNAL);
                if (put < 0) break;
                sent += put;
            }
        }
    }
}

struct EchoServer {
    sockaddr_in address{};
    pid_t pid = -1;

    EchoServer() {
        const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listener, 4096) != 0 ||
            ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            std::perror("echo server");
            std::exit(1);
        }
        pid = ::fork();
        if (pid == 0) run_echo_server(listener);
        ::close(listener);
        pin_to_cpu(1);
    }
    ~EchoServer() {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }

    int connect() const {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
            std::perror("connect to the echo server");
            std::exit(1);
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
    }
};

EchoServer& echo_server() {
    static EchoServer server;
    return server;
}

// System calls entered by this thread, from the kernel's own tracepoint.
class SyscallCounter {
public:
    SyscallCounter() {
        std::ifstream id_file("/sys/kernel/tracing/events/raw_syscalls/sys_enter/id");
        std::uint64_t id = 0;
        if (!(id_file >> id)) return;
        perf_event_attr attr{};
        attr.type = PERF_TYPE_TRACEPOINT;
        attr.size = sizeof attr;
        attr.config = id;
        attr.sample_period = 0;
        fd_ = static_cast<int>(::syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
    }
    ~SyscallCounter() {
        if (fd_ >= 0) ::close(fd_);
    }
    // -1 when the kernel does not let us count.
    std::int64_t read() const {
        std::uint64_t value = 0;
        if (fd_ < 0 || ::read(fd_, &value, sizeof value) != sizeof value) return -1;
        return static_cast<std::int64_t>(value);
    }

private:
    int fd_ = -1;
};

double cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Runs `turn` until every connection made one more round trip per
// iteration, after one round of warm-up (then `window_opens` runs), and
// reports. Returns the round trips measured.
template <typename Turn, typename WindowOpens>
double measure(benchmark::State& state, std::size_t connections, const std::uint64_t& round_trips, Turn turn,
               WindowOpens window_opens) {
    std::uint64_t target = round_trips + connections;
    while (round_trips < target) turn();
    window_opens();
    const SyscallCounter syscalls;
    const std::uint64_t first = round_trips;
    const double cpu_before = cpu_seconds();
    const std::int64_t syscalls_before = syscalls.read();
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        target += connections;
        while (round_trips < target) turn();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto done = static_cast<double>(round_trips - first);
    const std::int64_t syscalls_after = syscalls.read();
    state.counters["transfers/s"] = done / seconds;
    state.counters["cpu_us/rt"] = (cpu_seconds() - cpu_before) * 1e6 / done;
    state.counters["syscalls/rt"] =
        syscalls_before < 0 ? -1.0 : static_cast<double>(syscalls_after - syscalls_before) / done;
    state.SetItemsProcessed(static_cast<std::int64_t>(done));
    return done;
}

// One connection of the ConnIo benchmark: sends the next request as soon as
// the whole answer is in.
struct PingPong final : gen::ConnIoOwner {
    gen::ConnIo* io = nullptr;
    std::uint64_t* round_trips = nullptr;
    std::size_t pending = 0;
    std::uint8_t request[kMessage] = {};

    void send_request() { io->send({request, kMessage}); }
    void on_io_bytes(std::span<const std::uint8_t> bytes) override {
        pending += bytes.size();
        if (pending >= kMessage) {
            pending -= kMessage;
            ++*round_trips;
            send_request();
        }
    }
    void on_io_read_end(int error) override {
        std::fprintf(stderr, "echo connection ended: %d\n", error);
        std::abort();
    }
    void on_io_sent(int error) override {
        if (error != 0) {
            std::fprintf(stderr, "echo send failed: %d\n", error);
            std::abort();
        }
    }
};

void BM_Uring(benchmark::State& state) {
    const auto connections = static_cast<std::size_t>(state.range(0));
    asio::io_context io(1);
    std::string why_not;
    auto factory = gen::make_uring_conn_io(io, connections, why_not);
    if (!factory) {
        state.SkipWithError(why_not.c_str());
        return;
    }
    std::uint64_t round_trips = 0;
    std::vector<PingPong> owners(connections);
    std::vector<std::unique_ptr<gen::ConnIo>> conns;
    for (PingPong& owner : owners) {
        const int fd = echo_server().connect();
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        conns.push_back(factory->adopt(fd, owner));
        owner.io = conns.back().get();
        owner.round_trips = &round_trips;
        owner.io->start_reading();
        owner.send_request();
    }
    gen::UringCounters before;
    const double done = measure(
        state, connections, round_trips, [&] { io.run_one(); }, [&] { before = *gen::uring_counters(*factory); });
    const gen::UringCounters after = *gen::uring_counters(*factory);
    const auto submits = std::max<std::uint64_t>(1, after.submit_calls - before.submit_calls);
    state.counters["sqes/submit"] =
        static_cast<double>(after.sqes_submitted - before.sqes_submitted) / static_cast<double>(submits);
    state.counters["rt/wakeup"] =
        done / static_cast<double>(std::max<std::uint64_t>(1, after.wakeups - before.wakeups));
    state.counters["enobufs"] = static_cast<double>(after.enobufs - before.enobufs);
    for (auto& conn : conns) conn->close();
    io.restart();
    io.poll();
}

// Today's epoll path in its simplest form: async_read_some (which tries a
// read at once and so fails with EAGAIN before every wait) and async_write.
struct AsioPingPong {
    explicit AsioPingPong(asio::io_context& io) : socket(io) {}
    asio::ip::tcp::socket socket;
    std::uint64_t* round_trips = nullptr;
    std::size_t pending = 0;
    std::uint8_t request[kMessage] = {};
    std::uint8_t answer[4096] = {};

    static void check(const boost::system::error_code& error) {
        if (error && error != asio::error::operation_aborted) {
            std::fprintf(stderr, "echo connection failed: %s\n", error.message().c_str());
            std::abort();
        }
    }
    void send_request() {
        asio::async_write(socket, asio::buffer(request),
                          [](const boost::system::error_code& error, std::size_t) { check(error); });
    }
    void read() {
        socket.async_read_some(asio::buffer(answer), [this](boost::system::error_code error, std::size_t got) {
            check(error);
            if (error || !socket.is_open()) return;  // closed at the end of the benchmark
            pending += got;
            if (pending >= kMessage) {
                pending -= kMessage;
                ++*round_trips;
                send_request();
            }
            read();
        });
    }
};

void BM_Asio(benchmark::State& state) {
    const auto connections = static_cast<std::size_t>(state.range(0));
    asio::io_context io(1);
    std::uint64_t round_trips = 0;
    std::vector<std::unique_ptr<AsioPingPong>> conns;
    for (std::size_t i = 0; i < connections; ++i) {
        conns.push_back(std::make_unique<AsioPingPong>(io));
        AsioPingPong& conn = *conns.back();
        conn.socket.assign(asio::ip::tcp::v4(), echo_server().connect());
        conn.socket.non_blocking(true);
        conn.round_trips = &round_trips;
        conn.read();
        conn.send_request();
    }
    measure(
        state, connections, round_trips, [&] { io.run_one(); }, [] {});
    for (auto& conn : conns) conn->socket.close();
    io.restart();
    io.poll();
}

BENCHMARK(BM_Uring)->Arg(1)->Arg(100)->Arg(1000)->UseRealTime()->MinTime(2.0)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Asio)->Arg(1)->Arg(100)->Arg(1000)->UseRealTime()->MinTime(2.0)->Unit(benchmark::kMillisecond);

}  // namespace
