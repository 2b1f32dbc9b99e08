// Issue 14, item 4, with real processes on 127.0.0.1: 2,100 idle TCP
// connections -- more than the coordinator's --max-connections (2048) --
// opened during an epoch, and kept at that number (each one the coordinator
// closes is reopened, as an attacker would), must not take the control
// plane from the generators and bench-dist-control that run it. The epoch
// started with `bench-dist-control start-epoch` completes with no error,
// verification passes, no generator is lost and start-epoch exits 0; no
// idle connection is answered, and once the flood stops the coordinator
// closes what is left of it. Run once without a token (flood and fleet
// share 127.0.0.1: the per-address cap on connections that have sent no
// request yet is what holds) and once with --auth-token (the flood spread
// over 21 other loopback addresses: the total cap on such connections
// holds). The coordinator runs with its default limits: the defaults are
// what must protect it. AcceptExhaustion (at the end): a server out of
// file descriptors neither spins nor stops serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/generator/resource_usage.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
using namespace benchdist::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kFlood = 2100;
// How fast the flood replaces connections the coordinator closes.
constexpr int kReopenPerSecond = 2000;
constexpr std::int64_t kInitialBalance = 1000000;

// Our own descriptors: the flood, plus the rig's pipes and sockets.
bool enough_open_files(rlim_t need, std::string& why) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        why = "getrlimit failed";
        return false;
    }
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
        if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need) {
            why = "the hard open-file limit is " + std::to_string(lim.rlim_max) + ", the flood needs " +
                  std::to_string(need) + " (ulimit -Hn)";
            return false;
        }
        lim.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            why = "setrlimit failed";
            return false;
        }
    }
    return true;
}

// `count` connections that never send a byte, from the given local
// addresses in turn (empty: the kernel's choice, 127.0.0.1), kept at that
// number as an attacker would: a thread reopens every connection the server
// closes (or answers and closes), up to `reopen_per_second`, until stop().
// All are closed on destruction, on every path out of the test.
class IdleFlood {
public:
    IdleFlood(int port, int count, std::vector<std::string> sources, int reopen_per_second)
        : port_(port), sources_(std::move(sources)), reopen_per_second_(reopen_per_second) {
        slots_.resize(static_cast<std::size_t>(count));
        const auto t0 = Clock::now();
        for (auto& slot : slots_) open(slot);
        open_seconds_ = seconds_since(t0);
        thread_ = std::thread([this] { keep_open(); });
    }
    ~IdleFlood() {
        stop();
        for (const auto& slot : slots_)
            if (slot.fd >= 0) ::close(slot.fd);
    }
    IdleFlood(const IdleFlood&) = delete;
    IdleFlood& operator=(const IdleFlood&) = delete;

    double open_seconds() const { return open_seconds_; }
    // Stops reopening; what is open stays open.
    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }

    // After stop(): watches until the server has closed every connection
    // or the timeout passes; returns how many are still open.
    int wait_all_closed(std::chrono::milliseconds timeout) {
        const auto t0 = Clock::now();
        const auto deadline = t0 + timeout;
        while (still_open() > 0 && Clock::now() < deadline) {
            watch(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
            last_close_after_stop_ = seconds_since(t0);
        }
        return still_open();
    }

    int still_open() const {
        int n = 0;
        for (const auto& slot : slots_) n += slot.fd >= 0 ? 1 : 0;
        return n;
    }
    std::uint64_t opened() const { return opened_; }
    std::uint64_t closed_by_server() const { return closed_by_server_; }
    std::uint64_t answered() const { return answered_; }
    std::uint64_t failed_opens() const { return failed_opens_; }
    double last_close_after_stop() const { return last_close_after_stop_; }

private:
    struct Slot {
        int fd = -1;
        bool answered = false;
    };

    void open(Slot& slot) {
        slot = {};
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            ++failed_opens_;
            return;
        }
        if (!sources_.empty()) {
            sockaddr_in local{};
            local.sin_family = AF_INET;
            ::inet_pton(AF_INET, sources_[opened_ % sources_.size()].c_str(), &local.sin_addr);
            if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
                ::close(fd);
                ++failed_opens_;
                return;
            }
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port_));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        // Non-blocking: a connect still under way shows up in poll() when it
        // completes or fails.
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
            ::close(fd);
            ++failed_opens_;
            return;
        }
        slot.fd = fd;
        ++opened_;
    }

    // One poll() over the open connections: counts answers, closes (and
    // forgets) those the server closed.
    void watch(std::chrono::milliseconds timeout) {
        std::vector<pollfd> fds;
        std::vector<Slot*> owners;
        for (auto& slot : slots_) {
            if (slot.fd < 0) continue;
            fds.push_back({slot.fd, POLLIN, 0});
            owners.push_back(&slot);
        }
        if (fds.empty()) return;
        if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<std::int64_t>(0, timeout.count()))) <= 0) return;
        for (std::size_t k = 0; k < fds.size(); ++k) {
            if (fds[k].revents == 0) continue;
            Slot& slot = *owners[k];
            char buf[4096];
            const ssize_t n = ::recv(slot.fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                if (!slot.answered) ++answered_;  // e.g. a 503 before the close
                slot.answered = true;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
            ::close(slot.fd);
            slot.fd = -1;
            ++closed_by_server_;
        }
    }

    void keep_open() {
        auto refilled = Clock::now();
        double budget = 0;
        while (!stopping_) {
            watch(10ms);
            const auto now = Clock::now();
            budget =
                std::min<double>(budget + std::chrono::duration<double>(now - refilled).count() * reopen_per_second_,
                                 reopen_per_second_);
            refilled = now;
            for (auto& slot : slots_) {
                if (budget < 1) break;
                if (slot.fd >= 0) continue;
                open(slot);
                budget -= 1;
            }
        }
    }

    int port_;
    std::vector<std::string> sources_;
    int reopen_per_second_;
    std::vector<Slot> slots_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    // Written by the thread until stop(), read after it.
    std::uint64_t opened_ = 0;
    std::uint64_t closed_by_server_ = 0;
    std::uint64_t answered_ = 0;
    std::uint64_t failed_opens_ = 0;
    double open_seconds_ = 0;
    double last_close_after_stop_ = 0;
};

struct FloodCase {
    const char* name;
    bool token;
    std::vector<std::string> flood_sources;
};

class ConnectionFlood : public ::testing::TestWithParam<FloodCase> {};

TEST_P(ConnectionFlood, IdleSocketsDuringAnEpochStarveNobody) {
    const auto& param = GetParam();
    std::string why;
    if (!enough_open_files(kFlood + 512, why)) GTEST_SKIP() << why;
    const std::string token = param.token ? "bdTok-flood-" + std::to_string(::getpid()) : "";
    std::map<std::string, std::string> env;
    if (param.token) env["BENCH_DIST_TOKEN"] = token;

    Rig rig({.tag = "flood",
             .seed = std::make_pair(std::uint64_t{1000}, kInitialBalance),
             .coordinator_args = std::nullopt,
             .long_poll = 200ms,
             .generator = {.concurrency = 2, .pairs = 2000, .env = env}});
    // A 3 s lease: with the flood holding the control plane, the generators
    // would be lost within it (measured before the fix: both were). The
    // window outlasts the lease and the flood's first-request deadline.
    auto& coordinator =
        rig.start_coordinator({"--window-seconds", "8", "--lease-seconds", "3", "--verify", "1", "--initial-balance",
                               std::to_string(kInitialBalance), "--start-ack-timeout-seconds", "20",
                               "--stop-ack-timeout-seconds", "20", "--align-window-ms", "0"},
                              0, env);
    rig.start_generator("gen-a");
    rig.start_generator("gen-b");
    rig.wait_ready(2);

    Subprocess control({bin_path("bench-dist-control"), "--coordinator-url", coordinator.url(), "start-epoch",
                        "--label", param.name, "--timeout", "90", "--json"},
                       env);
    rig.wait_phase(bc::Phase::Measure);

    const auto flood_start = Clock::now();
    IdleFlood flood(coordinator.port(), kFlood, param.flood_sources, kReopenPerSecond);
    std::printf("[%s] %d idle connections opened in %.2f s\n", param.name, kFlood, flood.open_seconds());

    const auto rc = control.wait_exit(90s);
    const double control_after = seconds_since(flood_start);
    flood.stop();
    // What is still open is closed by the coordinator at its first-request
    // deadline; none of it is answered.
    const int left_open = flood.wait_all_closed(20s);
    std::printf(
        "[%s] start-epoch exited %d, %.1f s after the flood began; meanwhile the flood opened %llu "
        "connections (%llu failed to open), the coordinator closed %llu and answered %llu; after the flood "
        "stopped, the last of its connections was closed %.2f s later (%d left open)\n",
        param.name, rc.value_or(-1), control_after, static_cast<unsigned long long>(flood.opened()),
        static_cast<unsigned long long>(flood.failed_opens()),
        static_cast<unsigned long long>(flood.closed_by_server()), static_cast<unsigned long long>(flood.answered()),
        flood.last_close_after_stop(), left_open);

    // Calls a generator had to retry (each logged with its error): the
    // policy allows a few -- a connection evicted before its request was
    // read -- but no lease may run out.
    for (const char* id : {"gen-a", "gen-b"}) {
        int retried = 0;
        std::istringstream lines(rig.generator(id).output());
        for (std::string line; std::getline(lines, line);)
            retried += contains(line, "] GET /") || contains(line, "] POST /") ? 1 : 0;
        std::printf("[%s] %s retried %d control calls\n", param.name, id, retried);
    }

    const std::string diagnostics = "\nstart-epoch:\n" + control.output() + "\ncoordinator:\n" +
                                    coordinator.process().output() + "\ngen-a:\n" + rig.generator("gen-a").output() +
                                    "\ngen-b:\n" + rig.generator("gen-b").output();
    ASSERT_TRUE(rc.has_value()) << "start-epoch did not finish" << diagnostics;
    EXPECT_EQ(*rc, 0) << diagnostics;
    // The coordinator's own record of the epoch (start-epoch printed the
    // same when it succeeded).
    const auto result = rig.wait_result(1, 60s);
    std::printf("[%s] epoch 1: error=%s verification=%s\n", param.name, result.error.value_or("none").c_str(),
                result.verification.c_str());
    EXPECT_FALSE(result.error) << result.error.value_or("") << diagnostics;
    EXPECT_EQ(result.verification, "passed") << result.verification_error.value_or("") << diagnostics;
    EXPECT_EQ(result.participant_ids.size(), 2u);
    for (const auto& g : rig.state().generators)
        EXPECT_NE(g.local_state, bc::GeneratorState::Lost) << g.id << diagnostics;
    for (const char* id : {"gen-a", "gen-b"})
        EXPECT_FALSE(contains(rig.generator(id).output(), "lost the coordinator")) << diagnostics;
    EXPECT_EQ(left_open, 0) << diagnostics;
    EXPECT_EQ(flood.answered(), 0u) << diagnostics;
    EXPECT_TRUE(coordinator.process().running()) << diagnostics;
}

std::vector<std::string> other_loopback_addresses(int n) {
    std::vector<std::string> out;
    for (int i = 1; i <= n; ++i) out.push_back("127.0.1." + std::to_string(i));
    return out;
}

INSTANTIATE_TEST_SUITE_P(Runs, ConnectionFlood,
                         ::testing::Values(FloodCase{"no_token_same_address", false, {}},
                                           FloodCase{"token_many_addresses", true, other_loopback_addresses(21)}),
                         [](const ::testing::TestParamInfo<FloodCase>& info) { return std::string(info.param.name); });

// The accept loop of a server out of descriptors (EMFILE), here
// stdb-standin started with `ulimit -n 64` and sent more connections than
// that: each connection waits in the listen backlog, so an accept retried
// at once fails again at once, and a loop that does so spins a core for as
// long as the descriptors stay taken. It must say so once, in a line that
// names the fix, wait between attempts, and serve again once descriptors
// are free.
std::size_t count_lines_with(const std::string& output, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = output.find(needle); at != std::string::npos; at = output.find(needle, at + needle.size())) ++count;
    return count;
}

TEST(AcceptExhaustion, AServerOutOfDescriptorsWaitsInsteadOfSpinningAndServesAgainAfter) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // A sanitizer's runtime needs descriptors of its own: out of them,
    // UBSan's vptr check cannot open the pipe it probes memory with and
    // reports a valid std::cerr as an invalid object (seen in the ASan
    // stage), killing the stand-in. What breaks then is the sanitizer, not
    // the server; the normal build runs this test in both integration passes.
    GTEST_SKIP() << "exhausting descriptors breaks the sanitizer's runtime, not the server";
#endif
    StandinProcess standin({.wrap = [](std::vector<std::string> argv) {
        std::vector<std::string> wrapped{"/bin/sh", "-c", "ulimit -n 64 && exec \"$@\"", "sh"};
        wrapped.insert(wrapped.end(), argv.begin(), argv.end());
        return wrapped;
    }});
    constexpr int kConnections = 100;
    std::vector<int> held;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(standin.port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < kConnections; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd, 0);
        held.push_back(fd);
        // Completes from the listen backlog whether or not the server accepts.
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << "connection " << i;
    }
    const std::string warning = "accepting a connection failed";
    const auto told = standin.process().wait_for_line(
        [&](const std::string& line) { return line.find(warning) != std::string::npos; }, 20s);
    ASSERT_TRUE(told) << "no warning while out of descriptors:\n" << standin.output();
    EXPECT_NE(told->find("ulimit -n"), std::string::npos) << *told;

    // A measurement window, not a wait for something: a spinning accept
    // loop burns about a second of CPU in it, a waiting one almost none.
    const auto before = benchdist::generator::process_cpu_us(standin.process().pid());
    ASSERT_TRUE(before);
    const auto window_end = Clock::now() + 1s;
    while (Clock::now() < window_end) std::this_thread::sleep_for(50ms);
    const auto after = benchdist::generator::process_cpu_us(standin.process().pid());
    ASSERT_TRUE(after);
    const double cpu_seconds = static_cast<double>(*after - *before) / 1e6;
    std::printf("out of descriptors: %.3f s of CPU in a 1 s window\n", cpu_seconds);
    EXPECT_LT(cpu_seconds, 0.25) << "the accept loop spins";
    EXPECT_EQ(count_lines_with(standin.output(), warning), 1u) << standin.output();

    for (int fd : held) ::close(fd);
    const auto deadline = Clock::now() + 20s;
    bool served = false;
    while (!served && Clock::now() < deadline) {
        try {
            (void)standin.committed();
            served = true;
        } catch (const std::exception&) {
            std::this_thread::sleep_for(100ms);  // retry pacing, bounded by the deadline
        }
    }
    EXPECT_TRUE(served) << "not serving again after the descriptors were freed:\n" << standin.output();
    EXPECT_TRUE(standin.running());
}

}  // namespace
