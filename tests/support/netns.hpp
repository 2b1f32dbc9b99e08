// NetnsLab: separate "hosts" on one machine for multi-host integration tests.
// Each host is a Linux network namespace with one interface (eth0, a veth)
// plugged into a bridge that lives in a namespace of its own, so the hosts
// share a 10.x subnet and nothing else: a process started in one host cannot
// take a shortcut over loopback, and pulling one host's link down cuts that
// host off exactly as a failed cable or switch port would. Names carry the
// test process id (and a counter) so parallel runs never collide, and the
// destructor removes every namespace it made -- also when the test failed.
// Namespaces left behind by a test that was killed are removed by the next
// lab, once their owner's pid is gone. Needs root (CAP_NET_ADMIN and
// CAP_SYS_ADMIN) and iproute2; where namespaces cannot be made the
// constructor throws NetnsUnavailable so the test can skip instead of fail.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace benchdist::testing {

// This machine cannot make network namespaces (not root, no CAP_NET_ADMIN,
// no iproute2, no /run/netns): the only reason a netns test may skip.
class NetnsUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class NetnsLab {
public:
    struct Host {
        std::string name;     // the test's name for it, e.g. "gen-b"
        std::string netns;    // the namespace's name
        std::string address;  // its IPv4 address on the shared subnet
    };

    // Creates the switch namespace and its bridge. Throws NetnsUnavailable
    // when namespaces cannot be made at all, std::runtime_error (with the
    // command and its output) when a later step fails.
    NetnsLab();
    ~NetnsLab();
    NetnsLab(const NetnsLab&) = delete;
    NetnsLab& operator=(const NetnsLab&) = delete;

    // Adds a host with the next address of the subnet (.1, .2, ...), its link
    // up and loopback up.
    const Host& add_host(const std::string& name);
    const Host& host(const std::string& name) const;

    // Adds `tc netem delay` on every host's eth0 egress (so a round trip
    // between two hosts takes 2 * delay). Returns nullopt on success, or why
    // the delay could not be added (e.g. the kernel has no sch_netem): the
    // lab then runs without it and the test should say so.
    std::optional<std::string> add_delay(std::chrono::milliseconds delay);

    // `ip link set eth0 down|up` inside the host: down cuts it off from every
    // other host; up restores the link (its address and route come back).
    void set_link(const std::string& name, bool up);

    // argv prefixed with `ip netns exec <netns>`, for Subprocess.
    std::vector<std::string> exec_argv(const std::string& name, std::vector<std::string> argv) const;

    // Runs fn on a fresh thread that has joined the host's network
    // namespace, and waits for it: sockets fn opens belong to that host. The
    // calling thread's namespace is untouched. fn's exception is rethrown.
    void run_in(const std::string& name, const std::function<void()>& fn) const;

    // "10.A.B.0/24", unique per test process.
    const std::string& subnet() const { return subnet_; }

private:
    std::string run_ip(const std::vector<std::string>& args) const;
    void remove_stale_namespaces() const;
    void destroy() noexcept;

    std::string ip_;
    std::string prefix_;       // "bench-dist-<pid>-<n>-"
    std::string subnet_base_;  // "10.A.B."
    std::string subnet_;
    std::string switch_netns_;
    std::vector<std::string> created_;  // every namespace made, for the destructor
    std::vector<Host> hosts_;
};

}  // namespace benchdist::testing
