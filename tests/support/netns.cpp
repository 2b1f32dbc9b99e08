#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <sstream>
#include <thread>

#include "subprocess.hpp"

namespace fs = std::filesystem;

namespace benchdist::testing {

namespace {

constexpr const char* kNamePrefix = "bench-dist-";
constexpr const char* kNetnsDir = "/run/netns";

// iproute2 lives in /usr/sbin or /sbin, which a non-login PATH may lack.
std::optional<std::string> find_tool(const std::string& name) {
    std::vector<std::string> dirs{"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
    if (const char* path = std::getenv("PATH")) {
        std::stringstream in(path);
        std::string dir;
        while (std::getline(in, dir, ':')) {
            if (!dir.empty()) dirs.push_back(dir);
        }
    }
    for (const auto& dir : dirs) {
        const auto candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

struct CommandResult {
    int code = -1;
    std::string output;
};

CommandResult run_command(const std::vector<std::string>& argv) {
    Subprocess p(argv);
    const auto code = p.wait_exit(std::chrono::seconds(20));
    return {code.value_or(-1), p.output()};
}

std::string joined(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
    return s;
}

std::atomic<int> lab_counter{0};

}  // namespace

NetnsLab::NetnsLab() {
    const auto ip = find_tool("ip");
    if (!ip) throw NetnsUnavailable("iproute2's `ip` was not found (looked in /usr/sbin, /sbin and PATH)");
    ip_ = *ip;
    const int pid = static_cast<int>(::getpid());
    prefix_ = std::string(kNamePrefix) + std::to_string(pid) + "-" + std::to_string(lab_counter++) + "-";
    // The pid picks the subnet, so two runs side by side never share one
    // even if something leaked out of their namespaces.
    subnet_base_ = "10." + std::to_string((pid >> 8) & 0xff) + "." + std::to_string(pid & 0xff) + ".";
    subnet_ = subnet_base_ + "0/24";

    remove_stale_namespaces();

    switch_netns_ = prefix_ + "switch";
    const auto made = run_command({ip_, "netns", "add", switch_netns_});
    if (made.code != 0) {
        throw NetnsUnavailable("cannot create a network namespace (needs root or CAP_NET_ADMIN + CAP_SYS_ADMIN): `" +
                               ip_ + " netns add " + switch_netns_ + "` said: " + made.output);
    }
    created_.push_back(switch_netns_);
    try {
        // forward_delay 0 and no STP: a port forwards as soon as its link is up,
        // also when a cut link comes back.
        run_ip({"-n", switch_netns_, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0"});
        run_ip({"-n", switch_netns_, "link", "set", "br0", "up"});
        run_ip({"-n", switch_netns_, "link", "set", "lo", "up"});
    } catch (...) {
        destroy();
        throw;
    }
}

NetnsLab::~NetnsLab() { destroy(); }

std::string NetnsLab::run_ip(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{ip_};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_command(argv);
    if (r.code != 0)
        throw std::runtime_error("`" + joined(argv) + "` failed (" + std::to_string(r.code) + "): " + r.output);
    return r.output;
}

const NetnsLab::Host& NetnsLab::add_host(const std::string& name) {
    for (const auto& h : hosts_) {
        if (h.name == name) throw std::invalid_argument("NetnsLab: host " + name + " exists");
    }
    const auto index = hosts_.size() + 1;
    if (index > 250) throw std::invalid_argument("NetnsLab: too many hosts");
    Host h{name, prefix_ + name, subnet_base_ + std::to_string(index)};
    run_ip({"netns", "add", h.netns});
    created_.push_back(h.netns);
    // The switch end is named by index: interface names are at most 15 bytes.
    const auto port = "h" + std::to_string(index);
    run_ip({"-n", switch_netns_, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.netns});
    run_ip({"-n", switch_netns_, "link", "set", port, "master", "br0"});
    run_ip({"-n", switch_netns_, "link", "set", port, "up"});
    run_ip({"-n", h.netns, "link", "set", "lo", "up"});
    run_ip({"-n", h.netns, "addr", "add", h.address + "/24", "dev", "eth0"});
    run_ip({"-n", h.netns, "link", "set", "eth0", "up"});
    hosts_.push_back(std::move(h));
    return hosts_.back();
}

const NetnsLab::Host& NetnsLab::host(const std::string& name) const {
    for (const auto& h : hosts_) {
        if (h.name == name) return h;
    }
    throw std::invalid_argument("NetnsLab: no host " + name);
}

std::optional<std::string> NetnsLab::add_delay(std::chrono::milliseconds delay) {
    const auto tc = find_tool("tc");
    if (!tc) return "iproute2's `tc` was not found";
    for (const auto& h : hosts_) {
        const std::vector<std::string> argv{*tc,
                                            "-n",
                                            h.netns,
                                            "qdisc",
                                            "add",
                                            "dev",
                                            "eth0",
                                            "root",
                                            "netem",
                                            "delay",
                                            std::to_string(delay.count()) + "ms"};
        const auto r = run_command(argv);
        if (r.code != 0) {
            auto why = r.output;
            while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
            return "`" + joined(argv) + "` failed: " + why;
        }
    }
    return std::nullopt;
}

void NetnsLab::set_link(const std::string& name, bool up) {
    run_ip({"-n", host(name).netns, "link", "set", "eth0", up ? "up" : "down"});
}

std::vector<std::string> NetnsLab::exec_argv(const std::string& name, std::vector<std::string> argv) const {
    std::vector<std::string> full{ip_, "netns", "exec", host(name).netns};
    full.insert(full.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
    return full;
}

void NetnsLab::run_in(const std::string& name, const std::function<void()>& fn) const {
    const auto path = std::string(kNetnsDir) + "/" + host(name).netns;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    std::exception_ptr failure;
    // setns changes only the calling thread's namespace, so a short-lived
    // thread keeps the test's own thread (and every other one) where it is.
    std::thread worker([&] {
        try {
            if (::setns(fd, CLONE_NEWNET) != 0) throw std::runtime_error("setns " + path + ": " + std::strerror(errno));
            fn();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    ::close(fd);
    if (failure) std::rethrow_exception(failure);
}

void NetnsLab::remove_stale_namespaces() const {
    std::error_code ec;
    for (fs::directory_iterator it(kNetnsDir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (name.rfind(kNamePrefix, 0) != 0) continue;
        const auto rest = name.substr(std::strlen(kNamePrefix));
        int owner = 0;
        try {
            owner = std::stoi(rest.substr(0, rest.find('-')));
        } catch (...) {
            continue;
        }
        // Only a lab whose test process is gone: a live one cleans up itself.
        if (owner <= 0 || owner == ::getpid() || ::kill(owner, 0) == 0 || errno != ESRCH) continue;
        const auto pids = run_command({ip_, "netns", "pids", name});
        std::stringstream in(pids.output);
        for (int pid = 0; in >> pid;) ::kill(pid, SIGKILL);
        run_command({ip_, "netns", "del", name});
    }
}

void NetnsLab::destroy() noexcept {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
        try {
            // Normally the test's Subprocesses are gone already; anything left
            // would keep the namespace alive after its name is deleted.
            const auto pids = run_command({ip_, "netns", "pids", *it});
            if (pids.code == 0) {
                std::stringstream in(pids.output);
                for (int pid = 0; in >> pid;) ::kill(pid, SIGKILL);
            }
            run_command({ip_, "netns", "del", *it});
        } catch (...) {
            // Keep going: the remaining namespaces must go too.
        }
    }
    created_.clear();
}

}  // namespace benchdist::testing
