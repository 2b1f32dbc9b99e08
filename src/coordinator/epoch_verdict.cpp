#include "benchdist/coordinator/epoch_verdict.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "benchdist/coordinator/load_applied.hpp"

namespace benchdist::coordinator {

using control::Json;
using control::VerdictReason;
namespace code = control::reason;

namespace {

std::string format(double value, const char* spec) {
    char out[64];
    std::snprintf(out, sizeof out, spec, value);
    return out;
}

std::string join(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
    return out;
}

double number_or(const Json& j, const char* key, double fallback) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// Per generator: nothing committed, or too many failures, over the window
// (perGenerator, from the per-second reports) -- or, for a generator that
// reported counters but no intervals, over its whole load.
void participant_counts(const control::EpochResult& r, const EpochObservations& o, std::vector<VerdictReason>& out) {
    const auto per = r.extra.find("perGenerator");
    for (const auto& id : o.participant_ids) {
        double committed = -1;
        double attempted = -1;
        double errors = -1;
        const char* over = "the window";
        if (per != r.extra.end() && per->contains(id) && (*per)[id].contains("committed")) {
            const auto& e = (*per)[id];
            committed = number_or(e, "committed", -1);
            attempted = number_or(e, "attempted", -1);
            errors = number_or(e, "errors", -1);
        } else if (o.stop_reports.contains(id) && o.stop_reports[id].contains("counters")) {
            const auto& c = o.stop_reports[id]["counters"];
            committed = number_or(c, "committed", -1);
            attempted = number_or(c, "attempted", -1);
            errors = number_or(c, "errors", -1);
            over = "its whole load";
        } else {
            continue;  // reports no counts (the original harness's generators): nothing to judge
        }
        if (committed == 0) {
            out.push_back(control::make_reason(
                code::kCommittedNothing,
                "generator " + id + " committed nothing over " + over + " (" +
                    format(attempted < 0 ? 0 : attempted, "%.0f") + " calls attempted, " +
                    format(errors < 0 ? 0 : errors, "%.0f") +
                    " failed): its connections carried no load; see its log for the cause",
                {{"generator", id}, {"committed", 0}, {"attempted", attempted}, {"errors", errors}}));
            continue;
        }
        if (attempted > 0 && errors >= 0) {
            const double ratio = errors / attempted;
            if (ratio > o.options.max_error_ratio) {
                out.push_back(control::make_reason(code::kErrorRatio,
                                                   "generator " + id + " failed " + format(errors, "%.0f") + " of " +
                                                       format(attempted, "%.0f") + " calls over " + over + " (" +
                                                       format(ratio * 100.0, "%.2f") + "%, above --max-error-ratio " +
                                                       format(o.options.max_error_ratio * 100.0, "%g") +
                                                       "%): see its errors in perGenerator and its log",
                                                   {{"generator", id},
                                                    {"errors", errors},
                                                    {"attempted", attempted},
                                                    {"observed", ratio},
                                                    {"limit", o.options.max_error_ratio}}));
            }
        }
    }
}

void client_server(const control::EpochResult& r, std::vector<VerdictReason>& out) {
    const auto it = r.extra.find("clientServerCheck");
    if (it == r.extra.end() || !it->is_object() || it->value("agrees", true)) return;
    const auto& c = *it;
    const double client = number_or(c, "clientCommitted", 0);
    const double server = number_or(c, "serverCommitted", 0);
    const double allowance = number_or(c, "allowance", 0);
    std::string message = "the generators saw " + format(client, "%.0f") +
                          " commits in the window, the server counted " + format(server, "%.0f") + " (allowed gap " +
                          format(allowance, "%.0f") + "): ";
    if (server > client) {
        message +=
            "the server committed transfers the generators did not send -- another client wrote to this database "
            "during the window, so the TPS includes load that is not this epoch's. Run with the database to "
            "yourself";
    } else {
        message +=
            "the generators saw more commits than the server counted -- a generator's clock is off (see "
            "perGenerator.*.clockOffsetMs), or the counter read is not this database's";
    }
    Json details = c;
    details.erase("agrees");
    out.push_back(control::make_reason(code::kClientServerMismatch, std::move(message), std::move(details)));
}

// --warmup auto reached --warmup-max before the rate settled: the window
// opened on a rate still moving, so its mean is no steady state's.
void not_steady(const control::EpochResult& r, const EpochObservations& o, std::vector<VerdictReason>& out) {
    if (!o.options.warmup_auto || !o.warmup || o.warmup->stable) return;
    const auto& w = *o.warmup;
    std::string cv =
        w.cv ? format(*w.cv * 100.0, "%.1f") + "%" : std::string("not computable (too few rates, or none above 0)");
    Json details{{"warmupSeconds", r.extra.value("warmupSeconds", w.seconds)},
                 {"cv", w.cv ? Json(*w.cv) : Json(nullptr)},
                 {"limit", o.options.stable_cv},
                 {"stableSeconds", o.options.stable_seconds},
                 {"warmupMaxSeconds", o.options.warmup_max_seconds}};
    out.push_back(control::make_reason(
        code::kNotSteady,
        "the server's commit rate did not settle within --warmup-max " + format(o.options.warmup_max_seconds, "%g") +
            " s (last CV over " + format(o.options.stable_seconds, "%g") + " s: " + cv + ", allowed " +
            format(o.options.stable_cv * 100.0, "%g") +
            "%): the window opened on a moving rate. Raise --warmup-max, or --stable-cv if this server is never "
            "steadier; warmup.rates shows what it did",
        std::move(details)));
}

// The window's rate collapsed (windowStability, stats/steady_state.hpp):
// its mean mixes two regimes and is not the server's capacity.
void collapsed(const control::EpochResult& r, std::vector<VerdictReason>& out) {
    const auto it = r.extra.find("windowStability");
    if (it == r.extra.end() || !it->is_object() || it->value("warning", std::string()) != "collapsed") return;
    Json details = *it;
    details.erase("note");
    out.push_back(control::make_reason(
        code::kThroughputCollapsed,
        "throughput collapsed inside the window (" + it->value("note", std::string()) +
            "): the mean tps mixes a working server with a stalled one and is not its capacity; see timeline, and "
            "the server's log for what happened then",
        std::move(details)));
}

}  // namespace

std::vector<VerdictReason> find_epoch_reasons(const control::EpochResult& r, const EpochObservations& o) {
    std::vector<VerdictReason> out;
    const bool measured = o.before && o.after;

    if (o.aborted)
        out.push_back(control::make_reason(
            code::kAborted, "the epoch was stopped early (stop-epoch or shutdown): its window is not the one asked for",
            {{"windowSeconds", r.window_seconds}, {"actualWindowSeconds", r.actual_window_seconds}}));
    if (o.failure)
        out.push_back(control::make_reason(measured ? code::kEpochFailed : code::kNotMeasured,
                                           (measured ? "the epoch failed: " : "nothing was measured: ") + *o.failure));
    else if (!measured && !o.aborted)
        out.push_back(control::make_reason(code::kNotMeasured,
                                           "the window's counter reads did not both happen, so there is no delta"));

    if (!o.missing_start_acks.empty())
        out.push_back(
            control::make_reason(code::kStartAckMissing,
                                 "generators did not acknowledge the start in time: " + join(o.missing_start_acks) +
                                     " (are they running, and do they reach the coordinator?)",
                                 {{"generators", o.missing_start_acks}}));
    if (!o.missing_stop_acks.empty())
        out.push_back(
            control::make_reason(code::kStopAckMissing,
                                 "generators did not acknowledge the stop in time: " + join(o.missing_stop_acks) +
                                     " -- they may have kept loading the server while verification ran, and their "
                                     "reports are missing",
                                 {{"generators", o.missing_stop_acks}}));
    for (const auto& lost : o.lost_errors) out.push_back(control::make_reason(code::kParticipantLost, lost));
    for (const auto& restart : o.restarts) out.push_back(control::make_reason(code::kParticipantRestarted, restart));
    for (const auto ms : o.stalls_ms)
        out.push_back(control::make_reason(
            code::kCoordinatorStalled,
            "the coordinator itself did not run for " + format(static_cast<double>(ms) / 1000.0, "%.1f") +
                " s during the epoch (stopped, swapped out or a paused VM): its timing and its view "
                "of the generators are not trustworthy for that span. The generators were not "
                "blamed for the silence",
            {{"stalledMs", ms}}));

    std::uint64_t desired = 0;
    std::uint64_t opened = 0;
    std::vector<std::string> short_ids;
    // An epoch that sets every participant's active connections asked for
    // its shares, each at most what it opened: fewer open than a generator's
    // command line asked for is not the epoch's load (load_not_applied
    // checks the shares ran).
    const bool load_sets_connections =
        !o.assignments.empty() && std::all_of(o.assignments.begin(), o.assignments.end(),
                                              [](const auto& share) { return share.second.connections.has_value(); });
    for (const auto& [id, c] : o.connections) {
        if (load_sets_connections) break;
        desired += c.first;
        opened += c.second;
        if (c.second < c.first)
            short_ids.push_back(id + " " + std::to_string(c.second) + "/" + std::to_string(c.first));
    }
    if (!short_ids.empty())
        out.push_back(
            control::make_reason(code::kConnectionsShort,
                                 "fewer connections were open than asked for (" + join(short_ids) +
                                     "): the load is not the one configured; check the generators' logs for refused "
                                     "connections, and the server's and the host's connection limits",
                                 {{"desired", desired}, {"opened", opened}}));
    for (auto& reason : load_not_applied(o.assignments, o.stop_reports)) out.push_back(std::move(reason));
    participant_counts(r, o, out);

    if (measured && !o.aborted) {
        const double allowance = control::window_length_allowance_seconds(r.window_seconds);
        if (std::fabs(r.actual_window_seconds - r.window_seconds) > allowance)
            out.push_back(control::make_reason(
                code::kWindowLength,
                "the measured window lasted " + format(r.actual_window_seconds, "%.3f") + " s instead of " +
                    format(r.window_seconds, "%g") + " s (allowed " + format(allowance, "%g") +
                    " s): a slow counter read or a stalled coordinator stretched it",
                {{"observed", r.actual_window_seconds}, {"requested", r.window_seconds}, {"allowance", allowance}}));
    }
    not_steady(r, o, out);
    collapsed(r, out);
    if (r.extra.value("counterWentBackwards", false))
        out.push_back(
            control::make_reason(code::kCounterBackwards,
                                 "the server's committed-transfer counter went backwards during the window (a server "
                                 "restart or a counter from another process): there is no delta to trust"));
    client_server(r, out);
    if (r.verification == "failed")
        out.push_back(
            control::make_reason(code::kVerificationFailed,
                                 "verification failed: " + r.verification_error.value_or("no reason given") +
                                     " -- the accounts' balances do not add up, so committed transfers are not what "
                                     "they seem"));
    return out;
}

stats::MetricValues epoch_metrics(const control::EpochResult& r) {
    stats::MetricValues m;
    // counterReadMs is written only when both edge reads happened.
    const bool measured = r.extra.contains("counterReadMs") && !r.extra.value("counterWentBackwards", false);
    if (measured && r.actual_window_seconds > 0) {
        m.tps = r.tps;
        m.committed = std::stod(r.committed_delta);
    }
    const auto latency = r.extra.find("latency");
    if (latency != r.extra.end() && latency->is_object() && latency->value("count", 0) > 0) {
        m.p50 = number_or(*latency, "p50", 0);
        m.p90 = number_or(*latency, "p90", 0);
        m.p99 = number_or(*latency, "p99", 0);
        m.p999 = number_or(*latency, "p999", 0);
        m.max = number_or(*latency, "max", 0);
        m.mean = number_or(*latency, "mean", 0);
    }
    const auto errors = r.extra.find("errors");
    if (errors != r.extra.end() && errors->is_object() && errors->contains("total")) {
        m.errors = number_or(*errors, "total", 0);
        double attempted = 0;
        bool any = false;
        if (const auto per = r.extra.find("perGenerator"); per != r.extra.end() && per->is_object()) {
            for (const auto& [id, e] : per->items()) {
                if (!e.contains("attempted")) continue;
                attempted += number_or(e, "attempted", 0);
                any = true;
            }
        }
        if (any) {
            m.attempted = attempted;
            if (attempted > 0) m.error_ratio = *m.errors / attempted;
        }
    }
    if (const auto ratio = r.extra.find("clientServerRatio"); ratio != r.extra.end() && ratio->is_number())
        m.client_server_ratio = ratio->get<double>();
    return m;
}

ThresholdCheck check_thresholds(const control::EpochResult& r, const EpochObservations& o) {
    ThresholdCheck out;
    std::vector<stats::Threshold> all = o.options.thresholds;
    for (const auto& text : o.epoch_thresholds) all.push_back(stats::parse_threshold(text));
    if (all.empty()) return out;
    const auto metrics = epoch_metrics(r);
    for (const auto& t : all) {
        const auto outcome = stats::evaluate(t, metrics);
        out.outcomes.push_back(stats::to_json(outcome));
        if (!outcome.passed)
            out.reasons.push_back(
                control::make_reason(code::kThresholdFailed, outcome.message, stats::to_json(outcome)));
    }
    return out;
}

}  // namespace benchdist::coordinator
