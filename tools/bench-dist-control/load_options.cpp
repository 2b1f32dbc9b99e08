#include "load_options.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>

#include "benchdist/cli/option_groups.hpp"

namespace benchdist::control_tool {

namespace {

// A year: a longer window or warmup is a typo.
constexpr double kYearSeconds = 31536000.0;

// --warmup: "auto" or a number of seconds.
CLI::Validator warmup_value() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            if (value == "auto") return {};
            char* end = nullptr;
            const double s = std::strtod(value.c_str(), &end);
            if (value.empty() || end != value.c_str() + value.size() || std::isnan(s) || s < 0 || s > kYearSeconds)
                return "--warmup must be a number of seconds from 0 to " + std::to_string(long(kYearSeconds)) +
                       ", or auto (steady-state warmup), got \"" + value + "\"";
            return {};
        },
        "SECONDS|auto");
}

}  // namespace

void add_load_options(CLI::App& app, LoadOptions& o) {
    namespace cli = benchdist::cli;
    auto* conns = app.add_option("--connections", o.connections,
                                 "Active connections in total, split over the participants by their opened "
                                 "connections")
                      ->check(cli::number_from(1, 1e9));
    auto* per_gen = app.add_option("--connections-per-generator", o.connections_per_generator,
                                   "Active connections on every participant")
                        ->check(cli::number_from(1, 1e6));
    conns->excludes(per_gen);
    app.add_option("--inflight", o.inflight, "Calls in flight per connection")->check(cli::number_from(1, 1e5));
    auto* rate = app.add_option("--rate", o.rate,
                                "Open loop: calls/s over the fleet, split like connections (0 = "
                                "closed loop)")
                     ->check(cli::number_from(0, 1e9));
    auto* rate_per_gen =
        app.add_option("--rate-per-generator", o.rate_per_generator, "Open loop: calls/s on every participant")
            ->check(cli::number_from(0, 1e9));
    rate->excludes(rate_per_gen);
    app.add_option("--alpha", o.alpha, "Zipf contention of the account pairs (0 = uniform)")
        ->check(cli::number_from(0, 100));
    app.add_option("--accounts", o.accounts, "Accounts the pairs are drawn from (at least 2)")
        ->check(cli::number_from(2, 4294967295.0));
    app.add_option("--warmup", o.warmup, "This epoch's warmup: seconds, or auto (until the TPS is steady)")
        ->check(warmup_value());
    app.add_option("--window", o.window, "This epoch's measured window, seconds")
        ->check(cli::number_from(1, kYearSeconds));
    app.add_option("--stable-cv", o.stable_cv,
                   "--warmup auto: steady when the TPS's coefficient of variation is "
                   "at most this")
        ->check(cli::number_from(1e-6, 1));
    app.add_option("--stable-seconds", o.stable_seconds, "--warmup auto: over this many seconds")
        ->check(cli::number_from(1, kYearSeconds));
    app.add_option("--warmup-max", o.warmup_max, "--warmup auto: give up waiting for steady state after S seconds")
        ->check(cli::number_from(1, kYearSeconds));
}

std::string load_options_problem(const LoadOptions& o) {
    const bool steady_keys = o.stable_cv || o.stable_seconds || o.warmup_max;
    if (steady_keys && o.warmup != "auto")
        return "--stable-cv, --stable-seconds and --warmup-max are the parameters of a steady-state warmup: add "
               "--warmup auto, or drop them";
    return {};
}

void apply_load_options(control::Json& request, const LoadOptions& o) {
    control::Json load =
        request.contains("load") && request["load"].is_object() ? request["load"] : control::Json::object();
    if (o.connections) load["connections"] = *o.connections;
    if (o.connections_per_generator) load["connectionsPerGenerator"] = *o.connections_per_generator;
    if (o.inflight) load["inflight"] = *o.inflight;
    if (o.rate) load["rate"] = *o.rate;
    if (o.rate_per_generator) load["ratePerGenerator"] = *o.rate_per_generator;
    if (o.alpha) load["alpha"] = *o.alpha;
    if (o.accounts) load["accounts"] = *o.accounts;
    if (!load.empty()) request["load"] = load;
    if (o.warmup) {
        if (*o.warmup == "auto")
            request["warmupAuto"] = true;
        else
            request["warmupSeconds"] = std::strtod(o.warmup->c_str(), nullptr);
    }
    if (o.stable_cv) request["stableCv"] = *o.stable_cv;
    if (o.stable_seconds) request["stableSeconds"] = *o.stable_seconds;
    if (o.warmup_max) request["warmupMaxSeconds"] = *o.warmup_max;
    if (o.window) request["windowSeconds"] = *o.window;
}

}  // namespace benchdist::control_tool
