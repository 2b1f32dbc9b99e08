#include "subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace benchdist::testing {

Subprocess::Subprocess(std::vector<std::string> argv, std::map<std::string, std::string> env,
                       const std::filesystem::path& working_directory) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));

    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        const auto key = entry.substr(0, entry.find('='));
        if (env.count(key) == 0) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);

    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<char*> cenv;
    for (auto& e : env_strings) cenv.push_back(e.data());
    cenv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    // In the child, after the redirections (glibc 2.29+).
    if (!working_directory.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_directory.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Own process group, so cleanup reaches anything the child starts.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);

    const int rc = posix_spawn(&pid_, argv.at(0).c_str(), &actions, &attr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        throw std::runtime_error("cannot start " + argv.at(0) + ": " + std::strerror(rc));
    }
    out_fd_ = fds[0];
    reader_ = std::thread([this] { reader_loop(); });
}

Subprocess::~Subprocess() {
    if (!wait_exit(std::chrono::milliseconds(0))) {
        signal(SIGTERM);
        if (!wait_exit(std::chrono::seconds(5))) {
            signal(SIGKILL);
            wait_exit(std::chrono::seconds(5));
        }
    }
    // Anything the child left in its group goes too.
    if (pid_ > 0) ::kill(-pid_, SIGKILL);
    if (reader_.joinable()) reader_.join();
    if (out_fd_ >= 0) close(out_fd_);
}

void Subprocess::reader_loop() {
    char buf[4096];
    for (;;) {
        const ssize_t n = read(out_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard lock(mutex_);
        if (n <= 0) {
            if (!partial_.empty()) lines_.push_back(std::move(partial_));
            eof_ = true;
            changed_.notify_all();
            return;
        }
        partial_.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = partial_.find('\n')) != std::string::npos) {
            lines_.push_back(partial_.substr(0, nl));
            partial_.erase(0, nl + 1);
        }
        changed_.notify_all();
    }
}

std::optional<std::string> Subprocess::wait_for_line(const std::function<bool(const std::string&)>& pred,
                                                     std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    std::size_t checked = 0;
    for (;;) {
        for (; checked < lines_.size(); ++checked) {
            if (pred(lines_[checked])) return lines_[checked];
        }
        if (eof_) return std::nullopt;
        if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
            for (; checked < lines_.size(); ++checked) {
                if (pred(lines_[checked])) return lines_[checked];
            }
            return std::nullopt;
        }
    }
}

std::optional<int> Subprocess::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_code_) return exit_code_;
    if (pid_ <= 0) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            // The child is gone but its last output may still sit in the
            // pipe: let the reader drain it so output() is complete. Bounded,
            // in case something the child started keeps the pipe open.
            std::unique_lock lock(mutex_);
            changed_.wait_for(lock, std::chrono::seconds(5), [this] { return eof_; });
            return exit_code_;
        }
        if (r < 0 && errno != EINTR) return std::nullopt;
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        // waitpid has no timeout form; poll the exit at a fine grain until the deadline.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void Subprocess::signal(int sig) {
    if (pid_ > 0 && !exit_code_) ::kill(-pid_, sig);
}

bool Subprocess::running() { return !wait_exit(std::chrono::milliseconds(0)).has_value(); }

std::string Subprocess::output() const {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& l : lines_) all += l + "\n";
    return all + partial_;
}

std::string bin_path(const std::string& name) { return std::string(BENCHDIST_BIN_DIR) + "/" + name; }

std::optional<int> port_from_listening_line(const std::string& line) {
    auto at = line.find("http://");
    if (at == std::string::npos) at = line.find("ws://");
    if (at == std::string::npos) return std::nullopt;
    const auto host_start = line.find("//", at) + 2;
    auto end = line.find_first_of(" /\t", host_start);
    const std::string hostport =
        line.substr(host_start, end == std::string::npos ? std::string::npos : end - host_start);
    const auto colon = hostport.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    try {
        return std::stoi(hostport.substr(colon + 1));
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace benchdist::testing
