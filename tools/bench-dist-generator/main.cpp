// bench-dist-generator: opens --concurrency SpacetimeDB connections and runs
// transfer load -- closed loop with --max-inflight calls per connection, or
// open loop at --rate calls per second. Two modes share every load option:
//   bench-dist-generator [options]          the agent: follows a coordinator
//                                           (agent_mode.cpp)
//   bench-dist-generator run --seconds S [options]
//                                           alone: loads the server for S
//                                           seconds and prints a result
//                                           (local_mode.cpp)
// This file turns the command line into one GeneratorConfig, raises the
// open-file limit for the connections, and starts the mode.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "benchdist/cli/dotenv.hpp"
#include "benchdist/cli/option_groups.hpp"
#include "benchdist/cli/original_syntax.hpp"
#include "benchdist/cli/threshold_option.hpp"
#include "benchdist/control/identifiers.hpp"
#include "benchdist/control/version.hpp"
#include "benchdist/generator/generator_config.hpp"
#include "benchdist/generator/resource_limits.hpp"
#include "benchdist/generator/source_addresses.hpp"
#include "benchdist/net/stop_signals.hpp"
#include "generator_tool.hpp"

namespace {

using namespace benchdist;

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

// --rate above this is a typo: no generator sends a billion calls a second.
constexpr double kMaxRate = 1e9;
// Above this exponent nearly every draw is account 0 (the second account's
// chance is 2^-alpha of the first's): fewer than 3% of the pairs have two
// distinct accounts, the rest are skipped, and the generator sends almost
// nothing.
constexpr double kMaxAlpha = 10;

int usage_error(const std::string& flag, const std::string& what) {
    std::cerr << "error: " << flag << ": " << what << "\nRun with --help for usage." << std::endl;
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    // Signals go to a dedicated thread (sigwait), so every other thread --
    // including the load session's workers -- must block them from the start.
    const sigset_t signals = benchdist::net::block_stop_signals();
    // The original harness's inputs: ./.env (before parsing, so the
    // environment fallbacks see it) and a bare `--` from `pnpm run ... --`.
    cli::load_working_directory_dotenv("bench-dist-generator");
    argc = cli::skip_bare_double_dashes(argc, argv);

    CLI::App app{
        "bench-dist-generator: opens --concurrency SpacetimeDB WebSocket connections and runs `transfer` load "
        "whenever bench-dist-coordinator starts an epoch that includes it (or, with `run`, on its own for "
        "--seconds): closed loop (--max-inflight calls in flight per connection, 1 by default as the original "
        "harness) or open loop (--rate calls per second on a fixed schedule, latency counted from when each call "
        "was due)."};
    generator::GeneratorConfig c;
    c.hostname = host_name();
    c.id = c.hostname + "-" + std::to_string(getpid());
    cli::CoordinatorConnectionOptions coordinator_options;
    cli::StdbConnectionOptions stdb_options;
    std::string pair_mode_flag = "zipf";
    std::string source_addresses_flag;
    std::string io_backend_flag = "auto";
    // Signed, so that a negative value is refused by its range like 0.
    std::int64_t op_timeout_ms = 15000;
    std::uint64_t seed = 0;

    cli::add_coordinator_connection_options(app, coordinator_options);
    app.add_option("--test", c.test, "Test case (only test-1 exists)")->capture_default_str();
    app.add_option("--connector", c.connector, "Connector (only spacetimedb)")->capture_default_str();
    auto* id_opt = app.add_option("--id", c.id,
                                  "Generator id: " + std::string(control::name_rule(control::NameKind::GeneratorId)) +
                                      " [default: <hostname>-<pid>]");
    auto* hostname_opt = app.add_option("--hostname", c.hostname,
                                        "Hostname reported to the coordinator: " +
                                            std::string(control::name_rule(control::NameKind::Hostname)) +
                                            " [default: this host's name]");
    app.add_option("--concurrency", c.concurrency, "Connections (one worker each)")
        ->required()
        ->check(CLI::Range(std::size_t{1}, std::size_t{control::kMaxConnectionsPerGenerator}));
    app.add_option("--max-inflight", c.max_inflight,
                   "Calls in flight per connection; on v3 calls queued together share a WebSocket message")
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->capture_default_str();
    app.add_option("--rate", c.rate,
                   "Open loop: transfers per second for this generator, spread evenly over its connections and "
                   "sent on schedule whatever the answers do; latency counts from each call's due time "
                   "(coordinated omission corrected). 0: closed loop")
        ->check(cli::number_from(0, kMaxRate))
        ->capture_default_str();
    app.add_option("--schedule-tick-us", c.schedule_tick_us,
                   "Open loop: each worker thread wakes at most once per this many microseconds and sends every "
                   "call due by then, so a call leaves up to this late (counted in its latency and send lag); "
                   "0: a wake-up per call, exact to the microsecond but about 1.5x the CPU per transfer at 10,000/s")
        ->check(CLI::Range(std::uint32_t{0}, std::uint32_t{1000000}))
        ->capture_default_str();
    app.set_version_flag("--version", std::string(control::tool_version()));
    app.add_option("--accounts", c.accounts, "Number of seeded accounts to draw from (at least 2)")
        ->envname("SEED_ACCOUNTS")
        ->check(cli::account_count())
        ->capture_default_str();
    app.add_option("--alpha", c.alpha,
                   "Zipf exponent of the account distribution, 0 (uniform) to " + std::to_string(int(kMaxAlpha)))
        ->check(cli::number_from(0, kMaxAlpha))
        ->capture_default_str();
    app.add_option("--open-parallelism", c.open_parallelism, "At most this many connections opening at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{control::kMaxConnectionsPerGenerator}))
        ->capture_default_str();
    app.add_option("--poll-ms", c.poll_ms, "Coordinator poll interval, also the delay between control retries")
        ->check(CLI::Range(std::uint64_t{10}, std::uint64_t{600000}))
        ->capture_default_str();
    app.add_option("--long-poll-ms", c.long_poll_ms,
                   "Longest a /state request waits at the coordinator for a change (long-polling); also the "
                   "longest SIGINT waits for it. 0: plain polls every --poll-ms")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{30000}))
        ->capture_default_str();
    app.add_option("--lease-seconds", c.lease_seconds,
                   "Stop the load when no coordinator request succeeded for this long (the coordinator's own "
                   "--lease-seconds wins once it answered), then keep re-registering with backoff")
        ->check(cli::number_from(0.1, 86400.0))
        ->capture_default_str();
    cli::add_bool_flag(app, "--exit-on-coordinator-loss", c.exit_on_coordinator_loss,
                       "On losing the coordinator (--control-retries failed attempts, or the lease), stop the load, "
                       "close the connections and exit 1 instead of re-registering");
    app.add_option("--control-retries", c.control_retries,
                   "With --exit-on-coordinator-loss: attempts per control-plane call before giving up (exit 1). "
                   "Otherwise failed calls are retried every --poll-ms until the lease runs out")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    cli::add_stdb_connection_options(app, stdb_options,
                                     {.compression = true, .confirmed_reads = true, .protocol = true});
    app.add_option("--threads", c.threads, "Worker threads, one io_context each [default: hardware threads]")
        ->check(CLI::Range(std::size_t{0}, std::size_t{4096}));
    app.add_option("--op-timeout-ms", op_timeout_ms,
                   "A call without a result in this time counts as a timeout; its connection is closed and reopened")
        ->envname("BENCH_OP_TIMEOUT_MS")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{86400000}))
        ->capture_default_str();
    app.add_option("--pairs", c.pairs, "Precomputed transfer pairs (8 bytes each; 0 means 1, as in the original)")
        ->envname("BENCH_PRECOMPUTED_TRANSFER_PAIRS")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1000000000}))
        ->capture_default_str();
    app.add_option("--pair-mode", pair_mode_flag,
                   "zipf: correct Zipf distribution; harness: the original TypeScript harness's exact sequence")
        ->capture_default_str();
    auto* seed_opt = app.add_option("--seed", seed, "Seed of the pair sampler [default: the mode's fixed default]");

    app.add_option("--source-addresses", source_addresses_flag,
                   "Comma-separated local addresses to spread the connections over (connection i binds to "
                   "address i mod n): each has its own ~28k ephemeral ports per server address, so one generator "
                   "can hold more connections than one address allows. 127.0.0.2,127.0.0.3,... on loopback; "
                   "addresses of this host's interfaces elsewhere [default: the kernel chooses]");
    app.add_option("--io-backend", io_backend_flag,
                   "What carries plain ws:// connections after the WebSocket handshake: uring (io_uring: sends "
                   "of many connections submitted together, multishot receives), epoll (the Asio reactor), or "
                   "auto (uring when this host allows it, else epoll with one log line saying why). wss:// "
                   "always uses Beast's own path")
        ->envname("BENCH_DIST_IO_BACKEND")
        ->check(CLI::IsMember({"auto", "uring", "epoll"}))
        ->capture_default_str();
    std::string metrics_listen;
    std::string metrics_token;
    app.add_option("--metrics-listen", metrics_listen,
                   "Serve this generator's Prometheus metrics at http://ADDR/metrics: HOST:PORT with an IP address, "
                   "port 0 picks a free one (the startup line shows it). Read-only figures; bind to 127.0.0.1 or "
                   "the monitoring network's address rather than 0.0.0.0, or set --metrics-auth-token");
    app.add_option("--metrics-auth-token", metrics_token,
                   "With --metrics-listen: a scrape must send \"Authorization: Bearer <token>\" (Prometheus: "
                   "authorization: {credentials: ...}); 401 otherwise. Prefer the environment variable")
        ->envname("BENCH_DIST_METRICS_TOKEN")
        ->transform(cli::secret_token());
    app.require_subcommand(0, 1);
    auto* run = app.add_subcommand(
        "run",
        "Load the server on its own, without a coordinator: open the connections, warm up, measure for "
        "--seconds and print one JSON result (TPS from the server's counter, latency, errors, and this "
        "generator's CPU and memory use). Takes every option of the main command as well (bench-dist-generator "
        "--help)");
    generator::LocalRunOptions local;
    run->add_option("--seconds", local.seconds, "Length of the measured window")
        ->check(cli::number_from(0.1, 86400.0))
        ->capture_default_str();
    run->add_option("--warmup-seconds", local.warmup_seconds, "Load before the window, not measured")
        ->check(cli::number_from(0.0, 86400.0))
        ->capture_default_str();
    run->add_option("--server-pid", local.server_pid,
                    "PID of the server when it runs on this host (a benchmark against stdb-standin): its CPU over "
                    "the window, from /proc/PID/stat, is reported per committed transfer")
        ->check(CLI::PositiveNumber);
    run->add_flag("!--no-align-window", local.align_window,
                  "Open the window at once after the warm-up rather than on the next whole second");
    // Options of the main command may follow `run`.
    generator::LocalVerdictOptions local_verdict;
    run->add_option("--max-error-ratio", local_verdict.max_error_ratio,
                    "A run that failed more than this fraction of its calls is invalid (exit 1)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    std::vector<std::string> tolerate;
    benchdist::cli::add_tolerate_option(*run, tolerate, "the run");
    benchdist::cli::add_threshold_option(*run, local_verdict.thresholds);
    run->fallthrough();

    try {
        app.parse(argc, argv);
        cli::install_stdb_tls(stdb_options);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        // --version ends parsing with a ParseError too, whose code is 0.
        return app.exit(e) == 0 ? 0 : 2;
    }

    if (c.connector != "spacetimedb")
        return usage_error("--connector", "only `spacetimedb` is supported, got `" + c.connector + "`");
    if (c.test != "test-1") return usage_error("--test", "only `test-1` is supported, got `" + c.test + "`");
    // Checked here rather than by CLI11, which does not check defaults: the
    // default id is made of this host's name, which may not fit the rule.
    if (const auto problem = control::name_problem(control::NameKind::GeneratorId, c.id); !problem.empty()) {
        return usage_error("--id",
                           problem + (id_opt->count() > 0 ? "" : " (the default, <hostname>-<pid>; pass --id)"));
    }
    if (const auto problem = control::name_problem(control::NameKind::Hostname, c.hostname); !problem.empty()) {
        return usage_error("--hostname",
                           problem + (hostname_opt->count() > 0 ? "" : " (this host's name; pass --hostname)"));
    }
    if (c.pairs == 0) c.pairs = 1;
    c.op_timeout = std::chrono::milliseconds(op_timeout_ms);
    if (seed_opt->count() > 0) c.seed = seed;
    c.coordinator_url = coordinator_options.url;
    c.auth_token = coordinator_options.auth_token;
    c.stdb_url = stdb_options.url;
    c.endpoint = stdb_options.endpoint();
    c.database = stdb_options.database;
    c.stdb_token = stdb_options.token;
    c.compression = stdb_options.compression;
    c.confirmed = stdb_options.confirmed;
    c.protocol = stdb_options.protocol;
    const auto pair_mode = generator::parse_pair_mode(pair_mode_flag);
    if (!pair_mode) return usage_error("--pair-mode", "expected zipf|harness, got `" + pair_mode_flag + "`");
    c.pair_mode = *pair_mode;
    c.io_backend = *generator::parse_io_backend(io_backend_flag);  // checked by CLI11 above
    if (!source_addresses_flag.empty()) {
        try {
            c.source_addresses = generator::parse_source_addresses(source_addresses_flag);
        } catch (const std::invalid_argument& e) {
            return usage_error("--source-addresses", e.what());
        }
    }

    // Before anything slow (pairs, connections), so a bad address is a usage
    // error at once and the port is known before the load starts.
    std::unique_ptr<generator_tool::MetricsEndpoint> metrics;
    if (!metrics_listen.empty()) {
        const auto parsed = net::parse_listen_address(metrics_listen);
        if (const auto* problem = std::get_if<std::string>(&parsed)) return usage_error("--metrics-listen", *problem);
        const auto& address = std::get<net::ListenAddress>(parsed);
        try {
            metrics = std::make_unique<generator_tool::MetricsEndpoint>(address, metrics_token, c.id);
        } catch (const std::exception& e) {
            return usage_error("--metrics-listen", e.what());
        }
        generator_tool::log_line(c.id, "metrics listening on " + net::http_url(address.host, metrics->port()) +
                                           "/metrics" + (metrics_token.empty() ? "" : " (bearer token required)"));
    }

    // Every connection is a file descriptor: lift the soft limit to the hard
    // one before opening, and refuse a --concurrency the hard limit cannot hold.
    const auto files = generator::raise_open_file_limit(generator::files_needed(c.concurrency));
    if (!files.enough) {
        std::cerr << "error: " << files.message << std::endl;
        return 2;
    }
    local.open_file_limit =
        control::Json{{"soft", files.soft_after}, {"hard", files.hard}, {"softAtStart", files.soft_before}};

    generator_tool::StopFlag stop;
    std::thread([&stop, signals] {
        benchdist::net::wait_for_stop_signal(signals);
        stop.request();
    }).detach();

    if (stdb_options.tls.insecure_skip_verify) {
        generator_tool::log_line(c.id,
                                 "WARNING: --stdb-insecure-skip-verify: the server's TLS certificate is NOT "
                                 "checked; anyone on the path can impersonate it");
    }
    local_verdict.tolerate.insert(tolerate.begin(), tolerate.end());
    generator::MetricsStore* store = metrics ? &metrics->store : nullptr;
    if (*run) return generator_tool::run_local(c, local, local_verdict, stop, store);
    return generator_tool::run_agent(c, stop, store);
}
