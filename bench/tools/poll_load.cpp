// coordinator_poll_load: simulates many generators talking to a running
// bench-dist-coordinator, to measure how the coordinator copes with a large
// fleet polling /state. Each simulated generator registers (POST /register,
// POST /ready, as bench-dist-generator does), then polls
// GET /state?id=<id> for --seconds, and the tool prints one JSON object:
// request counts, errors, response times and the coordinator's CPU use
// (utime+stime from /proc/<pid>/stat around the polling phase).
//
// Two poll patterns:
//  - long-poll (default, what bench-dist-generator does): one plain poll,
//    then back-to-back GET /state?id=..&since=<version>&waitMs=<wait>; the
//    coordinator holds each until the version changes or the wait ends, so
//    every generator has one request outstanding nearly all the time and
//    sends about one per wait. "response_ms" is then how late the
//    coordinator answers a held poll (round trip minus waitMs), plus the
//    round trip of the plain first polls.
//  - poll: a plain GET /state?id=.. every --interval-ms on a fixed schedule
//    (the "polling once a second"); "response_ms" is the round trip.
// Start times are spread evenly over one interval so the fleet does not
// arrive in lockstep.
//
// Connections: bench-dist-generator keeps one connection to the coordinator
// for all its control calls (net::HttpConnection), so that is the default
// here too (--connection keep-alive); --connection close opens a new one
// for every request, as the generator did before.
// Either way a held long-poll occupies a coordinator connection for its
// whole wait, so ~one per generator counts against --max-connections.
//
// Generators are spread over --threads io_contexts, one thread each; a
// generator and its statistics live on one thread, so nothing is shared
// between threads while the load runs.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchdist/control/protocol.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
namespace control = benchdist::control;

enum class Mode { poll, long_poll };

struct Options {
    std::string url = "http://127.0.0.1:8080";
    std::size_t generators = 1000;
    double seconds = 20;
    unsigned threads = 2;
    Mode mode = Mode::long_poll;
    bool keep_alive = false;
    std::chrono::milliseconds interval{1000};
    std::chrono::milliseconds wait{1000};
    int pid = 0;
    std::string token;
    std::size_t register_parallelism = 16;
    std::string id_prefix = "poll-load";
    // "self": ?view=self on every request, as bench-dist-generator asks
    // (its compact view); "full": the whole state, as older generators got.
    std::string view = "self";
    // Derived from url.
    std::string host;
    std::string port;
};

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// What one thread saw; merged after the threads have stopped.
struct Stats {
    std::vector<double> response_ms;
    std::vector<double> held_rtt_ms;  // long-poll: full round trip of polls held to their deadline
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::uint64_t woken = 0;  // long-poll answered early because the version changed
    std::uint64_t connects = 0;
    std::uint64_t register_errors = 0;
    std::map<unsigned, std::uint64_t> statuses;
    std::vector<std::string> error_samples;

    void error(std::string what) {
        ++errors;
        if (error_samples.size() < 5) error_samples.push_back(std::move(what));
    }

    void merge(const Stats& o) {
        response_ms.insert(response_ms.end(), o.response_ms.begin(), o.response_ms.end());
        held_rtt_ms.insert(held_rtt_ms.end(), o.held_rtt_ms.begin(), o.held_rtt_ms.end());
        requests += o.requests;
        errors += o.errors;
        woken += o.woken;
        connects += o.connects;
        register_errors += o.register_errors;
        for (const auto& [status, n] : o.statuses) statuses[status] += n;
        for (const auto& s : o.error_samples) {
            if (error_samples.size() < 5) error_samples.push_back(s);
        }
    }
};

struct Exchange {
    beast::error_code ec;
    unsigned status = 0;
    std::string body;
    double ms = 0;
};

// The top-level "version" comes after every nested object in both the
// full state and the compact view (indented or not), so the last
// "version" key is it. Searching for it instead of parsing 1000 generator
// entries keeps this tool's CPU, which shares the machine with the
// coordinator, small.
std::optional<std::uint64_t> version_of(const std::string& body) {
    static constexpr std::string_view key = "\"version\":";
    const auto at = body.rfind(key);
    if (at == std::string::npos) return std::nullopt;
    const char* begin = body.data() + at + key.size();
    while (begin < body.data() + body.size() && *begin == ' ') ++begin;
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(begin, body.data() + body.size(), v);
    if (ec != std::errc() || ptr == begin) return std::nullopt;
    return v;
}

class Generator : public std::enable_shared_from_this<Generator> {
public:
    Generator(asio::io_context& io, const Options& o, tcp::endpoint endpoint, std::string id, Stats& stats)
        : o_(o), endpoint_(endpoint), id_(std::move(id)), stats_(stats), stream_(io), timer_(io) {}

    // Registers, reports ready, calls `registered`, then polls until
    // measure()'s end. The first poll goes at this generator's slot
    // (`offset` into every interval from `phase`), so the fleet stays spread
    // evenly however registrations were paced. Polls start at once, as
    // bench-dist-generator's do: a registered generator left silent would
    // lose its lease and change the state every other poll is waiting on.
    void run(Clock::time_point phase, Clock::duration offset, std::function<void()> registered) {
        phase_ = phase;
        offset_ = offset;
        control::RegisterRequest reg{id_, "poll-load-host", 1, Json::object()};
        exchange(http::verb::post, o_.view == "self" ? "/register?view=self" : "/register",
                 control::to_json(reg).dump(),
                 [self = shared_from_this(), registered = std::move(registered)](Exchange x) mutable {
                     if (!self->registered_ok(x, "/register")) {
                         self->failed_ = true;
                         return registered();
                     }
                     control::ReadyRequest ready{self->id_, 1, Json::object()};
                     self->exchange(http::verb::post, self->o_.view == "self" ? "/ready?view=self" : "/ready",
                                    control::to_json(ready).dump(),
                                    [self, registered = std::move(registered)](Exchange y) {
                                        self->failed_ = !self->registered_ok(y, "/ready");
                                        registered();
                                        if (!self->failed_) {
                                            self->next_due_ = self->next_slot(Clock::now());
                                            self->schedule(self->next_due_);
                                        }
                                    });
                 });
    }

    // Counts requests started in [from, until) and stops polling at `until`;
    // `done` runs once this generator's last request has been answered.
    void measure(Clock::time_point from, Clock::time_point until, std::function<void()> done) {
        count_from_ = from;
        end_ = until;
        done_ = std::move(done);
        if (failed_) finish();
    }

private:
    bool registered_ok(const Exchange& x, std::string_view what) {
        if (!x.ec && x.status == 200) return true;
        ++stats_.register_errors;
        stats_.error(std::string(what) + ": " + (x.ec ? x.ec.message() : "HTTP " + std::to_string(x.status)));
        return false;
    }

    // The first slot of this generator at or after `t`.
    Clock::time_point next_slot(Clock::time_point t) const {
        const auto first = phase_ + offset_;
        if (t <= first) return first;
        const auto periods = (t - first + o_.interval - Clock::duration(1)) / o_.interval;
        return first + periods * o_.interval;
    }

    void schedule(Clock::time_point at) {
        if (at >= end_) return finish();
        timer_.expires_at(at);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->poll();
        });
    }

    void finish() {
        if (auto done = std::move(done_)) {
            done_ = nullptr;
            close_socket();
            done();
        }
    }

    void poll() {
        const bool waiting = o_.mode == Mode::long_poll && have_version_;
        std::string target = "/state?id=" + id_ + (o_.view == "self" ? "&view=self" : "");
        if (waiting) target += "&since=" + std::to_string(version_) + "&waitMs=" + std::to_string(o_.wait.count());
        exchange(http::verb::get, std::move(target), {},
                 [self = shared_from_this(), waiting](Exchange x) { self->on_poll(std::move(x), waiting); });
    }

    void on_poll(Exchange x, bool waiting) {
        if (sent_at_ < count_from_) return after_uncounted_poll(x, waiting);
        ++stats_.requests;
        std::optional<std::uint64_t> version;
        if (x.ec) {
            stats_.error("GET /state: " + x.ec.message());
        } else {
            ++stats_.statuses[x.status];
            if (x.status != 200) {
                stats_.error("GET /state: HTTP " + std::to_string(x.status) + " " + x.body.substr(0, 200));
            } else if (!(version = version_of(x.body))) {
                stats_.error("GET /state: no \"version\" in the answer");
            }
        }
        const auto now = Clock::now();
        if (o_.mode == Mode::poll) {
            if (version) stats_.response_ms.push_back(x.ms);
            // Fixed schedule: a slow answer makes the next poll go at once
            // rather than shifting every later one.
            next_due_ += o_.interval;
            return schedule(std::max(next_due_, now));
        }
        if (!version) return schedule(now + o_.interval);  // the generator retries every --poll-ms
        const bool changed = !have_version_ || *version != version_;
        if (!waiting) {
            stats_.response_ms.push_back(x.ms);
        } else if (!changed) {
            stats_.held_rtt_ms.push_back(x.ms);
            stats_.response_ms.push_back(x.ms - static_cast<double>(o_.wait.count()));
        } else {
            ++stats_.woken;
        }
        next_long_poll(*version, waiting, changed, x.ms, now);
    }

    // Before the measured window: the same schedule, nothing recorded.
    void after_uncounted_poll(const Exchange& x, bool waiting) {
        const auto now = Clock::now();
        const auto version = !x.ec && x.status == 200 ? version_of(x.body) : std::nullopt;
        if (o_.mode == Mode::poll) {
            next_due_ += o_.interval;
            return schedule(std::max(next_due_, now));
        }
        if (!version) return schedule(now + o_.interval);
        next_long_poll(*version, waiting, !have_version_ || *version != version_, x.ms, now);
    }

    void next_long_poll(std::uint64_t version, bool waiting, bool changed, double rtt_ms, Clock::time_point now) {
        version_ = version;
        have_version_ = true;
        // As the generator: an unchanged answer that came back at once means
        // a coordinator without long-polling, so wait before the next poll.
        const bool immediate = rtt_ms < static_cast<double>(o_.wait.count()) / 2;
        if (waiting && !changed && immediate) return schedule(now + o_.interval);
        schedule(now);
    }

    // One HTTP exchange on this generator's connection (a new one per
    // request unless keep-alive is on), timed from before the connect.
    void exchange(http::verb verb, std::string target, std::string body, std::function<void(Exchange)> then) {
        req_ = {};
        req_.method(verb);
        req_.target(target);
        req_.version(11);
        req_.set(http::field::host, o_.host + ":" + o_.port);
        req_.set(http::field::user_agent, "coordinator_poll_load");
        if (!o_.token.empty()) req_.set(http::field::authorization, "Bearer " + o_.token);
        req_.keep_alive(o_.keep_alive);
        if (verb == http::verb::post) {
            req_.set(http::field::content_type, "application/json");
            req_.body() = std::move(body);
        }
        req_.prepare_payload();
        then_ = std::move(then);
        started_ = Clock::now();
        sent_at_ = started_;
        stream_.expires_after(o_.wait + std::chrono::seconds(30));
        if (connected_) return write();
        stream_.async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
            if (ec) return self->complete(ec);
            self->connected_ = true;
            if (self->started_ >= self->count_from_) ++self->stats_.connects;
            self->write();
        });
    }

    void write() {
        http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->complete(ec);
            self->parser_.emplace();
            self->parser_->body_limit(std::uint64_t{64} << 20);
            http::async_read(self->stream_, self->buffer_, *self->parser_,
                             [self](beast::error_code rec, std::size_t) { self->complete(rec); });
        });
    }

    void complete(beast::error_code ec) {
        Exchange x;
        x.ec = ec;
        x.ms = ms_between(started_, Clock::now());
        bool keep = o_.keep_alive && !ec;
        if (!ec) {
            auto res = parser_->release();
            x.status = res.result_int();
            keep = keep && res.keep_alive();
            x.body = std::move(res.body());
        }
        if (!keep) close_socket();
        auto then = std::move(then_);
        then_ = nullptr;
        then(std::move(x));
    }

    void close_socket() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.socket().close(ignored);
        connected_ = false;
        buffer_.clear();
    }

    const Options& o_;
    tcp::endpoint endpoint_;
    std::string id_;
    Stats& stats_;
    beast::tcp_stream stream_;
    asio::steady_timer timer_;
    bool connected_ = false;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    std::optional<http::response_parser<http::string_body>> parser_;
    std::function<void(Exchange)> then_;
    Clock::time_point started_;
    Clock::time_point sent_at_;  // of the poll in flight
    Clock::time_point phase_;
    Clock::duration offset_{};
    Clock::time_point next_due_;
    // Until measure() is called nothing is counted and polling goes on.
    Clock::time_point count_from_ = Clock::time_point::max();
    Clock::time_point end_ = Clock::time_point::max();
    bool failed_ = false;
    std::uint64_t version_ = 0;
    bool have_version_ = false;
    std::function<void()> done_;
};

// Registers one thread's generators, `parallel` at a time: every finished
// registration starts the next. Outstanding callbacks keep it alive.
class RegisterChain : public std::enable_shared_from_this<RegisterChain> {
public:
    RegisterChain(std::vector<std::shared_ptr<Generator>>& fleet, std::vector<Clock::duration> offsets,
                  Clock::time_point phase, std::function<void()> one_done)
        : fleet_(fleet), offsets_(std::move(offsets)), phase_(phase), one_done_(std::move(one_done)) {}

    void start_one() {
        if (next_ >= fleet_.size()) return;
        const std::size_t k = next_++;
        fleet_[k]->run(phase_, offsets_[k], [self = shared_from_this()] {
            self->one_done_();
            self->start_one();
        });
    }

private:
    std::vector<std::shared_ptr<Generator>>& fleet_;
    std::vector<Clock::duration> offsets_;
    Clock::time_point phase_;
    std::function<void()> one_done_;
    std::size_t next_ = 0;
};

// utime + stime of a process in seconds, from /proc/<pid>/stat.
std::optional<double> process_cpu_seconds(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    // The command name may hold spaces; fields resume after the last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(close + 1));
    std::vector<std::string> f;
    for (std::string s; fields >> s;) f.push_back(s);
    // f[0] is field 3 (state); utime and stime are fields 14 and 15.
    if (f.size() < 13) return std::nullopt;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    return (std::stod(f[11]) + std::stod(f[12])) / ticks;
}

std::optional<std::uint64_t> process_rss_kib(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
    }
    return std::nullopt;
}

double self_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return secs(u.ru_utime) + secs(u.ru_stime);
}

Json percentiles(std::vector<double> v) {
    if (v.empty()) return Json{{"p50", nullptr}, {"p99", nullptr}, {"max", nullptr}, {"samples", 0}};
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
        // Nearest rank.
        const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
        return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
    };
    auto round3 = [](double x) { return std::round(x * 1000.0) / 1000.0; };
    return Json{{"p50", round3(at(0.50))}, {"p99", round3(at(0.99))}, {"max", round3(v.back())}, {"samples", v.size()}};
}

// One open connection per generator needs more than the usual soft limit
// of 1024 descriptors.
void raise_open_file_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

bool parse_url(Options& o) {
    std::string_view u = o.url;
    constexpr std::string_view scheme = "http://";
    if (u.substr(0, scheme.size()) != scheme) return false;
    u.remove_prefix(scheme.size());
    if (const auto slash = u.find('/'); slash != std::string_view::npos) u = u.substr(0, slash);
    const auto colon = u.rfind(':');
    if (colon == std::string_view::npos) {
        o.host = std::string(u);
        o.port = "80";
    } else {
        o.host = std::string(u.substr(0, colon));
        o.port = std::string(u.substr(colon + 1));
    }
    return !o.host.empty() && !o.port.empty();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Simulates many bench-dist generators registering with and polling a bench-dist-coordinator; "
        "prints one JSON object"};
    Options o;
    std::string mode = "long-poll";
    std::string connection = "keep-alive";
    std::int64_t interval_ms = 1000;
    std::int64_t wait_ms = 1000;
    double settle_s = 3;
    app.add_option("--url", o.url, "Coordinator base URL (http:// only)")->capture_default_str();
    app.add_option("--generators", o.generators, "Simulated generators")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--seconds", o.seconds, "Length of the polling phase")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--threads", o.threads, "Client I/O threads")->capture_default_str()->check(CLI::Range(1u, 64u));
    app.add_option("--mode", mode, "long-poll (what bench-dist-generator does) or poll (plain GET every --interval-ms)")
        ->capture_default_str()
        ->check(CLI::IsMember({"long-poll", "poll"}));
    app.add_option("--connection", connection,
                   "keep-alive: one per generator (bench-dist-generator's client); close: a new connection per request")
        ->capture_default_str()
        ->check(CLI::IsMember({"close", "keep-alive"}));
    app.add_option("--interval-ms", interval_ms, "Poll period (poll mode); start spread; retry delay")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{600000}));
    app.add_option("--wait-ms", wait_ms, "waitMs of each long-poll (the generator's --long-poll-ms)")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{30000}));
    app.add_option("--pid", o.pid, "Coordinator process id, for its CPU use (0: not measured)")->capture_default_str();
    app.add_option("--auth-token", o.token, "Bearer token, if the coordinator has one")->envname("BENCH_DIST_TOKEN");
    app.add_option("--register-parallelism", o.register_parallelism, "Registrations in flight per thread")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--settle-seconds", settle_s, "Uncounted polling between the last registration and the window")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 600.0));
    app.add_option("--id-prefix", o.id_prefix, "Generator ids are <prefix>-<n>")->capture_default_str();
    app.add_option("--view", o.view,
                   "self: ?view=self on every request (bench-dist-generator's compact view); full: the whole state")
        ->capture_default_str()
        ->check(CLI::IsMember({"self", "full"}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    o.mode = mode == "poll" ? Mode::poll : Mode::long_poll;
    o.keep_alive = connection == "keep-alive";
    o.interval = std::chrono::milliseconds(interval_ms);
    o.wait = std::chrono::milliseconds(wait_ms);
    if (!parse_url(o)) {
        std::fprintf(stderr, "--url: expected http://HOST:PORT, got \"%s\"\n", o.url.c_str());
        return 2;
    }
    raise_open_file_limit();

    tcp::endpoint endpoint;
    try {
        asio::io_context resolver_io;
        tcp::resolver resolver(resolver_io);
        endpoint = *resolver.resolve(o.host, o.port).begin();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cannot resolve %s:%s: %s\n", o.host.c_str(), o.port.c_str(), e.what());
        return 2;
    }

    const unsigned threads = o.threads;
    std::vector<std::unique_ptr<asio::io_context>> ios;
    std::vector<Stats> stats(threads);
    std::vector<std::vector<std::shared_ptr<Generator>>> fleets(threads);
    for (unsigned t = 0; t < threads; ++t) ios.push_back(std::make_unique<asio::io_context>(1));
    for (std::size_t i = 0; i < o.generators; ++i) {
        const unsigned t = static_cast<unsigned>(i % threads);
        fleets[t].push_back(
            std::make_shared<Generator>(*ios[t], o, endpoint, o.id_prefix + "-" + std::to_string(i), stats[t]));
    }
    using Guard = asio::executor_work_guard<asio::io_context::executor_type>;
    std::vector<std::optional<Guard>> guards(threads);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        guards[t].emplace(ios[t]->get_executor());
        pool.emplace_back([io = ios[t].get()] { io->run(); });
    }

    // Phase 1: register every generator, a few at a time per thread; each
    // starts polling (uncounted) as soon as it is ready.
    std::mutex mu;
    std::condition_variable cv;
    std::size_t pending = o.generators;
    auto one_done = [&] {
        std::lock_guard lock(mu);
        if (--pending == 0) cv.notify_all();
    };
    const auto register_start = Clock::now();
    const auto phase = register_start;
    for (unsigned t = 0; t < threads; ++t) {
        std::vector<Clock::duration> offsets;
        for (std::size_t k = 0; k < fleets[t].size(); ++k) {
            const auto global = static_cast<std::int64_t>(k * threads + t);
            offsets.push_back(std::chrono::duration_cast<Clock::duration>(o.interval) * global /
                              static_cast<std::int64_t>(o.generators));
        }
        auto chain = std::make_shared<RegisterChain>(fleets[t], std::move(offsets), phase, one_done);
        asio::post(*ios[t], [chain, n = o.register_parallelism] {
            for (std::size_t k = 0; k < n; ++k) chain->start_one();
        });
    }
    {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return pending == 0; });
    }
    const double register_s = ms_between(register_start, Clock::now()) / 1000.0;

    // Phase 2: after --settle-seconds (the last registrations changed the
    // state, which answers every held long-poll at once), count what is
    // sent during --seconds.
    const auto t0 = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(settle_s));
    const auto t_end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
    for (unsigned t = 0; t < threads; ++t) {
        asio::post(*ios[t], [&, t] {
            auto left = std::make_shared<std::size_t>(fleets[t].size());
            for (auto& g : fleets[t]) {
                g->measure(t0, t_end, [&, t, left] {
                    if (--*left == 0) guards[t].reset();
                });
            }
            if (fleets[t].empty()) guards[t].reset();
        });
    }
    std::this_thread::sleep_until(t0);
    const auto cpu_before = o.pid > 0 ? process_cpu_seconds(o.pid) : std::nullopt;
    const double self_before = self_cpu_seconds();
    for (auto& th : pool) th.join();
    const auto t_done = Clock::now();
    const auto cpu_after = o.pid > 0 ? process_cpu_seconds(o.pid) : std::nullopt;
    const double self_after = self_cpu_seconds();
    const double elapsed = ms_between(t0, t_done) / 1000.0;

    Stats all;
    for (const auto& s : stats) all.merge(s);
    Json out;
    out["generators"] = o.generators;
    out["seconds"] = o.seconds;
    out["elapsed_s"] = std::round(elapsed * 1000.0) / 1000.0;
    out["mode"] = mode;
    out["connection"] = connection;
    out["view"] = o.view;
    if (o.mode == Mode::long_poll) {
        out["wait_ms"] = wait_ms;
        out["response_ms_is"] = "held long-polls: round trip minus waitMs (lateness); first plain polls: round trip";
    } else {
        out["interval_ms"] = interval_ms;
        out["response_ms_is"] = "round trip of a plain GET /state, connect included";
    }
    out["register_s"] = std::round(register_s * 1000.0) / 1000.0;
    out["settle_s"] = settle_s;
    out["requests"] = all.requests;
    out["requests_per_s"] = std::round(static_cast<double>(all.requests) / elapsed * 10.0) / 10.0;
    out["errors"] = all.errors;
    out["register_errors"] = all.register_errors;
    Json statuses = Json::object();
    for (const auto& [status, n] : all.statuses) statuses[std::to_string(status)] = n;
    out["statuses"] = statuses;
    if (!all.error_samples.empty()) out["error_samples"] = all.error_samples;
    out["connections_opened"] = all.connects;
    out["response_ms"] = percentiles(all.response_ms);
    if (o.mode == Mode::long_poll) {
        out["held_rtt_ms"] = percentiles(all.held_rtt_ms);
        out["woken_early"] = all.woken;
    }
    if (cpu_before && cpu_after) {
        const double cpu = *cpu_after - *cpu_before;
        out["coordinator_pid"] = o.pid;
        out["coordinator_cpu_s"] = std::round(cpu * 1000.0) / 1000.0;
        out["coordinator_cpu_ms_per_s"] = std::round(cpu / elapsed * 1000.0 * 10.0) / 10.0;
        out["coordinator_cpu_us_per_request"] =
            all.requests > 0 ? Json(std::round(cpu / static_cast<double>(all.requests) * 1e6 * 10.0) / 10.0)
                             : Json(nullptr);
        if (const auto rss = process_rss_kib(o.pid)) out["coordinator_rss_kib"] = *rss;
    }
    out["helper_cpu_ms_per_s"] = std::round((self_after - self_before) / elapsed * 1000.0 * 10.0) / 10.0;
    std::cout << out.dump() << std::endl;
    return all.register_errors == 0 ? 0 : 1;
}
