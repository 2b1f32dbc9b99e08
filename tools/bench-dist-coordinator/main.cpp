// bench-dist-coordinator: the control plane of a distributed benchmark run.
// Generators register and report ready here; an operator (bench-dist-control)
// starts epochs; the coordinator opens and closes the measured window, reads
// the server's committed-transfer counter at both edges, optionally verifies
// the accounts table, and writes one result file per epoch.
//
// Differences from the original TypeScript harness that an operator will
// notice: --bind defaults to 127.0.0.1 (exposing the control plane is an
// explicit choice, best made with --auth-token), --warmup-seconds
// defaults to 0 (the start barrier replaced it), and a counter that went
// backwards is an error rather than zero.
#include <CLI/CLI.hpp>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <csignal>
#include <ctime>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>

#include "benchdist/cli/dotenv.hpp"
#include "benchdist/cli/option_groups.hpp"
#include "benchdist/cli/original_syntax.hpp"
#include "benchdist/cli/threshold_option.hpp"
#include "benchdist/control/identifiers.hpp"
#include "benchdist/control/version.hpp"
#include "benchdist/coordinator/coordinator.hpp"
#include "benchdist/coordinator/routes.hpp"
#include "benchdist/generator/resource_limits.hpp"
#include "benchdist/net/http_server.hpp"
#include "benchdist/net/stop_signals.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/transfer_module.hpp"

namespace {

namespace coord = benchdist::coordinator;
namespace stdb = benchdist::stdb;

// A year: long enough for any run, short enough to print readably.
constexpr double kMaxSeconds = 31536000.0;

std::string format_seconds(double s) {
    std::ostringstream out;
    out << s;
    return out.str();
}

}  // namespace

int main(int argc, char** argv) {
    // The original harness's inputs: ./.env (before parsing, so the
    // environment fallbacks see it) and a bare `--` from `pnpm run ... --`.
    benchdist::cli::load_working_directory_dotenv("bench-dist-coordinator");
    argc = benchdist::cli::skip_bare_double_dashes(argc, argv);
    CLI::App app{
        "bench-dist-coordinator: runs measured epochs across bench-dist generators and records the "
        "SpacetimeDB server's committed transfers per epoch."};
    std::string bind = "127.0.0.1";
    std::uint16_t port = 8080;
    coord::CoordinatorOptions o;
    std::string results_dir = "runs/distributed";
    std::int64_t initial_balance = stdb::transfer::kDefaultInitialBalance;
    benchdist::cli::StdbConnectionOptions stdb_options;
    std::vector<std::string> generator_ids;
    std::string auth_token;
    benchdist::net::HttpServerOptions server_options;
    // A /stopped report carries a latency histogram per second of the
    // epoch (up to ~10 KB each): a ten-minute epoch is several MB, far
    // above the server's 1 MiB default.
    server_options.max_body_bytes = std::size_t{64} << 20;
    // Each long-polling generator holds one connection for its whole wait,
    // so a fleet of N needs N plus a few for control and for the plain
    // requests in between; below that, part of the fleet is answered 503
    // on every poll. 2048 covers a 1000-generator fleet twice over; the
    // soft open-file limit is raised to fit at start (see below).
    server_options.max_connections = 2048;
    server_options.on_accept_error = [](const std::string& message) { spdlog::warn("{}", message); };
    std::int64_t read_timeout_ms = server_options.read_timeout.count();
    // Connections that have not yet sent a request head with the token (or,
    // without --auth-token, any valid head) take none of those slots: they
    // are pending, with a budget of their own, evicted oldest first when a
    // newcomer needs room, and closed if their first head does not come
    // within the first-request deadline (HttpServerOptions, and
    // src/net/connection_admission.hpp for why). So 2100 idle sockets cannot
    // take the fleet's slots, with or without a token. A quarter of the
    // slots is room for a fleet's polls all reconnecting at once; an eighth
    // of that per address still lets a whole fleet behind one NAT through,
    // since a real client is admitted within a round trip of connecting.
    server_options.max_pending_connections = 512;
    server_options.max_pending_per_address = 128;
    std::int64_t first_request_timeout_ms = 5000;

    app.add_option("--bind", bind,
                   "Address to listen on. Use 0.0.0.0 for multi-machine runs, with --auth-token and a firewall "
                   "(the original harness defaulted to 0.0.0.0, unauthenticated)")
        ->capture_default_str();
    app.add_option("--auth-token", auth_token,
                   "Shared secret: every route but /healthz then requires \"Authorization: Bearer <token>\" "
                   "(401 otherwise); give generators and bench-dist-control the same token. Prefer the "
                   "environment variable: command lines are visible to other users of the host")
        ->envname("BENCH_DIST_TOKEN")
        ->transform(benchdist::cli::secret_token());
    app.add_option("--max-body-bytes", server_options.max_body_bytes,
                   "Largest /stopped or POST /admin/campaigns body accepted (413 above): a stop report carries a "
                   "histogram per second, a campaign file every epoch of the campaign")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30));
    std::size_t max_control_body_bytes = std::size_t{1} << 20;
    app.add_option("--max-control-body-bytes", max_control_body_bytes,
                   "Largest body accepted on every other route (413 above); control requests are small")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30));
    app.add_option("--max-header-bytes", server_options.max_header_bytes,
                   "Largest request line plus headers accepted (431 above)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 20));
    app.add_option("--read-timeout-ms", read_timeout_ms,
                   "Deadline for reading one request (so trickled headers cannot hold a connection) and for an "
                   "idle keep-alive connection's next request; long-polls are not cut by it")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{100}, std::int64_t{3600000}));
    app.add_option("--max-connections", server_options.max_connections,
                   "Concurrent admitted control connections: those that sent a request with the token (without "
                   "--auth-token: any valid request); one more request is answered 503 and its connection closed "
                   "(generators and bench-dist-control retry). Each long-polling generator holds one, so use at "
                   "least the fleet's size plus a few. Connections that sent no such request yet do not count "
                   "(see --max-pending-connections). The soft open-file limit is raised to the hard one at start, "
                   "which must exceed this plus --max-pending-connections")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
    app.add_option("--first-request-timeout-ms", first_request_timeout_ms,
                   "Deadline for a new connection to send the headers of its first request (at most "
                   "--read-timeout-ms); closed without an answer otherwise. Admitted connections have "
                   "--read-timeout-ms instead")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{100}, std::int64_t{3600000}));
    app.add_option("--max-pending-connections", server_options.max_pending_connections,
                   "Connections that have not yet sent a request with the token (without --auth-token: any valid "
                   "request), in all; a newer one closes the oldest without an answer, so idle sockets cannot "
                   "keep the place of generators, whose requests follow their connect at once")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
    app.add_option("--max-pending-per-address", server_options.max_pending_per_address,
                   "The same, per source address (IPv6: per /64): a newer connection closes the oldest one from "
                   "its own address first (0 = no per-address cap)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
    app.add_option("--port", port, "Port to listen on (0 picks a free one; the startup line shows it)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    app.add_option("--test", o.test, "Test name, recorded in results and file names")->capture_default_str();
    app.add_option("--connector", o.connector, "Connector (only spacetimedb)")
        ->capture_default_str()
        ->check(CLI::IsMember({"spacetimedb"}));
    app.add_option("--results-dir", results_dir, "Directory for result files and index.jsonl (created if missing)")
        ->capture_default_str();
    auto* warmup = app.add_option("--warmup-seconds", o.warmup_seconds,
                                  "Load before the window opens, after every generator acknowledged the start "
                                  "(--original-revision first: from the start; default 15 there, as in the original)")
                       ->capture_default_str()
                       ->check(benchdist::cli::number_from(0.0, kMaxSeconds));
    // --warmup is the newer spelling: a number of seconds, as --warmup-seconds,
    // or `auto` to open the window once the server's commit rate is steady.
    std::string warmup_text;
    const auto seconds_check = benchdist::cli::number_from(0.0, kMaxSeconds);
    auto* warmup_spelled =
        app.add_option("--warmup", warmup_text,
                       "auto: open the window once the server's per-second commit rate is "
                       "steady (--stable-cv over --stable-seconds, at most --warmup-max "
                       "seconds; not steady by then: verdict not_steady); or SECONDS, the same "
                       "as --warmup-seconds")
            ->check(CLI::Validator(
                [seconds_check](std::string& value) -> std::string {
                    if (value == "auto") return {};
                    std::string copy = value;
                    const auto problem = seconds_check(copy);
                    return problem.empty() ? problem
                                           : "must be `auto` or " + problem.substr(std::string_view("must be ").size());
                },
                "auto|SECONDS"))
            ->excludes(warmup);
    warmup->excludes(warmup_spelled);
    app.add_option("--stable-cv", o.stable_cv,
                   "--warmup auto: the largest coefficient of variation (standard deviation / mean) of the "
                   "per-second commit rates that counts as steady")
        ->capture_default_str()
        ->check(benchdist::cli::number_from(0.0, 1.0));
    app.add_option("--stable-seconds", o.stable_seconds,
                   "--warmup auto: over how many seconds of per-second rates the CV is taken")
        ->capture_default_str()
        ->check(benchdist::cli::number_from(1.0, 3600.0));
    app.add_option("--warmup-max", o.warmup_max_seconds,
                   "--warmup auto: the longest warmup in seconds; the window then opens anyway and the verdict is "
                   "not_steady")
        ->capture_default_str()
        ->check(benchdist::cli::number_from(0.0, kMaxSeconds));
    std::string revision = "final";
    app.add_option("--original-revision", revision,
                   "Which revision of the original harness's generators the fleet runs: final (phase starting, "
                   "start barrier with /started) or first (phase warmup, no /started, --warmup-seconds instead of "
                   "the barrier). Our generators follow either")
        ->capture_default_str()
        ->check(CLI::IsMember({"first", "final"}));
    app.add_option("--start-ack-timeout-seconds", o.start_ack_timeout_seconds,
                   "How long to wait for every participant's /started")
        ->capture_default_str()
        ->check(benchdist::cli::number_from(0.0, kMaxSeconds));
    app.add_option("--window-seconds", o.window_seconds, "Length of the measured window")
        ->capture_default_str()
        ->check(benchdist::cli::number_from(0.001, kMaxSeconds));
    app.add_option("--stop-ack-timeout-seconds", o.stop_ack_timeout_seconds,
                   "How long to wait for every participant's /stopped")
        ->capture_default_str()
        ->check(benchdist::cli::number_from(0.0, kMaxSeconds));
    benchdist::cli::add_bool_flag(app, "--verify", o.verify,
                                  "After each epoch, subscribe to the accounts table and check the total balance is "
                                  "conserved");
    app.add_option("--initial-balance", initial_balance, "Seeded balance per account, for verification")
        ->envname("SEED_INITIAL_BALANCE")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max()));
    benchdist::cli::add_stdb_connection_options(app, stdb_options, {.compression = true});
    app.add_option("--sample-ms", o.sample_ms,
                   "Read the server's counter every N ms during the window for the result's timeline (0 = off)")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{3600000}));
    app.add_option("--max-clock-offset-ms", o.max_clock_offset_ms,
                   "Warn in the result when a generator's estimated clock offset is larger than this")
        ->capture_default_str()
        ->check(benchdist::cli::number_from(0.0, 3600000.0));
    o.align_window_ms = 1000;
    app.add_option("--align-window-ms", o.align_window_ms,
                   "Open the measured window on the next multiple of N ms of this host's clock, the edges of the "
                   "generators' per-second intervals, so the client/server cross-check compares the same span "
                   "(0 = open at once)")
        ->capture_default_str()
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{60000}));
    app.add_option("--generator-ids", generator_ids,
                   "Comma-separated generators used when a start-epoch request names none")
        ->delimiter(',');
    benchdist::cli::add_bool_flag(app, "--allow-mixed", o.allow_mixed,
                                  "Start epochs whose participants run different workload options (alpha, accounts, "
                                  "pair mode, max in-flight, rate mode, compression, confirmed reads, protocol); the "
                                  "result warns. Without it such a start-epoch is refused");
    app.add_option("--lease-seconds", o.lease_seconds,
                   "A generator not heard from for this long is marked lost: left out of new epochs, and a running "
                   "epoch it takes part in is flagged at once. Published to generators, which stop their load when "
                   "they cannot reach the coordinator for as long (0 = off)")
        ->capture_default_str()
        ->check(benchdist::cli::number_from(0.0, 86400.0));
    app.add_option("--max-error-ratio", o.max_error_ratio,
                   "A participant that failed more than this fraction of its calls in the window makes the epoch "
                   "invalid (error_ratio)")
        ->capture_default_str()
        ->check(benchdist::cli::number_from(0.0, 1.0));
    std::vector<std::string> tolerate;
    benchdist::cli::add_tolerate_option(app, tolerate, "an epoch");
    benchdist::cli::add_threshold_option(app, o.thresholds);
    app.set_version_flag("--version", std::string(benchdist::control::tool_version()));

    try {
        app.parse(argc, argv);
        benchdist::cli::install_stdb_tls(stdb_options);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    o.tolerate.insert(tolerate.begin(), tolerate.end());
    if (warmup_text == "auto") {
        o.warmup_auto = true;
        if (o.warmup_max_seconds < o.stable_seconds) {
            std::cerr << "--warmup-max " << o.warmup_max_seconds << " is shorter than --stable-seconds "
                      << o.stable_seconds
                      << ": the rate could never be found steady; raise --warmup-max or lower --stable-seconds\n"
                         "Run with --help for more information.\n";
            return 2;
        }
    } else if (!warmup_text.empty()) {
        o.warmup_seconds = std::stod(warmup_text);
    }
    if (revision == "first") {
        o.revision = coord::OriginalRevision::First;
        if (warmup->count() == 0 && warmup_spelled->count() == 0) o.warmup_seconds = coord::kFirstRevisionWarmupSeconds;
    }
    // Only /stopped and a posted campaign carry large bodies; anything else
    // that big is a mistake or an attack, refused before its body is read.
    server_options.body_limit_for = [large_limit = server_options.max_body_bytes,
                                     control_limit = max_control_body_bytes](std::string_view target) {
        return coord::body_limit_for(target, large_limit, control_limit);
    };

    const stdb::Endpoint endpoint = stdb_options.endpoint();
    const std::string& stdb_module = stdb_options.database;
    const std::string& stdb_token = stdb_options.token;
    const stdb::Compression compression = stdb_options.compression;
    for (auto& id : generator_ids) {
        // The original trimmed list items and dropped empty ones.
        id.erase(0, id.find_first_not_of(" \t"));
        id.erase(id.find_last_not_of(" \t") + 1);
    }
    std::erase_if(generator_ids, [](const std::string& id) { return id.empty(); });
    for (const auto& id : generator_ids) {
        // An id no generator can register with would leave every epoch
        // without participants.
        if (const auto problem = benchdist::control::name_problem(benchdist::control::NameKind::GeneratorId, id);
            !problem.empty()) {
            std::cerr << "--generator-ids: " << problem << "\nRun with --help for more information.\n";
            return 2;
        }
    }
    o.default_generator_ids = generator_ids;
    o.results_dir = results_dir;
    o.server_url = endpoint.display();
    o.database = stdb_module;
    o.other_options = {{"bind", bind},
                       {"port", port},
                       {"initialBalance", initial_balance},
                       {"stdbUrl", stdb_options.url},
                       {"stdbModule", stdb_module},
                       {"stdbCompression", stdb::compression_flag_name(compression)},
                       // Whether a token guards the API, never the token itself.
                       {"authToken", auth_token.empty() ? "none" : "set"},
                       {"stdbToken", stdb_token.empty() ? "none" : "set"},
                       {"maxBodyBytes", server_options.max_body_bytes},
                       {"maxControlBodyBytes", max_control_body_bytes},
                       {"maxHeaderBytes", server_options.max_header_bytes},
                       {"readTimeoutMs", read_timeout_ms},
                       {"maxConnections", server_options.max_connections},
                       {"firstRequestTimeoutMs", first_request_timeout_ms},
                       {"maxPendingConnections", server_options.max_pending_connections},
                       {"maxPendingPerAddress", server_options.max_pending_per_address}};

    spdlog::set_pattern("[coordinator] %v");
    spdlog::flush_on(spdlog::level::info);
    if (stdb_options.tls.insecure_skip_verify) {
        spdlog::warn(
            "WARNING: --stdb-insecure-skip-verify: the server's TLS certificate is NOT checked; anyone on "
            "the path can impersonate it");
    }

    // Stop signals are handled by the main thread only; block them before
    // any other thread exists so every thread inherits the mask.
    const sigset_t signals = benchdist::net::block_stop_signals();

    try {
        const coord::StdbTarget target{endpoint, stdb_module, compression, std::chrono::milliseconds(30000),
                                       stdb_token};
        std::shared_ptr<coord::Verifier> verifier;
        if (o.verify) verifier = coord::make_stdb_verifier(target, initial_balance);
        coord::Coordinator coordinator(o, coord::make_stdb_counter_source(target), verifier,
                                       coord::system_wall_clock_ms,
                                       [](const std::string& message) { spdlog::info("{}", message); });

        server_options.bind_address = bind;
        server_options.port = port;
        server_options.threads = 2;
        server_options.json_errors = true;
        server_options.read_timeout = std::chrono::milliseconds(read_timeout_ms);
        server_options.first_request_timeout = std::chrono::milliseconds(first_request_timeout_ms);
        // Long-polls hold a connection for up to 30 s; the read deadline only
        // covers reading a request, so it does not cut them.
        server_options.screen_headers = coord::make_auth_screen(auth_token);
        benchdist::net::HttpServer server(server_options, coord::make_http_handler(coordinator, auth_token));
        // One descriptor per connection plus the process's own (log, result
        // files, the counter's connection): the usual soft limit of 1024
        // would turn a large fleet's polls into accept failures instead of
        // the cap's clean 503.
        const auto files = benchdist::generator::raise_open_file_limit(server_options.max_connections +
                                                                       server_options.max_pending_connections +
                                                                       benchdist::generator::kOpenFileMargin);
        if (!files.enough) {
            spdlog::warn(
                "warning: --max-connections {} plus --max-pending-connections {} need about {} open files, but "
                "the hard limit is {}: raise it (ulimit -Hn) or lower them, or a large fleet's requests fail "
                "with \"Too many open files\" instead of a 503",
                server_options.max_connections, server_options.max_pending_connections, files.needed, files.hard);
        }
        server.start();

        spdlog::info(
            "bench-dist-coordinator {} listening on http://{}:{} test={} connector={} original_revision={} "
            "start_ack_timeout={} warmup={} window={}s verify={} sample={}ms max_clock_offset={}ms allow_mixed={} "
            "stdb={} module={} compression={} results={}",
            benchdist::control::tool_version(), bind, server.port(), o.test, o.connector,
            coord::original_revision_name(o.revision),
            o.revision == coord::OriginalRevision::First ? std::string("none (no start barrier)")
                                                         : format_seconds(o.start_ack_timeout_seconds) + "s",
            o.warmup_auto ? "auto (CV <= " + format_seconds(o.stable_cv) + " over " + format_seconds(o.stable_seconds) +
                                "s, at most " + format_seconds(o.warmup_max_seconds) + "s)"
                          : format_seconds(o.warmup_seconds) + "s",
            format_seconds(o.window_seconds), o.verify ? "on" : "off", o.sample_ms,
            format_seconds(o.max_clock_offset_ms), o.allow_mixed ? "on" : "off", endpoint.display(), stdb_module,
            stdb::compression_flag_name(compression), results_dir);
        spdlog::info(
            "limits: auth token {}, max body {} bytes, max headers {} bytes, read timeout {} ms, "
            "max connections {}, first request within {} ms, max pending connections {} ({} per address)",
            auth_token.empty() ? "none" : "set", server_options.max_body_bytes, server_options.max_header_bytes,
            read_timeout_ms, server_options.max_connections, first_request_timeout_ms,
            server_options.max_pending_connections, server_options.max_pending_per_address);
        if (bind != "127.0.0.1" && bind != "::1" && auth_token.empty()) {
            spdlog::warn(
                "warning: --bind {} without --auth-token exposes the control API to anyone who can reach "
                "it: they can register generators and start epochs. Set --auth-token (or "
                "BENCH_DIST_TOKEN) here and on every generator and bench-dist-control",
                bind);
        }

        const int sig = benchdist::net::wait_for_stop_signal(signals);
        spdlog::info("{} received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        // An epoch in progress is stopped, still waits for its generators'
        // stop acknowledgements, and writes its result; a second signal cuts
        // the waiting short (the result is still written).
        if (coordinator.stop_epoch().stopping) {
            spdlog::info("stopping the running epoch; send the signal again to skip waiting for generators");
            const auto idle = [](const benchdist::control::CoordinatorState& s) { return !s.current_epoch; };
            while (!coordinator.wait_until(idle, std::chrono::milliseconds(200))) {
                const timespec zero{0, 0};
                if (sigtimedwait(&signals, nullptr, &zero) > 0) break;
            }
        }
        coordinator.shutdown();
        server.stop();
    } catch (const std::exception& e) {
        spdlog::error("error: {}", e.what());
        return 1;
    }
    return 0;
}
