// bench-dist-control: a thin client of the coordinator's admin routes, for
// people and scripts. Exit codes: 0 ok, 1 failure (an epoch with an error or
// failed verification, an unreachable coordinator, a stop-epoch the
// coordinator cannot do), 2 usage error. The original harness's command
// lines work too: options after the command, a bare `--` from pnpm.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <limits>

#include "benchdist/cli/dotenv.hpp"
#include "benchdist/cli/option_groups.hpp"
#include "benchdist/cli/original_syntax.hpp"
#include "benchdist/cli/threshold_option.hpp"
#include "benchdist/control/identifiers.hpp"
#include "benchdist/control/protocol.hpp"
#include "benchdist/control/state_format.hpp"
#include "benchdist/control/verdict.hpp"
#include "benchdist/control/version.hpp"
#include "benchdist/stdbhttp/server_api.hpp"
#include "benchdist/text/printable.hpp"
#include "commands.hpp"
#include "load_options.hpp"

namespace bc = benchdist::control;
namespace bt = benchdist::control_tool;
using namespace std::chrono_literals;
using bt::Coordinator;
using bt::Failure;

namespace {

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

    auto* start =
        app.add_subcommand("start-epoch", "Start an epoch, show its progress while it runs and print its result");
    std::string label_value, ids;
    int poll_ms = 1000;
    double timeout_s = 0;
    start->add_option("--label", label_value, "Label stored in the result (at most 256 bytes, no control characters)")
        ->check(benchdist::cli::valid_label());
    std::vector<benchdist::stats::Threshold> thresholds;
    std::vector<std::string> tolerate;
    bt::LoadOptions load;
    bt::CampaignOptions campaign_options;
    std::size_t runs = 1;
    bool no_live = false;
    // What every epoch-starting command shares: the request's flags, the
    // per-epoch load flags and how to wait.
    const auto add_epoch_options = [&](CLI::App& cmd, bool with_thresholds) {
        if (with_thresholds) benchdist::cli::add_threshold_option(cmd, thresholds);
        benchdist::cli::add_tolerate_option(cmd, tolerate, "this epoch");
        cmd.add_option("--generator-ids", ids, "Comma-separated generators to use (default: all ready and included)")
            ->check(generator_id_list());
        cmd.add_option("--poll-ms", poll_ms,
                       "Longest wait between state checks (when the live view is off or the coordinator has none)")
            ->capture_default_str()
            ->check(CLI::Range(10, 600000));
        cmd.add_option("--timeout", timeout_s,
                       "Give up waiting for an epoch after S seconds (0 = wait until the epoch ends)")
            ->check(benchdist::cli::number_from(0, kMaxSeconds))
            ->capture_default_str();
        bt::add_load_options(cmd, load);
        cmd.add_flag("--no-live", no_live,
                     "Do not draw the epoch's progress while it runs (by default: a progress bar and a line of "
                     "TPS, latency and errors redrawn every second on a terminal, a timestamped line every "
                     "second otherwise); print only the result, as before");
    };
    // What every campaign command shares.
    const auto add_campaign_options = [&](CLI::App& cmd) {
        cmd.add_option("--campaign-dir", campaign_options.dir,
                       "Directory of the campaign file campaign-<id>.json (the coordinator's default results "
                       "directory, so on one host it lands beside the results)")
            ->capture_default_str();
        cmd.add_option("--campaign-id", campaign_options.id,
                       "The campaign's id (1 to 64 of A-Z a-z 0-9 . _ -; default: the time and a random suffix)");
    };
    add_epoch_options(*start, true);
    start
        ->add_option("--runs", runs,
                     "Run N epochs with the same request and report mean, median, stddev, min and max of TPS over "
                     "the valid ones (writes a campaign file)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
    add_campaign_options(*start);
    start->add_option("--resume", campaign_options.resume,
                      "Continue the --runs campaign in this file without repeating its finished runs");
    benchdist::cli::add_bool_flag(*start, "--json", json, "Print the result as JSON");

    auto* sweep = app.add_subcommand(
        "sweep", "Run a grid of loads as epochs (--vary knob=v1,v2,... repeatable) and write a campaign file");
    bt::SweepArgs sweep_args;
    sweep
        ->add_option("--vary", sweep_args.vary,
                     "knob=v1,v2,...: a knob of the load contract and its values (repeatable; the first --vary "
                     "changes slowest). Knobs: connections, connectionsPerGenerator, inflight, rate, "
                     "ratePerGenerator, alpha, accounts, windowSeconds, warmupSeconds")
        ->take_all();
    sweep->add_option("--repeat", sweep_args.repeat, "Measure every point N times")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000}))
        ->capture_default_str();
    sweep->add_option("--resume", campaign_options.resume,
                      "Continue the campaign in this file without repeating its finished points");
    add_epoch_options(*sweep, true);
    add_campaign_options(*sweep);
    benchdist::cli::add_bool_flag(*sweep, "--json", json, "Print the campaign as JSON at the end");

    auto* saturate = app.add_subcommand(
        "saturate",
        "Step the load up (doubling, then bisecting) until an SLO breaks or TPS stops growing; print the knee");
    bt::SaturateArgs saturate_args;
    std::vector<benchdist::stats::Threshold> slos;
    // The same grammar as --threshold: the coordinator judges each as a threshold.
    benchdist::cli::add_threshold_option(*saturate, slos, "--slo")
        ->description(
            "An SLO every good load must meet, in --threshold's grammar (e.g. 'p99<=20ms', 'errors==0'); "
            "repeatable, at least one");
    saturate
        ->add_option("--knob", saturate_args.knob,
                     "What to step up: connections (total), inflight, or rate (open "
                     "loop, total calls/s)")
        ->check(CLI::IsMember({"connections", "inflight", "rate"}))
        ->capture_default_str();
    saturate
        ->add_option("--start", saturate_args.start, "First load (default: 1 connection or 1 in flight, 1000 calls/s)")
        ->check(benchdist::cli::number_from(1e-9, 1e9));
    saturate
        ->add_option("--max", saturate_args.max,
                     "Highest load tried (default: 65536 connections, 4096 in flight, 1e7 calls/s)")
        ->check(benchdist::cli::number_from(1e-9, 1e9));
    saturate
        ->add_option("--precision", saturate_args.precision,
                     "Bisect until the last good and first bad load are within this share")
        ->check(benchdist::cli::number_from(1e-6, 1))
        ->capture_default_str();
    saturate->add_option("--resume", campaign_options.resume,
                         "Continue the search in this campaign file without repeating its finished points");
    add_epoch_options(*saturate, false);
    add_campaign_options(*saturate);
    benchdist::cli::add_bool_flag(*saturate, "--json", json,
                                  "Print the campaign as JSON at the end (knee, curve, stopReason)");
    for (auto* cmd : {sweep, saturate})
        cmd->add_option("--retries", campaign_options.retries,
                        "Run an invalid epoch again up to N times before the point is marked invalid")
            ->check(CLI::Range(std::size_t{0}, std::size_t{100}))
            ->capture_default_str();

    auto* watch = app.add_subcommand(
        "watch",
        "Follow the coordinator's epochs as they run (progress bar, TPS, latency, errors, generators) until "
        "Ctrl-C");
    bt::WatchArgs watch_args;
    watch->add_option("--epochs", watch_args.epochs, "Exit after N epochs ended: 0 when each was valid, else 1")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
    watch->add_flag("--once", watch_args.once, "Show the current state once and exit");
    benchdist::cli::add_bool_flag(*watch, "--json", json,
                                  "Print each answer of GET /admin/live as a line of JSON instead of drawing");

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

    auto* report = app.add_subcommand(
        "report",
        "Write a report of results and campaigns: one self-contained HTML page with tables and charts (default), "
        "CSV or markdown");
    bt::ReportArgs report_args;
    report
        ->add_option("inputs", report_args.inputs,
                     "Results directories (every result and campaign file in them), result files or campaign files "
                     "(default: runs/distributed)")
        ->take_all();
    report->add_option("--format", report_args.format, "html, csv (one row per epoch) or markdown")
        ->check(CLI::IsMember({"html", "csv", "markdown"}))
        ->capture_default_str();
    report->add_option("--out", report_args.out,
                       "The file to write (default report.html, report.csv or report.md); - writes to stdout");

    auto* compare =
        app.add_subcommand("compare",
                           "Print the differences between two results (or two campaign files): figures and workload");
    bt::CompareArgs compare_args;
    compare->add_option("A", compare_args.a, "A result file or campaign file")->required();
    compare->add_option("B", compare_args.b, "Another of the same kind")->required();
    benchdist::cli::add_bool_flag(*compare, "--json", json, "Print the comparison as JSON");

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
    // Files only: no coordinator involved.
    if (*report) return bt::run_report(report_args);
    if (*compare) {
        compare_args.json = json;
        return bt::run_compare(compare_args);
    }
    Coordinator c{coordinator_options.url, coordinator_options.auth_token};
    while (!c.url.empty() && c.url.back() == '/') c.url.pop_back();

    try {
        if (*start || *sweep || *saturate) {
            if (auto problem = bt::load_options_problem(load); !problem.empty()) {
                std::cerr << "bench-dist-control: " << problem << "\n";
                return 2;
            }
            bc::StartEpochRequest req;
            if (start->count("--label")) req.label = label_value;
            for (const auto& t : thresholds) req.thresholds.push_back(t.text);
            req.tolerate = tolerate;
            if (!ids.empty()) req.generator_ids = split_ids(ids);
            auto request = bc::to_json(req);
            bt::apply_load_options(request, load);
            // The live view goes where the command's progress goes: stdout,
            // or stderr for a campaign whose stdout is JSON (and then only
            // onto a terminal: a script reading that stderr asked for JSON).
            const int live_fd = json ? STDERR_FILENO : STDOUT_FILENO;
            const bt::EpochRunOptions epoch_options{.poll = std::chrono::milliseconds(poll_ms),
                                                    .timeout_seconds = timeout_s,
                                                    .live = !no_live && (!json || isatty(live_fd) == 1),
                                                    .live_fd = live_fd};
            campaign_options.epoch = epoch_options;
            campaign_options.json = json;
            try {
                const bool many = runs > 1 || !campaign_options.resume.empty();
                if (*start && many && !req.label) {
                    return bt::run_runs(c, request, runs, campaign_options, !request.empty());
                }
                if (*start && many) {
                    std::cerr << "bench-dist-control: --label and --runs: each run gets its own label (<campaign "
                                 "id> r<run>); drop --label\n";
                    return 2;
                }
                if (*start) return bt::run_start_epoch(c, request, epoch_options, json);
                if (*sweep) {
                    if (sweep_args.vary.empty() && campaign_options.resume.empty()) {
                        std::cerr << "bench-dist-control: sweep needs at least one --vary knob=v1,v2,... (e.g. --vary "
                                     "connections=64,128 --vary alpha=0,1.5), or --resume FILE\n";
                        return 2;
                    }
                    sweep_args.repeat_given = sweep->count("--repeat") > 0;
                    sweep_args.base = request;
                    sweep_args.base_given = !request.empty();
                    return bt::run_sweep(c, sweep_args, campaign_options);
                }
                if (slos.empty() && campaign_options.resume.empty()) {
                    std::cerr << "bench-dist-control: saturate needs at least one --slo (e.g. --slo 'p99<=20ms' --slo "
                                 "'errors==0'), or --resume FILE\n";
                    return 2;
                }
                for (const auto& t : slos) saturate_args.slos.push_back(t.text);
                saturate_args.base = request;
                saturate_args.base_given = !request.empty();
                return bt::run_saturate(c, saturate_args, campaign_options);
            } catch (const bt::UsageError& e) {
                std::cerr << "bench-dist-control: " << benchdist::text::printable(e.what()) << "\n";
                return 2;
            }
        }
        if (*watch) {
            watch_args.json = json;
            return bt::run_watch(c, watch_args);
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
