// Rig: the one way integration tests start and drive the suite's real
// processes -- stdb-standin, bench-dist-coordinator, bench-dist-generator --
// on 127.0.0.1 (or inside a NetnsLab host) with ports the kernel picks. Each
// start waits for the process's "listening on" line under a deadline, so a
// process that dies or hangs fails the test with its output instead of
// hanging it; each wait on the coordinator long-polls /state until a
// predicate holds or a deadline passes, never sleeping to synchronize. The
// pieces (StandinProcess, CoordinatorProcess, generator_argv) serve tests
// that need one process with unusual flags; Rig puts the usual three
// together in a private directory that goes away with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_client.hpp"
#include "subprocess.hpp"

namespace benchdist::testing {

// ---- small helpers every test wanted ------------------------------------

bool contains(std::string_view s, std::string_view part);
std::string lower(std::string s);
std::string read_file(const std::filesystem::path& p);
double seconds_since(std::chrono::steady_clock::time_point t0);
// "2026-04-10T12:00:33.224Z" -> microseconds since the Unix epoch.
std::int64_t iso_to_micros(const std::string& iso);
// A port on 127.0.0.1 that was free a moment ago (bound, then released).
int free_port();

// A fresh directory under the system temp dir, named after the tag, the
// test process and a counter (so parallel tests never share one), removed
// with everything in it on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& tag);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Waits (bounded) for the process's "listening on http://" line and returns
// the port in it; throws with the process's output when it never comes.
int wait_listening(Subprocess& p, const std::string& what,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

// ---- HTTP ---------------------------------------------------------------

// One request with the project's client: a non-empty body goes as JSON.
net::ClientResponse http_call(const std::string& method, const std::string& url, const std::string& body = {},
                              std::chrono::milliseconds timeout = std::chrono::seconds(10),
                              net::HeaderList headers = {});

// Where the test's own calls to a process are made from: the calling
// thread by default; a multi-host test passes a NetnsLab host's run_in.
using CallSite = std::function<void(const std::function<void()>&)>;
// Wraps a process's argv before it starts, e.g. NetnsLab::exec_argv.
using ArgvWrapper = std::function<std::vector<std::string>(std::vector<std::string>)>;

// ---- stdb-standin -------------------------------------------------------

struct StandinOptions {
    std::string host = "127.0.0.1";
    int port = 0;  // 0: a free one
    std::vector<std::string> databases{"test-1"};
    std::vector<std::string> args;  // appended, e.g. {"--debug-routes"}
    ArgvWrapper wrap;
    CallSite call_site;
};

class StandinProcess {
public:
    explicit StandinProcess(StandinOptions options = {});
    StandinProcess(const StandinProcess&) = delete;
    StandinProcess& operator=(const StandinProcess&) = delete;

    int port() const { return port_; }
    std::string http_url(const std::string& path = {}) const;
    std::string ws_url() const;
    Subprocess& process() const { return *process_; }
    bool running() { return process_->running(); }
    std::string output() const { return process_->output(); }
    // The identity the stand-in printed for the database at startup.
    const std::string& identity(const std::string& database) const { return identities_.at(database); }

    net::ClientResponse post(const std::string& path, const std::string& json = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
    // Calls the seed reducer; throws unless the answer is 200.
    void seed(std::uint64_t accounts, std::int64_t balance, const std::string& database = "test-1") const;
    // The server's committed-transfer counter of one database (default: the
    // first), read from /v1/metrics the way the coordinator reads it.
    std::uint64_t committed(const std::string& database = {}) const;

private:
    void in_place(const std::function<void()>& f) const;

    StandinOptions options_;
    std::unique_ptr<Subprocess> process_;
    int port_ = 0;
    std::map<std::string, std::string> identities_;
};

// ---- bench-dist-coordinator ---------------------------------------------

using StatePredicate = std::function<bool(const control::CoordinatorState&)>;

struct CoordinatorOptions {
    std::string stdb_url;
    std::string module = "test-1";
    std::filesystem::path results_dir;  // --results-dir when set
    std::string bind = "127.0.0.1";
    int port = 0;                   // 0: a free one
    std::vector<std::string> args;  // appended, e.g. {"--window-seconds", "2"}
    std::map<std::string, std::string> env;
    std::chrono::milliseconds call_timeout{40000};
    std::chrono::milliseconds long_poll{500};  // waitMs of the /state polls in wait_state
    // Sent as a bearer token on the test's own calls (call, state,
    // wait_state, ...). The coordinator learns its token only from args or
    // env; Rig::start_coordinator copies env's BENCH_DIST_TOKEN here.
    std::string auth_token;
    ArgvWrapper wrap;
    CallSite call_site;
};

class CoordinatorProcess {
public:
    explicit CoordinatorProcess(CoordinatorOptions options);
    CoordinatorProcess(const CoordinatorProcess&) = delete;
    CoordinatorProcess& operator=(const CoordinatorProcess&) = delete;

    int port() const { return port_; }
    std::string url(const std::string& path = {}) const;
    Subprocess& process() const { return *process_; }
    // More output for wait_state's failure message (e.g. the generators').
    void add_diagnostics(std::function<std::string()> more) { diagnostics_ = std::move(more); }

    net::ClientResponse call(const std::string& method, const std::string& path, const std::string& body = {}) const;
    control::CoordinatorState state() const;  // GET /admin/status
    // Long-polls /state until pred holds; throws, naming `what` and showing
    // the last state and the output, when the timeout passes first.
    control::CoordinatorState wait_state(const StatePredicate& pred, std::chrono::milliseconds timeout,
                                         const std::string& what = "condition");
    // At least n generators ready.
    control::CoordinatorState wait_ready(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(60));
    control::CoordinatorState wait_phase(control::Phase phase,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
    control::StartEpochResponse start_epoch(const std::string& body = "{}");
    // The epoch's result, once it is over.
    control::EpochResult wait_result(std::uint64_t epoch, std::chrono::milliseconds timeout = std::chrono::seconds(90));

private:
    CoordinatorOptions options_;
    std::unique_ptr<Subprocess> process_;
    int port_ = 0;
    std::function<std::string()> diagnostics_;
};

// ---- bench-dist-generator -----------------------------------------------

struct GeneratorOptions {
    std::string id = "gen-a";
    int concurrency = 4;
    int accounts = 1000;
    int pairs = 20000;
    std::vector<std::string> args;  // appended
    std::map<std::string, std::string> env;
};

// bench-dist-generator's command line for a test: one thread, 100 ms polls.
std::vector<std::string> generator_argv(const std::string& coordinator_url, const std::string& stdb_url,
                                        const GeneratorOptions& o = {});

// ---- any tool, run to its end --------------------------------------------

struct ToolRun {
    int rc = -1;      // -1: it did not exit within the timeout (then it is killed)
    std::string out;  // stdout and stderr together
};

// Runs build/<preset>/bin/<tool> with `args` (in `dir` when given) until it
// exits or `timeout` passes; for usage errors and one-shot commands.
ToolRun run_tool(const std::string& tool, std::vector<std::string> args, std::map<std::string, std::string> env = {},
                 const std::filesystem::path& dir = {}, std::chrono::milliseconds timeout = std::chrono::seconds(90));

// ---- the usual three together -------------------------------------------

struct RigOptions {
    std::string tag = "rig";  // names the private directory
    StandinOptions standin;
    // --commit-log commit_log_path() for the stand-in.
    bool commit_log = false;
    // Seeds every database with (accounts, balance); nullopt: not seeded.
    std::optional<std::pair<std::uint64_t, std::int64_t>> seed =
        std::make_pair(std::uint64_t{1000}, std::int64_t{1000000});
    // Coordinator flags after --stdb-url, --stdb-module and --results-dir
    // (results_dir()); nullopt: start no coordinator yet.
    std::optional<std::vector<std::string>> coordinator_args = std::vector<std::string>{};
    std::chrono::milliseconds call_timeout{40000};
    std::chrono::milliseconds long_poll{500};
    // What start_generator(id, args) starts; id and args are its own.
    GeneratorOptions generator;
};

class Rig {
public:
    explicit Rig(RigOptions options = {});
    ~Rig();
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;

    const std::filesystem::path& dir() const { return dir_->path(); }
    std::filesystem::path results_dir() const { return dir() / "results"; }
    std::filesystem::path commit_log_path() const { return dir() / "commits.log"; }
    StandinProcess& standin() { return *standin_; }
    std::string stdb_url() const { return standin_->ws_url(); }

    // A (new) coordinator on the rig's stand-in and results directory. With
    // BENCH_DIST_TOKEN in env, the rig's own calls carry that token.
    CoordinatorProcess& start_coordinator(std::vector<std::string> args, int port = 0,
                                          std::map<std::string, std::string> env = {});
    CoordinatorProcess& coordinator() { return *coordinator_; }
    void drop_coordinator() { coordinator_.reset(); }

    Subprocess& start_generator(GeneratorOptions o);
    // RigOptions::generator with this id and these extra flags.
    Subprocess& start_generator(const std::string& id, std::vector<std::string> args = {});
    Subprocess& generator(const std::string& id) { return *generators_.at(id); }
    void drop_generator(const std::string& id) { generators_.erase(id); }

    // The coordinator's, for brevity.
    net::ClientResponse coord(const std::string& method, const std::string& path, const std::string& body = {}) {
        return coordinator_->call(method, path, body);
    }
    control::CoordinatorState state() { return coordinator_->state(); }
    control::CoordinatorState wait_state(const StatePredicate& pred, std::chrono::milliseconds timeout) {
        return coordinator_->wait_state(pred, timeout);
    }
    control::CoordinatorState wait_ready(std::size_t n = 1) { return coordinator_->wait_ready(n); }
    control::CoordinatorState wait_phase(control::Phase phase) { return coordinator_->wait_phase(phase); }
    control::StartEpochResponse start_epoch(const std::string& body = "{}") { return coordinator_->start_epoch(body); }
    control::EpochResult wait_result(std::uint64_t epoch,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(90)) {
        return coordinator_->wait_result(epoch, timeout);
    }

private:
    RigOptions options_;
    // Declared so that the processes go before the directory.
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<StandinProcess> standin_;
    std::unique_ptr<CoordinatorProcess> coordinator_;
    std::map<std::string, std::unique_ptr<Subprocess>> generators_;
};

}  // namespace benchdist::testing
