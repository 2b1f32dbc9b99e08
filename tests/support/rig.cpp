#include "rig.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdbhttp/server_api.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace benchdist::testing {

namespace {

std::atomic<int> temp_dir_counter{0};

void run_at(const CallSite& site, const std::function<void()>& f) {
    if (site) {
        site(f);
    } else {
        f();
    }
}

std::vector<std::string> wrapped(const ArgvWrapper& wrap, std::vector<std::string> argv) {
    return wrap ? wrap(std::move(argv)) : argv;
}

}  // namespace

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::int64_t iso_to_micros(const std::string& iso) {
    std::tm tm{};
    int millis = 0;
    std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                &tm.tm_sec, &millis);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm)) * 1000000 + millis * 1000;
}

int free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io,
                                            boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                                           0));
    return acceptor.local_endpoint().port();
}

TempDir::TempDir(const std::string& tag)
    : path_(fs::temp_directory_path() /
            ("bench-dist-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(temp_dir_counter++))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

int wait_listening(Subprocess& p, const std::string& what, std::chrono::milliseconds timeout) {
    const auto line =
        p.wait_for_line([](const std::string& l) { return contains(l, "listening on http://"); }, timeout);
    if (!line) throw std::runtime_error(what + " did not start:\n" + p.output());
    const auto port = port_from_listening_line(*line);
    if (!port) throw std::runtime_error(what + ": no port in: " + *line);
    return *port;
}

net::ClientResponse http_call(const std::string& method, const std::string& url, const std::string& body,
                              std::chrono::milliseconds timeout, net::HeaderList headers) {
    return net::http_request({.method = method,
                              .url = url,
                              .body = body,
                              .content_type = body.empty() ? "" : "application/json",
                              .headers = std::move(headers),
                              .timeout = timeout});
}

// ---- stdb-standin -------------------------------------------------------

StandinProcess::StandinProcess(StandinOptions options) : options_(std::move(options)) {
    std::vector<std::string> argv{bin_path("stdb-standin"), "--listen",
                                  options_.host + ":" + std::to_string(options_.port)};
    for (const auto& db : options_.databases) argv.insert(argv.end(), {"--database", db});
    argv.insert(argv.end(), options_.args.begin(), options_.args.end());
    process_ = std::make_unique<Subprocess>(wrapped(options_.wrap, std::move(argv)));
    port_ = wait_listening(*process_, "stdb-standin");
    // Printed right after the listening line, one per database.
    for (const auto& db : options_.databases) {
        const std::string prefix = "database " + db + " identity ";
        const auto line = process_->wait_for_line([&](const std::string& l) { return l.rfind(prefix, 0) == 0; }, 15s);
        if (!line) throw std::runtime_error("stdb-standin printed no identity line for " + db + ":\n" + output());
        identities_[db] = line->substr(prefix.size());
    }
}

std::string StandinProcess::http_url(const std::string& path) const {
    return "http://" + options_.host + ":" + std::to_string(port_) + path;
}

std::string StandinProcess::ws_url() const { return "ws://" + options_.host + ":" + std::to_string(port_); }

void StandinProcess::in_place(const std::function<void()>& f) const { run_at(options_.call_site, f); }

net::ClientResponse StandinProcess::post(const std::string& path, const std::string& json,
                                         std::chrono::milliseconds timeout) const {
    net::ClientResponse r;
    in_place([&] { r = http_call("POST", http_url(path), json, timeout); });
    return r;
}

void StandinProcess::seed(std::uint64_t accounts, std::int64_t balance, const std::string& database) const {
    const auto r = post("/v1/database/" + database + "/call/seed",
                        "[" + std::to_string(accounts) + "," + std::to_string(balance) + "]");
    if (r.status != 200) {
        throw std::runtime_error("seeding " + database + " on stdb-standin failed: HTTP " + std::to_string(r.status) +
                                 " " + r.body);
    }
}

std::uint64_t StandinProcess::committed(const std::string& database) const {
    const auto& id = identity(database.empty() ? options_.databases.front() : database);
    std::uint64_t n = 0;
    in_place([&] { n = stdbhttp::read_committed_transfers(stdb::parse_endpoint(http_url()), id, 10s).committed; });
    return n;
}

// ---- bench-dist-coordinator ---------------------------------------------

CoordinatorProcess::CoordinatorProcess(CoordinatorOptions options) : options_(std::move(options)) {
    std::vector<std::string> argv{bin_path("bench-dist-coordinator"),
                                  "--bind",
                                  options_.bind,
                                  "--port",
                                  std::to_string(options_.port),
                                  "--stdb-url",
                                  options_.stdb_url,
                                  "--stdb-module",
                                  options_.module};
    if (!options_.results_dir.empty()) argv.insert(argv.end(), {"--results-dir", options_.results_dir.string()});
    argv.insert(argv.end(), options_.args.begin(), options_.args.end());
    process_ = std::make_unique<Subprocess>(wrapped(options_.wrap, std::move(argv)), options_.env);
    port_ = wait_listening(*process_, "bench-dist-coordinator");
}

std::string CoordinatorProcess::url(const std::string& path) const {
    // A wildcard bind is reached over loopback.
    const auto host = options_.bind == "0.0.0.0" ? std::string("127.0.0.1") : options_.bind;
    return "http://" + host + ":" + std::to_string(port_) + path;
}

net::ClientResponse CoordinatorProcess::call(const std::string& method, const std::string& path,
                                             const std::string& body) const {
    net::ClientResponse r;
    net::HeaderList headers;
    if (!options_.auth_token.empty()) headers.emplace_back("Authorization", "Bearer " + options_.auth_token);
    run_at(options_.call_site, [&] { r = http_call(method, url(path), body, options_.call_timeout, headers); });
    return r;
}

control::CoordinatorState CoordinatorProcess::state() const {
    return control::coordinator_state_from_json(control::Json::parse(call("GET", "/admin/status").body));
}

control::CoordinatorState CoordinatorProcess::wait_state(const StatePredicate& pred, std::chrono::milliseconds timeout,
                                                         const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto s = state();
    while (!pred(s)) {
        if (std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error(what + " not reached within " + std::to_string(timeout.count()) +
                                     " ms; last state:\n" + control::pretty(control::to_json(s)) +
                                     "\ncoordinator output:\n" + process_->output() +
                                     (diagnostics_ ? "\n" + diagnostics_() : std::string()));
        }
        // The long-poll answers at once when the state changes.
        const auto body = call("GET", "/state?since=" + std::to_string(s.version) +
                                          "&waitMs=" + std::to_string(options_.long_poll.count()))
                              .body;
        s = control::coordinator_state_from_json(control::Json::parse(body));
    }
    return s;
}

control::CoordinatorState CoordinatorProcess::wait_ready(std::size_t n, std::chrono::milliseconds timeout) {
    return wait_state(
        [n](const control::CoordinatorState& s) {
            std::size_t ready = 0;
            for (const auto& g : s.generators) ready += g.local_state == control::GeneratorState::Ready;
            return ready >= n;
        },
        timeout, std::to_string(n) + " generator(s) ready");
}

control::CoordinatorState CoordinatorProcess::wait_phase(control::Phase phase, std::chrono::milliseconds timeout) {
    return wait_state([phase](const control::CoordinatorState& s) { return s.phase == phase; }, timeout,
                      "phase " + std::string(control::phase_name(phase)));
}

control::StartEpochResponse CoordinatorProcess::start_epoch(const std::string& body) {
    return control::start_epoch_response_from_json(control::Json::parse(call("POST", "/admin/start-epoch", body).body));
}

control::EpochResult CoordinatorProcess::wait_result(std::uint64_t epoch, std::chrono::milliseconds timeout) {
    const auto s = wait_state(
        [epoch](const control::CoordinatorState& st) {
            return st.last_result && st.last_result->epoch == epoch && st.current_epoch != epoch;
        },
        timeout, "the result of epoch " + std::to_string(epoch));
    return *s.last_result;
}

// ---- bench-dist-generator -----------------------------------------------

std::vector<std::string> generator_argv(const std::string& coordinator_url, const std::string& stdb_url,
                                        const GeneratorOptions& o) {
    std::vector<std::string> argv{bin_path("bench-dist-generator"),
                                  "--coordinator-url",
                                  coordinator_url,
                                  "--id",
                                  o.id,
                                  "--concurrency",
                                  std::to_string(o.concurrency),
                                  "--accounts",
                                  std::to_string(o.accounts),
                                  "--pairs",
                                  std::to_string(o.pairs),
                                  "--stdb-url",
                                  stdb_url,
                                  "--stdb-module",
                                  "test-1",
                                  "--poll-ms",
                                  "100",
                                  "--threads",
                                  "1"};
    argv.insert(argv.end(), o.args.begin(), o.args.end());
    return argv;
}

// ---- any tool, run to its end --------------------------------------------

ToolRun run_tool(const std::string& tool, std::vector<std::string> args, std::map<std::string, std::string> env,
                 const std::filesystem::path& dir, std::chrono::milliseconds timeout) {
    args.insert(args.begin(), bin_path(tool));
    Subprocess p(std::move(args), std::move(env), dir);
    const auto rc = p.wait_exit(timeout);
    return {rc.value_or(-1), p.output()};
}

// ---- the usual three together -------------------------------------------

Rig::Rig(RigOptions options) : options_(std::move(options)), dir_(std::make_unique<TempDir>(options_.tag)) {
    auto standin = options_.standin;
    if (options_.commit_log) standin.args.insert(standin.args.end(), {"--commit-log", commit_log_path().string()});
    standin_ = std::make_unique<StandinProcess>(std::move(standin));
    if (options_.seed) {
        for (const auto& db : options_.standin.databases)
            standin_->seed(options_.seed->first, options_.seed->second, db);
    }
    if (options_.coordinator_args) start_coordinator(*options_.coordinator_args);
}

Rig::~Rig() {
    generators_.clear();
    coordinator_.reset();
    standin_.reset();
}

CoordinatorProcess& Rig::start_coordinator(std::vector<std::string> args, int port,
                                           std::map<std::string, std::string> env) {
    coordinator_.reset();
    const auto token = env.find("BENCH_DIST_TOKEN");
    std::string auth_token = token == env.end() ? std::string() : token->second;
    coordinator_ = std::make_unique<CoordinatorProcess>(CoordinatorOptions{.stdb_url = stdb_url(),
                                                                           .results_dir = results_dir(),
                                                                           .port = port,
                                                                           .args = std::move(args),
                                                                           .env = std::move(env),
                                                                           .call_timeout = options_.call_timeout,
                                                                           .long_poll = options_.long_poll,
                                                                           .auth_token = std::move(auth_token)});
    coordinator_->add_diagnostics([this] {
        std::string out;
        for (const auto& [id, g] : generators_) out += id + " output:\n" + g->output() + "\n";
        return out;
    });
    return *coordinator_;
}

Subprocess& Rig::start_generator(GeneratorOptions o) {
    auto argv = generator_argv(coordinator_->url(), stdb_url(), o);
    const auto id = o.id;
    generators_[id] = std::make_unique<Subprocess>(std::move(argv), std::move(o.env));
    return *generators_[id];
}

Subprocess& Rig::start_generator(const std::string& id, std::vector<std::string> args) {
    auto o = options_.generator;
    o.id = id;
    o.args.insert(o.args.end(), args.begin(), args.end());
    return start_generator(std::move(o));
}

}  // namespace benchdist::testing
