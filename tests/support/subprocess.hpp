// Subprocess: a child process for integration tests. It starts the program
// in its own process group with stdout+stderr captured through a pipe, lets a
// test wait (with a deadline, never a blind sleep) for a line matching a
// condition, and on destruction terminates the whole group (SIGTERM, then
// SIGKILL after a grace period) so no test leaves a server running.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace benchdist::testing {

class Subprocess {
public:
    // argv[0] is the program path (absolute when working_directory is set).
    // env entries are added to the inherited environment. The child runs in
    // working_directory when one is given, else in the test's own.
    Subprocess(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
               const std::filesystem::path& working_directory = {});
    ~Subprocess();
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;

    int pid() const { return pid_; }

    // Waits until an output line satisfies pred; returns it, or nullopt on
    // timeout or when the process exits first.
    std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& pred,
                                             std::chrono::milliseconds timeout);
    // Waits for the process to exit; returns its exit code (128+signal when
    // killed by a signal), or nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    // Sends a signal to the process group.
    void signal(int sig);
    // Everything printed so far (for failure messages).
    std::string output() const;
    bool running();

private:
    void reader_loop();

    int pid_ = -1;
    int out_fd_ = -1;
    std::thread reader_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> lines_;
    std::string partial_;
    bool eof_ = false;
    std::optional<int> exit_code_;
};

// Path of a built executable (tests get BENCHDIST_BIN_DIR from CMake).
std::string bin_path(const std::string& name);

// Parses "... listening on http://127.0.0.1:PORT ..." style lines: the port
// after the last ':' of the first "http://" or "ws://" URL in the line.
std::optional<int> port_from_listening_line(const std::string& line);

}  // namespace benchdist::testing
