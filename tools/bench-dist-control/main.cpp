// bench-dist-control: a thin client of the coordinator's admin routes, for
// people and scripts. Exit codes: 0 ok, 1 failure (an epoch with an error or
// failed verification, an unreachable coordinator, a stop-epoch the
// coordinator cannot do), 2 usage error. The original harness's command
// lines work too: options after the command, a bare `--` from pnpm.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <limits>
#include <random>
#include <thread>

#include "benchdist/cli/dotenv.hpp"
#include "benchdist/cli/option_groups.hpp"
#include "benchdist/cli/original_syntax.hpp"
#include "benchdist/cli/threshold_option.hpp"
#include "benchdist/control/identifiers.hpp"
#include "benchdist/control/protocol.hpp"
#include "benchdist/control/state_format.hpp"
#include "benchdist/control/verdict.hpp"
#include "benchdist/control/version.hpp"
#include "benchdist/generator/agent.hpp"
#include "benchdist/net/bearer_auth.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/stdbhttp/server_api.hpp"
#include "benchdist/text/printable.hpp"

namespace bc = benchdist::control;
namespace bn = benchdist::net;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> interrupted{false};
void on_sigint(int) { interrupted = true; }

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Coordinator {
    std::string url;
    std::string auth_token;  // sent as a bearer token when set; never printed
    // How long one request is retried at most (see request), and a moment
    // past which none is (a command's --timeout).
    std::chrono::milliseconds retry_for = 30s;
    std::optional<std::chrono::steady_clock::time_point> give_up_at;

    struct Answer {
        unsigned status = 0;
        bc::Json body;
    };

    // One request; throws Failure when the coordinator cannot be reached or
    // answers something that is not JSON, whatever the status.
    //
    // Retried as generators retry: a 5xx answer (503: every connection slot
    // is taken, or a proxy in front has no coordinator) and, for a GET
    // (idempotent), a connection closed with no answer (the coordinator
    // closes connections it has not read a request from yet when newer ones
    // need their room) are tried again after a capped, jittered exponential
    // backoff (generator::Backoff, 250 ms doubling to 5 s), for up to
    // retry_for and never past give_up_at; then the last failure is thrown,
    // naming the coordinator and the status. A 4xx is final, and so is a
    // coordinator nothing listens for (retrying only delays that error).
    Answer request(const std::string& method, const std::string& path, const std::string& body,
                   std::chrono::milliseconds timeout) const {
        using Clock = std::chrono::steady_clock;
        const auto first = Clock::now();
        auto stop_at = first + retry_for;
        if (give_up_at) stop_at = std::min(stop_at, *give_up_at);
        benchdist::generator::Backoff backoff(250ms, 5s);
        std::minstd_rand jitter(std::random_device{}());
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        const auto retried = [&](int attempts) {
            char spent[32];
            std::snprintf(spent, sizeof spent, "%.1f", std::chrono::duration<double>(Clock::now() - first).count());
            return " (still failing after " + std::to_string(attempts) + " attempts in " + spent +
                   " s of retrying with backoff; giving up)";
        };
        // Sleeps before the next attempt, the last one at the end of the time
        // allowed; false when that has passed (or Ctrl-C was pressed).
        const auto wait_to_retry = [&] {
            const auto now = Clock::now();
            if (interrupted || now >= stop_at) return false;
            const auto until = std::min<Clock::time_point>(now + backoff.next(unit(jitter)), stop_at);
            while (Clock::now() < until && !interrupted)
                std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), 100ms));
            return !interrupted;
        };
        for (int attempt = 1;; ++attempt) {
            bn::ClientResponse res;
            bn::HeaderList headers;
            if (!auth_token.empty()) headers.emplace_back("Authorization", bn::bearer_header_value(auth_token));
            try {
                res = bn::http_request({.method = method,
                                        .url = url + path,
                                        .body = body,
                                        .content_type = body.empty() ? "" : "application/json",
                                        .headers = headers,
                                        .timeout = timeout});
            } catch (const bn::HttpClientError& e) {
                const bool closed_unanswered = e.kind() == bn::HttpClientError::Kind::Protocol && method == "GET";
                if (closed_unanswered && wait_to_retry()) continue;
                throw Failure(std::string("cannot reach coordinator at ") + url + ": " + e.what() +
                              " — is bench-dist-coordinator running and bound to a reachable address (--bind)?" +
                              (attempt > 1 ? retried(attempt) : std::string()));
            }
            if (res.status >= 500) {
                if (wait_to_retry()) continue;
                if (attempt > 1) {
                    std::string said = res.body.substr(0, 200);
                    try {
                        const auto j = bc::Json::parse(res.body);
                        said = j.is_object() && j.contains("error") ? j["error"].dump() : j.dump();
                    } catch (const std::exception&) {
                    }
                    throw Failure(method + " " + url + path + " failed: " + std::to_string(res.status) + " " + said +
                                  retried(attempt));
                }
            }
            return parse_answer(method, path, res);
        }
    }

    Answer parse_answer(const std::string& method, const std::string& path, const bn::ClientResponse& res) const {
        bc::Json j;
        try {
            j = bc::Json::parse(res.body);
        } catch (const std::exception&) {
            throw Failure(method + " " + url + path + " answered " + std::to_string(res.status) +
                          " with a body that is not JSON: " + res.body.substr(0, 200));
        }
        return {res.status, std::move(j)};
    }

    // conflict_is_answer: a 409 carries a regular answer (start-epoch's
    // refusal of a mixed workload), not a failure of the request.
    bc::Json call(const std::string& method, const std::string& path, const std::string& body = {},
                  std::chrono::milliseconds timeout = 10s, bool conflict_is_answer = false) const {
        return checked(method, path, request(method, path, body, timeout), conflict_is_answer);
    }

    // The answer's body, or a Failure naming the status and the
    // coordinator's error (and the fix, for a 401).
    bc::Json checked(const std::string& method, const std::string& path, Answer answer,
                     bool conflict_is_answer = false) const {
        auto& [status, j] = answer;
        if (status >= 400 && !(conflict_is_answer && status == 409)) {
            const std::string msg = j.is_object() && j.contains("error") ? j["error"].dump() : j.dump();
            std::string fix;
            if (status == 401) {
                fix = std::string(
                          " -- give bench-dist-control the coordinator's token with --auth-token or "
                          "BENCH_DIST_TOKEN (") +
                      (auth_token.empty() ? "none was given" : "the one given differs") + ")";
            }
            throw Failure(method + " " + url + path + " failed: " + std::to_string(status) + " " + msg + fix);
        }
        return j;
    }

    // POST /admin/stop-epoch: the coordinator's message, or nullopt when it
    // has no such route. The original harness's coordinator has none: it
    // answers 404 {"error": "Unknown route: POST /admin/stop-epoch"}, and
    // its epochs always run to their end.
    std::optional<std::string> stop_epoch() const {
        const std::string path = "/admin/stop-epoch";
        auto answer = request("POST", path, "{}", 10s);
        const auto& j = answer.body;
        if (answer.status == 404 && j.is_object() && j.contains("error") && j["error"].is_string() &&
            j["error"].get<std::string>() == "Unknown route: POST " + path) {
            return std::nullopt;
        }
        const auto done = checked("POST", path, std::move(answer));
        return done.contains("message") && done["message"].is_string() ? done["message"].get<std::string>()
                                                                       : done.dump();
    }

    // Why stop_epoch found no route, for stderr.
    std::string no_stop_route() const {
        return "the coordinator at " + url +
               " has no stop route (POST /admin/stop-epoch answered 404 Unknown route): it is the original "
               "harness's coordinator, which cannot end an epoch early. A running epoch runs to its end: its "
               "window, then the wait for the generators' stop acknowledgements (its --stop-ack-timeout-seconds).";
    }

    bc::CoordinatorState state() const { return bc::coordinator_state_from_json(call("GET", "/admin/status")); }

    // Long-polls for a change after `version`. A coordinator without
    // long-polls (the original harness's) ignores since/waitMs and answers
    // at once with the same state (and no version): then the rest of the
    // wait, at most `pace`, is slept here, so watching it polls every
    // `pace` (--poll-ms, as the original control did) instead of back to
    // back -- thousands of requests a second otherwise.
    bc::CoordinatorState wait_change(std::uint64_t version, std::chrono::milliseconds wait,
                                     std::chrono::milliseconds pace = 1s) const {
        const auto asked = std::chrono::steady_clock::now();
        auto state = bc::coordinator_state_from_json(
            call("GET", "/state?since=" + std::to_string(version) + "&waitMs=" + std::to_string(wait.count()), {},
                 wait + 10s));
        if (state.version == version) {
            const auto rest = std::min(wait, pace) - (std::chrono::steady_clock::now() - asked);
            if (rest > 0s) std::this_thread::sleep_for(rest);
        }
        return state;
    }
};

std::vector<std::string> split_ids(const std::string& csv) {
    std::vector<std::string> ids;
    std::string cur;
    for (char c : csv + ",") {
        if (c == ',') {
            while (!cur.empty() && cur.back() == ' ') cur.pop_back();
            std::size_t start = cur.find_first_not_of(' ');
            if (start != std::string::npos) ids.push_back(cur.substr(start));
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    return ids;
}

// --generator-ids: each id of the comma-separated list (split as
// split_ids does) must be one the coordinator accepts, so a typo is a usage
// error here rather than a 400 after the request.
CLI::Validator generator_id_list() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            for (const auto& id : split_ids(value)) {
                auto problem = bc::name_problem(bc::NameKind::GeneratorId, id);
                if (!problem.empty()) return problem;
            }
            return {};
        },
        "");
}

// --timeout above a year is a typo.
constexpr double kMaxSeconds = 31536000.0;

// Exit 0 only for a valid verdict; a coordinator that gives none (an older
// one, or the original's) is judged by its error and verification.
bool result_failed(const bc::EpochResult& r) {
    if (const auto verdict = bc::read_verdict(r.extra)) return !verdict->valid;
    return r.error.has_value() || r.verification == "failed";
}

int run_start_epoch(Coordinator c, const std::optional<std::string>& label, const std::string& ids,
                    const std::vector<benchdist::stats::Threshold>& thresholds,
                    const std::vector<std::string>& tolerate, std::chrono::milliseconds poll, double timeout_s,
                    bool json) {
    // No retry outlives --timeout.
    if (timeout_s > 0) {
        c.give_up_at =
            std::chrono::steady_clock::now() +
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout_s));
    }
    bc::StartEpochRequest req;
    req.label = label;
    for (const auto& t : thresholds) req.thresholds.push_back(t.text);
    req.tolerate = tolerate;
    if (!ids.empty()) req.generator_ids = split_ids(ids);
    const auto resp =
        bc::start_epoch_response_from_json(c.call("POST", "/admin/start-epoch", bc::to_json(req).dump(), 10s, true));
    if (!json) {
        std::cout << benchdist::text::printable(resp.message) << "\n" << bc::format_state(resp.state);
    }
    if (!resp.started) {
        if (json) std::cout << bc::pretty(bc::to_json(resp));
        return 1;
    }
    const auto epoch = resp.state.current_epoch.value_or(0);
    if (!json) std::cout << "waiting for epoch " << epoch << " to complete...\n" << std::flush;

    std::signal(SIGINT, on_sigint);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    auto state = resp.state;
    for (;;) {
        if (state.last_result && state.last_result->epoch == epoch && state.current_epoch != epoch) break;
        if (interrupted) {
            if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
                std::cout << "\nstop epoch " << epoch << " now? Its result is still written, marked aborted. [y/N] "
                          << std::flush;
                std::string answer;
                std::getline(std::cin, answer);
                if (answer == "y" || answer == "Y" || answer == "yes") {
                    if (!c.stop_epoch()) std::cerr << "bench-dist-control: " << c.no_stop_route() << "\n";
                    interrupted = false;
                    continue;  // wait for the (aborted) epoch's result
                }
            }
            std::cerr << "detached; epoch " << epoch << " keeps running on the coordinator\n";
            return 130;
        }
        if (timeout_s > 0 && std::chrono::steady_clock::now() >= deadline) {
            std::cerr << "epoch " << epoch << " did not finish within " << timeout_s
                      << " s; it keeps running (bench-dist-control stop-epoch ends it)\n";
            return 1;
        }
        state = c.wait_change(state.version, poll, poll);
    }
    const auto& result = *state.last_result;
    if (json) {
        std::cout << bc::pretty(bc::to_json(result));
    } else {
        std::cout << bc::format_verdict(result) << bc::format_state(state) << bc::format_result_details(result);
    }
    return result_failed(result) ? 1 : 0;
}

int run_wait_ready(Coordinator c, std::size_t want, double timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    // No retry outlives --timeout.
    c.give_up_at = std::chrono::time_point_cast<std::chrono::steady_clock::duration>(deadline);
    auto state = c.state();
    for (;;) {
        std::size_t ready = 0;
        for (const auto& g : state.generators) ready += g.local_state == bc::GeneratorState::Ready ? 1 : 0;
        if (ready >= want) {
            std::cout << ready << " generators ready\n";
            return 0;
        }
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= 0s) {
            std::cerr << "only " << ready << " of " << want << " generators ready after " << timeout_s << " s\n"
                      << bc::format_state(state);
            return 1;
        }
        const auto wait =
            std::min<std::chrono::milliseconds>(std::chrono::duration_cast<std::chrono::milliseconds>(left), 5s);
        state = c.wait_change(state.version, std::max(wait, 1ms));
    }
}

}  // namespace

int main(int argc, char** argv) {
    // The original harness's inputs: ./.env (before parsing, so the
    // environment fallbacks see it) and a bare `--` from `pnpm run ... --`.
    benchdist::cli::load_working_directory_dotenv("bench-dist-control");
    argc = benchdist::cli::skip_bare_double_dashes(argc, argv);
    CLI::App app{"bench-dist-control: start and watch bench-dist epochs, list and choose generators"};
    // Inherited by every command's --help, where the app's options are not listed.
    app.footer(
        "--coordinator-url, --auth-token and --json go before or after the command (bench-dist-control --help "
        "describes them).");
    app.set_version_flag("--version", std::string(bc::tool_version()));
    app.require_subcommand(0, 1);
    // Set before the commands are added, which inherit it: an option a
    // command does not know is looked up here, so the app's options work
    // before or after the command (`status --coordinator-url URL`).
    app.fallthrough();
    benchdist::cli::CoordinatorConnectionOptions coordinator_options;
    benchdist::cli::add_coordinator_connection_options(app, coordinator_options, {.url_from_environment = true});
    bool json = false;
    benchdist::cli::add_bool_flag(app, "--json", json, "Print JSON instead of text");

    // The commands that print something keep a --json of their own, so
    // their --help shows it.
    auto* status = app.add_subcommand("status", "Print the coordinator's state (the default command)");
    benchdist::cli::add_bool_flag(*status, "--json", json, "Print JSON");

    auto* start = app.add_subcommand("start-epoch", "Start an epoch, wait for it and print its result");
    std::string label_value, ids;
    int poll_ms = 1000;
    double timeout_s = 0;
    start->add_option("--label", label_value, "Label stored in the result (at most 256 bytes, no control characters)")
        ->check(benchdist::cli::valid_label());
    std::vector<benchdist::stats::Threshold> thresholds;
    benchdist::cli::add_threshold_option(*start, thresholds);
    std::vector<std::string> tolerate;
    benchdist::cli::add_tolerate_option(*start, tolerate, "this epoch");
    start->add_option("--generator-ids", ids, "Comma-separated generators to use (default: all ready and included)")
        ->check(generator_id_list());
    start->add_option("--poll-ms", poll_ms, "Longest wait between state checks")
        ->capture_default_str()
        ->check(CLI::Range(10, 600000));
    start->add_option("--timeout", timeout_s, "Give up waiting after S seconds (0 = wait until the epoch ends)")
        ->check(benchdist::cli::number_from(0, kMaxSeconds))
        ->capture_default_str();
    benchdist::cli::add_bool_flag(*start, "--json", json, "Print the result as JSON");

    auto* stop =
        app.add_subcommand("stop-epoch",
                           "End the running epoch now: load stops, the window closes, the result is written (aborted)");
    auto* gens = app.add_subcommand("generators", "List generators with state, connections and last contact");
    benchdist::cli::add_bool_flag(*gens, "--json", json, "Print JSON");
    auto* include = app.add_subcommand("include", "Let these generators take part in the next epochs");
    auto* exclude =
        app.add_subcommand("exclude", "Leave these generators out of the next epochs (they stay connected)");
    for (auto* sub : {include, exclude})
        sub->add_option("--generator-ids", ids, "Comma-separated generator ids")
            ->required()
            ->check(generator_id_list());

    auto* seed = app.add_subcommand("seed", "Call the module's seed reducer over HTTP (creates accounts 0..N-1)");
    // On `seed` only: the other commands never reach SpacetimeDB.
    benchdist::cli::StdbConnectionOptions stdb_options;
    benchdist::cli::add_stdb_connection_options(*seed, stdb_options);
    std::uint32_t accounts = 100000;
    std::int64_t initial_balance = 10000000;
    seed->add_option("--accounts", accounts, "Number of accounts (at least 2)")
        ->envname("SEED_ACCOUNTS")
        ->check(benchdist::cli::account_count())
        ->capture_default_str();
    seed->add_option("--initial-balance", initial_balance, "Balance of each account")
        ->envname("SEED_INITIAL_BALANCE")
        ->check(CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max()))
        ->capture_default_str();
    // CLI11 reads the environment into every subcommand's options, given or
    // not, unless the subcommand has a parse-complete callback: with one, a
    // stale STDB_URL or SEED_ACCOUNTS is looked at only when `seed` runs, and
    // cannot turn `status` into a usage error. The CA file is loaded there too.
    seed->parse_complete_callback([&stdb_options] { benchdist::cli::install_stdb_tls(stdb_options); });

    auto* wait_ready = app.add_subcommand("wait-ready", "Wait until N generators are ready (for scripts)");
    std::size_t want = 1;
    double wait_timeout = 60;
    wait_ready->add_option("--generators", want, "How many ready generators to wait for")
        ->required()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
    wait_ready->add_option("--timeout", wait_timeout, "Seconds before giving up (exit 1)")
        ->check(benchdist::cli::number_from(0, kMaxSeconds))
        ->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    Coordinator c{coordinator_options.url, coordinator_options.auth_token};
    while (!c.url.empty() && c.url.back() == '/') c.url.pop_back();

    try {
        if (*start) {
            std::optional<std::string> label;
            if (start->count("--label")) label = label_value;
            return run_start_epoch(c, label, ids, thresholds, tolerate, std::chrono::milliseconds(poll_ms), timeout_s,
                                   json);
        }
        if (*stop) {
            const auto message = c.stop_epoch();
            if (!message) {
                std::cerr << "bench-dist-control: " << c.no_stop_route() << "\n";
                return 1;
            }
            std::cout << benchdist::text::printable(*message) << "\n";
            return 0;
        }
        if (*gens) {
            const auto state = c.state();
            if (json)
                std::cout << bc::pretty(bc::to_json(state)["generators"]);
            else
                std::cout << bc::format_generators(state);
            return 0;
        }
        if (*include || *exclude) {
            const bc::Json body{{"generatorIds", split_ids(ids)}};
            const auto j = c.call("POST", *include ? "/admin/include" : "/admin/exclude", body.dump());
            std::cout << bc::format_generators(bc::coordinator_state_from_json(j.contains("state") ? j["state"] : j));
            return 0;
        }
        if (*seed) {
            if (stdb_options.tls.insecure_skip_verify) {
                std::cerr << "bench-dist-control: WARNING: --stdb-insecure-skip-verify: the server's TLS certificate "
                             "is NOT checked\n";
            }
            const auto server = stdb_options.endpoint();
            benchdist::stdbhttp::call_reducer_json(server, stdb_options.database, "seed",
                                                   "[" + std::to_string(accounts) + "," +
                                                       std::to_string(initial_balance) + "]",
                                                   120s, stdb_options.token);
            std::cout << "seeded " << stdb_options.database << " on " << server.display() << ": " << accounts
                      << " accounts with balance " << initial_balance << "\n";
            return 0;
        }
        if (*wait_ready) return run_wait_ready(c, want, wait_timeout);
        const auto state = c.state();
        if (json)
            std::cout << bc::pretty(bc::to_json(state));
        else
            std::cout << bc::format_state(state);
        return 0;
    } catch (const std::exception& e) {
        // Failures quote the coordinator's and the server's answers.
        std::cerr << "bench-dist-control: " << benchdist::text::printable(e.what()) << "\n";
        return 1;
    }
}
