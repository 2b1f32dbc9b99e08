#include "benchdist/generator/local_verdict.hpp"

#include <cmath>
#include <cstdio>

namespace benchdist::generator {

using control::Json;
using control::VerdictReason;
namespace code = control::reason;

namespace {

std::string format(double value, const char* spec) {
    char out[64];
    std::snprintf(out, sizeof out, spec, value);
    return out;
}

std::optional<double> number_at(const Json& j, std::initializer_list<const char*> path) {
    const Json* at = &j;
    for (const char* key : path) {
        if (!at->is_object()) return std::nullopt;
        const auto it = at->find(key);
        if (it == at->end()) return std::nullopt;
        at = &*it;
    }
    return at->is_number() ? std::optional(at->get<double>()) : std::nullopt;
}

}  // namespace

stats::MetricValues local_metrics(const Json& result) {
    stats::MetricValues m;
    const auto seconds = number_at(result, {"window", "seconds"});
    if (seconds && *seconds > 0) {
        m.tps = number_at(result, {"tps"});
        m.committed = number_at(result, {"committedDelta"});
    }
    if (number_at(result, {"latency", "count"}).value_or(0) > 0) {
        m.p50 = number_at(result, {"latency", "p50"});
        m.p90 = number_at(result, {"latency", "p90"});
        m.p99 = number_at(result, {"latency", "p99"});
        m.p999 = number_at(result, {"latency", "p999"});
        m.max = number_at(result, {"latency", "max"});
        m.mean = number_at(result, {"latency", "mean"});
    }
    m.errors = number_at(result, {"client", "errors"});
    m.attempted = number_at(result, {"client", "attempted"});
    if (m.errors && m.attempted && *m.attempted > 0) m.error_ratio = *m.errors / *m.attempted;
    if (const auto ratio = number_at(result, {"clientServerRatio"}); ratio && *ratio > 0) m.client_server_ratio = ratio;
    return m;
}

bool judge_local_result(Json& result, const LocalVerdictOptions& options) {
    std::vector<VerdictReason> found;
    const bool interrupted = result.contains("window") && result["window"].value("interrupted", false);
    if (interrupted)
        found.push_back(
            control::make_reason(code::kAborted, "the run was interrupted: its window is shorter than requested"));

    const double attempted = number_at(result, {"client", "attempted"}).value_or(0);
    const double committed = number_at(result, {"client", "committed"}).value_or(0);
    const double errors = number_at(result, {"client", "errors"}).value_or(0);
    if (committed == 0) {
        // Protocol errors name the cause: the server sent what this
        // generator cannot read.
        std::string protocol;
        if (const auto n = number_at(result, {"client", "protocolErrors"}); n && *n > 0) {
            protocol = "; " + format(*n, "%.0f") + " protocol errors:";
            if (const auto kinds = result["client"].find("protocolErrorsByKind");
                kinds != result["client"].end() && kinds->is_object())
                for (const auto& [kind, count] : kinds->items()) protocol += " " + kind + " " + count.dump();
        }
        found.push_back(control::make_reason(code::kCommittedNothing,
                                             "nothing committed (" + format(attempted, "%.0f") + " calls attempted, " +
                                                 format(errors, "%.0f") + " failed" + protocol +
                                                 "): the connections carried no load; the log above says why",
                                             {{"committed", 0}, {"attempted", attempted}, {"errors", errors}}));
    } else if (attempted > 0 && errors / attempted > options.max_error_ratio) {
        found.push_back(control::make_reason(code::kErrorRatio,
                                             format(errors, "%.0f") + " of " + format(attempted, "%.0f") +
                                                 " calls failed (" + format(errors / attempted * 100.0, "%.2f") +
                                                 "%, above --max-error-ratio " +
                                                 format(options.max_error_ratio * 100.0, "%g") + "%)",
                                             {{"errors", errors},
                                              {"attempted", attempted},
                                              {"observed", errors / attempted},
                                              {"limit", options.max_error_ratio}}));
    }
    if (options.opened_connections < options.desired_connections)
        found.push_back(
            control::make_reason(code::kConnectionsShort,
                                 "only " + std::to_string(options.opened_connections) + " of " +
                                     std::to_string(options.desired_connections) + " connections were open",
                                 {{"desired", options.desired_connections}, {"opened", options.opened_connections}}));
    const auto seconds = number_at(result, {"window", "seconds"});
    const auto requested = number_at(result, {"window", "requestedSeconds"});
    if (!interrupted && seconds && requested) {
        const double allowance = control::window_length_allowance_seconds(*requested);
        if (std::fabs(*seconds - *requested) > allowance)
            found.push_back(
                control::make_reason(code::kWindowLength,
                                     "the window lasted " + format(*seconds, "%.3f") + " s instead of " +
                                         format(*requested, "%g") + " s (allowed " + format(allowance, "%g") + " s)",
                                     {{"observed", *seconds}, {"requested", *requested}, {"allowance", allowance}}));
    }
    if (const auto check = result.find("clientServerCheck");
        check != result.end() && check->is_object() && !check->value("agrees", true)) {
        const double client = number_at(*check, {"clientCommitted"}).value_or(0);
        const double server = number_at(*check, {"serverCommitted"}).value_or(0);
        std::string message = "this generator saw " + format(client, "%.0f") +
                              " commits in the window, the server counted " + format(server, "%.0f") + ": ";
        message += server > client ? "another client wrote to this database during the run, so the TPS includes "
                                     "load that is not this run's"
                                   : "the counter read is not this database's, or the clock stepped";
        Json details = *check;
        details.erase("agrees");
        found.push_back(control::make_reason(code::kClientServerMismatch, std::move(message), std::move(details)));
    }
    if (!options.thresholds.empty()) {
        const auto metrics = local_metrics(result);
        Json outcomes = Json::array();
        for (const auto& t : options.thresholds) {
            const auto outcome = stats::evaluate(t, metrics);
            outcomes.push_back(stats::to_json(outcome));
            if (!outcome.passed)
                found.push_back(control::make_reason(code::kThresholdFailed, outcome.message, stats::to_json(outcome)));
        }
        result["thresholds"] = std::move(outcomes);
    }
    const auto verdict = control::judge(std::move(found), options.tolerate);
    control::write_verdict(result, verdict);
    return verdict.valid();
}

}  // namespace benchdist::generator
